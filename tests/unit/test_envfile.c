/*
 * test_envfile.c: reading back the env file (envfile.h) that `connectorfs
 * exec` puts in a command's environment: every value the renderer writes
 * comes back byte for byte, and anything it would never write is refused
 * with its line number, leaving what was read before untouched.
 */
#include <string.h>

#include "connection.h"
#include "envfile.h"
#include "secret.h"
#include "unit.h"

static void
parse_ok(struct envfile *ef, const char *text)
{
	size_t line = 99;

	ck_assert_int_eq(envfile_parse(ef, text, strlen(text), &line), CFS_OK);
	ck_assert_uint_eq(line, 0);
}

START_TEST(test_envfile_reads_bare_and_quoted_values)
{
	struct envfile ef = { NULL, 0, 0 };

	parse_ok(&ef, "A_TOKEN=xoxb-1.2/3+4=5:6@7%8\nB='two words'\nC=\n\nD='it'\\''s'\n");
	ck_assert_uint_eq(ef.n, 4);
	ck_assert_str_eq(envfile_get(&ef, "A_TOKEN"), "xoxb-1.2/3+4=5:6@7%8");
	ck_assert_str_eq(envfile_get(&ef, "B"), "two words");
	ck_assert_str_eq(envfile_get(&ef, "C"), "");
	ck_assert_str_eq(envfile_get(&ef, "D"), "it's");
	ck_assert_ptr_null(envfile_get(&ef, "E"));
	ck_assert_str_eq(ef.vars[1].assignment, "B=two words");
	envfile_clear(&ef);
	ck_assert_uint_eq(ef.n, 0);
}
END_TEST

START_TEST(test_envfile_gives_back_every_value_the_renderer_writes)
{
	struct connection *c = unit_connection("google-calendar",
	    "{\"access_token\":\"a'b \\\"c\\\" $HOME `x` \\\\ ~\\n\\tend\","
	    "\"connection_config\":{\"sub\":\"x y\",\"n\":1,\"o\":{\"k\":[true]},"
	    "\"q\":\"'''\",\"e\":\"\",\"u\":\"caf\\u00e9\"}}");
	struct envfile ef = { NULL, 0, 0 };

	parse_ok(&ef, c->env_doc);
	ck_assert_uint_eq(ef.n, 7);
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_ACCESS_TOKEN"),
	    "a'b \"c\" $HOME `x` \\ ~\n\tend");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_SUB"), "x y");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_N"), "1");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_O"), "{\"k\":[true]}");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_Q"), "'''");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_E"), "");
	ck_assert_str_eq(envfile_get(&ef, "GOOGLE_CALENDAR_U"), "caf\xc3\xa9");
	envfile_clear(&ef);
	connection_unref(&c);
}
END_TEST

START_TEST(test_envfile_later_files_replace_a_name_already_read)
{
	struct envfile ef = { NULL, 0, 0 };

	parse_ok(&ef, "A=1\nB=2\n");
	parse_ok(&ef, "B=3\nC=4\n");
	ck_assert_uint_eq(ef.n, 3);
	ck_assert_str_eq(envfile_get(&ef, "A"), "1");
	ck_assert_str_eq(envfile_get(&ef, "B"), "3");
	ck_assert_str_eq(envfile_get(&ef, "C"), "4");
	envfile_clear(&ef);
}
END_TEST

static const struct {
	const char *text;
	size_t line;
} refused[] = {
	{ "=x\n", 1 },				/* no name */
	{ "A B=x\n", 1 },
	{ "A\n", 1 },				/* no = */
	{ "A=1\nB=two words\n", 2 },		/* unquoted space */
	{ "A=1\nB='x\ny'\nC=$HOME\n", 4 },	/* a quoted newline counts as a line */
	{ "A='open\n", 1 },			/* unterminated quote */
	{ "A=\"x\"\n", 1 },			/* double quotes are never written */
	{ "A=x\\y\n", 1 },			/* a backslash outside \' */
	{ "A=`id`\n", 1 },
	{ "export A=1\n", 1 },
	{ "A=~\n", 1 },
};

START_TEST(test_envfile_refuses_what_the_renderer_never_writes_with_its_line)
{
	struct envfile ef = { NULL, 0, 0 };
	const char *text = refused[_i].text;
	size_t line = 0;

	parse_ok(&ef, "KEPT=1\n");
	ck_assert_int_eq(envfile_parse(&ef, text, strlen(text), &line), CFS_ERR_MALFORMED);
	ck_assert_msg(line == refused[_i].line, "%s: line %zu, expected %zu", text, line,
	    refused[_i].line);
	ck_assert_uint_eq(ef.n, 1);	/* nothing of a refused file is kept */
	ck_assert_str_eq(envfile_get(&ef, "KEPT"), "1");
	envfile_clear(&ef);
}
END_TEST

START_TEST(test_envfile_takes_a_name_starting_with_a_digit_and_refuses_a_quoted_nul)
{
	struct envfile ef = { NULL, 0, 0 };
	static const char nul[] = "A='x\0y'\n";
	size_t line = 0;

	parse_ok(&ef, "1PASSWORD_ACCESS_TOKEN=t\n");
	ck_assert_str_eq(envfile_get(&ef, "1PASSWORD_ACCESS_TOKEN"), "t");
	ck_assert_int_eq(envfile_parse(&ef, nul, sizeof(nul) - 1, &line), CFS_ERR_MALFORMED);
	ck_assert_uint_eq(line, 1);
	envfile_clear(&ef);
}
END_TEST

START_TEST(test_envfile_reads_a_last_line_without_a_newline_and_an_empty_file)
{
	struct envfile ef = { NULL, 0, 0 };

	parse_ok(&ef, "");
	ck_assert_uint_eq(ef.n, 0);
	parse_ok(&ef, "A='x'");
	ck_assert_str_eq(envfile_get(&ef, "A"), "x");
	envfile_clear(&ef);
}
END_TEST

Suite *
envfile_suite(void)
{
	Suite *s = suite_create("envfile");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_envfile_reads_bare_and_quoted_values);
	tcase_add_test(tc, test_envfile_gives_back_every_value_the_renderer_writes);
	tcase_add_test(tc, test_envfile_later_files_replace_a_name_already_read);
	tcase_add_loop_test(tc, test_envfile_refuses_what_the_renderer_never_writes_with_its_line,
	    0, (int)(sizeof(refused) / sizeof(refused[0])));
	tcase_add_test(tc, test_envfile_takes_a_name_starting_with_a_digit_and_refuses_a_quoted_nul);
	tcase_add_test(tc, test_envfile_reads_a_last_line_without_a_newline_and_an_empty_file);
	suite_add_tcase(s, tc);
	return s;
}
