/*
 * config.c: option values, their limits and their defaults, in one place.
 * A secret offered as an option is refused here because argv is readable by
 * every user through /proc; the message says what to use instead.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "names.h"
#include "secret.h"

#define CONFIG_TOKEN_FILE_MAX	(16 * 1024)

void
config_init(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ttl = CONFIG_DEFAULT_TTL;
	cfg->max_stale = CONFIG_DEFAULT_MAX_STALE;
	cfg->negative_ttl = CONFIG_DEFAULT_NEGATIVE_TTL;
	cfg->timeout = CONFIG_DEFAULT_TIMEOUT;
	cfg->mode = CONFIG_DEFAULT_MODE;
	cfg->dir_mode = CONFIG_DEFAULT_DIR_MODE;
	cfg->uid = getuid();
	cfg->gid = getgid();
}

static int
config_replace(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (copy == NULL)
		return -1;
	free(*slot);
	*slot = copy;
	return 0;
}

static int
config_set_url(struct config *cfg, const char *value)
{
	size_t n = strlen(value);

	if (config_replace(&cfg->api_url, value) != 0)
		return -1;
	while (n > 0 && cfg->api_url[n - 1] == '/')
		cfg->api_url[--n] = '\0';
	return 0;
}

enum cfs_err
config_from_env(struct config *cfg, char *msg, size_t msgsz)
{
	const char *v;

	if ((v = getenv("BASE44_API_URL")) != NULL && *v != '\0' &&
	    config_set_url(cfg, v) != 0)
		goto nomem;
	if ((v = getenv("BASE44_APP_ID")) != NULL && *v != '\0' &&
	    config_replace(&cfg->app_id, v) != 0)
		goto nomem;
	if ((v = getenv("BASE44_API_KEY")) != NULL && *v != '\0') {
		secret_free(cfg->api_key);
		cfg->api_key = secret_strndup(v, strlen(v));
		if (cfg->api_key == NULL)
			goto nomem;
	}
	if ((v = getenv("BASE44_SERVICE_TOKEN")) != NULL && *v != '\0') {
		secret_free(cfg->service_token);
		cfg->service_token = secret_strndup(v, strlen(v));
		if (cfg->service_token == NULL)
			goto nomem;
	}
	return CFS_OK;
nomem:
	snprintf(msg, msgsz, "out of memory");
	return CFS_ERR_NO_MEMORY;
}

void
config_scrub_env(void)
{
	static const char *const names[] = { "BASE44_SERVICE_TOKEN", "BASE44_API_KEY" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *v = getenv(names[i]);

		if (v != NULL)
			secret_wipe(v, strlen(v));
		unsetenv(names[i]);
	}
}

static int
config_parse_uint(const char *value, unsigned base, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long v;

	if (value == NULL || *value == '\0' || !isdigit((unsigned char)value[0]))
		return -1;
	errno = 0;
	v = strtoul(value, &end, (int)base);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
config_parse_uid(const char *value, uid_t *out)
{
	unsigned long v;
	struct passwd *pw;

	if (config_parse_uint(value, 10, UINT_MAX - 1, &v) == 0) {
		*out = (uid_t)v;
		return 0;
	}
	pw = getpwnam(value);
	if (pw == NULL)
		return -1;
	*out = pw->pw_uid;
	return 0;
}

static int
config_parse_gid(const char *value, gid_t *out)
{
	unsigned long v;
	struct group *gr;

	if (config_parse_uint(value, 10, UINT_MAX - 1, &v) == 0) {
		*out = (gid_t)v;
		return 0;
	}
	gr = getgrnam(value);
	if (gr == NULL)
		return -1;
	*out = gr->gr_gid;
	return 0;
}

static int
config_set_connectors(struct config *cfg, const char *value, char *msg, size_t msgsz)
{
	char *copy, *save = NULL, *tok;
	char **list = NULL;
	size_t n = 0;
	int rc = -1;

	copy = strdup(value);
	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, ",:", &save); tok != NULL; tok = strtok_r(NULL, ",:", &save)) {
		char **grown;

		if (!name_is_connector(tok)) {
			snprintf(msg, msgsz, "connectors=: '%.64s' is not a connector name "
			    "(lower-case letters, digits, '_' and '-', at most 64; '%s' is the "
			    "workspace connectors' folder)", tok, NAME_WORKSPACE_DIR);
			goto out;
		}
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (grown == NULL)
			goto out;
		list = grown;
		if ((list[n] = strdup(tok)) == NULL)
			goto out;
		n++;
	}
	while (cfg->nconnectors > 0)
		free(cfg->connectors[--cfg->nconnectors]);
	free(cfg->connectors);
	cfg->connectors = list;
	cfg->nconnectors = n;
	list = NULL;
	n = 0;
	rc = 0;
out:
	while (n > 0)
		free(list[--n]);
	free(list);
	free(copy);
	return rc;
}

enum cfs_err
config_add_connector(struct config *cfg, const char *name, char *msg, size_t msgsz)
{
	char **grown;
	size_t i;

	if (!name_is_connector(name)) {
		snprintf(msg, msgsz, "connectors=: '%.64s' is not a connector name "
		    "(lower-case letters, digits, '_' and '-', at most 64; '%s' is the "
		    "workspace connectors' folder)", name, NAME_WORKSPACE_DIR);
		return CFS_ERR_INVALID;
	}
	for (i = 0; i < cfg->nconnectors; i++)
		if (strcmp(cfg->connectors[i], name) == 0)
			return CFS_OK;
	grown = realloc(cfg->connectors, (cfg->nconnectors + 1) * sizeof(*grown));
	if (grown == NULL)
		goto nomem;
	cfg->connectors = grown;
	if ((cfg->connectors[cfg->nconnectors] = strdup(name)) == NULL)
		goto nomem;
	cfg->nconnectors++;
	return CFS_OK;
nomem:
	snprintf(msg, msgsz, "out of memory");
	return CFS_ERR_NO_MEMORY;
}

/* access=CONNECTOR:USER[:GROUP[:MODE]] */
static int
config_set_access(struct config *cfg, const char *value, char *msg, size_t msgsz)
{
	char copy[512], *field[5], *save, *tok;
	struct config_access a, *grown;
	unsigned long v;
	size_t n = 0, i;

	if (strlen(value) >= sizeof(copy)) {
		snprintf(msg, msgsz, "access=: value too long");
		return -1;
	}
	memcpy(copy, value, strlen(value) + 1);
	/* strtok would merge "slack::0440": split by hand so an empty field is seen. */
	for (tok = copy; tok != NULL && n < 5; n++) {
		field[n] = tok;
		save = strchr(tok, ':');
		if (save != NULL)
			*save++ = '\0';
		tok = save;
	}
	memset(&a, 0, sizeof(a));
	if (n < 2 || n > 4 || tok != NULL) {
		snprintf(msg, msgsz, "access=%.64s: expected CONNECTOR:USER[:GROUP[:MODE]]", value);
		return -1;
	}
	if (!name_is_connection(field[0])) {
		snprintf(msg, msgsz, "access=%.64s: '%.64s' is not a connector name", value,
		    field[0]);
		return -1;
	}
	snprintf(a.connector, sizeof(a.connector), "%s", field[0]);
	if (config_parse_uid(field[1], &a.uid) != 0) {
		snprintf(msg, msgsz, "access=%.64s: '%.32s' is not a user name or number", value,
		    field[1]);
		return -1;
	}
	if (n >= 3 && field[2][0] != '\0') {
		if (config_parse_gid(field[2], &a.gid) != 0) {
			snprintf(msg, msgsz, "access=%.64s: '%.32s' is not a group name or number",
			    value, field[2]);
			return -1;
		}
		a.has_gid = 1;
	}
	if (n == 4) {
		if (config_parse_uint(field[3], 8, 0777, &v) != 0 || (v & 0222) != 0) {
			snprintf(msg, msgsz, "access=%.64s: '%.16s' is not an octal mode without "
			    "write bits (the mount is read-only)", value, field[3]);
			return -1;
		}
		a.mode = (mode_t)v;
		a.has_mode = 1;
	}
	for (i = 0; i < cfg->naccess; i++) {
		if (strcmp(cfg->access[i].connector, a.connector) == 0) {
			snprintf(msg, msgsz, "access=%.64s: %s already has an access= rule", value,
			    a.connector);
			return -1;
		}
	}
	grown = realloc(cfg->access, (cfg->naccess + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	cfg->access = grown;
	cfg->access[cfg->naccess++] = a;
	return 0;
}

void
config_access_of(const struct config *cfg, const char *connector, uid_t *uid, gid_t *gid,
    mode_t *mode, mode_t *dir_mode)
{
	size_t i;

	*uid = cfg->uid;
	*gid = cfg->gid;
	*mode = cfg->mode;
	*dir_mode = cfg->dir_mode;
	for (i = 0; connector != NULL && i < cfg->naccess; i++) {
		const struct config_access *a = &cfg->access[i];

		if (strcmp(a->connector, connector) != 0)
			continue;
		*uid = a->uid;
		if (a->has_gid)
			*gid = a->gid;
		if (a->has_mode)
			*mode = a->mode;
		/* A folder can be entered by whoever may read its files. */
		*dir_mode = *mode | ((*mode & 0444) >> 2);
		return;
	}
}

/* Options that would put a secret in argv: refused, never stored. */
static const char *const config_secret_keys[] = {
	"token", "service_token", "servicetoken", "base44_service_token",
	"access_token", "api_key", "apikey", "password",
	"proxy_auth", "proxy_user", "proxy_password", "proxy_userpwd", NULL
};

enum config_kind {
	CK_STRING, CK_URL, CK_SECONDS, CK_MODE, CK_UID, CK_GID, CK_LIST, CK_ACCESS, CK_PROXY
};

static const struct config_option {
	const char *key;
	enum config_kind kind;
	size_t offset;
	unsigned long min, max;
} config_options[] = {
	{ "api_url", CK_URL, offsetof(struct config, api_url), 0, 0 },
	{ "app_id", CK_STRING, offsetof(struct config, app_id), 0, 0 },
	{ "token_file", CK_STRING, offsetof(struct config, token_file), 0, 0 },
	{ "api_key_file", CK_STRING, offsetof(struct config, api_key_file), 0, 0 },
	{ "connectors", CK_LIST, 0, 0, 0 },
	{ "ttl", CK_SECONDS, offsetof(struct config, ttl), 0, 86400 },
	{ "max_stale", CK_SECONDS, offsetof(struct config, max_stale), 0, 7 * 86400 },
	{ "negative_ttl", CK_SECONDS, offsetof(struct config, negative_ttl), 0, 86400 },
	{ "timeout", CK_SECONDS, offsetof(struct config, timeout), 1, 600 },
	{ "uid", CK_UID, 0, 0, 0 },
	{ "gid", CK_GID, 0, 0, 0 },
	{ "mode", CK_MODE, offsetof(struct config, mode), 0, 0777 },
	{ "dir_mode", CK_MODE, offsetof(struct config, dir_mode), 0, 0777 },
	{ "access", CK_ACCESS, 0, 0, 0 },
	{ "cacert", CK_STRING, offsetof(struct config, cacert), 0, 0 },
	{ "audit", CK_STRING, offsetof(struct config, audit), 0, 0 },
	{ "proxy", CK_PROXY, offsetof(struct config, proxy), 0, 0 },
	{ "proxy_auth_file", CK_STRING, offsetof(struct config, proxy_auth_file), 0, 0 },
	{ NULL, CK_STRING, 0, 0, 0 }
};

static int
config_is_secret_key(const char *key)
{
	size_t i;

	for (i = 0; config_secret_keys[i] != NULL; i++)
		if (strcmp(key, config_secret_keys[i]) == 0)
			return 1;
	return 0;
}

int
config_is_option(const char *key)
{
	size_t i;

	if (config_is_secret_key(key))
		return 1;
	for (i = 0; config_options[i].key != NULL; i++)
		if (strcmp(key, config_options[i].key) == 0)
			return 1;
	return 0;
}

enum cfs_err
config_set(struct config *cfg, const char *key, const char *value,
    char *msg, size_t msgsz)
{
	const struct config_option *o;
	unsigned long v;
	char *base = (char *)cfg;

	if (msgsz > 0)
		msg[0] = '\0';

	if (config_is_secret_key(key)) {
		int mgmt = strcmp(key, "api_key") == 0 || strcmp(key, "apikey") == 0;

		if (strncmp(key, "proxy_", 6) == 0) {
			snprintf(msg, msgsz, "option %s= refused: a secret on the command line is "
			    "readable by every user in /proc; put USER:PASSWORD in a file and use "
			    "proxy_auth_file=FILE", key);
			return CFS_ERR_INVALID;
		}
		snprintf(msg, msgsz, "option %s= refused: a secret on the command line is "
		    "readable by every user in /proc; set %s in the environment or use %s=FILE",
		    key, mgmt ? "BASE44_API_KEY" : "BASE44_SERVICE_TOKEN",
		    mgmt ? "api_key_file" : "token_file");
		return CFS_ERR_INVALID;
	}
	for (o = config_options; o->key != NULL; o++)
		if (strcmp(key, o->key) == 0)
			break;
	if (o->key == NULL) {
		snprintf(msg, msgsz, "unknown option '%.64s'", key);
		return CFS_ERR_INVALID;
	}
	if (value == NULL || (*value == '\0' && o->kind != CK_LIST)) {
		snprintf(msg, msgsz, "option %s needs a value (%s=...)", key, key);
		return CFS_ERR_INVALID;
	}
	switch (o->kind) {
	case CK_STRING:
		if (config_replace((char **)(void *)(base + o->offset), value) != 0)
			goto nomem;
		break;
	case CK_URL:
		if (config_set_url(cfg, value) != 0)
			goto nomem;
		break;
	case CK_PROXY:
		/* The value is never echoed: it may hold the very password refused here. */
		if (strchr(value, '@') != NULL) {
			snprintf(msg, msgsz, "proxy=: a user name or password in the URL is refused "
			    "(argv is readable by every user in /proc); put USER:PASSWORD in a file "
			    "and use proxy_auth_file=FILE");
			return CFS_ERR_INVALID;
		}
		if (!config_proxy_url_allowed(value)) {
			snprintf(msg, msgsz, "proxy=: expected http://HOST[:PORT] or "
			    "https://HOST[:PORT], with nothing after the port");
			return CFS_ERR_INVALID;
		}
		if (config_replace(&cfg->proxy, value) != 0)
			goto nomem;
		break;
	case CK_SECONDS:
		if (config_parse_uint(value, 10, o->max, &v) != 0 || v < o->min) {
			snprintf(msg, msgsz, "%s=%.32s: expected whole seconds from %lu to %lu",
			    key, value, o->min, o->max);
			return CFS_ERR_INVALID;
		}
		*(unsigned *)(void *)(base + o->offset) = (unsigned)v;
		break;
	case CK_MODE:
		if (config_parse_uint(value, 8, o->max, &v) != 0) {
			snprintf(msg, msgsz, "%s=%.32s: expected an octal mode from 0 to 0777",
			    key, value);
			return CFS_ERR_INVALID;
		}
		if (v & 0222) {
			/* The mount is read-only: a write bit would promise what cannot be. */
			snprintf(msg, msgsz, "%s=%.32s: write bits are not allowed (the mount is "
			    "read-only)", key, value);
			return CFS_ERR_INVALID;
		}
		*(mode_t *)(void *)(base + o->offset) = (mode_t)v;
		break;
	case CK_UID:
		if (config_parse_uid(value, &cfg->uid) != 0) {
			snprintf(msg, msgsz, "uid=%.32s: not a user name or number", value);
			return CFS_ERR_INVALID;
		}
		break;
	case CK_GID:
		if (config_parse_gid(value, &cfg->gid) != 0) {
			snprintf(msg, msgsz, "gid=%.32s: not a group name or number", value);
			return CFS_ERR_INVALID;
		}
		break;
	case CK_ACCESS:
		if (config_set_access(cfg, value, msg, msgsz) != 0) {
			if (msg[0] == '\0')
				goto nomem;
			return CFS_ERR_INVALID;
		}
		break;
	case CK_LIST:
		if (config_set_connectors(cfg, value, msg, msgsz) != 0) {
			if (msg[0] == '\0')
				goto nomem;
			return CFS_ERR_INVALID;
		}
		break;
	}
	return CFS_OK;
nomem:
	snprintf(msg, msgsz, "out of memory");
	return CFS_ERR_NO_MEMORY;
}

static int
config_host_is_loopback(const char *host, size_t n)
{
	char h[64];
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof(h))
		return 0;
	memcpy(h, host, n);
	h[n] = '\0';
	if (strcasecmp(h, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (h[0] == '[' && h[n - 1] == ']') {
		h[n - 1] = '\0';
		if (inet_pton(AF_INET6, h + 1, &a6) == 1)
			return memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	}
	return 0;
}

int
config_url_allowed(const char *url)
{
	const char *host, *end;

	if (strncasecmp(url, "https://", 8) == 0)
		return url[8] != '\0' && url[8] != '/';
	if (strncasecmp(url, "http://", 7) != 0)
		return 0;
	host = url + 7;
	if (strchr(host, '@') != NULL)
		return 0;	/* userinfo could disguise the real host */
	if (*host == '[') {
		end = strchr(host, ']');
		if (end == NULL)
			return 0;
		end++;
	} else {
		end = host + strcspn(host, ":/?#");
	}
	return config_host_is_loopback(host, (size_t)(end - host));
}

int
config_proxy_url_allowed(const char *url)
{
	static const char host_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789.-_";
	const char *host, *end;
	size_t n;

	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return 0;	/* socks and the rest: the tunnel must be HTTP CONNECT */
	if (*host == '[') {
		char h[INET6_ADDRSTRLEN];
		struct in6_addr a6;

		end = strchr(host, ']');
		if (end == NULL || (n = (size_t)(end - host - 1)) == 0 || n >= sizeof(h))
			return 0;
		memcpy(h, host + 1, n);
		h[n] = '\0';
		if (inet_pton(AF_INET6, h, &a6) != 1)
			return 0;
		end++;
	} else {
		n = strspn(host, host_chars);
		if (n == 0 || n > 253)
			return 0;
		end = host + n;
	}
	if (*end == ':') {
		unsigned long port;

		n = strspn(end + 1, "0123456789");
		if (n == 0 || n > 5)
			return 0;
		port = strtoul(end + 1, NULL, 10);
		if (port == 0 || port > 65535)
			return 0;
		end += 1 + n;
	}
	/* A path, query or fragment means nothing to a proxy: refused, not ignored. */
	if (*end == '/')
		end++;
	return *end == '\0';
}

/*
 * A one-line secret file into secret memory, checked the same way for every
 * file option. what names the option in messages, holding what the line
 * holds. A token loses all trailing whitespace; a proxy password may end
 * in a space, so proxy_auth_file= loses only its line ending (trim_all 0).
 */
static enum cfs_err
config_read_secret_file(const char *path, const char *what, const char *holding,
    int trim_all, char **secret, char *msg, size_t msgsz)
{
	enum cfs_err err = CFS_ERR_INVALID;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	*secret = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
		return CFS_ERR_INVALID;
	}
	buf = secret_alloc(CONFIG_TOKEN_FILE_MAX + 1);
	if (buf == NULL) {
		snprintf(msg, msgsz, "out of memory");
		err = CFS_ERR_NO_MEMORY;
		goto out;
	}
	while (len < CONFIG_TOKEN_FILE_MAX &&
	    (r = read(fd, buf + len, CONFIG_TOKEN_FILE_MAX - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			snprintf(msg, msgsz, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	if (len >= CONFIG_TOKEN_FILE_MAX) {
		snprintf(msg, msgsz, "%s %s: larger than %d bytes", what, path,
		    CONFIG_TOKEN_FILE_MAX);
		goto out;
	}
	if (trim_all) {
		while (len > 0 && isspace((unsigned char)buf[len - 1]))
			len--;
	} else if (len > 0 && buf[len - 1] == '\n') {
		len--;
		if (len > 0 && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		snprintf(msg, msgsz, "%s %s is empty", what, path);
		goto out;
	}
	if (memchr(buf, '\n', len) != NULL || memchr(buf, '\0', len) != NULL) {
		snprintf(msg, msgsz, "%s %s: expected one line holding %s", what, path, holding);
		goto out;
	}
	*secret = secret_strndup(buf, len);
	err = *secret ? CFS_OK : CFS_ERR_NO_MEMORY;
out:
	secret_free(buf);
	close(fd);
	return err;
}

enum cfs_err
config_read_token_file(const char *path, char **token, char *msg, size_t msgsz)
{
	return config_read_secret_file(path, "token file", "the token", 1, token, msg, msgsz);
}

/*
 * proxy_auth_file=: USER:PASSWORD, split at the first ':' (a password may
 * hold more), both parts in secret memory for CURLOPT_PROXYUSERNAME and
 * CURLOPT_PROXYPASSWORD. Nothing of the content reaches a message.
 */
static enum cfs_err
config_load_proxy_auth(struct config *cfg, char *msg, size_t msgsz)
{
	char *line = NULL, *colon, *user = NULL, *password = NULL;
	enum cfs_err err;

	err = config_read_secret_file(cfg->proxy_auth_file, "proxy_auth_file",
	    "USER:PASSWORD", 0, &line, msg, msgsz);
	if (err != CFS_OK)
		return err;
	err = CFS_ERR_INVALID;
	colon = strchr(line, ':');
	if (colon == NULL || colon == line || colon[1] == '\0') {
		snprintf(msg, msgsz, "proxy_auth_file %s: expected one line USER:PASSWORD "
		    "(a user name, ':', a password)", cfg->proxy_auth_file);
		goto out;
	}
	err = CFS_ERR_NO_MEMORY;
	user = secret_strndup(line, (size_t)(colon - line));
	password = secret_strndup(colon + 1, strlen(colon + 1));
	if (user == NULL || password == NULL) {
		snprintf(msg, msgsz, "out of memory");
		goto out;
	}
	secret_free(cfg->proxy_user);
	secret_free(cfg->proxy_password);
	cfg->proxy_user = user;
	cfg->proxy_password = password;
	user = password = NULL;
	err = CFS_OK;
out:
	secret_free(user);
	secret_free(password);
	secret_free(line);
	return err;
}

/*
 * A secret from its file option, else from systemd's credential of that
 * name, else whatever the environment gave. Leaves *secret as it was when
 * no file applies.
 */
static enum cfs_err
config_load_secret(char **file, const char *credential, char **secret, char *msg,
    size_t msgsz)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	enum cfs_err err;
	char *value;

	if (*file == NULL && *secret == NULL && dir != NULL) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, credential);
		if (access(path, F_OK) == 0 && config_replace(file, path) != 0) {
			snprintf(msg, msgsz, "out of memory");
			return CFS_ERR_NO_MEMORY;
		}
	}
	if (*file == NULL)
		return CFS_OK;
	err = config_read_token_file(*file, &value, msg, msgsz);
	if (err != CFS_OK)
		return err;
	secret_free(*secret);
	*secret = value;
	return CFS_OK;
}

enum cfs_err
config_finish(struct config *cfg, enum config_use use, char *msg, size_t msgsz)
{
	enum cfs_err err;

	if (cfg->api_url == NULL && config_set_url(cfg, CONFIG_DEFAULT_API_URL) != 0) {
		snprintf(msg, msgsz, "out of memory");
		return CFS_ERR_NO_MEMORY;
	}
	if (!config_url_allowed(cfg->api_url)) {
		snprintf(msg, msgsz, "api_url %.200s: must be https://, or http:// to a "
		    "loopback address (127.0.0.0/8, ::1, localhost)", cfg->api_url);
		return CFS_ERR_INVALID;
	}
	if (cfg->app_id == NULL || cfg->app_id[0] == '\0') {
		snprintf(msg, msgsz, "no app id: set BASE44_APP_ID or -o app_id=ID");
		return CFS_ERR_INVALID;
	}
	if (strpbrk(cfg->app_id, "/?#% \t\r\n") != NULL) {
		snprintf(msg, msgsz, "app_id %.64s: must not contain '/', '?', '#', '%%' or spaces",
		    cfg->app_id);
		return CFS_ERR_INVALID;
	}
	/* systemd LoadCredential=base44-service-token:... (when nothing else says). */
	err = config_load_secret(&cfg->token_file, CONFIG_CREDENTIAL_NAME, &cfg->service_token,
	    msg, msgsz);
	if (err != CFS_OK)
		return err;
	err = config_load_secret(&cfg->api_key_file, CONFIG_API_KEY_CREDENTIAL, &cfg->api_key,
	    msg, msgsz);
	if (err != CFS_OK)
		return err;
	if (use == CONFIG_FOR_MOUNT &&
	    (cfg->service_token == NULL || cfg->service_token[0] == '\0')) {
		snprintf(msg, msgsz, "no service token: set BASE44_SERVICE_TOKEN or "
		    "-o token_file=FILE");
		return CFS_ERR_INVALID;
	}
	if (use == CONFIG_FOR_LISTING && (cfg->api_key == NULL || cfg->api_key[0] == '\0')) {
		snprintf(msg, msgsz, "no management credential: set BASE44_API_KEY or "
		    "-o api_key_file=FILE");
		return CFS_ERR_INVALID;
	}
	if (cfg->cacert != NULL && access(cfg->cacert, R_OK) != 0) {
		snprintf(msg, msgsz, "cacert %s: %s", cfg->cacert, strerror(errno));
		return CFS_ERR_INVALID;
	}
	/* Read again by every server the keeper starts: argv names only the file. */
	if (cfg->proxy_auth_file != NULL) {
		err = config_load_proxy_auth(cfg, msg, msgsz);
		if (err != CFS_OK)
			return err;
	}
	return CFS_OK;
}

void
config_free(struct config *cfg)
{
	free(cfg->api_url);
	free(cfg->app_id);
	free(cfg->token_file);
	secret_free(cfg->service_token);
	free(cfg->api_key_file);
	secret_free(cfg->api_key);
	while (cfg->nconnectors > 0)
		free(cfg->connectors[--cfg->nconnectors]);
	free(cfg->connectors);
	free(cfg->access);
	free(cfg->cacert);
	free(cfg->audit);
	free(cfg->proxy);
	free(cfg->proxy_auth_file);
	secret_free(cfg->proxy_user);
	secret_free(cfg->proxy_password);
	memset(cfg, 0, sizeof(*cfg));
}
