/*
 * test_buf.c: the capped growable buffer (buf.h) that collects bodies and
 * rendered files: growth up to the cap, CFS_ERR_TOO_BIG past it, handing the
 * bytes over with buf_take().
 */
#include <string.h>

#include "buf.h"
#include "secret.h"
#include "unit.h"

START_TEST(test_buf_append_collects_bytes_nul_terminated)
{
	struct buf b;

	buf_init(&b, 1024);
	ck_assert_ptr_null(b.data);
	ck_assert_int_eq(buf_append(&b, "abc", 3), CFS_OK);
	ck_assert_int_eq(buf_append_str(&b, "def"), CFS_OK);
	ck_assert_int_eq(buf_append(&b, "", 0), CFS_OK);
	ck_assert_uint_eq(b.len, 6);
	ck_assert_str_eq(b.data, "abcdef");
	ck_assert_int_eq(b.too_big, 0);
	buf_reset(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
}
END_TEST

START_TEST(test_buf_grows_across_many_appends)
{
	struct buf b;
	char chunk[100];
	size_t i;

	buf_init(&b, 64 * 1024);
	for (i = 0; i < 300; i++) {
		memset(chunk, 'a' + (int)(i % 26), sizeof(chunk));
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), CFS_OK);
	}
	ck_assert_uint_eq(b.len, 30000);
	ck_assert_uint_ge(b.cap, b.len + 1);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(b.data[i * 100 + 99], 'a' + (int)(i % 26));
	ck_assert_int_eq(b.data[b.len], '\0');
	buf_reset(&b);
}
END_TEST

START_TEST(test_buf_capped_append_fails_too_big_and_keeps_contents)
{
	struct buf b;

	buf_init(&b, 10);
	ck_assert_int_eq(buf_append(&b, "0123456789", 10), CFS_OK);
	ck_assert_int_eq(b.too_big, 0);
	ck_assert_int_eq(buf_append(&b, "x", 1), CFS_ERR_TOO_BIG);
	ck_assert_int_eq(b.too_big, 1);
	ck_assert_uint_eq(b.len, 10);
	ck_assert_str_eq(b.data, "0123456789");
	/* An append that is too big on its own fails even on an empty buffer. */
	buf_reset(&b);
	ck_assert_int_eq(b.too_big, 0);
	ck_assert_int_eq(buf_append(&b, "01234567890", 11), CFS_ERR_TOO_BIG);
	ck_assert_int_eq(b.too_big, 1);
	ck_assert_uint_eq(b.len, 0);
	buf_reset(&b);
}
END_TEST

START_TEST(test_buf_cap_of_64k_holds_exactly_64k)
{
	struct buf b;
	static char block[64 * 1024];

	memset(block, 'b', sizeof(block));
	buf_init(&b, sizeof(block));
	ck_assert_int_eq(buf_append(&b, block, sizeof(block) - 1), CFS_OK);
	ck_assert_int_eq(buf_append(&b, "z", 1), CFS_OK);
	ck_assert_uint_eq(b.len, sizeof(block));
	ck_assert_int_eq(b.data[b.len], '\0');
	ck_assert_int_eq(buf_append(&b, "z", 1), CFS_ERR_TOO_BIG);
	buf_reset(&b);
}
END_TEST

START_TEST(test_buf_take_hands_over_contents_and_empties_buffer)
{
	struct buf b;
	size_t len = 99;
	char *p;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append_str(&b, "token"), CFS_OK);
	p = buf_take(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(p, "token");
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	secret_free(p);
	/* The buffer is usable again after a take. */
	ck_assert_int_eq(buf_append_str(&b, "again"), CFS_OK);
	ck_assert_str_eq(b.data, "again");
	buf_reset(&b);
}
END_TEST

START_TEST(test_buf_take_of_empty_buffer_gives_empty_string)
{
	struct buf b;
	size_t len = 99;
	char *p;

	buf_init(&b, 100);
	p = buf_take(&b, &len);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(p, "");
	secret_free(p);
	p = buf_take(&b, NULL);
	ck_assert_ptr_nonnull(p);
	secret_free(p);
}
END_TEST

Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_buf_append_collects_bytes_nul_terminated);
	tcase_add_test(tc, test_buf_grows_across_many_appends);
	tcase_add_test(tc, test_buf_capped_append_fails_too_big_and_keeps_contents);
	tcase_add_test(tc, test_buf_cap_of_64k_holds_exactly_64k);
	tcase_add_test(tc, test_buf_take_hands_over_contents_and_empties_buffer);
	tcase_add_test(tc, test_buf_take_of_empty_buffer_gives_empty_string);
	suite_add_tcase(s, tc);
	return s;
}
