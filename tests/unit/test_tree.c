/*
 * test_tree.c: the inode rules of tree.h. A file inode shows one value for
 * its life; a changed value is a new inode; generations only move forward;
 * replaced inodes live until the kernel forgets them; each look at a
 * .connectorfs file is an inode of its own.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"
#include "unit.h"

static struct tree *T;

static void
tree_setup(void)
{
	T = tree_new();
	ck_assert_ptr_nonnull(T);
}

static void
tree_teardown(void)
{
	tree_free(&T);
	ck_assert_ptr_null(T);
}

static struct connection *
value(const char *token)
{
	char body[256];

	snprintf(body, sizeof(body),
	    "{\"access_token\":\"%s\",\"connection_config\":{\"subdomain\":\"acme\"}}", token);
	return unit_connection("slack", body);
}

START_TEST(test_tree_fixed_inodes_are_the_folders)
{
	ck_assert_int_eq(tree_node(T, TREE_ROOT_INO)->kind, NODE_ROOT);
	ck_assert_int_eq(tree_node(T, TREE_CTL_INO)->kind, NODE_CTL_DIR);
	ck_assert_int_eq(tree_node(T, TREE_REFRESH_INO)->kind, NODE_REFRESH);
	ck_assert_ptr_null(tree_node(T, 999));
}
END_TEST

START_TEST(test_tree_same_generation_is_the_same_inode)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v = value("tok-1");
	struct tree_node *a, *b;

	a = tree_file(T, c, NODE_TOKEN, NULL, v, 1, 1000, 1);
	b = tree_file(T, c, NODE_TOKEN, NULL, v, 1, 1000, 1);
	ck_assert_ptr_eq(a, b);
	ck_assert_uint_eq(a->nlookup, 2);
	connection_unref(&v);
}
END_TEST

START_TEST(test_tree_changed_value_is_a_new_inode_and_the_old_lives_until_forgotten)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	struct tree_node *a, *b;
	uint64_t old;

	a = tree_file(T, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	old = a->ino;
	b = tree_file(T, c, NODE_TOKEN, NULL, v2, 2, 2000, 1);
	ck_assert_uint_ne(b->ino, old);
	ck_assert_str_eq(b->value->token, "tok-2");
	/* The kernel still holds the old inode: it still shows tok-1. */
	ck_assert_ptr_eq(tree_node(T, old), a);
	ck_assert_str_eq(a->value->token, "tok-1");
	tree_forget(T, old, 1);
	ck_assert_ptr_null(tree_node(T, old));
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_an_older_view_never_replaces_a_newer_value)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	struct tree_node *n, *late;

	n = tree_file(T, c, NODE_TOKEN, NULL, v2, 2, 2000, 1);
	/* A lookup that took its view before the rotation arrives late. */
	late = tree_file(T, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	ck_assert_ptr_eq(late, n);
	ck_assert_str_eq(late->value->token, "tok-2");
	/* A key only the older value had is not made again either. */
	ck_assert_ptr_null(tree_file(T, c, NODE_CONFIG_FILE, "gone", v1, 1, 1000, 1));
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_file_ino_takes_no_reference)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	uint64_t ino;
	size_t before;

	ino = tree_file_ino(T, c, NODE_TOKEN, NULL, v1, 1, 1000);
	ck_assert_uint_ne(ino, 0);
	before = tree_node_count(T);
	/* Nobody holds it: a new value frees it at once. */
	ck_assert_ptr_nonnull(tree_file(T, c, NODE_TOKEN, NULL, v2, 2, 2000, 0));
	ck_assert_ptr_null(tree_node(T, ino));
	ck_assert_uint_eq(tree_node_count(T), before);
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_connector_files_retire_older_generations)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	struct tree_file_ref *refs;
	struct tree_node *a;
	size_t n;

	a = tree_file(T, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	ck_assert_int_eq(tree_connector_files(T, c, 2, &refs, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(refs[0].name, "access_token");
	ck_assert_uint_eq(refs[0].parent, c->dir->ino);
	free(refs);
	/* Retired: the next look makes a new inode even for generation 2's first view. */
	ck_assert_ptr_ne(tree_file(T, c, NODE_TOKEN, NULL, v2, 2, 2000, 1), a);
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_each_control_look_is_its_own_inode_dropped_when_forgotten)
{
	char *bytes = strdup("{\"a\":1}");
	uint64_t a, b;
	char *copy;
	size_t len, before = tree_node_count(T);
	int err, known;

	a = tree_ephemeral(T, NODE_STATUS, NULL, bytes, 7);
	b = tree_ephemeral(T, NODE_STATUS, NULL, strdup("{}"), 2);
	ck_assert_uint_ne(a, b);
	ck_assert_int_eq(tree_ctl_slice(T, a, 1, 100, &copy, &len, &err), 1);
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(memcmp(copy, "\"a\":1", 5), 0);
	free(copy);
	ck_assert_int_eq(tree_ctl_size(T, b, &len, &known), 0);
	ck_assert_uint_eq(len, 2);
	ck_assert_int_eq(known, 1);
	tree_forget(T, a, 1);
	tree_forget(T, b, 1);
	ck_assert_uint_eq(tree_node_count(T), before);
	ck_assert_int_eq(tree_ctl_slice(T, a, 0, 1, &copy, &len, &err), -1);
}
END_TEST

START_TEST(test_tree_refresh_file_outcome_is_set_once_and_claimed_once)
{
	uint64_t ino = tree_ephemeral(T, NODE_REFRESH_FILE, "slack", NULL, 0);
	char *copy;
	size_t len;
	int err, known;

	ck_assert_int_eq(tree_ctl_slice(T, ino, 0, 10, &copy, &len, &err), 0);
	ck_assert_int_eq(tree_ctl_size(T, ino, &len, &known), 0);
	ck_assert_int_eq(known, 0);
	ck_assert_int_eq(tree_ctl_claim(T, ino), 1);
	ck_assert_int_eq(tree_ctl_claim(T, ino), 0);
	tree_ctl_set(T, ino, NULL, 0, EIO);
	tree_ctl_set(T, ino, strdup("late"), 4, 0);	/* ignored: the first outcome stays */
	ck_assert_int_eq(tree_ctl_slice(T, ino, 0, 10, &copy, &len, &err), 1);
	ck_assert_int_eq(err, EIO);
	tree_forget(T, ino, 1);
	tree_ctl_set(T, ino, strdup("gone"), 4, 0);	/* freed: no such node */
}
END_TEST

START_TEST(test_tree_names_are_one_table_looked_up_both_ways)
{
	const struct tree_name *names;
	size_t i, n;

	ck_assert_int_eq(tree_child_kind(NODE_CONN_DIR, "access_token"), NODE_TOKEN);
	ck_assert_int_eq(tree_child_kind(NODE_CONN_DIR, "connectionConfig"), NODE_CONFIG_DIR);
	ck_assert_int_eq(tree_child_kind(NODE_ROOT, ".connectorfs"), NODE_CTL_DIR);
	ck_assert_int_eq(tree_child_kind(NODE_CTL_DIR, "access_token"), NODE_NONE);
	ck_assert_int_eq(tree_child_kind(NODE_CONN_DIR, "Access_token"), NODE_NONE);
	ck_assert_int_eq(tree_child_kind(NODE_CONFIG_DIR, "env"), NODE_NONE);
	ck_assert_str_eq(tree_kind_name(NODE_ENV), "env");
	ck_assert_ptr_null(tree_kind_name(NODE_CONFIG_FILE));
	names = tree_children(NODE_CONN_DIR, &n);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(names[i].parent, NODE_CONN_DIR);
		ck_assert_int_eq(tree_child_kind(NODE_CONN_DIR, names[i].name), names[i].kind);
		ck_assert_str_eq(tree_kind_name(names[i].kind), names[i].name);
		if (i > 0)
			ck_assert_int_lt(strcmp(names[i - 1].name, names[i].name), 0);
	}
	names = tree_children(NODE_CTL_DIR, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_ptr_null(tree_children(NODE_TOKEN, &n));
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_tree_node_path_names_the_file_inside_the_mount)
{
	struct tree_connector *c = tree_connector(T, "slack");
	struct connection *v = value("tok-1");
	struct tree_node *n;
	char path[128];

	n = tree_file(T, c, NODE_TOKEN, NULL, v, 1, 1000, 1);
	tree_node_path(n, path, sizeof(path));
	ck_assert_str_eq(path, "/slack/access_token");
	n = tree_file(T, c, NODE_CONFIG_FILE, "subdomain", v, 1, 1000, 1);
	tree_node_path(n, path, sizeof(path));
	ck_assert_str_eq(path, "/slack/connectionConfig/subdomain");
	connection_unref(&v);
}
END_TEST

Suite *
tree_suite(void)
{
	Suite *s = suite_create("tree");
	TCase *tc = tcase_create("inodes");

	tcase_add_checked_fixture(tc, tree_setup, tree_teardown);
	tcase_add_test(tc, test_tree_fixed_inodes_are_the_folders);
	tcase_add_test(tc, test_tree_names_are_one_table_looked_up_both_ways);
	tcase_add_test(tc, test_tree_node_path_names_the_file_inside_the_mount);
	tcase_add_test(tc, test_tree_same_generation_is_the_same_inode);
	tcase_add_test(tc, test_tree_changed_value_is_a_new_inode_and_the_old_lives_until_forgotten);
	tcase_add_test(tc, test_tree_an_older_view_never_replaces_a_newer_value);
	tcase_add_test(tc, test_tree_file_ino_takes_no_reference);
	tcase_add_test(tc, test_tree_connector_files_retire_older_generations);
	tcase_add_test(tc, test_tree_each_control_look_is_its_own_inode_dropped_when_forgotten);
	tcase_add_test(tc, test_tree_refresh_file_outcome_is_set_once_and_claimed_once);
	suite_add_tcase(s, tc);
	return s;
}
