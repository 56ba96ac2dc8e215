/*
 * test_status.c: the daemon's own files (status.h) and the JSON writer they
 * share with connection.json (jsonw.h). status.json must be JSON with one
 * entry per connector and never a value; metrics must be Prometheus text
 * with every name under connectorfs_. json-c is used here only to check
 * that what was written parses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cache.h"
#include "decode.h"
#include "jsonw.h"
#include "secret.h"
#include "status.h"
#include "unit.h"

#define WALL0	1800000000000LL		/* 2027-01-15T08:00:00Z */

static long long status_now = 5000;

/* A server pid 4242 under keeper 4241, started 2 s after the mount, taken over twice. */
static const struct status_process *
status_proc(long long mount_wall_ms)
{
	static struct status_process p;

	p = (struct status_process){
		.mount_wall_ms = mount_wall_ms,
		.started_wall_ms = mount_wall_ms + 2000,
		.pid = 4242,
		.supervisor_pid = 4241,
		.takeovers = 2,
	};
	return &p;
}

static long long
status_clock(void *arg)
{
	(void)arg;
	return status_now;
}

static long long
status_wall(void *arg)
{
	(void)arg;
	return WALL0;
}

/* slack and github connect (slack with a JWT), notion is 404, linear is 503. */
static enum cfs_err
status_fetch(void *arg, const char *name, struct connection **out, struct base44_result *res)
{
	char body[512], jwt[256], why[160];

	(void)arg;
	if (strcmp(name, "notion") == 0) {
		res->status = 404;
		snprintf(res->message, sizeof(res->message), "Connector \"notion\"\nnot found");
		return CFS_ERR_NOT_FOUND;
	}
	if (strcmp(name, "linear") == 0) {
		res->status = 503;
		return CFS_ERR_SERVER;
	}
	if (strcmp(name, "slack") == 0) {
		ck_assert_int_gt(unit_jwt(jwt, sizeof(jwt), "{\"exp\":1800003600}"), 0);
		snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", jwt);
	} else {
		snprintf(body, sizeof(body), "{\"access_token\":\"ghp-SECRET\","
		    "\"connection_config\":{\"org\":\"SECRET-ORG\"}}");
	}
	res->status = 200;
	return decode_connection(body, strlen(body), name, out, why, sizeof(why));
}

static struct cache *
status_cache(void)
{
	struct cache_settings set = { .ttl_s = 60, .max_stale_s = 300, .negative_ttl_s = 10,
	    .timeout_s = 5 };
	struct cache_hooks hooks = {
		.fetch = status_fetch,
		.mono_ms = status_clock,
		.wall_ms = status_wall,
	};
	static const char *const names[] = { "slack", "notion", "linear", "github" };
	struct cache *c = NULL;
	struct cache_view v;
	size_t i;

	ck_assert_int_eq(cache_new(&set, &hooks, &c), CFS_OK);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* As with connectors=: reported whatever their fetch gives. */
		ck_assert_int_eq(cache_declare(c, names[i]), CFS_OK);
		(void)cache_get(c, names[i], &v, NULL);
		cache_view_release(&v);
	}
	return c;
}

static struct json_object *
field(struct json_object *o, const char *path)
{
	char buf[128], *save = NULL, *part;
	struct json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (part = strtok_r(buf, ".", &save); part != NULL; part = strtok_r(NULL, ".", &save))
		ck_assert_msg(json_object_object_get_ex(cur, part, &cur), "no %s", path);
	return cur;
}

static const char *
field_str(struct json_object *o, const char *path)
{
	struct json_object *v = field(o, path);

	return json_object_is_type(v, json_type_null) ? "null" : json_object_get_string(v);
}

START_TEST(test_status_json_parses_with_one_entry_per_connector)
{
	struct cache *c = status_cache();
	struct json_object *root, *conns;
	struct buf b;

	buf_init(&b, 1024 * 1024);
	ck_assert_int_eq(status_render_json(c, status_proc(WALL0 - 90500), WALL0, &b), CFS_OK);
	ck_assert_uint_gt(b.len, 0);
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	root = json_tokener_parse(b.data);
	ck_assert_msg(root != NULL, "status.json is not JSON: %s", b.data);
	ck_assert_int_eq(json_object_get_int(field(root, "uptime_seconds")), 90);
	ck_assert_str_eq(field_str(root, "version"), CFS_VERSION);
	ck_assert_int_eq(json_object_get_int(field(root, "pid")), 4242);
	ck_assert_int_eq(json_object_get_int(field(root, "supervisor_pid")), 4241);
	ck_assert_int_eq(json_object_get_int(field(root, "takeovers")), 2);
	ck_assert_str_eq(field_str(root, "process_started_at"), "2027-01-15T07:58:31.500Z");
	conns = field(root, "connectors");
	ck_assert_int_eq(json_object_object_length(conns), 4);

	ck_assert_str_eq(field_str(conns, "slack.state"), "fresh");
	ck_assert_str_eq(field_str(conns, "slack.fetched_at"), "2027-01-15T08:00:00.000Z");
	ck_assert_str_eq(field_str(conns, "slack.changed_at"), "2027-01-15T08:00:00.000Z");
	ck_assert_str_eq(field_str(conns, "slack.token_expires_at"), "2027-01-15T09:00:00.000Z");
	ck_assert_int_eq(json_object_get_int(field(conns, "slack.generation")), 1);
	ck_assert_int_eq(json_object_get_int(field(conns, "slack.requests")), 1);
	ck_assert_str_eq(field_str(conns, "slack.last_error"), "null");
	ck_assert_str_eq(field_str(conns, "github.token_expires_at"), "null");

	ck_assert_str_eq(field_str(conns, "notion.state"), "not_found");
	ck_assert_str_eq(field_str(conns, "notion.fetched_at"), "null");
	ck_assert_str_eq(field_str(conns, "notion.last_error.error"), "not_found");
	ck_assert_int_eq(json_object_get_int(field(conns, "notion.last_error.errno")), 2);
	ck_assert_int_eq(json_object_get_int(field(conns, "notion.last_error.http_status")), 404);
	ck_assert_str_eq(field_str(conns, "notion.last_error.message"),
	    "Connector \"notion\"\nnot found");

	ck_assert_str_eq(field_str(conns, "linear.state"), "failed");
	ck_assert_str_eq(field_str(conns, "linear.last_error.error"), "server_error");
	ck_assert_int_eq(json_object_get_int(field(conns, "linear.failures")), 1);
	json_object_put(root);
	buf_reset(&b);
	cache_free(&c);
}
END_TEST

START_TEST(test_status_json_lists_connectors_sorted_by_name)
{
	struct cache *c = status_cache();
	struct buf b;
	const char *g, *l, *n, *s;

	buf_init(&b, 1024 * 1024);
	ck_assert_int_eq(status_render_json(c, status_proc(WALL0), WALL0, &b), CFS_OK);
	g = strstr(b.data, "\"github\"");
	l = strstr(b.data, "\"linear\"");
	n = strstr(b.data, "\"notion\"");
	s = strstr(b.data, "\"slack\"");
	ck_assert(g != NULL && l != NULL && n != NULL && s != NULL);
	ck_assert(g < l && l < n && n < s);
	buf_reset(&b);
	cache_free(&c);
}
END_TEST

START_TEST(test_status_files_never_show_a_value)
{
	struct cache *c = status_cache();
	struct buf b;

	buf_init(&b, 1024 * 1024);
	ck_assert_int_eq(status_render_json(c, status_proc(WALL0), WALL0, &b), CFS_OK);
	ck_assert_ptr_null(strstr(b.data, "SECRET"));
	ck_assert_ptr_null(strstr(b.data, "eyJ"));
	buf_reset(&b);
	ck_assert_int_eq(status_render_metrics(c, status_proc(WALL0), WALL0, &b), CFS_OK);
	ck_assert_ptr_null(strstr(b.data, "SECRET"));
	ck_assert_ptr_null(strstr(b.data, "eyJ"));
	buf_reset(&b);
	cache_free(&c);
}
END_TEST

/*
 * Regression (lib/status.c status_rows_get): with no connector known yet,
 * r->rows is NULL and qsort(NULL, 0, ...) is called, which glibc declares
 * nonnull: undefined behaviour that UBSan aborts on (SANITIZE=1 only; the
 * default build passes). This is status.json right after mounting.
 */
START_TEST(test_status_json_of_empty_cache)
{
	struct cache *c = NULL;
	struct cache_settings set = { .ttl_s = 60, .max_stale_s = 300, .negative_ttl_s = 10,
	    .timeout_s = 5 };
	struct cache_hooks hooks = { .fetch = status_fetch };
	struct json_object *root;
	struct buf b;

	ck_assert_int_eq(cache_new(&set, &hooks, &c), CFS_OK);
	buf_init(&b, 4096);
	ck_assert_int_eq(status_render_json(c, status_proc(0), 1000, &b), CFS_OK);
	root = json_tokener_parse(b.data);
	ck_assert_ptr_nonnull(root);
	ck_assert_int_eq(json_object_object_length(field(root, "connectors")), 0);
	json_object_put(root);
	buf_reset(&b);
	cache_free(&c);
}
END_TEST

START_TEST(test_status_metrics_are_prometheus_text_under_connectorfs)
{
	struct cache *c = status_cache();
	struct buf b;
	char *copy, *line, *save = NULL;
	int samples = 0;

	buf_init(&b, 1024 * 1024);
	ck_assert_int_eq(status_render_metrics(c, status_proc(WALL0 - 2000), WALL0 + 3000, &b), CFS_OK);
	ck_assert_int_eq(b.data[b.len - 1], '\n');
	copy = strdup(b.data);
	for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
			ck_assert_msg(strncmp(line + 7, "connectorfs_", 12) == 0, "%s", line);
			continue;
		}
		ck_assert_msg(strncmp(line, "connectorfs_", 12) == 0, "sample '%s'", line);
		ck_assert_msg(strchr(line, ' ') != NULL, "no value in '%s'", line);
		samples++;
	}
	free(copy);
	ck_assert_int_gt(samples, 4 * 6);
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_connectors 4\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_uptime_seconds 5.000\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_process_id 4242\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_takeovers_total 2\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_requests_total{connector=\"slack\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "connectorfs_failures_total{connector=\"linear\",kind=\"server_error\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "connectorfs_failures_total{connector=\"slack\",kind=\"none\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_up{connector=\"slack\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "connectorfs_up{connector=\"notion\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "connectorfs_seconds_since_success{connector=\"slack\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
	    "connectorfs_seconds_since_success{connector=\"notion\"} -1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "# TYPE connectorfs_requests_total counter\n"));
	buf_reset(&b);
	cache_free(&c);
}
END_TEST

/* jsonw */

START_TEST(test_jsonw_string_escapes_for_json)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "", 0, "\"\"" },
		{ "q\"b\\s/", 6, "\"q\\\"b\\\\s/\"" },
		{ "\n\r\t", 3, "\"\\n\\r\\t\"" },
		{ "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;
		struct json_object *o;

		buf_init(&b, 1024);
		ck_assert_int_eq(jsonw_string(&b, cases[i].in, cases[i].len), CFS_OK);
		ck_assert_msg(strcmp(b.data, cases[i].out) == 0, "case %zu: %s", i, b.data);
		/* And it reads back as the same bytes. */
		o = json_tokener_parse(b.data);
		ck_assert_ptr_nonnull(o);
		ck_assert_int_eq(json_object_get_string_len(o), (int)cases[i].len);
		ck_assert_mem_eq(json_object_get_string(o), cases[i].in, cases[i].len);
		json_object_put(o);
		buf_reset(&b);
	}
}
END_TEST

START_TEST(test_jsonw_time_is_iso8601_utc_or_null)
{
	static const struct {
		long long ms;
		const char *out;
	} cases[] = {
		{ 0, "null" },
		{ -5, "null" },
		{ 1700000000123LL, "\"2023-11-14T22:13:20.123Z\"" },
		{ WALL0, "\"2027-01-15T08:00:00.000Z\"" },
		{ 1, "\"1970-01-01T00:00:00.001Z\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b;

		buf_init(&b, 256);
		ck_assert_int_eq(jsonw_time(&b, cases[i].ms), CFS_OK);
		ck_assert_str_eq(b.data, cases[i].out);
		buf_reset(&b);
	}
}
END_TEST

Suite *
status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *st = tcase_create("status");
	TCase *jw = tcase_create("jsonw");
	TCase *bugs = tcase_create("regressions");

	tcase_add_test(st, test_status_json_parses_with_one_entry_per_connector);
	tcase_add_test(st, test_status_json_lists_connectors_sorted_by_name);
	tcase_add_test(st, test_status_files_never_show_a_value);
	tcase_add_test(st, test_status_metrics_are_prometheus_text_under_connectorfs);
	suite_add_tcase(s, st);

	tcase_add_test(jw, test_jsonw_string_escapes_for_json);
	tcase_add_test(jw, test_jsonw_time_is_iso8601_utc_or_null);
	suite_add_tcase(s, jw);

	tcase_add_test(bugs, test_status_json_of_empty_cache);
	suite_add_tcase(s, bugs);
	return s;
}
