/*
 * test_connection.c: the files rendered for one connection (connection.h):
 * connection.json byte for byte as getConnection() returns it, the env file
 * with its quoting rules, connection_same(), and the reference count that
 * lets a reader keep a value the cache has already replaced.
 */
#include <pthread.h>
#include <string.h>

#include "connection.h"
#include "names.h"
#include "secret.h"
#include "unit.h"

/* A connection with exactly these token bytes and no config, rendered. */
static struct connection *
connection_with_token(const char *type, const char *token, size_t len)
{
	struct connection *c = connection_new();

	ck_assert_ptr_nonnull(c);
	c->token = secret_strndup(token, len);
	c->token_len = len;
	c->config_null = 1;
	ck_assert_int_eq(connection_render(c, type), 0);
	return c;
}

START_TEST(test_connection_json_slack_like_with_null_config)
{
	struct connection *c = unit_connection("slack",
	    "{\"access_token\":\"xoxb-1\",\"integration_type\":\"slack\",\"connection_config\":null}");

	ck_assert_str_eq(c->json_doc, "{\"accessToken\":\"xoxb-1\",\"connectionConfig\":null}\n");
	ck_assert_uint_eq(c->json_doc_len, strlen(c->json_doc));
	ck_assert_str_eq(c->env_doc, "SLACK_ACCESS_TOKEN=xoxb-1\n");
	ck_assert_uint_eq(c->env_doc_len, strlen(c->env_doc));
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_json_share_point_like_with_config)
{
	struct connection *c = unit_connection("share_point",
	    "{\"access_token\":\"t\",\"connection_config\":{\"subdomain\":\"contoso\"}}");

	ck_assert_str_eq(c->json_doc,
	    "{\"accessToken\":\"t\",\"connectionConfig\":{\"subdomain\":\"contoso\"}}\n");
	ck_assert_str_eq(c->env_doc, "SHARE_POINT_ACCESS_TOKEN=t\nSHARE_POINT_SUBDOMAIN=contoso\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_json_keeps_key_order_and_value_types)
{
	struct connection *c = unit_connection("google-calendar",
	    "{\"access_token\":\"t\",\"connection_config\":{\"b\":\"2\",\"a\":1,\"n\":null,"
	    "\"o\":{\"x\":[true]},\"a.b-c_d\":\"v\"}}");

	ck_assert_str_eq(c->json_doc, "{\"accessToken\":\"t\",\"connectionConfig\":"
	    "{\"b\":\"2\",\"a\":1,\"n\":null,\"o\":{\"x\":[true]},\"a.b-c_d\":\"v\"}}\n");
	ck_assert_str_eq(c->env_doc,
	    "GOOGLE_CALENDAR_ACCESS_TOKEN=t\n"
	    "GOOGLE_CALENDAR_B=2\n"
	    "GOOGLE_CALENDAR_A=1\n"
	    "GOOGLE_CALENDAR_N=\n"
	    "GOOGLE_CALENDAR_O='{\"x\":[true]}'\n"
	    "GOOGLE_CALENDAR_A_B_C_D=v\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_json_escapes_quotes_backslashes_and_controls)
{
	static const struct {
		const char *token;
		size_t len;
		const char *json;
	} cases[] = {
		{ "a\"b", 3, "{\"accessToken\":\"a\\\"b\",\"connectionConfig\":null}\n" },
		{ "a\\b", 3, "{\"accessToken\":\"a\\\\b\",\"connectionConfig\":null}\n" },
		{ "a\nb\rc\td", 7, "{\"accessToken\":\"a\\nb\\rc\\td\",\"connectionConfig\":null}\n" },
		{ "\x01\x1f", 2, "{\"accessToken\":\"\\u0001\\u001f\",\"connectionConfig\":null}\n" },
		{ "a\0b", 3, "{\"accessToken\":\"a\\u0000b\",\"connectionConfig\":null}\n" },
		{ "/\xc3\xa9", 3, "{\"accessToken\":\"/\xc3\xa9\",\"connectionConfig\":null}\n" },
		{ "", 0, "{\"accessToken\":\"\",\"connectionConfig\":null}\n" },
		{ "\"\"\\\\", 4, "{\"accessToken\":\"\\\"\\\"\\\\\\\\\",\"connectionConfig\":null}\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connection *c = connection_with_token("slack", cases[i].token, cases[i].len);

		ck_assert_msg(strcmp(c->json_doc, cases[i].json) == 0, "case %zu: %s", i,
		    c->json_doc);
		ck_assert_uint_eq(c->json_doc_len, strlen(cases[i].json));
		connection_unref(&c);
	}
}
END_TEST

START_TEST(test_connection_json_escapes_key_names)
{
	struct connection *c = unit_connection("slack",
	    "{\"access_token\":\"t\",\"connection_config\":{\"we\\\"ird\\\\\":\"v\"}}");

	ck_assert_str_eq(c->json_doc,
	    "{\"accessToken\":\"t\",\"connectionConfig\":{\"we\\\"ird\\\\\":\"v\"}}\n");
	/* Not a safe file name, so not in env either. */
	ck_assert_str_eq(c->env_doc, "SLACK_ACCESS_TOKEN=t\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_env_quotes_values_that_are_not_bare)
{
	static const struct {
		const char *value, *line;
	} cases[] = {
		{ "t", "X_ACCESS_TOKEN=t\n" },
		{ "xoxb-1.2_3-4+5/6=7:8@9%A", "X_ACCESS_TOKEN=xoxb-1.2_3-4+5/6=7:8@9%A\n" },
		/* sh would expand a bare '~' when the file is sourced. */
		{ "~/data", "X_ACCESS_TOKEN='~/data'\n" },
		{ "a:~", "X_ACCESS_TOKEN='a:~'\n" },
		{ "", "X_ACCESS_TOKEN=\n" },
		{ "it's", "X_ACCESS_TOKEN='it'\\''s'\n" },
		{ "''", "X_ACCESS_TOKEN=''\\'''\\'''\n" },
		{ "a b", "X_ACCESS_TOKEN='a b'\n" },
		{ "a\"b", "X_ACCESS_TOKEN='a\"b'\n" },
		{ "$HOME", "X_ACCESS_TOKEN='$HOME'\n" },
		{ "`id`", "X_ACCESS_TOKEN='`id`'\n" },
		{ "a\\b", "X_ACCESS_TOKEN='a\\b'\n" },
		{ "a;b&c|d", "X_ACCESS_TOKEN='a;b&c|d'\n" },
		{ "#x", "X_ACCESS_TOKEN='#x'\n" },
		{ "caf\xc3\xa9", "X_ACCESS_TOKEN='caf\xc3\xa9'\n" },
		{ "l1\nl2", "X_ACCESS_TOKEN='l1\nl2'\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connection *c = connection_with_token("x", cases[i].value,
		    strlen(cases[i].value));

		ck_assert_msg(strcmp(c->env_doc, cases[i].line) == 0, "value '%s': %s",
		    cases[i].value, c->env_doc);
		ck_assert_uint_eq(c->env_doc_len, strlen(cases[i].line));
		connection_unref(&c);
	}
}
END_TEST

START_TEST(test_connection_env_quotes_config_values_too)
{
	struct connection *c = unit_connection("share_point",
	    "{\"access_token\":\"t\",\"connection_config\":{\"site\":\"it's here\"}}");

	ck_assert_str_eq(c->env_doc,
	    "SHARE_POINT_ACCESS_TOKEN=t\nSHARE_POINT_SITE='it'\\''s here'\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_env_bare_characters)
{
	static const struct {
		const char *v;
		size_t len;
		int bare;
	} cases[] = {
		{ "abcXYZ019", 9, 1 },
		{ "._+/=:@%-", 9, 1 },
		{ "~", 1, 0 },
		{ "", 0, 1 },
		{ " ", 1, 0 },
		{ "'", 1, 0 },
		{ "\"", 1, 0 },
		{ "$", 1, 0 },
		{ "\\", 1, 0 },
		{ "a\0b", 3, 0 },
		{ "\xc3\xa9", 2, 0 },
		{ "*", 1, 0 },
		{ "!", 1, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_msg(connection_env_bare(cases[i].v, cases[i].len) == cases[i].bare,
		    "case %zu", i);
}
END_TEST

START_TEST(test_connection_same_compares_what_a_reader_sees)
{
	static const char a_body[] =
	    "{\"access_token\":\"t1\",\"connection_config\":{\"subdomain\":\"contoso\"}}";
	struct connection *a = unit_connection("share_point", a_body);
	struct connection *a2 = unit_connection("share_point",
	    "{\"integration_type\":\"share_point\",\"access_token\":\"t1\","
	    "\"connection_config\":{\"subdomain\":\"contoso\"},\"extra\":1}");
	struct connection *tok = unit_connection("share_point",
	    "{\"access_token\":\"t2\",\"connection_config\":{\"subdomain\":\"contoso\"}}");
	struct connection *cfg = unit_connection("share_point",
	    "{\"access_token\":\"t1\",\"connection_config\":{\"subdomain\":\"fabrikam\"}}");
	struct connection *nul = unit_connection("share_point",
	    "{\"access_token\":\"t1\",\"connection_config\":null}");
	struct connection *empty = unit_connection("share_point",
	    "{\"access_token\":\"t1\",\"connection_config\":{}}");

	ck_assert(connection_same(a, a));
	ck_assert(connection_same(a, a2));
	ck_assert(!connection_same(a, tok));
	ck_assert(!connection_same(a, cfg));
	ck_assert(!connection_same(a, nul));
	ck_assert(!connection_same(nul, empty));
	ck_assert(!connection_same(a, NULL));
	ck_assert(!connection_same(NULL, a));
	ck_assert(connection_same(NULL, NULL));
	connection_unref(&a);
	connection_unref(&a2);
	connection_unref(&tok);
	connection_unref(&cfg);
	connection_unref(&nul);
	connection_unref(&empty);
}
END_TEST

START_TEST(test_connection_last_unref_frees_and_nulls)
{
	struct connection *a = unit_connection("slack", "{\"access_token\":\"xoxb-9\"}");
	struct connection *b = connection_ref(a);

	ck_assert_ptr_eq(a, b);
	ck_assert_int_eq(a->refs, 2);
	connection_unref(&a);
	ck_assert_ptr_null(a);
	/* b still holds the value: ASan reports a use after free if not. */
	ck_assert_int_eq(b->refs, 1);
	ck_assert_str_eq(b->token, "xoxb-9");
	ck_assert_str_eq(b->json_doc, "{\"accessToken\":\"xoxb-9\",\"connectionConfig\":null}\n");
	connection_unref(&b);
	ck_assert_ptr_null(b);
	/* Already NULL, and a NULL handle: both accepted. */
	connection_unref(&b);
	connection_unref(NULL);
	ck_assert_ptr_null(connection_ref(NULL));
}
END_TEST

#define REF_THREADS	8
#define REF_ROUNDS	20000

static void *
ref_worker(void *arg)
{
	struct connection *c = arg;
	int i;

	for (i = 0; i < REF_ROUNDS; i++) {
		struct connection *mine = connection_ref(c);

		connection_unref(&mine);
	}
	return NULL;
}

START_TEST(test_connection_refcount_is_thread_safe)
{
	struct connection *c = unit_connection("slack", "{\"access_token\":\"t\"}");
	pthread_t th[REF_THREADS];
	int i;

	for (i = 0; i < REF_THREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, ref_worker, c), 0);
	for (i = 0; i < REF_THREADS; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(c->refs, 1);
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_render_again_replaces_documents)
{
	struct connection *c = unit_connection("slack", "{\"access_token\":\"t\"}");

	ck_assert_int_eq(connection_render(c, "slackbot"), 0);
	ck_assert_str_eq(c->env_doc, "SLACKBOT_ACCESS_TOKEN=t\n");
	ck_assert_str_eq(c->json_doc, "{\"accessToken\":\"t\",\"connectionConfig\":null}\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_render_refuses_overlong_type)
{
	char type[NAME_CONNECTION_MAX + 2];	/* one past the longest name, connectors/ID */
	struct connection *c = connection_new();

	memset(type, 'a', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	c->token = secret_strndup("t", 1);
	c->token_len = 1;
	c->config_null = 1;
	ck_assert_int_eq(connection_render(c, type), -1);
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_key_find_matches_whole_names_only)
{
	struct connection *c = unit_connection("slack",
	    "{\"access_token\":\"t\",\"connection_config\":{\"sub\":\"1\",\"subdomain\":\"2\"}}");

	ck_assert_str_eq(connection_key_find(c, "sub")->value, "1");
	ck_assert_str_eq(connection_key_find(c, "subdomain")->value, "2");
	ck_assert_ptr_null(connection_key_find(c, "subd"));
	ck_assert_ptr_null(connection_key_find(c, "Sub"));
	ck_assert_ptr_null(connection_key_find(c, ""));
	connection_unref(&c);
}
END_TEST

/*
 * Regression (lib/connection.c connection_render_env): a config key whose env
 * name is ACCESS_TOKEN ("access_token", "access-token", "ACCESS.TOKEN")
 * writes a second SLACK_ACCESS_TOKEN= line after the real one; sh, systemd
 * and docker take the last assignment, so the reader gets the config value
 * instead of the token. Keys whose env names collide ("a.b", "a_b") have
 * the same problem among themselves.
 */
START_TEST(test_connection_env_config_key_cannot_override_access_token)
{
	struct connection *c = unit_connection("slack",
	    "{\"access_token\":\"real-token\",\"connection_config\":"
	    "{\"access_token\":\"not-the-token\"}}");
	const char *first = strstr(c->env_doc, "SLACK_ACCESS_TOKEN=");

	ck_assert_ptr_nonnull(first);
	ck_assert_msg(strstr(first + 1, "SLACK_ACCESS_TOKEN=") == NULL,
	    "env defines SLACK_ACCESS_TOKEN twice:\n%s", c->env_doc);
	connection_unref(&c);
}
END_TEST

Suite *
connection_suite(void)
{
	Suite *s = suite_create("connection");
	TCase *render = tcase_create("render");
	TCase *life = tcase_create("lifetime");
	TCase *bugs = tcase_create("regressions");

	tcase_add_test(render, test_connection_json_slack_like_with_null_config);
	tcase_add_test(render, test_connection_json_share_point_like_with_config);
	tcase_add_test(render, test_connection_json_keeps_key_order_and_value_types);
	tcase_add_test(render, test_connection_json_escapes_quotes_backslashes_and_controls);
	tcase_add_test(render, test_connection_json_escapes_key_names);
	tcase_add_test(render, test_connection_env_quotes_values_that_are_not_bare);
	tcase_add_test(render, test_connection_env_quotes_config_values_too);
	tcase_add_test(render, test_connection_env_bare_characters);
	tcase_add_test(render, test_connection_render_again_replaces_documents);
	tcase_add_test(render, test_connection_render_refuses_overlong_type);
	tcase_add_test(render, test_connection_key_find_matches_whole_names_only);
	suite_add_tcase(s, render);

	tcase_add_test(life, test_connection_same_compares_what_a_reader_sees);
	tcase_add_test(life, test_connection_last_unref_frees_and_nulls);
	tcase_add_test(life, test_connection_refcount_is_thread_safe);
	suite_add_tcase(s, life);

	tcase_add_test(bugs, test_connection_env_config_key_cannot_override_access_token);
	suite_add_tcase(s, bugs);
	return s;
}
