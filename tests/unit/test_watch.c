/*
 * test_watch.c: the watch set behind `connectorfs wait` and `exec` (watch.h)
 * on ordinary files: a file replaced by rename or rewritten in place is a
 * change, a file that goes away is a change, a folder is watched through
 * its connection.json, and what cannot be watched is refused with a line
 * naming it. No test sleeps: each checks at once after the change.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "watch.h"
#include "unit.h"

static char dir[64];

static void
watch_dir_make(void)
{
	snprintf(dir, sizeof(dir), "/tmp/cfs-watch-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
watch_dir_remove(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static char *
at(const char *name)
{
	static char paths[4][256];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 256, "%.63s/%.100s", dir, name);
	return p;
}

static void
put(const char *name, const char *text)
{
	FILE *f = fopen(at(name), "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

/* Write name anew and rename it over, as connectorfs's new inode per value looks. */
static void
replace(const char *name, const char *text)
{
	char tmp[128];

	snprintf(tmp, sizeof(tmp), "%.100s.new", name);
	put(tmp, text);
	ck_assert_int_eq(rename(at(tmp), at(name)), 0);
}

static struct watch_set *
watch(const char *a, const char *b, enum watch_want want)
{
	char *paths[2] = { at(a), b != NULL ? at(b) : NULL };
	struct watch_set *ws = NULL;
	char msg[256];

	ck_assert_int_eq(watch_set_new(&ws, paths, b != NULL ? 2 : 1, want, msg, sizeof(msg)),
	    CFS_OK);
	return ws;
}

START_TEST(test_watch_sees_nothing_until_a_file_is_replaced_then_names_it)
{
	struct watch_set *ws;
	char msg[256];

	watch_dir_make();
	put("a", "1");
	put("b", "1");
	ws = watch("a", "b", WATCH_VALUE_OR_FOLDER);
	ck_assert_int_ge(watch_set_fd(ws), 0);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 0);
	replace("b", "22");	/* another size: the same second's mtime could match */
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	ck_assert_int_eq(watch_set_changed(ws, 0), 0);
	ck_assert_int_eq(watch_set_changed(ws, 1), 1);
	ck_assert_str_eq(watch_set_path(ws, 1), at("b"));
	/* Still a change until the set is re-armed; then quiet again. */
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	watch_set_rearm(ws);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 0);
	watch_set_free(&ws);
	ck_assert_ptr_null(ws);
	watch_dir_remove();
}
END_TEST

START_TEST(test_watch_takes_a_new_inode_with_the_same_value_as_no_change)
{
	struct watch_set *ws;
	struct stat st;
	struct timespec times[2];
	char msg[256];

	watch_dir_make();
	put("a", "1");
	ck_assert_int_eq(stat(at("a"), &st), 0);
	ws = watch("a", NULL, WATCH_VALUE_OR_FOLDER);
	/* What the daemon does on SIGHUP: the same bytes and mtime under a new inode. */
	replace("a", "2");
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	ck_assert_int_eq(utimensat(AT_FDCWD, at("a"), times, 0), 0);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 0);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 0);
	watch_set_free(&ws);
	watch_dir_remove();
}
END_TEST

START_TEST(test_watch_tells_a_connector_gone_from_a_mount_gone)
{
	struct watch_set *ws;
	char msg[256];
	char expected[512];

	/* Gone inside a filesystem that is still there: a change. */
	watch_dir_make();
	ck_assert_int_eq(mkdir(at("slack"), 0700), 0);
	put("slack/connection.json", "{}");
	ws = watch("slack", NULL, WATCH_FOLDER);
	ck_assert_int_eq(unlink(at("slack/connection.json")), 0);
	ck_assert_int_eq(rmdir(at("slack")), 0);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	watch_set_free(&ws);
	watch_dir_remove();

	/* The folder above is on another device now (a mount went away): an error. */
	watch_dir_make();
	ck_assert_int_eq(mkdir(at("mnt"), 0700), 0);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "mount -t tmpfs cfs-watch-test %s 2>/dev/null", at("mnt"));
		if (system(cmd) != 0) {	/* no power to mount: the first half stands alone */
			watch_dir_remove();
			return;
		}
	}
	put("mnt/value", "1");
	ws = watch("mnt/value", NULL, WATCH_VALUE_OR_FOLDER);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "umount %s", at("mnt"));
		ck_assert_int_eq(system(cmd), 0);
	}
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), -1);
	snprintf(expected, sizeof(expected), "%s: the mount is gone", at("mnt/value"));
	ck_assert_str_eq(msg, expected);
	watch_set_free(&ws);
	watch_dir_remove();
}
END_TEST

START_TEST(test_watch_counts_a_rewrite_in_place_and_a_removal_as_changes)
{
	struct watch_set *ws;
	char msg[256];

	watch_dir_make();
	put("a", "1");
	ws = watch("a", NULL, WATCH_VALUE_OR_FOLDER);
	put("a", "22");	/* same inode, new size */
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	watch_set_rearm(ws);
	ck_assert_int_eq(unlink(at("a")), 0);
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	watch_set_free(&ws);
	watch_dir_remove();
}
END_TEST

START_TEST(test_watch_reads_a_folder_through_its_connection_json)
{
	struct watch_set *ws;
	char msg[256];

	watch_dir_make();
	ck_assert_int_eq(mkdir(at("slack"), 0700), 0);
	put("slack/connection.json", "{}");
	put("slack/env", "A=1\n");
	ws = watch("slack", NULL, WATCH_FOLDER);
	put("slack/other", "x");	/* not a value */
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 0);
	replace("slack/connection.json", "{\"a\":1}");
	ck_assert_int_eq(watch_set_check(ws, msg, sizeof(msg)), 1);
	ck_assert_str_eq(watch_set_path(ws, 0), at("slack"));
	watch_set_free(&ws);
	watch_dir_remove();
}
END_TEST

START_TEST(test_watch_refuses_what_it_cannot_watch_naming_it)
{
	struct watch_set *ws = NULL;
	char msg[256], expected[512], devnull[] = "/dev/null";
	char *paths[1];

	watch_dir_make();
	put("file", "1");
	ck_assert_int_eq(mkdir(at("plain"), 0700), 0);

	paths[0] = at("missing");
	ck_assert_int_eq(watch_set_new(&ws, paths, 1, WATCH_VALUE_OR_FOLDER, msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: No such file or directory", at("missing"));
	ck_assert_str_eq(msg, expected);
	ck_assert_ptr_null(ws);

	paths[0] = at("plain");
	ck_assert_int_eq(watch_set_new(&ws, paths, 1, WATCH_VALUE_OR_FOLDER, msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: not a connector folder (no connection.json in it)",
	    at("plain"));
	ck_assert_str_eq(msg, expected);

	paths[0] = at("file");
	ck_assert_int_eq(watch_set_new(&ws, paths, 1, WATCH_FOLDER, msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	snprintf(expected, sizeof(expected), "%s: not a connector folder", at("file"));
	ck_assert_str_eq(msg, expected);

	paths[0] = devnull;
	ck_assert_int_eq(watch_set_new(&ws, paths, 1, WATCH_VALUE_OR_FOLDER, msg, sizeof(msg)),
	    CFS_ERR_INVALID);
	ck_assert_str_eq(msg, "/dev/null: not a connector folder or value file");
	ck_assert_ptr_null(ws);
	watch_dir_remove();
}
END_TEST

static const struct {
	const char *text;
	long long ms;		/* -1: refused */
} seconds[] = {
	{ "0", 0 }, { "30", 30000 }, { "0.25", 250 }, { "1.5", 1500 }, { "2.0009", 2000 },
	{ "86400", 86400000 }, { "86400.001", -1 }, { "", -1 }, { "-1", -1 }, { "+1", -1 },
	{ "1e3", -1 }, { "1.", -1 }, { ".5", -1 }, { " 1", -1 }, { "1s", -1 }, { "inf", -1 },
	{ "99999999999999999999", -1 },
};

START_TEST(test_clock_parse_seconds_takes_plain_decimal_seconds_only)
{
	long long ms = -7;
	int rc = clock_parse_seconds(seconds[_i].text, 86400000, &ms);

	if (seconds[_i].ms < 0) {
		ck_assert_msg(rc == -1, "\"%s\" accepted as %lld ms", seconds[_i].text, ms);
		ck_assert_int_eq(ms, -7);
	} else {
		ck_assert_msg(rc == 0, "\"%s\" refused", seconds[_i].text);
		ck_assert_int_eq(ms, seconds[_i].ms);
	}
}
END_TEST

Suite *
watch_suite(void)
{
	Suite *s = suite_create("watch");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_watch_sees_nothing_until_a_file_is_replaced_then_names_it);
	tcase_add_test(tc, test_watch_takes_a_new_inode_with_the_same_value_as_no_change);
	tcase_add_test(tc, test_watch_tells_a_connector_gone_from_a_mount_gone);
	tcase_add_test(tc, test_watch_counts_a_rewrite_in_place_and_a_removal_as_changes);
	tcase_add_test(tc, test_watch_reads_a_folder_through_its_connection_json);
	tcase_add_test(tc, test_watch_refuses_what_it_cannot_watch_naming_it);
	tcase_add_loop_test(tc, test_clock_parse_seconds_takes_plain_decimal_seconds_only, 0,
	    (int)(sizeof(seconds) / sizeof(seconds[0])));
	suite_add_tcase(s, tc);
	return s;
}
