/*
 * test_dac.c: the owner/group/other rule a /dev/fd/N mount's daemon applies
 * to callers itself (lib/dac.c), checked against what the kernel does.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "dac.h"
#include "unit.h"

#define OWNER	1001
#define GROUP	2001

START_TEST(test_dac_the_owner_gets_only_the_owner_bits)
{
	ck_assert(dac_allows(OWNER, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(!dac_allows(OWNER, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0044, R_OK));
	ck_assert(!dac_allows(OWNER, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0400, W_OK));
	ck_assert(dac_allows(OWNER, 9, NULL, 0, OWNER, GROUP, S_IFDIR | 0500, R_OK | X_OK));
}
END_TEST

START_TEST(test_dac_a_group_member_gets_only_the_group_bits)
{
	gid_t groups[] = { 7, GROUP };

	ck_assert(dac_allows(5, GROUP, NULL, 0, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(dac_allows(5, 9, groups, 2, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_allows(5, 9, groups, 1, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_allows(5, GROUP, NULL, 0, OWNER, GROUP, S_IFREG | 0404, R_OK));
}
END_TEST

START_TEST(test_dac_everyone_else_gets_the_other_bits)
{
	ck_assert(!dac_allows(5, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(dac_allows(5, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0444, R_OK));
	ck_assert(dac_allows(5, 9, NULL, 0, OWNER, GROUP, S_IFDIR | 0511, X_OK));
	ck_assert(!dac_allows(5, 9, NULL, 0, OWNER, GROUP, S_IFDIR | 0511, R_OK));
	ck_assert(dac_allows(5, 9, NULL, 0, OWNER, GROUP, S_IFREG | 0400, 0));
}
END_TEST

START_TEST(test_dac_root_reads_and_searches_anything_but_executes_only_with_an_x_bit)
{
	ck_assert(dac_allows(0, 0, NULL, 0, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(dac_allows(0, 0, NULL, 0, OWNER, GROUP, S_IFDIR | 0500, R_OK | X_OK));
	ck_assert(!dac_allows(0, 0, NULL, 0, OWNER, GROUP, S_IFREG | 0400, X_OK));
	ck_assert(dac_allows(0, 0, NULL, 0, OWNER, GROUP, S_IFREG | 0401, X_OK));
}
END_TEST

START_TEST(test_dac_groups_are_asked_for_only_when_they_change_the_answer)
{
	ck_assert(!dac_needs_groups(0, 0, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_needs_groups(OWNER, 9, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_needs_groups(5, GROUP, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(!dac_needs_groups(5, 9, OWNER, GROUP, S_IFREG | 0400, R_OK));
	ck_assert(!dac_needs_groups(5, 9, OWNER, GROUP, S_IFREG | 0444, R_OK));
	ck_assert(dac_needs_groups(5, 9, OWNER, GROUP, S_IFREG | 0440, R_OK));
	ck_assert(dac_needs_groups(5, 9, OWNER, GROUP, S_IFREG | 0404, R_OK));
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
	tcase_add_test(tc, test_dac_root_reads_and_searches_anything_but_executes_only_with_an_x_bit);
	tcase_add_test(tc, test_dac_groups_are_asked_for_only_when_they_change_the_answer);
	suite_add_tcase(s, tc);
	return s;
}
