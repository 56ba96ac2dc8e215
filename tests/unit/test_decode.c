/*
 * test_decode.c: the API's bodies into C values (decode.h). Tolerant of what
 * the API may send (null or absent connection_config, unknown fields),
 * MALFORMED with a reason for anything else, and never a crash: every
 * prefix and many mutations of a good body are fed through under ASan.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "names.h"
#include "unit.h"

static enum cfs_err
decode(const char *body, struct connection **c, char *why, size_t whysz)
{
	return decode_connection(body, strlen(body), "share_point", c, why, whysz);
}

START_TEST(test_decode_connection_reads_token_and_config)
{
	static const char body[] =
	    "{\"access_token\":\"tok-123\",\"integration_type\":\"share_point\","
	    "\"connection_config\":{\"subdomain\":\"contoso\"}}";
	struct connection *c = NULL;
	const struct connection_key *k;
	char why[160] = "untouched";

	ck_assert_int_eq(decode(body, &c, why, sizeof(why)), CFS_OK);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(why, "");
	ck_assert_int_eq(c->refs, 1);
	ck_assert_str_eq(c->token, "tok-123");
	ck_assert_uint_eq(c->token_len, 7);
	ck_assert_int_eq(c->config_null, 0);
	ck_assert_int_eq(c->token_exp, 0);
	ck_assert_uint_eq(c->nkeys, 1);
	k = connection_key_find(c, "subdomain");
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(k->safe, 1);
	ck_assert_str_eq(k->value, "contoso");
	ck_assert_uint_eq(k->value_len, 7);
	ck_assert_str_eq(k->json, "\"contoso\"");
	ck_assert_ptr_null(connection_key_find(c, "missing"));
	ck_assert_ptr_nonnull(c->json_doc);
	ck_assert_ptr_nonnull(c->env_doc);
	connection_unref(&c);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(test_decode_connection_config_null_absent_or_empty)
{
	static const struct {
		const char *body;
		int config_null;
		const char *json_doc;
	} cases[] = {
		{ "{\"access_token\":\"x\",\"connection_config\":null}", 1,
		  "{\"accessToken\":\"x\",\"connectionConfig\":null}\n" },
		{ "{\"access_token\":\"x\"}", 1,
		  "{\"accessToken\":\"x\",\"connectionConfig\":null}\n" },
		{ "{\"access_token\":\"x\",\"connection_config\":{}}", 0,
		  "{\"accessToken\":\"x\",\"connectionConfig\":{}}\n" },
		{ " \r\n\t{\"connection_config\" : { } , \"access_token\" : \"x\" } \n", 0,
		  "{\"accessToken\":\"x\",\"connectionConfig\":{}}\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connection *c = NULL;
		char why[160];

		ck_assert_msg(decode(cases[i].body, &c, why, sizeof(why)) == CFS_OK,
		    "case %zu: %s", i, why);
		ck_assert_int_eq(c->config_null, cases[i].config_null);
		ck_assert_uint_eq(c->nkeys, 0);
		ck_assert_str_eq(c->json_doc, cases[i].json_doc);
		connection_unref(&c);
	}
}
END_TEST

START_TEST(test_decode_connection_ignores_unknown_fields)
{
	static const char body[] =
	    "{\"expires_at\":123,\"access_token\":\"t\",\"scopes\":[\"a\",\"b\"],"
	    "\"integration_type\":\"share_point\",\"meta\":{\"x\":{\"y\":null}},"
	    "\"connection_config\":{\"subdomain\":\"contoso\"},\"refresh_token\":\"r\"}";
	struct connection *c = NULL;
	char why[160];

	ck_assert_int_eq(decode(body, &c, why, sizeof(why)), CFS_OK);
	ck_assert_str_eq(c->json_doc,
	    "{\"accessToken\":\"t\",\"connectionConfig\":{\"subdomain\":\"contoso\"}}\n");
	connection_unref(&c);
}
END_TEST

START_TEST(test_decode_config_values_of_every_json_type)
{
	static const struct {
		const char *json_in, *value, *json_out;
	} cases[] = {
		{ "\"contoso\"", "contoso", "\"contoso\"" },
		{ "\"\"", "", "\"\"" },
		{ "\"a/b\"", "a/b", "\"a/b\"" },
		{ "\"it's \\\"q\\\"\"", "it's \"q\"", "\"it's \\\"q\\\"\"" },
		{ "\"caf\\u00e9\"", "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\"line\\nbreak\"", "line\nbreak", "\"line\\nbreak\"" },
		{ "42", "42", "42" },
		{ "-7", "-7", "-7" },
		{ "1.50", "1.50", "1.50" },
		{ "1e2", "1e2", "1e2" },
		{ "true", "true", "true" },
		{ "false", "false", "false" },
		{ "null", "", "null" },
		{ "{ \"a\" : [ 1 , \"x\" , { } ] }", "{\"a\":[1,\"x\",{}]}", "{\"a\":[1,\"x\",{}]}" },
		{ "[ ]", "[]", "[]" },
		{ "[true,null]", "[true,null]", "[true,null]" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connection *c = NULL;
		const struct connection_key *k;
		char body[256], why[160];

		snprintf(body, sizeof(body),
		    "{\"access_token\":\"t\",\"connection_config\":{\"k\":%s}}", cases[i].json_in);
		ck_assert_msg(decode(body, &c, why, sizeof(why)) == CFS_OK, "%s: %s",
		    cases[i].json_in, why);
		k = connection_key_find(c, "k");
		ck_assert_ptr_nonnull(k);
		ck_assert_uint_eq(k->value_len, strlen(cases[i].value));
		ck_assert_msg(memcmp(k->value, cases[i].value, k->value_len) == 0,
		    "%s: value '%s'", cases[i].json_in, k->value);
		ck_assert_msg(strcmp(k->json, cases[i].json_out) == 0, "%s: json '%s'",
		    cases[i].json_in, k->json);
		ck_assert_uint_eq(k->json_len, strlen(cases[i].json_out));
		connection_unref(&c);
	}
}
END_TEST

START_TEST(test_decode_unsafe_keys_are_kept_but_never_found)
{
	char body[1024], longkey[201], why[160];
	struct connection *c = NULL;
	static const char *const unsafe[] = { "..", ".", "a/b", "", "x y", "../../etc" };
	size_t i, nunsafe = 0;

	memset(longkey, 'k', 200);
	longkey[200] = '\0';
	snprintf(body, sizeof(body), "{\"access_token\":\"t\",\"connection_config\":{"
	    "\"..\":\"v1\",\".\":\"v2\",\"a/b\":\"v3\",\"\":\"v4\",\"x y\":\"v5\","
	    "\"../../etc\":\"v6\",\"%s\":\"v7\",\"good\":\"v8\"}}", longkey);
	unit_log_reset();
	ck_assert_int_eq(decode_connection(body, strlen(body), "share_point", &c, why,
	    sizeof(why)), CFS_OK);
	ck_assert_uint_eq(c->nkeys, 8);
	for (i = 0; i < c->nkeys; i++) {
		const struct connection_key *k = &c->keys[i];

		ck_assert_int_eq(k->safe, name_is_config_key(k->name, k->name_len));
		if (!k->safe)
			nunsafe++;
	}
	ck_assert_uint_eq(nunsafe, 7);
	for (i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++)
		ck_assert_msg(connection_key_find(c, unsafe[i]) == NULL, "found '%s'", unsafe[i]);
	ck_assert_ptr_null(connection_key_find(c, longkey));
	ck_assert_ptr_nonnull(connection_key_find(c, "good"));
	/* Left out of env; each one logged with the type, never with its value. */
	ck_assert_str_eq(c->env_doc, "SHARE_POINT_ACCESS_TOKEN=t\nSHARE_POINT_GOOD=v8\n");
	ck_assert_int_eq(unit_log_count(), 7);
	ck_assert(unit_log_contains("share_point"));
	for (i = 1; i <= 7; i++) {
		char v[4];

		snprintf(v, sizeof(v), "v%zu", i);
		ck_assert_msg(!unit_log_contains(v), "log shows value %s", v);
	}
	connection_unref(&c);
}
END_TEST

START_TEST(test_decode_malformed_bodies_are_rejected_with_reason)
{
	static const char *const bodies[] = {
		"not json",
		"{\"access_token\":\"t\"",
		"{\"access_token\":\"t",
		"{\"access_token\":",
		"{",
		"[]",
		"[{\"access_token\":\"t\"}]",
		"\"access_token\"",
		"null",
		"true",
		"{}",
		"{\"token\":\"t\"}",
		"{\"access_token\":12}",
		"{\"access_token\":null}",
		"{\"access_token\":{\"v\":\"t\"}}",
		"{\"access_token\":[\"t\"]}",
		"{\"access_token\":true}",
		"{\"access_token\":\"t\",\"connection_config\":\"subdomain=contoso\"}",
		"{\"access_token\":\"t\",\"connection_config\":[\"contoso\"]}",
		"{\"access_token\":\"t\",\"connection_config\":5}",
		"{\"access_token\":\"t\",\"connection_config\":false}",
		"{\"access_token\":\"t\"} x",
		"{\"access_token\":\"t\"}{}",
		"{\"access_token\":\"t\"}]",
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":}}",
		"{\"access_token\":\"\\x\"}",
		"{access_token:\"t\"}",
		"\xef\xbb\xbf{\"access_token\":\"t\"}",
		"<html><body>502 Bad Gateway</body></html>",
		" ",
		"",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct connection *c = (struct connection *)&i;	/* must be reset */
		char why[160] = "";
		enum cfs_err err = decode(bodies[i], &c, why, sizeof(why));

		ck_assert_msg(err == CFS_ERR_MALFORMED, "accepted (%s): %s", err_name(err),
		    bodies[i]);
		ck_assert_ptr_null(c);
		ck_assert_msg(why[0] != '\0', "no reason for: %s", bodies[i]);
	}
}
END_TEST

START_TEST(test_decode_reason_never_quotes_the_token)
{
	struct connection *c = NULL;
	char why[160];

	ck_assert_int_eq(decode("{\"access_token\":\"SECRETTOK\",\"connection_config\":7}", &c,
	    why, sizeof(why)), CFS_ERR_MALFORMED);
	ck_assert_ptr_null(strstr(why, "SECRETTOK"));
	ck_assert_int_eq(decode("{\"access_token\":\"SECRETTOK\"} trailing", &c, why,
	    sizeof(why)), CFS_ERR_MALFORMED);
	ck_assert_ptr_null(strstr(why, "SECRETTOK"));
}
END_TEST

START_TEST(test_decode_bytes_after_nul_are_trailing_garbage)
{
	static const char body[] = "{\"access_token\":\"t\"}\0{\"x\":1}";
	struct connection *c = NULL;
	char why[160];

	ck_assert_int_eq(decode_connection(body, sizeof(body) - 1, "slack", &c, why,
	    sizeof(why)), CFS_ERR_MALFORMED);
	ck_assert_ptr_null(c);
}
END_TEST

static char *
nested_body(int depth)
{
	size_t n = 0, cap = 128 + 2 * (size_t)depth;
	char *b = malloc(cap);
	int i;

	ck_assert_ptr_nonnull(b);
	n = (size_t)snprintf(b, cap, "{\"access_token\":\"t\",\"connection_config\":{\"k\":");
	for (i = 0; i < depth; i++)
		b[n++] = '[';
	for (i = 0; i < depth; i++)
		b[n++] = ']';
	b[n++] = '}';
	b[n++] = '}';
	b[n] = '\0';
	return b;
}

START_TEST(test_decode_nesting_beyond_max_depth_is_malformed)
{
	static const int too_deep[] = { DECODE_MAX_DEPTH, DECODE_MAX_DEPTH + 1, 1000, 100000 };
	size_t i;
	char why[160];
	struct connection *c = NULL;
	char *b = nested_body(10);

	ck_assert_int_eq(decode(b, &c, why, sizeof(why)), CFS_OK);
	ck_assert_str_eq(connection_key_find(c, "k")->value, "[[[[[[[[[[]]]]]]]]]]");
	connection_unref(&c);
	free(b);
	for (i = 0; i < sizeof(too_deep) / sizeof(too_deep[0]); i++) {
		b = nested_body(too_deep[i]);
		ck_assert_msg(decode(b, &c, why, sizeof(why)) == CFS_ERR_MALFORMED,
		    "depth %d accepted", too_deep[i]);
		ck_assert_ptr_null(c);
		ck_assert(why[0] != '\0');
		free(b);
	}
}
END_TEST

START_TEST(test_decode_every_truncation_is_malformed)
{
	static const char body[] =
	    "{\"access_token\":\"xoxb-1\",\"integration_type\":\"slack\","
	    "\"connection_config\":{\"subdomain\":\"contoso\",\"n\":12,\"o\":{\"a\":[1,2]}}}";
	size_t len;

	for (len = 0; len < sizeof(body) - 1; len++) {
		struct connection *c = NULL;
		char why[160];

		ck_assert_msg(decode_connection(body, len, "slack", &c, why, sizeof(why)) ==
		    CFS_ERR_MALFORMED, "prefix of %zu bytes accepted", len);
		ck_assert_ptr_null(c);
	}
}
END_TEST

START_TEST(test_decode_mutated_bodies_never_crash)
{
	static const char good[] =
	    "{\"access_token\":\"xoxb-1\",\"connection_config\":{\"subdomain\":\"contoso\","
	    "\"n\":12,\"o\":{\"a\":[1,2]}}}";
	static const char bytes[] = { '\0', '"', '\\', '{', '}', '[', ']', ',', ':', 'x',
		'0', '-', ' ', '\x80', '\xff' };
	char body[sizeof(good)];
	size_t pos, b, ok = 0, bad = 0;

	for (pos = 0; pos < sizeof(good) - 1; pos++) {
		for (b = 0; b < sizeof(bytes); b++) {
			struct connection *c = NULL;
			char why[160];
			enum cfs_err err;

			memcpy(body, good, sizeof(good));
			body[pos] = bytes[b];
			err = decode_connection(body, sizeof(good) - 1, "slack", &c, why,
			    sizeof(why));
			ck_assert_msg(err == CFS_OK || err == CFS_ERR_MALFORMED,
			    "pos %zu byte %d: %s", pos, bytes[b], err_name(err));
			if (err == CFS_OK) {
				ck_assert_ptr_nonnull(c);
				ck_assert_ptr_nonnull(c->json_doc);
				ck_assert_uint_gt(c->json_doc_len, 0);
				ok++;
			} else {
				ck_assert_ptr_null(c);
				ck_assert(why[0] != '\0');
				bad++;
			}
			connection_unref(&c);
		}
	}
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(bad, 0);
}
END_TEST

START_TEST(test_decode_token_from_jwt_carries_exp)
{
	char jwt[256], body[512];
	struct connection *c = NULL;
	char why[160];

	ck_assert_int_gt(unit_jwt(jwt, sizeof(jwt), "{\"sub\":\"u1\",\"exp\":1700000000}"), 0);
	snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", jwt);
	ck_assert_int_eq(decode(body, &c, why, sizeof(why)), CFS_OK);
	ck_assert_str_eq(c->token, jwt);
	ck_assert_int_eq(c->token_exp, 1700000000LL);
	connection_unref(&c);
}
END_TEST

START_TEST(test_decode_token_with_nul_byte_keeps_its_length)
{
	struct connection *c = NULL;
	char why[160];

	unit_log_reset();
	ck_assert_int_eq(decode("{\"access_token\":\"a\\u0000b\"}", &c, why, sizeof(why)),
	    CFS_OK);
	ck_assert_uint_eq(c->token_len, 3);
	ck_assert_mem_eq(c->token, "a\0b", 3);
	ck_assert_str_eq(c->json_doc, "{\"accessToken\":\"a\\u0000b\",\"connectionConfig\":null}\n");
	/* A NUL cannot go into an env file: left out, and said so. */
	ck_assert_str_eq(c->env_doc, "");
	ck_assert_int_eq(unit_log_count(), 1);
	connection_unref(&c);
}
END_TEST

/*
 * Regression (lib/decode.c decode_parse): json-c's tokener is lenient by
 * default, so bodies that are not JSON (NaN, Infinity, comments, trailing
 * commas) are accepted, and NaN/Infinity are copied verbatim into
 * connection.json, which then is not JSON either.
 */
START_TEST(test_decode_rejects_json_extensions_json_c_allows)
{
	static const char *const bodies[] = {
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":NaN}}",
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":[nan]}}",
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":Infinity}}",
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":-Infinity}}",
		"{\"access_token\":\"t\",}",
		"{\"access_token\":\"t\"/* comment */}",
	};
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct connection *c = NULL;
		char why[160];
		enum cfs_err err = decode(bodies[i], &c, why, sizeof(why));

		ck_assert_msg(err == CFS_ERR_MALFORMED, "not JSON but accepted, "
		    "connection.json = %s", c != NULL ? c->json_doc : "(none)");
		connection_unref(&c);
	}
}
END_TEST

/*
 * json-c saturates integers outside int64/uint64, so such a number could not
 * be shown "as its JSON text" (a number in connectionConfig/ is served as its
 * JSON text, README "The tree"): the body is refused rather than a
 * different number served.
 */
START_TEST(test_decode_refuses_integer_beyond_64_bits)
{
	static const char *const bodies[] = {
		"{\"access_token\":\"t\",\"connection_config\":{\"id\":99999999999999999999}}",
		"{\"access_token\":\"t\",\"connection_config\":{\"id\":-99999999999999999999}}",
		"{\"access_token\":\"t\",\"connection_config\":{\"a\":[1,{\"b\":1e999}]}}",
	};
	struct connection *c = NULL;
	char why[160];
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		ck_assert_int_eq(decode(bodies[i], &c, why, sizeof(why)), CFS_ERR_MALFORMED);
		ck_assert_ptr_null(c);
		ck_assert_str_ne(why, "");
	}
}
END_TEST

START_TEST(test_decode_keeps_large_integer_within_64_bits)
{
	static const char body[] =
	    "{\"access_token\":\"t\",\"connection_config\":{\"id\":9007199254740993}}";
	struct connection *c = NULL;
	char why[160];

	ck_assert_int_eq(decode(body, &c, why, sizeof(why)), CFS_OK);
	ck_assert_str_eq(connection_key_find(c, "id")->value, "9007199254740993");
	connection_unref(&c);
}
END_TEST

/* decode_error_body */

START_TEST(test_error_body_message_and_code_precedence)
{
	static const struct {
		const char *body, *msg, *code;
	} cases[] = {
		{ "{\"error\":{\"message\":\"E\",\"code\":\"EC\"},\"message\":\"M\",\"detail\":\"D\","
		  "\"code\":\"C\"}", "E", "EC" },
		{ "{\"message\":\"M\",\"detail\":\"D\",\"code\":\"C\"}", "M", "C" },
		{ "{\"detail\":\"Connector connection not found\",\"code\":\"NOT_FOUND\"}",
		  "Connector connection not found", "NOT_FOUND" },
		{ "{\"detail\":\"Unauthorized\"}", "Unauthorized", "" },
		{ "{\"error\":{\"code\":\"EC\"},\"detail\":\"D\"}", "D", "EC" },
		{ "{\"error\":{\"message\":\"E\"},\"code\":\"C\"}", "E", "C" },
		{ "{\"error\":\"boom\",\"message\":\"M\"}", "M", "" },
		{ "{\"error\":{\"message\":5},\"message\":7,\"detail\":\"D\"}", "D", "" },
		{ "{\"code\":404}", "", "" },
		{ "{}", "", "" },
		{ "[\"message\"]", "", "" },
		{ "Bad Gateway", "", "" },
		{ "<html>502</html>", "", "" },
		{ "{\"detail\":\"cut", "", "" },
		{ "", "", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[200] = "junk", code[96] = "junk";

		decode_error_body(cases[i].body, strlen(cases[i].body), msg, sizeof(msg), code,
		    sizeof(code));
		ck_assert_msg(strcmp(msg, cases[i].msg) == 0, "%s: message '%s'", cases[i].body,
		    msg);
		ck_assert_msg(strcmp(code, cases[i].code) == 0, "%s: code '%s'", cases[i].body,
		    code);
	}
}
END_TEST

START_TEST(test_error_body_control_characters_become_spaces)
{
	static const char body[] =
	    "{\"message\":\"line1\\nline2\\r\\tx\\u001by\\u007f\",\"code\":\"A\\nB\"}";
	char msg[200], code[96];

	decode_error_body(body, strlen(body), msg, sizeof(msg), code, sizeof(code));
	ck_assert_str_eq(msg, "line1 line2  x y ");
	ck_assert_str_eq(code, "A B");
}
END_TEST

START_TEST(test_error_body_truncates_to_the_buffer)
{
	static const char body[] = "{\"detail\":\"0123456789\",\"code\":\"ABCDEFG\"}";
	char msg[5], code[3];

	decode_error_body(body, strlen(body), msg, sizeof(msg), code, sizeof(code));
	ck_assert_str_eq(msg, "0123");
	ck_assert_str_eq(code, "AB");
}
END_TEST

/* decode_jwt_exp */

START_TEST(test_jwt_exp_is_read_from_payload)
{
	static const struct {
		const char *claims;
		long long exp;
	} cases[] = {
		{ "{\"exp\":1700000000}", 1700000000LL },
		{ "{\"sub\":\"x\",\"exp\":1700000001,\"iat\":1}", 1700000001LL },
		{ "{\"exp\":1700000000.75}", 1700000000LL },
		{ "{\"sub\":\"x\"}", 0 },
		{ "{\"exp\":\"1700000000\"}", 0 },
		{ "{\"exp\":null}", 0 },
		{ "{\"exp\":-5}", 0 },
		{ "[1700000000]", 0 },
		{ "1700000000", 0 },
		{ "not json", 0 },
		{ "{\"exp\":1700000000", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char jwt[256];
		int n = unit_jwt(jwt, sizeof(jwt), cases[i].claims);

		ck_assert_int_gt(n, 0);
		ck_assert_msg(decode_jwt_exp(jwt, (size_t)n) == cases[i].exp, "%s: got %lld",
		    cases[i].claims, decode_jwt_exp(jwt, (size_t)n));
	}
}
END_TEST

START_TEST(test_jwt_exp_of_tokens_that_are_not_jwts_is_zero)
{
	static const char *const tokens[] = {
		"xoxb-1234-5678-abcdef",
		"ya29.a0AfH6SMBx",
		"a.b",
		"a..b",
		"..",
		".",
		"",
		"hdr.!!!!.sig",
		"hdr.eyJleHAiOjE3MDAwMDAwMDB9",		/* no second dot */
		"hdr.e yJleHAiOjE3MDAwMDAwMDB9.sig",
		"hdr.\xff\xfe.sig",
	};
	size_t i;

	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		ck_assert_msg(decode_jwt_exp(tokens[i], strlen(tokens[i])) == 0, "'%s' has an exp",
		    tokens[i]);
}
END_TEST

START_TEST(test_jwt_exp_accepts_padding_and_respects_length)
{
	/* {"exp":1700000000} padded with '=' as base64 (not base64url) would be. */
	static const char padded[] = "hdr.eyJleHAiOjE3MDAwMDAwMDB9==.sig";
	static const char jwt[] = "hdr.eyJleHAiOjE3MDAwMDAwMDB9.sig";

	ck_assert_int_eq(decode_jwt_exp(padded, strlen(padded)), 1700000000LL);
	ck_assert_int_eq(decode_jwt_exp(jwt, strlen(jwt)), 1700000000LL);
	/* Only len bytes are the token: cut before the second dot, no JWT. */
	ck_assert_int_eq(decode_jwt_exp(jwt, 20), 0);
}
END_TEST

Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *conn = tcase_create("connection");
	TCase *errb = tcase_create("error_body");
	TCase *jwt = tcase_create("jwt");
	TCase *bugs = tcase_create("regressions");

	tcase_add_test(conn, test_decode_connection_reads_token_and_config);
	tcase_add_test(conn, test_decode_connection_config_null_absent_or_empty);
	tcase_add_test(conn, test_decode_connection_ignores_unknown_fields);
	tcase_add_test(conn, test_decode_config_values_of_every_json_type);
	tcase_add_test(conn, test_decode_unsafe_keys_are_kept_but_never_found);
	tcase_add_test(conn, test_decode_malformed_bodies_are_rejected_with_reason);
	tcase_add_test(conn, test_decode_reason_never_quotes_the_token);
	tcase_add_test(conn, test_decode_bytes_after_nul_are_trailing_garbage);
	tcase_add_test(conn, test_decode_nesting_beyond_max_depth_is_malformed);
	tcase_add_test(conn, test_decode_every_truncation_is_malformed);
	tcase_add_test(conn, test_decode_mutated_bodies_never_crash);
	tcase_add_test(conn, test_decode_token_from_jwt_carries_exp);
	tcase_add_test(conn, test_decode_token_with_nul_byte_keeps_its_length);
	suite_add_tcase(s, conn);

	tcase_add_test(errb, test_error_body_message_and_code_precedence);
	tcase_add_test(errb, test_error_body_control_characters_become_spaces);
	tcase_add_test(errb, test_error_body_truncates_to_the_buffer);
	suite_add_tcase(s, errb);

	tcase_add_test(jwt, test_jwt_exp_is_read_from_payload);
	tcase_add_test(jwt, test_jwt_exp_of_tokens_that_are_not_jwts_is_zero);
	tcase_add_test(jwt, test_jwt_exp_accepts_padding_and_respects_length);
	suite_add_tcase(s, jwt);

	tcase_add_test(bugs, test_decode_rejects_json_extensions_json_c_allows);
	tcase_add_test(bugs, test_decode_refuses_integer_beyond_64_bits);
	tcase_add_test(bugs, test_decode_keeps_large_integer_within_64_bits);
	suite_add_tcase(s, bugs);
	return s;
}
