/*
 * test_redact.c: a secret is cut out of a message wherever it appears, and
 * when the mark does not fit the message ends where the secret began.
 */
#include <string.h>

#include "redact.h"
#include "unit.h"

START_TEST(test_redact_replaces_every_occurrence)
{
	char msg[64] = "a SECRET b SECRET c";

	redact("SECRET", msg, sizeof(msg));
	ck_assert_str_eq(msg, "a [redacted] b [redacted] c");
	redact("", msg, sizeof(msg));
	ck_assert_str_eq(msg, "a [redacted] b [redacted] c");
}
END_TEST

START_TEST(test_redact_cuts_at_the_secret_when_the_mark_does_not_fit)
{
	char msg[16] = "0123456 SECR";

	redact("SECR", msg, sizeof(msg));
	ck_assert_str_eq(msg, "0123456 ");
	ck_assert_ptr_null(strstr(msg, "SECR"));
}
END_TEST

START_TEST(test_redact_cuts_the_head_of_a_secret_left_at_the_end)
{
	char msg[64] = "bad token xoxb-0123456";
	char shortmsg[64] = "ends with xoxb-01";

	redact("xoxb-0123456789abcdef", msg, sizeof(msg));
	ck_assert_str_eq(msg, "bad token ");
	/* Under 8 bytes of the secret: too short to tell from ordinary text. */
	redact("xoxb-0123456789abcdef", shortmsg, sizeof(shortmsg));
	ck_assert_str_eq(shortmsg, "ends with xoxb-01");
}
END_TEST

Suite *
redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, test_redact_replaces_every_occurrence);
	tcase_add_test(tc, test_redact_cuts_at_the_secret_when_the_mark_does_not_fit);
	tcase_add_test(tc, test_redact_cuts_the_head_of_a_secret_left_at_the_end);
	suite_add_tcase(s, tc);
	return s;
}
