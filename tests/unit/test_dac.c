/*
 * test_dac.c: the owner/group/other rule and the DAC capabilities a
 * /dev/fd/N mount's daemon applies to callers itself (lib/dac.c), checked
 * against what the kernel does, and the read of a caller's status file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dac.h"
#include "unit.h"

#define OWNER	1001
#define GROUP	2001

static struct dac_caller
caller(uid_t uid, gid_t gid, unsigned long long caps)
{
	struct dac_caller who;

	memset(&who, 0, sizeof(who));
	who.uid = uid;
	who.gid = gid;
	who.caps = caps;
	return who;
}

START_TEST(test_dac_the_owner_gets_only_the_owner_bits)
{
	struct dac_caller who = caller(OWNER, 9, 0);

	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFREG | 0044, R_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, W_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFDIR | 0500, R_OK | X_OK));
}
END_TEST

START_TEST(test_dac_a_group_member_gets_only_the_group_bits)
{
	struct dac_caller primary = caller(5, GROUP, 0), member = caller(5, 9, 0);
	gid_t groups[] = { 7, GROUP };

	ck_assert(dac_allows(&primary, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_allows(&primary, OWNER, GROUP, S_IFREG | 0404, R_OK));
	member.groups = groups;
	member.ngroups = 1;
	ck_assert(!dac_allows(&member, OWNER, GROUP, S_IFREG | 0440, R_OK));
	member.ngroups = 2;
	ck_assert(dac_allows(&member, OWNER, GROUP, S_IFREG | 0440, R_OK));
}
END_TEST

START_TEST(test_dac_everyone_else_gets_the_other_bits)
{
	struct dac_caller who = caller(5, 9, 0);

	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0444, R_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFDIR | 0511, X_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFDIR | 0511, R_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, 0));
}
END_TEST

START_TEST(test_dac_root_without_capabilities_is_like_anyone)
{
	struct dac_caller root = caller(0, 0, 0);

	ck_assert(!dac_allows(&root, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(!dac_allows(&root, OWNER, GROUP, S_IFDIR | 0500, X_OK));
	ck_assert(dac_allows(&root, 0, GROUP, S_IFREG | 0400, R_OK));
}
END_TEST

START_TEST(test_dac_override_reads_and_searches_anything_but_executes_only_with_an_x_bit)
{
	struct dac_caller who = caller(0, 0, DAC_CAP_OVERRIDE);

	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFDIR | 0500, R_OK | X_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, X_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0401, X_OK));
}
END_TEST

START_TEST(test_dac_read_search_reads_files_and_reads_and_searches_folders_only)
{
	struct dac_caller who = caller(5, 9, DAC_CAP_READ_SEARCH);

	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFREG | 0400, R_OK | W_OK));
	ck_assert(dac_allows(&who, OWNER, GROUP, S_IFDIR | 0500, R_OK | X_OK));
	ck_assert(!dac_allows(&who, OWNER, GROUP, S_IFDIR | 0500, W_OK));
}
END_TEST

START_TEST(test_dac_status_gives_fsuid_fsgid_groups_and_effective_capabilities)
{
	static const char text[] =
	    "Name:\tcat\nUid:\t1000\t1000\t1000\t1001\nGid:\t50\t50\t50\t51\n"
	    "Groups:\t4 24 27 \nNSpid:\t7\nCapPrm:\t0000000000000006\n"
	    "CapEff:\t0000000000000004\n";
	struct dac_caller who;

	ck_assert_int_eq(dac_parse_status(text, sizeof(text) - 1, &who), 0);
	ck_assert_uint_eq(who.uid, 1001);
	ck_assert_uint_eq(who.gid, 51);
	ck_assert_uint_eq(who.ngroups, 3);
	ck_assert_uint_eq(who.groups[2], 27);
	ck_assert(who.caps == DAC_CAP_READ_SEARCH);
	dac_caller_release(&who);
	ck_assert_ptr_null(who.groups);
}
END_TEST

START_TEST(test_dac_status_gives_every_group_however_many)
{
	char text[8192];
	struct dac_caller who;
	size_t len, i;

	len = (size_t)snprintf(text, sizeof(text), "Uid:\t5\t5\t5\t5\nGid:\t5\t5\t5\t5\nGroups:\t");
	for (i = 0; i < 600; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%zu ", 1000 + i);
	len += (size_t)snprintf(text + len, sizeof(text) - len, "\nCapEff:\t0\n");
	ck_assert_int_eq(dac_parse_status(text, len, &who), 0);
	ck_assert_uint_eq(who.ngroups, 600);
	/* The kernel compares them all: the 600th counts. */
	ck_assert(dac_allows(&who, OWNER, 1599, S_IFREG | 0440, R_OK));
	dac_caller_release(&who);
}
END_TEST

START_TEST(test_dac_only_the_initial_uid_map_is_the_initial_namespace)
{
	static const char initial[] = "         0          0 4294967295\n";
	static const char *const others[] = {
		"         0       1000          1\n",
		"         0          0 4294967294\n",
		"         0          0 4294967295\n         1          1          1\n",
		"",
		"junk",
	};
	size_t i;

	ck_assert(dac_uid_map_is_initial(initial, strlen(initial)));
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_msg(!dac_uid_map_is_initial(others[i], strlen(others[i])), "%zu", i);
}
END_TEST

START_TEST(test_dac_status_with_a_line_missing_or_bad_gives_nothing)
{
	static const char *const texts[] = {
		"Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\t\n",
		"Uid:\t1\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\t\nCapEff:\t0\n",
		"Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\tx\nCapEff:\t0\n",
		"Uid:\t1\t1\t1\t-1\nGid:\t1\t1\t1\t1\nGroups:\t\nCapEff:\t0\n",
		"",
	};
	struct dac_caller who;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		ck_assert_msg(dac_parse_status(texts[i], strlen(texts[i]), &who) == -1, "%zu", i);
		ck_assert_uint_eq(who.ngroups, 0);
		ck_assert_ptr_null(who.groups);
		ck_assert(who.caps == 0);
	}
	ck_assert_int_eq(dac_parse_status(texts[0], 0, &who), -1);
}
END_TEST

Suite *
dac_suite(void)
{
	Suite *s = suite_create("dac");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_dac_the_owner_gets_only_the_owner_bits);
	tcase_add_test(tc, test_dac_a_group_member_gets_only_the_group_bits);
	tcase_add_test(tc, test_dac_everyone_else_gets_the_other_bits);
	tcase_add_test(tc, test_dac_root_without_capabilities_is_like_anyone);
	tcase_add_test(tc, test_dac_override_reads_and_searches_anything_but_executes_only_with_an_x_bit);
	tcase_add_test(tc, test_dac_read_search_reads_files_and_reads_and_searches_folders_only);
	tcase_add_test(tc, test_dac_status_gives_fsuid_fsgid_groups_and_effective_capabilities);
	tcase_add_test(tc, test_dac_status_with_a_line_missing_or_bad_gives_nothing);
	tcase_add_test(tc, test_dac_status_gives_every_group_however_many);
	tcase_add_test(tc, test_dac_only_the_initial_uid_map_is_the_initial_namespace);
	suite_add_tcase(s, tc);
	return s;
}
