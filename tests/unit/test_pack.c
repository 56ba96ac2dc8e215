/*
 * test_pack.c: the handover encoding (pack.h): values come back as they were
 * packed, failure is sticky on both sides, and no input, however short or
 * whatever it claims, makes the reader go past its end (each input is its
 * own malloc'ed block of exactly its length, so ASan sees any overread).
 * Then a connection through it: every field back, documents byte for byte,
 * and every malformed or cut packing refused without a leak.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection.h"
#include "pack.h"
#include "secret.h"
#include "unit.h"

/* A malloc'ed copy of exactly n bytes of p (ASan guards its end). */
static unsigned char *
exact_copy(const void *p, size_t n)
{
	unsigned char *q = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(q);
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/* The values of the mixed round trip, packed in this order. */
static const char mixed_bytes[] = "ab\0cd";

static void
pack_mixed(struct pack *p)
{
	pack_u64(p, 0);
	pack_u64(p, UINT64_MAX);
	pack_u64(p, 0x0102030405060708ull);
	pack_bytes(p, mixed_bytes, 5);
	pack_bytes(p, NULL, 0);
	pack_str(p, "hello");
	pack_str(p, "");
	pack_str(p, NULL);
	pack_str(p, "secret");
}

/* Unpack what pack_mixed() packed; 1 when every value came back. */
static int
unpack_mixed(struct unpack *u)
{
	const void *b;
	char *s, *e, *a, *t;
	size_t n, m;
	int ok = 1;

	ok &= unpack_u64(u) == 0;
	ok &= unpack_u64(u) == UINT64_MAX;
	ok &= unpack_u64(u) == 0x0102030405060708ull;
	b = unpack_bytes(u, &n);
	ok &= b != NULL && n == 5 && memcmp(b, mixed_bytes, 5) == 0;
	b = unpack_bytes(u, &m);
	ok &= !u->failed && m == 0;
	s = unpack_str_dup(u, 0);
	e = unpack_str_dup(u, 0);
	a = unpack_str_dup(u, 0);
	t = unpack_str_dup(u, 1);
	ok &= s != NULL && strcmp(s, "hello") == 0;
	ok &= e != NULL && strcmp(e, "") == 0;
	ok &= a == NULL;
	ok &= t != NULL && strcmp(t, "secret") == 0;
	free(s);
	free(e);
	secret_free(t);
	return ok && !u->failed;
}

START_TEST(test_pack_round_trips_u64_bytes_and_strings)
{
	struct unpack u;
	struct pack p;

	pack_init(&p);
	pack_mixed(&p);
	ck_assert_int_eq(p.failed, 0);
	unpack_init(&u, p.buf, p.len);
	ck_assert(unpack_mixed(&u));
	ck_assert_uint_eq(u.left, 0);
	pack_release(&p);
	ck_assert_ptr_null(p.buf);
	ck_assert_uint_eq(p.len, 0);
}
END_TEST

START_TEST(test_pack_u64_is_little_endian_and_bytes_carry_their_length)
{
	static const unsigned char want[] = {
		8, 7, 6, 5, 4, 3, 2, 1,
		3, 0, 0, 0, 0, 0, 0, 0, 'x', 'y', 'z',
		2, 0, 0, 0, 0, 0, 0, 0, 'a', '\0',
		0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct pack p;

	pack_init(&p);
	pack_u64(&p, 0x0102030405060708ull);
	pack_bytes(&p, "xyz", 3);
	pack_str(&p, "a");
	pack_str(&p, NULL);
	ck_assert_uint_eq(p.len, sizeof(want));
	ck_assert_mem_eq(p.buf, want, sizeof(want));
	pack_release(&p);
}
END_TEST

START_TEST(test_pack_grows_past_its_first_block)
{
	static char big[100000];
	const void *b;
	struct unpack u;
	struct pack p;
	size_t n;
	int i;

	memset(big, 'B', sizeof(big));
	pack_init(&p);
	for (i = 0; i < 3; i++)
		pack_bytes(&p, big, sizeof(big));
	ck_assert_int_eq(p.failed, 0);
	ck_assert_uint_eq(p.len, 3 * (8 + sizeof(big)));
	unpack_init(&u, p.buf, p.len);
	for (i = 0; i < 3; i++) {
		b = unpack_bytes(&u, &n);
		ck_assert_ptr_nonnull(b);
		ck_assert_uint_eq(n, sizeof(big));
		ck_assert_mem_eq(b, big, sizeof(big));
	}
	pack_release(&p);
}
END_TEST

START_TEST(test_pack_fails_on_overflowing_length_and_stays_failed)
{
	struct pack p;
	size_t len;

	pack_init(&p);
	pack_u64(&p, 42);
	len = p.len;
	pack_bytes(&p, "x", SIZE_MAX);
	ck_assert_int_eq(p.failed, 1);
	ck_assert_uint_eq(p.len, len);
	pack_u64(&p, 1);
	pack_str(&p, "more");
	pack_bytes(&p, "y", 1);
	ck_assert_uint_eq(p.len, len);
	ck_assert_int_eq(p.failed, 1);
	pack_release(&p);
}
END_TEST

START_TEST(test_pack_fails_when_memory_runs_out)
{
	struct pack p;

	/* No secret block this big can be mapped; nothing is read from "x". */
	pack_init(&p);
	pack_bytes(&p, "x", SIZE_MAX / 4);
	ck_assert_int_eq(p.failed, 1);
	ck_assert_uint_eq(p.len, 0);
	pack_release(&p);
}
END_TEST

START_TEST(test_unpack_every_truncated_prefix_fails_cleanly)
{
	struct unpack u;
	struct pack p;
	size_t len;

	pack_init(&p);
	pack_mixed(&p);
	ck_assert_int_eq(p.failed, 0);
	for (len = 0; len < p.len; len++) {
		unsigned char *cut = exact_copy(p.buf, len);

		unpack_init(&u, cut, len);
		ck_assert_msg(!unpack_mixed(&u), "prefix of %zu bytes unpacked", len);
		ck_assert_msg(u.failed, "prefix of %zu bytes did not fail", len);
		free(cut);
	}
	pack_release(&p);
}
END_TEST

START_TEST(test_unpack_failure_is_sticky)
{
	static const unsigned char four[4] = { 1, 2, 3, 4 };
	unsigned char *in = exact_copy(four, sizeof(four));
	struct unpack u;
	size_t n = 99;

	unpack_init(&u, in, sizeof(four));
	ck_assert_uint_eq(unpack_u64(&u), 0);
	ck_assert_int_eq(u.failed, 1);
	ck_assert_uint_eq(u.left, 4);
	ck_assert_ptr_null(unpack_bytes(&u, &n));
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(unpack_str_dup(&u, 0));
	ck_assert_uint_eq(u.left, 4);
	free(in);
}
END_TEST

START_TEST(test_unpack_refuses_lengths_beyond_the_input)
{
	static const uint64_t lens[] = { 3, 4, UINT64_MAX, UINT64_MAX / 2, 1ull << 32 };
	unsigned char field[10], *in;
	struct unpack u;
	size_t i, n;
	int b;

	/* Each length, followed by the 2 bytes that are all there is. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (b = 0; b < 8; b++)
			field[b] = (unsigned char)(lens[i] >> (8 * b));
		field[8] = 'a';
		field[9] = '\0';
		in = exact_copy(field, sizeof(field));
		unpack_init(&u, in, sizeof(field));
		ck_assert_ptr_null(unpack_bytes(&u, &n));
		ck_assert_msg(u.failed, "length %llu accepted", (unsigned long long)lens[i]);
		unpack_init(&u, in, sizeof(field));
		ck_assert_ptr_null(unpack_str_dup(&u, 1));
		ck_assert_int_eq(u.failed, 1);
		free(in);
	}
}
END_TEST

START_TEST(test_unpack_str_refuses_a_missing_or_inner_nul)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "abc", 3 },		/* no NUL at the end */
		{ "a\0c\0", 4 },	/* a NUL inside would cut the copy */
		{ "\0\0", 2 },
	};
	unsigned char *in;
	struct unpack u;
	struct pack p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pack_init(&p);
		pack_bytes(&p, bad[i].bytes, bad[i].len);
		in = exact_copy(p.buf, p.len);
		unpack_init(&u, in, p.len);
		ck_assert_ptr_null(unpack_str_dup(&u, i % 2));
		ck_assert_msg(u.failed, "case %zu accepted", i);
		free(in);
		pack_release(&p);
	}
}
END_TEST

START_TEST(test_unpack_str_tells_absent_from_empty)
{
	struct unpack u;
	struct pack p;
	char *s;

	pack_init(&p);
	pack_str(&p, NULL);
	pack_str(&p, "");
	unpack_init(&u, p.buf, p.len);
	ck_assert_ptr_null(unpack_str_dup(&u, 1));
	ck_assert_int_eq(u.failed, 0);
	s = unpack_str_dup(&u, 1);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s, "");
	secret_free(s);
	ck_assert_int_eq(u.failed, 0);
	pack_release(&p);
}
END_TEST

START_TEST(test_unpack_of_nothing_fails)
{
	struct unpack u;
	size_t n;

	unpack_init(&u, NULL, 10);	/* no buffer: nothing to read, whatever len says */
	ck_assert_ptr_null(unpack_bytes(&u, &n));
	ck_assert_int_eq(u.failed, 1);
}
END_TEST

/*
 * A connection with a JWT token (so token_exp is set), two safe keys of
 * different types and one key that is not a safe name, rendered.
 */
static struct connection *
rich_connection(void)
{
	char jwt[256], body[1024];

	ck_assert_int_gt(unit_jwt(jwt, sizeof(jwt), "{\"sub\":\"u\",\"exp\":1900000000}"), 0);
	snprintf(body, sizeof(body), "{\"access_token\":\"%s\",\"connection_config\":"
	    "{\"subdomain\":\"contoso\",\"tenant\":{\"id\":7,\"q\":\"it's\"},"
	    "\"bad/name\":\"x\"}}", jwt);
	return unit_connection("share_point", body);
}

static void
assert_same_connection(const struct connection *a, const struct connection *b)
{
	size_t i;

	ck_assert(connection_same(a, b));
	ck_assert_int_eq(b->refs, 1);
	ck_assert_uint_eq(a->token_len, b->token_len);
	ck_assert_mem_eq(a->token, b->token, a->token_len + 1);
	ck_assert_int_eq(a->token_exp, b->token_exp);
	ck_assert_int_eq(a->config_null, b->config_null);
	ck_assert_uint_eq(a->nkeys, b->nkeys);
	for (i = 0; i < a->nkeys; i++) {
		const struct connection_key *ka = &a->keys[i], *kb = &b->keys[i];

		ck_assert_uint_eq(ka->name_len, kb->name_len);
		ck_assert_str_eq(ka->name, kb->name);
		ck_assert_int_eq(ka->safe, kb->safe);
		ck_assert_uint_eq(ka->value_len, kb->value_len);
		ck_assert_mem_eq(ka->value, kb->value, ka->value_len + 1);
		ck_assert_uint_eq(ka->json_len, kb->json_len);
		ck_assert_mem_eq(ka->json, kb->json, ka->json_len + 1);
	}
	ck_assert_uint_eq(a->json_doc_len, b->json_doc_len);
	ck_assert_mem_eq(a->json_doc, b->json_doc, a->json_doc_len + 1);
	ck_assert_uint_eq(a->env_doc_len, b->env_doc_len);
	ck_assert_mem_eq(a->env_doc, b->env_doc, a->env_doc_len + 1);
}

/* Pack c, unpack it from an exact copy, check it, and free both. */
static void
assert_round_trip(struct connection *c)
{
	struct connection *back;
	unsigned char *in;
	struct unpack u;
	struct pack p;

	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), 0);
	in = exact_copy(p.buf, p.len);
	unpack_init(&u, in, p.len);
	back = connection_unpack(&u);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(u.failed, 0);
	ck_assert_uint_eq(u.left, 0);
	assert_same_connection(c, back);
	connection_unref(&back);
	connection_unref(&c);
	free(in);
	pack_release(&p);
}

START_TEST(test_connection_pack_round_trip_keeps_every_field_and_document)
{
	struct connection *c = rich_connection();

	ck_assert_uint_eq(c->nkeys, 3);
	ck_assert_int_ne(c->token_exp, 0);
	ck_assert_int_eq(c->keys[0].safe, 1);
	ck_assert_int_eq(c->keys[2].safe, 0);
	assert_round_trip(c);
}
END_TEST

START_TEST(test_connection_pack_round_trip_of_null_and_empty_config)
{
	assert_round_trip(unit_connection("slack",
	    "{\"access_token\":\"xoxb-1\",\"connection_config\":null}"));
	assert_round_trip(unit_connection("slack",
	    "{\"access_token\":\"\",\"connection_config\":{}}"));
}
END_TEST

START_TEST(test_connection_pack_round_trip_keeps_nul_bytes_in_values)
{
	struct connection *c = unit_connection("slack",
	    "{\"access_token\":\"a\\u0000b\",\"connection_config\":{\"k\":\"v\\u0000w\"}}");

	ck_assert_uint_eq(c->token_len, 3);
	ck_assert_uint_eq(c->keys[0].value_len, 3);
	assert_round_trip(c);
}
END_TEST

START_TEST(test_connection_unpack_refuses_a_token_exp_out_of_range)
{
	static const long long bad[] = { -1, 253402300800LL, 1LL << 61 };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct connection *c = unit_connection("slack",
		    "{\"access_token\":\"xoxb-1\",\"connection_config\":null}"), *back;
		struct unpack u;
		struct pack p;

		/* A state written by anything but us: times 1000 would overflow. */
		c->token_exp = bad[i];
		pack_init(&p);
		ck_assert_int_eq(connection_pack(c, &p), 0);
		unpack_init(&u, p.buf, p.len);
		back = connection_unpack(&u);
		ck_assert_ptr_null(back);
		ck_assert_int_eq(u.failed, 1);
		pack_release(&p);
		connection_unref(&c);
	}
}
END_TEST

START_TEST(test_connection_pack_refuses_an_unrendered_connection)
{
	struct connection *c = connection_new();
	struct pack p;

	/* The receiver serves what it unpacks as is: it must be whole. */
	ck_assert_ptr_nonnull(c);
	c->config_null = 1;
	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), -1);
	ck_assert_int_eq(p.failed, 1);
	ck_assert_uint_eq(p.len, 0);
	pack_release(&p);
	connection_unref(&c);
}
END_TEST

START_TEST(test_connection_unpack_reads_exactly_its_own_bytes)
{
	struct connection *a = rich_connection(), *b, *c2;
	struct unpack u;
	struct pack p;

	pack_init(&p);
	ck_assert_int_eq(connection_pack(a, &p), 0);
	ck_assert_int_eq(connection_pack(a, &p), 0);
	pack_u64(&p, 77);
	unpack_init(&u, p.buf, p.len);
	b = connection_unpack(&u);
	c2 = connection_unpack(&u);
	ck_assert_uint_eq(unpack_u64(&u), 77);
	ck_assert_int_eq(u.failed, 0);
	ck_assert_uint_eq(u.left, 0);
	assert_same_connection(a, b);
	assert_same_connection(a, c2);
	connection_unref(&a);
	connection_unref(&b);
	connection_unref(&c2);
	pack_release(&p);
}
END_TEST

START_TEST(test_connection_unpack_of_every_truncated_prefix_returns_null)
{
	struct connection *c = rich_connection(), *back;
	struct unpack u;
	struct pack p;
	size_t len;

	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), 0);
	for (len = 0; len < p.len; len++) {
		unsigned char *cut = exact_copy(p.buf, len);

		unpack_init(&u, cut, len);
		back = connection_unpack(&u);
		ck_assert_msg(back == NULL, "prefix of %zu of %zu bytes unpacked", len, p.len);
		ck_assert_int_eq(u.failed, 1);
		free(cut);
	}
	connection_unref(&c);
	pack_release(&p);
}
END_TEST

#define TAG	0x314e4e4f43534643ull	/* "CFSCONN1", as pack.c */

enum bad_case {
	BAD_TAG, BAD_TOKEN_NO_NUL, BAD_TOKEN_ABSENT, BAD_CONFIG_FLAG, BAD_NULL_CONFIG_WITH_KEYS,
	BAD_NKEYS_HUGE, BAD_NKEYS_2_64, BAD_NKEYS_ONE_TOO_MANY, BAD_NAME_ABSENT,
	BAD_NAME_INNER_NUL, BAD_SAFE_FLAG, BAD_SAFE_UNSAFE_NAME, BAD_VALUE_ABSENT,
	BAD_JSON_NO_NUL, BAD_DOC_NO_NUL, BAD_JSON_DOC_ABSENT, BAD_ENV_DOC_ABSENT, BAD_COUNT
};

/* A packed connection with one key, broken as the case says. */
static void
pack_bad(struct pack *p, enum bad_case bc)
{
	pack_u64(p, bc == BAD_TAG ? TAG + 1 : TAG);
	if (bc == BAD_TOKEN_NO_NUL)
		pack_bytes(p, "tok", 3);
	else
		pack_str(p, bc == BAD_TOKEN_ABSENT ? NULL : "tok");
	pack_u64(p, 0);						/* token_exp */
	pack_u64(p, bc == BAD_CONFIG_FLAG ? 2 : bc == BAD_NULL_CONFIG_WITH_KEYS);
	pack_u64(p, bc == BAD_NKEYS_HUGE ? UINT64_MAX : bc == BAD_NKEYS_2_64 ?
	    (1ull << 40) : bc == BAD_NKEYS_ONE_TOO_MANY ? 2 : 1);
	if (bc == BAD_NAME_ABSENT)
		pack_str(p, NULL);
	else if (bc == BAD_NAME_INNER_NUL)
		pack_bytes(p, "k\0x", 4);
	else
		pack_str(p, bc == BAD_SAFE_UNSAFE_NAME ? "../k" : "k");
	pack_u64(p, bc == BAD_SAFE_FLAG ? 3 : 1);
	pack_str(p, bc == BAD_VALUE_ABSENT ? NULL : "v");
	if (bc == BAD_JSON_NO_NUL)
		pack_bytes(p, "\"v\"", 3);
	else
		pack_str(p, "\"v\"");
	pack_str(p, bc == BAD_JSON_DOC_ABSENT ? NULL : "{}");
	if (bc == BAD_DOC_NO_NUL)
		pack_bytes(p, "env", 3);
	else
		pack_str(p, bc == BAD_ENV_DOC_ABSENT ? NULL : "env");
}

START_TEST(test_connection_unpack_refuses_malformed_packings)
{
	struct connection *c;
	unsigned char *in;
	struct unpack u;
	struct pack p;
	int bc;

	/* The template itself is fine: each case breaks one thing. */
	pack_init(&p);
	pack_bad(&p, BAD_COUNT);
	unpack_init(&u, p.buf, p.len);
	c = connection_unpack(&u);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->nkeys, 1);
	ck_assert_int_eq(c->keys[0].safe, 1);
	connection_unref(&c);
	pack_release(&p);

	for (bc = 0; bc < BAD_COUNT; bc++) {
		pack_init(&p);
		pack_bad(&p, (enum bad_case)bc);
		ck_assert_int_eq(p.failed, 0);
		in = exact_copy(p.buf, p.len);
		unpack_init(&u, in, p.len);
		c = connection_unpack(&u);
		ck_assert_msg(c == NULL, "bad case %d unpacked", bc);
		ck_assert_int_eq(u.failed, 1);
		free(in);
		pack_release(&p);
	}
}
END_TEST

START_TEST(test_connection_pack_refuses_what_unpack_would_refuse)
{
	struct connection *c = rich_connection();
	struct pack p;
	char *value;

	c->config_null = 1;	/* keys under a null config */
	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), -1);
	ck_assert_int_eq(p.failed, 1);
	pack_release(&p);
	c->config_null = 0;

	value = c->keys[1].value;
	c->keys[1].value = NULL;
	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), -1);
	pack_release(&p);
	c->keys[1].value = value;

	c->keys[2].safe = 1;	/* "bad/name" can never be a file */
	pack_init(&p);
	ck_assert_int_eq(connection_pack(c, &p), -1);
	pack_release(&p);
	c->keys[2].safe = 0;

	pack_init(&p);
	p.failed = 1;		/* an earlier field failed */
	ck_assert_int_eq(connection_pack(c, &p), -1);
	ck_assert_uint_eq(p.len, 0);
	pack_release(&p);
	connection_unref(&c);
}
END_TEST

Suite *
pack_suite(void)
{
	Suite *s = suite_create("pack");
	TCase *enc = tcase_create("encoding");
	TCase *conn = tcase_create("connection");

	tcase_add_test(enc, test_pack_round_trips_u64_bytes_and_strings);
	tcase_add_test(enc, test_pack_u64_is_little_endian_and_bytes_carry_their_length);
	tcase_add_test(enc, test_pack_grows_past_its_first_block);
	tcase_add_test(enc, test_pack_fails_on_overflowing_length_and_stays_failed);
	tcase_add_test(enc, test_pack_fails_when_memory_runs_out);
	tcase_add_test(enc, test_unpack_every_truncated_prefix_fails_cleanly);
	tcase_add_test(enc, test_unpack_failure_is_sticky);
	tcase_add_test(enc, test_unpack_refuses_lengths_beyond_the_input);
	tcase_add_test(enc, test_unpack_str_refuses_a_missing_or_inner_nul);
	tcase_add_test(enc, test_unpack_str_tells_absent_from_empty);
	tcase_add_test(enc, test_unpack_of_nothing_fails);
	suite_add_tcase(s, enc);

	tcase_add_test(conn, test_connection_pack_round_trip_keeps_every_field_and_document);
	tcase_add_test(conn, test_connection_pack_round_trip_of_null_and_empty_config);
	tcase_add_test(conn, test_connection_pack_round_trip_keeps_nul_bytes_in_values);
	tcase_add_test(conn, test_connection_pack_refuses_an_unrendered_connection);
	tcase_add_test(conn, test_connection_unpack_refuses_a_token_exp_out_of_range);
	tcase_add_test(conn, test_connection_unpack_reads_exactly_its_own_bytes);
	tcase_add_test(conn, test_connection_unpack_of_every_truncated_prefix_returns_null);
	tcase_add_test(conn, test_connection_unpack_refuses_malformed_packings);
	tcase_add_test(conn, test_connection_pack_refuses_what_unpack_would_refuse);
	suite_add_tcase(s, conn);
	return s;
}
