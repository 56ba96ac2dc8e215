/*
 * test_config.c: option values and their limits (config.h): each option with
 * good and bad values, secrets refused on the command line, which API URLs
 * are allowed, config_finish()'s checks, the token file and the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "secret.h"
#include "unit.h"

static struct config cfg;
static char msg[512];

static void
config_setup(void)
{
	config_init(&cfg);
	msg[0] = '\0';
	unsetenv("BASE44_API_URL");
	unsetenv("BASE44_APP_ID");
	unsetenv("BASE44_SERVICE_TOKEN");
}

static void
config_teardown(void)
{
	config_free(&cfg);
}

/* A temp file under /tmp holding content; the caller unlinks it. */
static void
temp_file(char *path, size_t pathsz, const char *content, size_t len)
{
	int fd;

	snprintf(path, pathsz, "/tmp/cfs-unit-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
}

START_TEST(test_config_init_sets_documented_defaults)
{
	ck_assert_uint_eq(cfg.ttl, 60);
	ck_assert_uint_eq(cfg.max_stale, 300);
	ck_assert_uint_eq(cfg.negative_ttl, 10);
	ck_assert_uint_eq(cfg.timeout, 10);
	ck_assert_uint_eq(cfg.mode, 0400);
	ck_assert_uint_eq(cfg.dir_mode, 0500);
	ck_assert_uint_eq(cfg.uid, getuid());
	ck_assert_uint_eq(cfg.gid, getgid());
	ck_assert_ptr_null(cfg.api_url);
	ck_assert_ptr_null(cfg.service_token);
	ck_assert_uint_eq(cfg.nconnectors, 0);
}
END_TEST

START_TEST(test_config_set_accepts_good_values)
{
	static const struct {
		const char *key, *value;
	} good[] = {
		{ "ttl", "0" }, { "ttl", "90" }, { "ttl", "86400" },
		{ "max_stale", "0" }, { "max_stale", "604800" },
		{ "negative_ttl", "5" },
		{ "timeout", "1" }, { "timeout", "600" },
		{ "mode", "0" }, { "mode", "0444" }, { "mode", "400" }, { "mode", "0555" },
		{ "dir_mode", "0555" },
		{ "uid", "0" }, { "uid", "root" }, { "uid", "12345" },
		{ "gid", "0" }, { "gid", "root" }, { "gid", "54321" },
		{ "connectors", "slack,share_point,google-calendar" },
		{ "connectors", "" },
		{ "app_id", "app1" },
		{ "token_file", "/run/secrets/base44" },
		{ "api_url", "http://127.0.0.1:8044" },
		{ "cacert", "/etc/ssl/certs/ca-certificates.crt" },
		{ "proxy", "http://proxy.example:3128" },
		{ "proxy_auth_file", "/run/secrets/proxy-auth" },
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(config_set(&cfg, good[i].key, good[i].value, msg, sizeof(msg)) ==
		    CFS_OK, "%s=%s refused: %s", good[i].key, good[i].value, msg);
		ck_assert(config_is_option(good[i].key));
	}
}
END_TEST

START_TEST(test_config_modes_with_a_write_bit_are_refused)
{
	static const char *const cases[][2] = {
		{ "mode", "0600" }, { "mode", "0420" }, { "mode", "0402" }, { "mode", "0777" },
		{ "dir_mode", "0700" }, { "dir_mode", "0520" }, { "dir_mode", "0502" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(config_set(&cfg, cases[i][0], cases[i][1], msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		ck_assert_msg(strstr(msg, cases[i][0]) != NULL && strstr(msg, "write") != NULL,
		    "%s=%s: %s", cases[i][0], cases[i][1], msg);
	}
}
END_TEST

START_TEST(test_config_access_gives_a_connector_its_own_owner_group_and_mode)
{
	uid_t uid;
	gid_t gid;
	mode_t mode, dir_mode;

	ck_assert_int_eq(config_set(&cfg, "uid", "10", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "gid", "20", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "access", "slack:1001:1005:0440", msg, sizeof(msg)),
	    CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "access", "github:root", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "access", "notion:1002::0444", msg, sizeof(msg)),
	    CFS_OK);
	ck_assert_uint_eq(cfg.naccess, 3);

	config_access_of(&cfg, "slack", &uid, &gid, &mode, &dir_mode);
	ck_assert_uint_eq(uid, 1001);
	ck_assert_uint_eq(gid, 1005);
	ck_assert_uint_eq(mode, 0440);
	ck_assert_uint_eq(dir_mode, 0550);
	/* GROUP and MODE left out: the mount's gid= and mode=. */
	config_access_of(&cfg, "github", &uid, &gid, &mode, &dir_mode);
	ck_assert_uint_eq(uid, 0);
	ck_assert_uint_eq(gid, 20);
	ck_assert_uint_eq(mode, 0400);
	ck_assert_uint_eq(dir_mode, 0500);
	config_access_of(&cfg, "notion", &uid, &gid, &mode, &dir_mode);
	ck_assert_uint_eq(gid, 20);
	ck_assert_uint_eq(dir_mode, 0555);
	/* No rule, and the mount's own files: the mount's settings. */
	config_access_of(&cfg, "wix", &uid, &gid, &mode, &dir_mode);
	ck_assert_uint_eq(uid, 10);
	ck_assert_uint_eq(dir_mode, cfg.dir_mode);
	config_access_of(&cfg, NULL, &uid, &gid, &mode, &dir_mode);
	ck_assert_uint_eq(uid, 10);
}
END_TEST

START_TEST(test_config_access_refuses_bad_rules_with_one_line_naming_them)
{
	static const char *const cases[][2] = {
		{ "slack", "expected CONNECTOR:USER" },
		{ "slack:", "is not a user name or number" },
		{ "slack:1:2:0440:x", "expected CONNECTOR:USER" },
		{ ":1001", "is not a connector name" },
		{ "../x:1001", "is not a connector name" },
		{ "slack:no-such-user-here", "is not a user name or number" },
		{ "slack:1001:no-such-group-here", "is not a group name or number" },
		{ "slack:1001:1001:0640", "without write bits" },
		{ "slack:1001:1001:999", "without write bits" },
		{ "slack:1001:1001:", "without write bits" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(config_set(&cfg, "access", cases[i][0], msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		ck_assert_msg(strncmp(msg, "access=", 7) == 0 && strstr(msg, cases[i][1]) != NULL &&
		    strchr(msg, '\n') == NULL, "access=%s: %s", cases[i][0], msg);
	}
	ck_assert_uint_eq(cfg.naccess, 0);
	ck_assert_int_eq(config_set(&cfg, "access", "slack:1", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "access", "slack:2", msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_str_eq(msg, "access=slack:2: slack already has an access= rule");
}
END_TEST

START_TEST(test_config_set_stores_parsed_values)
{
	ck_assert_int_eq(config_set(&cfg, "ttl", "90", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.ttl, 90);
	ck_assert_int_eq(config_set(&cfg, "max_stale", "7", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.max_stale, 7);
	ck_assert_int_eq(config_set(&cfg, "negative_ttl", "0", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.negative_ttl, 0);
	ck_assert_int_eq(config_set(&cfg, "timeout", "3", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.timeout, 3);
	ck_assert_int_eq(config_set(&cfg, "mode", "0440", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.mode, 0440);
	ck_assert_int_eq(config_set(&cfg, "mode", "444", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.mode, 0444);
	ck_assert_int_eq(config_set(&cfg, "dir_mode", "0550", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.dir_mode, 0550);
	ck_assert_int_eq(config_set(&cfg, "uid", "4242", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.uid, 4242);
	ck_assert_int_eq(config_set(&cfg, "uid", "root", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.uid, 0);
	ck_assert_int_eq(config_set(&cfg, "gid", "4343", msg, sizeof(msg)), CFS_OK);
	ck_assert_uint_eq(cfg.gid, 4343);
	ck_assert_int_eq(config_set(&cfg, "app_id", "first", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "app_id", "second", msg, sizeof(msg)), CFS_OK);
	ck_assert_str_eq(cfg.app_id, "second");
	ck_assert_int_eq(config_set(&cfg, "connectors", "slack,,github,", msg, sizeof(msg)),
	    CFS_OK);
	ck_assert_uint_eq(cfg.nconnectors, 2);
	ck_assert_str_eq(cfg.connectors[0], "slack");
	ck_assert_str_eq(cfg.connectors[1], "github");
}
END_TEST

START_TEST(test_config_set_refuses_bad_values_naming_the_option)
{
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "ttl", "abc" }, { "ttl", "-1" }, { "ttl", "" }, { "ttl", "1.5" }, { "ttl", "10s" },
		{ "ttl", " 5" }, { "ttl", "+5" }, { "ttl", "86401" },
		{ "ttl", "99999999999999999999999" },
		{ "max_stale", "604801" }, { "negative_ttl", "x" },
		{ "timeout", "0" }, { "timeout", "601" },
		{ "mode", "0999" }, { "mode", "888" }, { "mode", "01000" }, { "mode", "rw" },
		{ "mode", "-1" }, { "dir_mode", "8" },
		{ "uid", "nosuchuser-cfs" }, { "uid", "-1" }, { "uid", "4294967295" },
		{ "uid", "" }, { "gid", "nosuchgroup-cfs" },
		{ "connectors", "Bad,Name" }, { "connectors", "slack,.git" },
		{ "connectors", "a b" }, { "connectors", "slack,Desktop.ini" },
		{ "app_id", "" }, { "api_url", "" }, { "token_file", "" },
		{ "proxy", "" }, { "proxy", "socks5://proxy:1080" }, { "proxy_auth_file", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc;

		msg[0] = '\0';
		rc = config_set(&cfg, bad[i].key, bad[i].value, msg, sizeof(msg));
		ck_assert_msg(rc == CFS_ERR_INVALID, "%s=%s accepted (rc %d)", bad[i].key,
		    bad[i].value, rc);
		ck_assert_msg(strstr(msg, bad[i].key) != NULL, "%s=%s: message '%s' does not "
		    "name the option", bad[i].key, bad[i].value, msg);
		ck_assert_msg(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
	}
}
END_TEST

START_TEST(test_config_set_bad_value_keeps_previous_value)
{
	ck_assert_int_eq(config_set(&cfg, "ttl", "30", msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_set(&cfg, "ttl", "abc", msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_uint_eq(cfg.ttl, 30);
	ck_assert_int_eq(config_set(&cfg, "connectors", "slack", msg, sizeof(msg)), CFS_OK);
	msg[0] = '\0';
	ck_assert_int_eq(config_set(&cfg, "connectors", "slack,Bad", msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "Bad"));
	ck_assert_uint_eq(cfg.nconnectors, 1);
	ck_assert_str_eq(cfg.connectors[0], "slack");
}
END_TEST

START_TEST(test_config_set_refuses_tokens_on_the_command_line)
{
	static const char *const keys[] = { "token", "service_token", "access_token",
		"base44_service_token", "api_key", "password" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		msg[0] = '\0';
		ck_assert_int_eq(config_set(&cfg, keys[i], "sk-TOPSECRET", msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		/* A management key points at its own variable and file option. */
		ck_assert_msg(strstr(msg, strcmp(keys[i], "api_key") == 0 ? "BASE44_API_KEY" :
		    "BASE44_SERVICE_TOKEN") != NULL, "%s: %s", keys[i], msg);
		ck_assert_msg(strstr(msg, strcmp(keys[i], "api_key") == 0 ? "api_key_file" :
		    "token_file") != NULL, "%s: %s", keys[i], msg);
		ck_assert_msg(strstr(msg, "sk-TOPSECRET") == NULL, "message echoes the secret");
		ck_assert(config_is_option(keys[i]));
		ck_assert_ptr_null(cfg.service_token);
	}
}
END_TEST

START_TEST(test_config_unknown_key_is_not_ours_and_set_refuses_it)
{
	static const char *const keys[] = { "allow_other", "rw", "_netdev", "default_permissions",
		"TTL", "" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		ck_assert(!config_is_option(keys[i]));
		msg[0] = '\0';
		ck_assert_int_eq(config_set(&cfg, keys[i], "x", msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		ck_assert_msg(strstr(msg, "unknown option") != NULL, "%s: %s", keys[i], msg);
	}
	ck_assert_int_eq(config_set(&cfg, "allow_other", NULL, msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	ck_assert_uint_eq(cfg.ttl, CONFIG_DEFAULT_TTL);
}
END_TEST

START_TEST(test_config_set_option_without_value_is_refused)
{
	ck_assert_int_eq(config_set(&cfg, "ttl", NULL, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "ttl"));
}
END_TEST

START_TEST(test_config_api_url_trailing_slashes_stripped)
{
	ck_assert_int_eq(config_set(&cfg, "api_url", "https://base44.app/", msg, sizeof(msg)),
	    CFS_OK);
	ck_assert_str_eq(cfg.api_url, "https://base44.app");
	ck_assert_int_eq(config_set(&cfg, "api_url", "http://127.0.0.1:8044///", msg,
	    sizeof(msg)), CFS_OK);
	ck_assert_str_eq(cfg.api_url, "http://127.0.0.1:8044");
}
END_TEST

START_TEST(test_config_url_allowed_https_or_loopback_http)
{
	static const struct {
		const char *url;
		int ok;
	} cases[] = {
		{ "https://base44.app", 1 },
		{ "https://example.com:8443/prefix", 1 },
		{ "HTTPS://base44.app", 1 },
		{ "http://127.0.0.1:8044", 1 },
		{ "http://127.0.0.1", 1 },
		{ "http://127.1.2.3:80/x", 1 },
		{ "http://localhost", 1 },
		{ "http://LOCALHOST:8044/", 1 },
		{ "http://[::1]:80", 1 },
		{ "http://[::1]", 1 },
		{ "http://example.com", 0 },
		{ "http://10.0.0.1", 0 },
		{ "http://128.0.0.1", 0 },
		{ "http://0.0.0.0", 0 },
		{ "http://127.0.0.1@evil.com", 0 },
		{ "http://user:pw@127.0.0.1", 0 },
		{ "http://localhost.evil.com", 0 },
		{ "http://127.0.0.1.evil.com", 0 },
		{ "http://[::2]", 0 },
		{ "http://[::ffff:8.8.8.8]", 0 },
		{ "http://[::1", 0 },
		{ "http://", 0 },
		{ "https://", 0 },
		{ "https:///path", 0 },
		{ "ftp://127.0.0.1", 0 },
		{ "file:///etc/passwd", 0 },
		{ "127.0.0.1:8044", 0 },
		{ "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(config_url_allowed(cases[i].url) == cases[i].ok, "%s: got %d",
		    cases[i].url, !cases[i].ok);
}
END_TEST

START_TEST(test_config_proxy_accepts_http_or_https_to_a_host_and_port)
{
	static const char *const good[] = {
		"http://proxy.example:3128", "https://proxy.example", "http://127.0.0.1:8080/",
		"HTTP://[::1]:3128", "HTTPS://[2001:db8::1]", "http://proxy_internal.corp:1",
		"http://proxy:65535",
	};
	size_t i;

	ck_assert(config_is_option("proxy"));
	ck_assert(config_is_option("proxy_auth_file"));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(config_set(&cfg, "proxy", good[i], msg, sizeof(msg)) == CFS_OK,
		    "proxy=%s refused: %s", good[i], msg);
		ck_assert_str_eq(cfg.proxy, good[i]);
		ck_assert(config_proxy_url_allowed(good[i]));
	}
}
END_TEST

START_TEST(test_config_proxy_refuses_other_urls_naming_the_option_and_keeps_the_last)
{
	static const char *const bad[] = {
		"socks5://127.0.0.1:1080", "socks5h://proxy:1080", "127.0.0.1:3128", "proxy.example",
		"ftp://proxy.example", "http://", "https://", "http://:3128", "http://proxy:",
		"http://proxy:0", "http://proxy:65536", "http://proxy:123456", "http://proxy:31x8",
		"http://proxy/path", "http://proxy:3128/path", "http://proxy?x=1", "http://proxy#x",
		"http://prox y", "http://[::1", "http://[]:3128", "http://[not-v6]:3128",
		"http://proxy:3128//",
	};
	size_t i;

	ck_assert_int_eq(config_set(&cfg, "proxy", "http://kept.example:3128", msg, sizeof(msg)),
	    CFS_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		ck_assert_msg(config_set(&cfg, "proxy", bad[i], msg, sizeof(msg)) == CFS_ERR_INVALID,
		    "proxy=%s accepted", bad[i]);
		ck_assert_msg(strstr(msg, "proxy=") != NULL, "proxy=%s: %s", bad[i], msg);
		ck_assert_msg(strchr(msg, '\n') == NULL, "message is not one line: %s", msg);
		ck_assert(!config_proxy_url_allowed(bad[i]));
		ck_assert_str_eq(cfg.proxy, "http://kept.example:3128");
	}
}
END_TEST

/* argv is public in /proc: a proxy URL's credentials are refused, and never echoed. */
START_TEST(test_config_proxy_with_credentials_is_refused_pointing_at_proxy_auth_file)
{
	static const char *const bad[] = {
		"http://user:sk-TOPSECRET@proxy:3128", "https://sk-TOPSECRET@proxy",
		"http://user:sk-TOPSECRET@[::1]:3128", "http://proxy:3128/@sk-TOPSECRET",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		ck_assert_int_eq(config_set(&cfg, "proxy", bad[i], msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		ck_assert_msg(strstr(msg, "proxy=") != NULL && strstr(msg, "proxy_auth_file=") !=
		    NULL, "%s", msg);
		ck_assert_msg(strstr(msg, "sk-TOPSECRET") == NULL, "message echoes the secret");
		ck_assert_ptr_null(cfg.proxy);
	}
}
END_TEST

START_TEST(test_config_proxy_secret_options_are_refused_pointing_at_proxy_auth_file)
{
	static const char *const keys[] = { "proxy_password", "proxy_auth", "proxy_user",
		"proxy_userpwd" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		msg[0] = '\0';
		ck_assert(config_is_option(keys[i]));
		ck_assert_int_eq(config_set(&cfg, keys[i], "user:sk-TOPSECRET", msg, sizeof(msg)),
		    CFS_ERR_INVALID);
		ck_assert_msg(strstr(msg, keys[i]) != NULL && strstr(msg, "proxy_auth_file=") !=
		    NULL, "%s: %s", keys[i], msg);
		ck_assert_msg(strstr(msg, "sk-TOPSECRET") == NULL, "message echoes the secret");
		ck_assert_ptr_null(cfg.proxy_password);
	}
}
END_TEST

/* config_finish */

static void
set_ok(const char *key, const char *value)
{
	ck_assert_msg(config_set(&cfg, key, value, msg, sizeof(msg)) == CFS_OK, "%s=%s: %s",
	    key, value, msg);
}

START_TEST(test_config_finish_accepts_complete_config_with_defaults)
{
	char path[64];

	temp_file(path, sizeof(path), "svc-tok\n", 8);
	set_ok("app_id", "app1");
	set_ok("token_file", path);
	ck_assert_msg(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)) == CFS_OK, "%s", msg);
	ck_assert_str_eq(cfg.api_url, "https://base44.app");
	ck_assert_str_eq(cfg.service_token, "svc-tok");
	unlink(path);
}
END_TEST

START_TEST(test_config_finish_without_app_id_fails)
{
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "app"));
	ck_assert_ptr_nonnull(strstr(msg, "BASE44_APP_ID"));
}
END_TEST

START_TEST(test_config_finish_refuses_app_id_that_changes_the_path)
{
	static const char *const bad[] = { "a/b", "a?b", "a#b", "a%2f", "a b", "a\tb" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		config_free(&cfg);
		config_init(&cfg);
		set_ok("app_id", bad[i]);
		setenv("BASE44_SERVICE_TOKEN", "svc", 1);
		ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
		ck_assert_msg(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)) == CFS_ERR_INVALID,
		    "app_id '%s' accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_config_finish_without_token_fails)
{
	set_ok("app_id", "app1");
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "BASE44_SERVICE_TOKEN"));
	ck_assert_ptr_nonnull(strstr(msg, "token_file"));
}
END_TEST

START_TEST(test_config_finish_refuses_http_to_non_loopback)
{
	set_ok("app_id", "app1");
	set_ok("api_url", "http://example.com");
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "api_url"));
	ck_assert_ptr_nonnull(strstr(msg, "http://example.com"));
}
END_TEST

START_TEST(test_config_finish_accepts_http_to_loopback)
{
	set_ok("app_id", "app1");
	set_ok("api_url", "http://127.0.0.1:8044/");
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_msg(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)) == CFS_OK, "%s", msg);
	ck_assert_str_eq(cfg.api_url, "http://127.0.0.1:8044");
}
END_TEST

START_TEST(test_config_finish_refuses_bad_token_files)
{
	static const struct {
		const char *content;
		size_t len;
		const char *why;
	} cases[] = {
		{ "", 0, "empty" },
		{ "  \n\t\r\n", 6, "empty" },
		{ "line1\nline2\n", 12, "one line" },
		{ "tok\0en", 6, "one line" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64];

		config_free(&cfg);
		config_init(&cfg);
		temp_file(path, sizeof(path), cases[i].content, cases[i].len);
		set_ok("app_id", "app1");
		set_ok("token_file", path);
		msg[0] = '\0';
		ck_assert_msg(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)) == CFS_ERR_INVALID,
		    "case %zu accepted", i);
		ck_assert_msg(strstr(msg, cases[i].why) != NULL, "case %zu: %s", i, msg);
		ck_assert_ptr_nonnull(strstr(msg, path));
		ck_assert_ptr_null(cfg.service_token);
		unlink(path);
	}
}
END_TEST

START_TEST(test_config_finish_refuses_missing_token_file)
{
	set_ok("app_id", "app1");
	set_ok("token_file", "/tmp/cfs-unit-does-not-exist/token");
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "/tmp/cfs-unit-does-not-exist/token"));
	ck_assert_ptr_nonnull(strstr(msg, "No such file"));
}
END_TEST

START_TEST(test_config_finish_refuses_unreadable_cacert)
{
	set_ok("app_id", "app1");
	set_ok("cacert", "/tmp/cfs-unit-does-not-exist/ca.pem");
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "cacert"));
}
END_TEST

START_TEST(test_token_file_trailing_whitespace_is_trimmed)
{
	static const struct {
		const char *content, *token;
	} cases[] = {
		{ "svc-1\n", "svc-1" },
		{ "svc-2\r\n", "svc-2" },
		{ "svc-3", "svc-3" },
		{ "svc-4 \t\n\n", "svc-4" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64], *tok = NULL;

		temp_file(path, sizeof(path), cases[i].content, strlen(cases[i].content));
		ck_assert_int_eq(config_read_token_file(path, &tok, msg, sizeof(msg)), CFS_OK);
		ck_assert_str_eq(tok, cases[i].token);
		secret_free(tok);
		unlink(path);
	}
}
END_TEST

START_TEST(test_token_file_larger_than_limit_is_refused)
{
	static char big[20 * 1024];
	char path[64], *tok = (char *)big;

	memset(big, 'a', sizeof(big));
	temp_file(path, sizeof(path), big, sizeof(big));
	ck_assert_int_eq(config_read_token_file(path, &tok, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_null(tok);
	ck_assert_ptr_nonnull(strstr(msg, "larger"));
	unlink(path);
}
END_TEST

START_TEST(test_token_file_that_is_a_directory_is_refused)
{
	char *tok = NULL;

	ck_assert_int_eq(config_read_token_file("/tmp", &tok, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_null(tok);
	ck_assert_ptr_nonnull(strstr(msg, "/tmp"));
}
END_TEST

START_TEST(test_token_file_wins_over_environment_token)
{
	char path[64];

	temp_file(path, sizeof(path), "from-file\n", 10);
	setenv("BASE44_SERVICE_TOKEN", "from-env", 1);
	setenv("BASE44_APP_ID", "app1", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	set_ok("token_file", path);
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_OK);
	ck_assert_str_eq(cfg.service_token, "from-file");
	unlink(path);
}
END_TEST

/* A complete configuration for a mount whose proxy_auth_file= holds content. */
static enum cfs_err
finish_with_proxy_auth(const char *content, size_t len, char *path, size_t pathsz)
{
	temp_file(path, pathsz, content, len);
	set_ok("app_id", "app1");
	set_ok("proxy", "http://proxy.example:3128");
	set_ok("proxy_auth_file", path);
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	msg[0] = '\0';
	return config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg));
}

START_TEST(test_proxy_auth_file_splits_at_the_first_colon_and_keeps_the_password_exact)
{
	static const struct {
		const char *content, *user, *password;
	} cases[] = {
		{ "alice:s3cret\n", "alice", "s3cret" },
		{ "alice:s3cret\r\n", "alice", "s3cret" },
		{ "alice:s3cret", "alice", "s3cret" },
		/* Only the line ending goes: a password may hold ':' and end in a space. */
		{ "bob:pa:ss word \n", "bob", "pa:ss word " },
		{ "carol:\tx\n", "carol", "\tx" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64];

		config_free(&cfg);
		config_init(&cfg);
		ck_assert_msg(finish_with_proxy_auth(cases[i].content, strlen(cases[i].content),
		    path, sizeof(path)) == CFS_OK, "case %zu: %s", i, msg);
		ck_assert_str_eq(cfg.proxy_user, cases[i].user);
		ck_assert_str_eq(cfg.proxy_password, cases[i].password);
		unlink(path);
	}
	unsetenv("BASE44_SERVICE_TOKEN");
}
END_TEST

START_TEST(test_config_finish_refuses_bad_proxy_auth_files_without_their_content)
{
	static const struct {
		const char *content;
		size_t len;
		const char *why;
	} cases[] = {
		{ "", 0, "empty" },
		{ "\n", 1, "empty" },
		{ "alice-sk-TOPSECRET\n", 19, "USER:PASSWORD" },
		{ ":sk-TOPSECRET\n", 14, "USER:PASSWORD" },
		{ "alice-sk-TOPSECRET:\n", 20, "USER:PASSWORD" },
		{ "alice:sk-TOPSECRET\nmore\n", 24, "one line" },
		{ "alice:sk-TOPSECRET\n\n", 20, "one line" },
		{ "alice:sk-TOP\0SECRET\n", 20, "one line" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[64];

		config_free(&cfg);
		config_init(&cfg);
		ck_assert_msg(finish_with_proxy_auth(cases[i].content, cases[i].len, path,
		    sizeof(path)) == CFS_ERR_INVALID, "case %zu accepted", i);
		ck_assert_msg(strstr(msg, cases[i].why) != NULL, "case %zu: %s", i, msg);
		ck_assert_msg(strstr(msg, "proxy_auth_file") != NULL && strstr(msg, path) != NULL,
		    "case %zu: %s", i, msg);
		ck_assert_msg(strstr(msg, "sk-TOP") == NULL, "case %zu echoes the file: %s", i, msg);
		ck_assert_ptr_null(cfg.proxy_user);
		ck_assert_ptr_null(cfg.proxy_password);
		unlink(path);
	}
	unsetenv("BASE44_SERVICE_TOKEN");
}
END_TEST

START_TEST(test_config_finish_refuses_missing_proxy_auth_file)
{
	set_ok("app_id", "app1");
	set_ok("proxy_auth_file", "/tmp/cfs-unit-does-not-exist/proxy-auth");
	setenv("BASE44_SERVICE_TOKEN", "svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_ERR_INVALID);
	ck_assert_ptr_nonnull(strstr(msg, "proxy_auth_file /tmp/cfs-unit-does-not-exist/"));
	ck_assert_ptr_nonnull(strstr(msg, "No such file"));
	unsetenv("BASE44_SERVICE_TOKEN");
}
END_TEST

START_TEST(test_config_from_env_reads_protocol_variables)
{
	setenv("BASE44_API_URL", "http://localhost:8044/", 1);
	setenv("BASE44_APP_ID", "env-app", 1);
	setenv("BASE44_SERVICE_TOKEN", "env-svc", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_str_eq(cfg.api_url, "http://localhost:8044");
	ck_assert_str_eq(cfg.app_id, "env-app");
	ck_assert_str_eq(cfg.service_token, "env-svc");
	ck_assert_int_eq(config_finish(&cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)), CFS_OK);
	unsetenv("BASE44_API_URL");
	unsetenv("BASE44_APP_ID");
	unsetenv("BASE44_SERVICE_TOKEN");
}
END_TEST

START_TEST(test_config_from_env_ignores_unset_and_empty_variables)
{
	setenv("BASE44_API_URL", "", 1);
	setenv("BASE44_SERVICE_TOKEN", "", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	ck_assert_ptr_null(cfg.api_url);
	ck_assert_ptr_null(cfg.app_id);
	ck_assert_ptr_null(cfg.service_token);
	unsetenv("BASE44_API_URL");
	unsetenv("BASE44_SERVICE_TOKEN");
}
END_TEST

START_TEST(test_config_options_override_environment)
{
	setenv("BASE44_APP_ID", "env-app", 1);
	setenv("BASE44_API_URL", "https://env.example", 1);
	ck_assert_int_eq(config_from_env(&cfg, msg, sizeof(msg)), CFS_OK);
	set_ok("app_id", "opt-app");
	set_ok("api_url", "https://opt.example/");
	ck_assert_str_eq(cfg.app_id, "opt-app");
	ck_assert_str_eq(cfg.api_url, "https://opt.example");
	unsetenv("BASE44_APP_ID");
	unsetenv("BASE44_API_URL");
}
END_TEST

START_TEST(test_config_free_clears_and_can_be_repeated)
{
	set_ok("app_id", "app1");
	set_ok("connectors", "slack,github");
	set_ok("cacert", "/tmp/a");
	config_free(&cfg);
	ck_assert_ptr_null(cfg.app_id);
	ck_assert_ptr_null(cfg.connectors);
	ck_assert_uint_eq(cfg.nconnectors, 0);
	config_free(&cfg);
}
END_TEST

/* audit=PATH is ours, not libfuse's. */
START_TEST(test_config_set_accepts_audit_path)
{
	ck_assert(config_is_option("audit"));
	ck_assert_int_eq(config_set(&cfg, "audit", "/var/log/connectorfs-audit.jsonl", msg,
	    sizeof(msg)), CFS_OK);
	ck_assert_str_eq(cfg.audit, "/var/log/connectorfs-audit.jsonl");
}
END_TEST

Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *set = tcase_create("set");
	TCase *fin = tcase_create("finish");
	TCase *bugs = tcase_create("regressions");

	tcase_add_checked_fixture(set, config_setup, config_teardown);
	tcase_add_test(set, test_config_init_sets_documented_defaults);
	tcase_add_test(set, test_config_set_accepts_good_values);
	tcase_add_test(set, test_config_set_stores_parsed_values);
	tcase_add_test(set, test_config_modes_with_a_write_bit_are_refused);
	tcase_add_test(set, test_config_access_gives_a_connector_its_own_owner_group_and_mode);
	tcase_add_test(set, test_config_access_refuses_bad_rules_with_one_line_naming_them);
	tcase_add_test(set, test_config_set_refuses_bad_values_naming_the_option);
	tcase_add_test(set, test_config_set_bad_value_keeps_previous_value);
	tcase_add_test(set, test_config_set_refuses_tokens_on_the_command_line);
	tcase_add_test(set, test_config_unknown_key_is_not_ours_and_set_refuses_it);
	tcase_add_test(set, test_config_set_option_without_value_is_refused);
	tcase_add_test(set, test_config_api_url_trailing_slashes_stripped);
	tcase_add_test(set, test_config_url_allowed_https_or_loopback_http);
	tcase_add_test(set, test_config_proxy_accepts_http_or_https_to_a_host_and_port);
	tcase_add_test(set, test_config_proxy_refuses_other_urls_naming_the_option_and_keeps_the_last);
	tcase_add_test(set, test_config_proxy_with_credentials_is_refused_pointing_at_proxy_auth_file);
	tcase_add_test(set, test_config_proxy_secret_options_are_refused_pointing_at_proxy_auth_file);
	tcase_add_test(set, test_config_free_clears_and_can_be_repeated);
	suite_add_tcase(s, set);

	tcase_add_checked_fixture(fin, config_setup, config_teardown);
	tcase_add_test(fin, test_config_finish_accepts_complete_config_with_defaults);
	tcase_add_test(fin, test_config_finish_without_app_id_fails);
	tcase_add_test(fin, test_config_finish_refuses_app_id_that_changes_the_path);
	tcase_add_test(fin, test_config_finish_without_token_fails);
	tcase_add_test(fin, test_config_finish_refuses_http_to_non_loopback);
	tcase_add_test(fin, test_config_finish_accepts_http_to_loopback);
	tcase_add_test(fin, test_config_finish_refuses_bad_token_files);
	tcase_add_test(fin, test_config_finish_refuses_missing_token_file);
	tcase_add_test(fin, test_config_finish_refuses_unreadable_cacert);
	tcase_add_test(fin, test_token_file_trailing_whitespace_is_trimmed);
	tcase_add_test(fin, test_token_file_larger_than_limit_is_refused);
	tcase_add_test(fin, test_token_file_that_is_a_directory_is_refused);
	tcase_add_test(fin, test_token_file_wins_over_environment_token);
	tcase_add_test(fin, test_proxy_auth_file_splits_at_the_first_colon_and_keeps_the_password_exact);
	tcase_add_test(fin, test_config_finish_refuses_bad_proxy_auth_files_without_their_content);
	tcase_add_test(fin, test_config_finish_refuses_missing_proxy_auth_file);
	tcase_add_test(fin, test_config_from_env_reads_protocol_variables);
	tcase_add_test(fin, test_config_from_env_ignores_unset_and_empty_variables);
	tcase_add_test(fin, test_config_options_override_environment);
	suite_add_tcase(s, fin);

	tcase_add_checked_fixture(bugs, config_setup, config_teardown);
	tcase_add_test(bugs, test_config_set_accepts_audit_path);
	suite_add_tcase(s, bugs);
	return s;
}
