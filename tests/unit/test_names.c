/*
 * test_names.c: which names may become paths (names.h). These rules are what
 * keeps `.git`, `Desktop.ini` and `../x` off the network and out of the tree.
 */
#include <stdio.h>
#include <string.h>

#include "names.h"
#include "unit.h"

START_TEST(test_connector_name_accepts_integration_types)
{
	static const char *const good[] = {
		"slack", "share_point", "google-calendar", "googlecalendar", "a", "0",
		"one_drive", "microsoft_teams", "x-1_y",
		/* exactly 64 */
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
	};
	size_t i;

	ck_assert_uint_eq(strlen(good[sizeof(good) / sizeof(good[0]) - 1]), NAME_CONNECTOR_MAX);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(name_is_connector(good[i]), "rejected '%s'", good[i]);
}
END_TEST

START_TEST(test_connector_name_rejects_dot_git_and_other_probes)
{
	static const char *const bad[] = {
		"", ".git", "Desktop.ini", "Slack", "SLACK", "a/b", "..", ".", "x y",
		"slack\n", "tab\there", "caf\xc3\xa9", "a.b", "a\\b", "%2e%2e", "a:b",
		".Trash-1000", "._slack",
		/* 65 */
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!name_is_connector(bad[i]), "accepted '%s'", bad[i]);
	ck_assert(!name_is_connector(NULL));
}
END_TEST

START_TEST(test_workspace_names_are_connectors_slash_an_id)
{
	char id128[130], name[160];

	memset(id128, 'A', 128);
	id128[128] = '\0';
	ck_assert(name_is_workspace_id("69aBc-12_x"));
	ck_assert(name_is_workspace_id(id128));
	ck_assert(!name_is_workspace_id(""));
	ck_assert(!name_is_workspace_id("a.b"));
	ck_assert(!name_is_workspace_id("a/b"));
	ck_assert(!name_is_workspace_id(".."));
	id128[127] = 'B';
	strcat(id128, "C");	/* 129 */
	ck_assert(!name_is_workspace_id(id128));

	/* The daemon's names: an app connector's, or connectors/ID; never the folder itself. */
	ck_assert(name_is_connection("slack"));
	ck_assert(name_is_connection("connectors/69aBc-12_x"));
	ck_assert(!name_is_connection("connectors"));
	ck_assert(!name_is_connector("connectors"));
	ck_assert(!name_is_connection("connectors/"));
	ck_assert(!name_is_connection("connectors/a/b"));
	ck_assert(!name_is_connection("connectors/a.b"));
	ck_assert(!name_is_connection("slack/x"));
	snprintf(name, sizeof(name), "connectors/%s", id128);
	ck_assert(!name_is_connection(name));
	name[sizeof("connectors/") - 1 + 128] = '\0';
	ck_assert(name_is_connection(name));
	ck_assert_uint_eq(strlen(name), NAME_CONNECTION_MAX);
	ck_assert_str_eq(name_workspace_id("connectors/x1"), "x1");
	ck_assert_ptr_null(name_workspace_id("slack"));
}
END_TEST

START_TEST(test_config_key_accepts_safe_file_names)
{
	static const char *const good[] = {
		"subdomain", "a.b-c_d", "A", "Z9", "..a", "a..", "...", ".hidden",
		"instance_url", "baseUrl",
	};
	char longest[NAME_KEY_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(name_is_config_key(good[i], strlen(good[i])), "rejected '%s'",
		    good[i]);
	memset(longest, 'k', NAME_KEY_MAX);
	longest[NAME_KEY_MAX] = '\0';
	ck_assert(name_is_config_key(longest, NAME_KEY_MAX));
}
END_TEST

START_TEST(test_config_key_rejects_names_that_escape_or_confuse)
{
	static const char *const bad[] = {
		".", "..", "a/b", "/", "../etc", "", "x y", "tab\t", "nl\n", "del\x7f",
		"esc\x1b", "caf\xc3\xa9", "a\\b", "a:b", "*", "a'b",
	};
	char toolong[NAME_KEY_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!name_is_config_key(bad[i], strlen(bad[i])), "accepted '%s'",
		    bad[i]);
	memset(toolong, 'k', NAME_KEY_MAX + 1);
	toolong[NAME_KEY_MAX + 1] = '\0';
	ck_assert(!name_is_config_key(toolong, NAME_KEY_MAX + 1));
	ck_assert(!name_is_config_key(NULL, 3));
	/* The length is what counts: an embedded NUL is not a terminator. */
	ck_assert(!name_is_config_key("ab\0cd", 5));
}
END_TEST

START_TEST(test_env_prefix_uppercases_and_underscores)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "share_point", "SHARE_POINT" },
		{ "google-calendar", "GOOGLE_CALENDAR" },
		{ "slack", "SLACK" },
		{ "a.b-c_d", "A_B_C_D" },
		{ "baseUrl", "BASEURL" },
		{ "x9", "X9" },
		{ "", "" },
	};
	char out[NAME_KEY_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		name_env_prefix(cases[i].in, out);
		ck_assert_str_eq(out, cases[i].want);
	}
}
END_TEST

Suite *
names_suite(void)
{
	Suite *s = suite_create("names");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_connector_name_accepts_integration_types);
	tcase_add_test(tc, test_connector_name_rejects_dot_git_and_other_probes);
	tcase_add_test(tc, test_workspace_names_are_connectors_slash_an_id);
	tcase_add_test(tc, test_config_key_accepts_safe_file_names);
	tcase_add_test(tc, test_config_key_rejects_names_that_escape_or_confuse);
	tcase_add_test(tc, test_env_prefix_uppercases_and_underscores);
	suite_add_tcase(s, tc);
	return s;
}
