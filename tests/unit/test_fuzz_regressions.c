/*
 * test_fuzz_regressions.c: inputs that made a fuzz target (tests/fuzz/) fail,
 * each kept as the smallest body that shows the fault, with what the
 * decoder should have made of it. A new finding adds a row or a test here,
 * and its input to tests/fuzz/corpus/<target>/ so the fuzzer starts from it.
 */
#include <string.h>

#include "decode.h"
#include "unit.h"

/*
 * fuzz_decode, check "no NUL mark in json_doc": decode.c turns \u0000 in
 * every object key into DECODE_NUL_MARK before json-c sees the body, but
 * only connection_config's own keys are turned back into \u0000. A key with
 * a NUL inside a nested value kept the raw 0xff byte in the value file, in
 * connection.json and in env: bytes the server never sent, and not UTF-8.
 * Corpus: regress_nested_nul_key, and keys_nul as a config value.
 */
START_TEST(test_fuzz_nested_key_with_nul_is_written_back_as_u0000)
{
	static const struct {
		const char *body, *key, *value;
	} cases[] = {
		{ "{\"access_token\":\"t\",\"connection_config\":{\"o\":{\"a\\u0000b\":1}}}",
		  "o", "{\"a\\u0000b\":1}" },
		{ "{\"access_token\":\"t\",\"connection_config\":{\"k\":"
		  "{\"a\\u0000b\":\"1\",\"a\\u0000c\":\"2\"}}}",
		  "k", "{\"a\\u0000b\":\"1\",\"a\\u0000c\":\"2\"}" },
		{ "{\"access_token\":\"t\",\"connection_config\":{\"arr\":[{\"\\u0000\":null}]}}",
		  "arr", "[{\"\\u0000\":null}]" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connection *c = unit_connection("slack", cases[i].body);
		const struct connection_key *k = connection_key_find(c, cases[i].key);

		ck_assert_ptr_nonnull(k);
		ck_assert_msg(memchr(k->value, DECODE_NUL_MARK, k->value_len) == NULL,
		    "case %zu: value file holds the NUL mark", i);
		ck_assert_msg(memchr(k->json, DECODE_NUL_MARK, k->json_len) == NULL,
		    "case %zu: key JSON holds the NUL mark", i);
		ck_assert_msg(memchr(c->json_doc, DECODE_NUL_MARK, c->json_doc_len) == NULL,
		    "case %zu: connection.json holds the NUL mark", i);
		ck_assert_msg(memchr(c->env_doc, DECODE_NUL_MARK, c->env_doc_len) == NULL,
		    "case %zu: env holds the NUL mark", i);
		ck_assert_str_eq(k->value, cases[i].value);
		ck_assert_uint_eq(k->value_len, strlen(cases[i].value));
		ck_assert_str_eq(k->json, cases[i].value);
		ck_assert_ptr_nonnull(strstr(c->json_doc, cases[i].value));
		connection_unref(&c);
	}
}
END_TEST

Suite *
fuzz_regressions_suite(void)
{
	Suite *s = suite_create("fuzz_regressions");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_fuzz_nested_key_with_nul_is_written_back_as_u0000);
	suite_add_tcase(s, tc);
	return s;
}
