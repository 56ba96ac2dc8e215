/*
 * test_redact.c: a secret is cut out of a message wherever it appears, and
 * when the mark does not fit the message ends where the secret began; the
 * credentials in any URL a library names are cut out too.
 */
#include <stdio.h>
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

START_TEST(test_redact_userinfo_cuts_the_credentials_out_of_every_url)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "Unsupported proxy syntax in 'http://user:secret@127.0.0.1:99999'",
		  "Unsupported proxy syntax in 'http://[redacted]@127.0.0.1:99999'" },
		{ "a socks5h://u:p@h:1 and https://x:y@z/p?q b",
		  "a socks5h://[redacted]@h:1 and https://[redacted]@z/p?q b" },
		/* The last '@' before the URL ends: '@', '/' and ':' stay inside. */
		{ "'http://u:p@ss/w:rd@host:1'", "'http://[redacted]@host:1'" },
		{ "<http://a:b@c>\"http://d:e@f\"", "<http://[redacted]@c>\"http://[redacted]@f\"" },
		{ "no userinfo: http://host:1/path and ftp://h", "no userinfo: http://host:1/path "
		  "and ftp://h" },
		{ "://@", "://[redacted]@" },
		{ "", "" },
	};
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(msg, sizeof(msg), "%s", cases[i].in);
		redact_userinfo(msg, sizeof(msg));
		ck_assert_str_eq(msg, cases[i].want);
	}
}
END_TEST

START_TEST(test_redact_userinfo_cuts_the_message_when_the_mark_does_not_fit)
{
	char small[24] = "x http://u:pw@host:1";
	char tiny[13] = "http://u:p@h";

	/* The mark fits, the host does not all: the message is cut at the end. */
	redact_userinfo(small, sizeof(small));
	ck_assert_str_eq(small, "x http://[redacted]@hos");
	/* No room for the mark: the message ends where the userinfo began. */
	redact_userinfo(tiny, sizeof(tiny));
	ck_assert_str_eq(tiny, "http://");
}
END_TEST

START_TEST(test_a_short_password_is_not_spelled_out_by_redaction_marks)
{
	char msg[128] = "Failed to connect to 127.0.0.1 port 1: Connection refused";
	char longer[128] = "proxy said p4ssw0rd-long twice: p4ssw0rd-long";

	/* "o" would become "Failed t[redacted] c[redacted]nnect ...": a picture of it. */
	redact_password("o", msg, sizeof(msg));
	ck_assert_str_eq(msg, "Failed to connect to 127.0.0.1 port 1: Connection refused");
	redact_password("p4ssw0rd-long", longer, sizeof(longer));
	ck_assert_str_eq(longer, "proxy said [redacted] twice: [redacted]");
}
END_TEST

Suite *
redact_suite(void)
{
	Suite *s = suite_create("redact");
	TCase *tc = tcase_create("redact");

	tcase_add_test(tc, test_redact_replaces_every_occurrence);
	tcase_add_test(tc, test_redact_cuts_at_the_secret_when_the_mark_does_not_fit);
	tcase_add_test(tc, test_redact_userinfo_cuts_the_credentials_out_of_every_url);
	tcase_add_test(tc, test_redact_userinfo_cuts_the_message_when_the_mark_does_not_fit);
	tcase_add_test(tc, test_a_short_password_is_not_spelled_out_by_redaction_marks);
	tcase_add_test(tc, test_redact_cuts_the_head_of_a_secret_left_at_the_end);
	suite_add_tcase(s, tc);
	return s;
}
