/*
 * test_err.c: the one table from enum cfs_err to errno (README "Errors a
 * reader sees") and the one mapping from HTTP status to enum cfs_err.
 */
#include <errno.h>
#include <string.h>

#include "err.h"
#include "unit.h"

START_TEST(test_err_to_errno_follows_spec_table)
{
	static const struct {
		enum cfs_err err;
		int errnum;
	} table[] = {
		{ CFS_OK, 0 },
		{ CFS_ERR_NOT_FOUND, ENOENT },
		{ CFS_ERR_DENIED, EACCES },
		{ CFS_ERR_TIMEOUT, ETIMEDOUT },
		{ CFS_ERR_REFUSED, ECONNREFUSED },
		{ CFS_ERR_UNREACHABLE, EHOSTUNREACH },
		{ CFS_ERR_TLS, EPROTO },
		{ CFS_ERR_RATE_LIMITED, EAGAIN },
		{ CFS_ERR_SERVER, EIO },
		{ CFS_ERR_MALFORMED, EIO },
		{ CFS_ERR_TOO_BIG, EIO },
		{ CFS_ERR_TRANSPORT, EIO },
		{ CFS_ERR_NO_MEMORY, ENOMEM },
		{ CFS_ERR_INVALID, EINVAL },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(err_to_errno(table[i].err) == table[i].errnum,
		    "%s: errno %d, want %d", err_name(table[i].err),
		    err_to_errno(table[i].err), table[i].errnum);
}
END_TEST

START_TEST(test_err_to_errno_gives_an_error_for_every_failure)
{
	int e;

	/* Whatever the exact choice, a failure must never read as success. */
	for (e = CFS_ERR_NOT_FOUND; e < CFS_ERR_COUNT; e++)
		ck_assert_msg(err_to_errno((enum cfs_err)e) > 0, "%s maps to errno 0",
		    err_name((enum cfs_err)e));
}
END_TEST

START_TEST(test_err_out_of_range_values_are_eio_and_unknown)
{
	ck_assert_int_eq(err_to_errno(CFS_ERR_COUNT), EIO);
	ck_assert_int_eq(err_to_errno((enum cfs_err)-1), EIO);
	ck_assert_str_eq(err_name(CFS_ERR_COUNT), "unknown");
	ck_assert_str_eq(err_str((enum cfs_err)-1), "unknown error");
}
END_TEST

START_TEST(test_err_every_value_has_distinct_name_and_text)
{
	int a, b;

	for (a = 0; a < CFS_ERR_COUNT; a++) {
		const char *name = err_name((enum cfs_err)a), *text = err_str((enum cfs_err)a);

		ck_assert_ptr_nonnull(name);
		ck_assert_ptr_nonnull(text);
		ck_assert_msg(name[0] != '\0' && strcmp(name, "unknown") != 0,
		    "enum value %d has no name", a);
		ck_assert_msg(text[0] != '\0' && strcmp(text, "unknown error") != 0,
		    "enum value %d has no text", a);
		/* Names go into status.json: one lower-case word. */
		ck_assert_msg(strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name),
		    "name '%s' is not snake_case", name);
		for (b = 0; b < a; b++)
			ck_assert_str_ne(name, err_name((enum cfs_err)b));
	}
	ck_assert_str_eq(err_name(CFS_OK), "ok");
	ck_assert_str_eq(err_name(CFS_ERR_NOT_FOUND), "not_found");
	ck_assert_str_eq(err_name(CFS_ERR_TIMEOUT), "timeout");
}
END_TEST

START_TEST(test_err_from_http_status_maps_protocol_statuses)
{
	static const struct {
		long status;
		enum cfs_err err;
	} table[] = {
		{ 200, CFS_OK },
		{ 204, CFS_OK },
		{ 299, CFS_OK },
		{ 401, CFS_ERR_DENIED },
		{ 403, CFS_ERR_DENIED },
		{ 404, CFS_ERR_NOT_FOUND },
		{ 408, CFS_ERR_TIMEOUT },
		{ 429, CFS_ERR_RATE_LIMITED },
		{ 500, CFS_ERR_SERVER },
		{ 502, CFS_ERR_SERVER },
		{ 503, CFS_ERR_SERVER },
		{ 504, CFS_ERR_SERVER },
		{ 418, CFS_ERR_SERVER },
		{ 400, CFS_ERR_SERVER },
		{ 301, CFS_ERR_SERVER },
		{ 100, CFS_ERR_SERVER },
		{ 0, CFS_ERR_SERVER },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(err_from_http_status(table[i].status) == table[i].err,
		    "HTTP %ld gives %s, want %s", table[i].status,
		    err_name(err_from_http_status(table[i].status)), err_name(table[i].err));
}
END_TEST

Suite *
err_suite(void)
{
	Suite *s = suite_create("err");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_err_to_errno_follows_spec_table);
	tcase_add_test(tc, test_err_to_errno_gives_an_error_for_every_failure);
	tcase_add_test(tc, test_err_out_of_range_values_are_eio_and_unknown);
	tcase_add_test(tc, test_err_every_value_has_distinct_name_and_text);
	tcase_add_test(tc, test_err_from_http_status_maps_protocol_statuses);
	suite_add_tcase(s, tc);
	return s;
}
