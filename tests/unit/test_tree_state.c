/*
 * test_tree_state.c: the tree carried to the next server (tree.h,
 * tree_state.c). A tree kept in a handover state and a second tree
 * restored from it must agree on every inode the kernel may hold: number,
 * kind, value bytes, lookup count, whether its name still leads to it;
 * and the cache's current values come back with their times.
 */
#define _GNU_SOURCE	/* memmem */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"
#include "handover.h"
#include "tree.h"
#include "unit.h"

static struct handover *H;
static struct tree *A;

static void
state_setup(void)
{
	char msg[256];

	ck_assert_int_eq(handover_create(HANDOVER_HALF_MIN * 16, &H, msg, sizeof(msg)), 0);
	A = tree_new();
	ck_assert_ptr_nonnull(A);
	ck_assert_int_eq(tree_keep_state(A, H), 0);
}

static void
state_teardown(void)
{
	tree_free(&A);
	handover_close(&H);
}

static struct connection *
value(const char *token)
{
	char body[256];

	snprintf(body, sizeof(body),
	    "{\"access_token\":\"%s\",\"connection_config\":{\"subdomain\":\"acme\"}}", token);
	return unit_connection("slack", body);
}

/* value() without ck_assert, for a child killed at a random moment. */
static struct connection *
child_value(const char *token)
{
	struct connection *c = NULL;
	char body[256], why[160];

	snprintf(body, sizeof(body),
	    "{\"access_token\":\"%s\",\"connection_config\":{\"subdomain\":\"acme\"}}", token);
	if (decode_connection(body, strlen(body), "slack", &c, why, sizeof(why)) != CFS_OK)
		return NULL;
	return c;
}

struct seen_current {
	int calls;
	char name[64];
	char token[64];
	unsigned long long generation;
	long long changed_ms, fetched_ms;
};

static void
seen(void *arg, const char *name, struct connection *value, unsigned long long generation,
    long long changed_ms, long long fetched_ms)
{
	struct seen_current *s = arg;

	s->calls++;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->token, sizeof(s->token), "%s", value != NULL ? value->token : "");
	s->generation = generation;
	s->changed_ms = changed_ms;
	s->fetched_ms = fetched_ms;
}

/* A new tree restored from H, as the next server builds it. */
static struct tree *
restored(struct seen_current *s, int want_rc)
{
	struct tree *b = tree_new();
	char msg[256] = "";

	ck_assert_ptr_nonnull(b);
	ck_assert_msg(tree_restore(b, H, seen, s, msg, sizeof(msg)) == want_rc, "%s", msg);
	return b;
}

static void
same_node(struct tree *b, const struct tree_node *a)
{
	struct tree_node *n = tree_node(b, a->ino);

	ck_assert_msg(n != NULL, "inode %llu not restored", (unsigned long long)a->ino);
	ck_assert_int_eq(n->kind, a->kind);
	ck_assert_uint_eq(n->generation, a->generation);
	ck_assert_int_eq(n->changed_ms, a->changed_ms);
	ck_assert_uint_eq(n->nlookup, a->nlookup);
	ck_assert_int_eq(n->current, a->current);
	ck_assert_str_eq(n->conn->name, a->conn->name);
	if (a->key != NULL)
		ck_assert_str_eq(n->key, a->key);
	else
		ck_assert_ptr_null(n->key);
	ck_assert_str_eq(n->value->token, a->value->token);
	ck_assert_int_eq(connection_same(n->value, a->value), 1);
}

START_TEST(test_tree_state_restores_inodes_counts_and_values)
{
	struct tree_connector *c = tree_connector(A, "slack"), *rc;
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	struct tree_node *tok1, *key1, *tok2;
	struct seen_current s = { 0 };
	struct tree *b;

	tok1 = tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	(void)tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	key1 = tree_file(A, c, NODE_CONFIG_FILE, "subdomain", v1, 1, 1000, 1);
	/* A rotation: the old token inode stays (held), the new one is current. */
	tok2 = tree_file(A, c, NODE_TOKEN, NULL, v2, 2, 2000, 1);
	tree_note_current(A, "slack", v2, 2, 2000, 2500);
	ck_assert_int_eq(tok1->current, 0);

	b = restored(&s, 0);
	same_node(b, tok1);
	same_node(b, key1);
	same_node(b, tok2);
	rc = tree_connector_find(b, "slack");
	ck_assert_ptr_nonnull(rc);
	ck_assert_uint_eq(rc->dir->ino, c->dir->ino);
	ck_assert_uint_eq(rc->config_dir->ino, c->config_dir->ino);
	ck_assert_uint_eq(tree_node_count(b), tree_node_count(A));
	/* The name leads to the same current inode; a new value to a new number. */
	ck_assert_ptr_eq(tree_file(b, rc, NODE_TOKEN, NULL, v2, 2, 2000, 0),
	    tree_node(b, tok2->ino));
	ck_assert_uint_gt(tree_file_ino(b, rc, NODE_JSON, NULL, v2, 2, 2000), tok2->ino);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_str_eq(s.name, "slack");
	ck_assert_str_eq(s.token, "tok-2");
	ck_assert_uint_eq(s.generation, 2);
	ck_assert_int_eq(s.changed_ms, 2000);
	ck_assert_int_eq(s.fetched_ms, 2500);
	tree_free(&b);
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_state_forgotten_inodes_are_not_restored)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-1"), *v2 = value("tok-2");
	struct seen_current s = { 0 };
	struct tree_node *old;
	uint64_t old_ino;
	struct tree *b;

	old = tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	old_ino = old->ino;
	(void)tree_file(A, c, NODE_TOKEN, NULL, v2, 2, 2000, 1);
	tree_forget(A, old_ino, 1);
	ck_assert_ptr_null(tree_node(A, old_ino));
	b = restored(&s, 0);
	ck_assert_ptr_null(tree_node(b, old_ino));
	ck_assert_uint_eq(tree_node_count(b), tree_node_count(A));
	tree_free(&b);
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

START_TEST(test_tree_state_counts_move_in_place)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-1");
	struct seen_current s = { 0 };
	struct tree_node *n;
	size_t used;
	struct tree *b;
	int i;

	n = tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	used = handover_used(H);
	for (i = 0; i < 1000; i++)
		(void)tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	tree_forget(A, n->ino, 400);
	/* Reads and forgets write no records: the log does not grow with them. */
	ck_assert_uint_eq(handover_used(H), used);
	b = restored(&s, 0);
	ck_assert_uint_eq(tree_node(b, n->ino)->nlookup, 601);
	tree_free(&b);
	connection_unref(&v1);
}
END_TEST

START_TEST(test_tree_state_survives_compaction_of_many_rotations)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct seen_current s = { 0 };
	struct tree_node *held = NULL, *n = NULL;
	uint64_t prev = 0;
	struct tree *b;
	char tok[32];
	unsigned long long g;

	/* Far more records than one half holds: it must compact, again and again. */
	for (g = 1; g <= 600; g++) {
		struct connection *v;

		snprintf(tok, sizeof(tok), "tok-%llu", g);
		v = value(tok);
		n = tree_file(A, c, NODE_TOKEN, NULL, v, g, (long long)g, 1);
		ck_assert_ptr_nonnull(n);
		(void)tree_file(A, c, NODE_CONFIG_FILE, "subdomain", v, g, (long long)g, 0);
		tree_note_current(A, "slack", v, g, (long long)g, (long long)g);
		/* The kernel lets go of each replaced token, but for one it holds. */
		if (prev != 0 && (held == NULL || prev != held->ino))
			tree_forget(A, prev, 1);
		if (g == 10)
			held = n;
		prev = n->ino;
		connection_unref(&v);
	}
	b = restored(&s, 0);
	same_node(b, held);
	same_node(b, n);
	ck_assert_str_eq(s.token, "tok-600");
	ck_assert_uint_lt(handover_used(H), handover_half_size(H));
	tree_free(&b);
}
END_TEST

START_TEST(test_tree_state_skips_what_it_cannot_read_and_restores_the_rest)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-1");
	struct seen_current s = { 0 };
	static const char junk[] = "not a record of ours";
	struct tree_node *n;
	struct tree *b;

	n = tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	/* A record type from a newer build, and a VALUE whose body is garbage. */
	ck_assert_int_eq(handover_append(H, 99, 0, junk, sizeof(junk), NULL), 0);
	ck_assert_int_eq(handover_append(H, 2, 0, junk, sizeof(junk), NULL), 0);
	b = restored(&s, -1);
	same_node(b, n);
	tree_free(&b);
	connection_unref(&v1);
}
END_TEST

START_TEST(test_tree_state_new_numbers_never_reuse_carried_ones)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-1");
	struct seen_current s = { 0 };
	uint64_t look, fresh;
	struct tree *b;

	(void)tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	/* A look at status.json: not carried, but its number is spent. */
	look = tree_ephemeral(A, NODE_STATUS, NULL, NULL, 0);
	ck_assert_uint_gt(look, 0);
	b = restored(&s, 0);
	ck_assert_ptr_null(tree_node(b, look));
	fresh = tree_ephemeral(b, NODE_STATUS, NULL, NULL, 0);
	ck_assert_uint_gt(fresh, look);
	tree_free(&b);
	connection_unref(&v1);
}
END_TEST

START_TEST(test_tree_state_ended_connector_restores_without_a_value)
{
	struct connection *v1 = value("tok-1");
	struct seen_current s = { 0 };
	struct tree *b;

	tree_note_current(A, "slack", v1, 1, 1000, 1000);
	tree_note_current(A, "slack", NULL, 1, 1000, 1000);
	b = restored(&s, 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_str_eq(s.token, "");
	tree_free(&b);
	connection_unref(&v1);
}
END_TEST

/*
 * A server killed at any instant leaves a state the next one restores
 * whole: a child rotates and looks up in a loop and is killed at a random
 * moment; every node restored has its value, and the current token is one
 * the child had made.
 */
START_TEST(test_tree_state_kill_at_any_moment_leaves_a_whole_tree)
{
	int round;

	for (round = 0; round < 10; round++) {
		struct seen_current s = { 0 };
		struct tree_connector *rc;
		struct tree_node *n;
		struct tree *b;
		int status;
		pid_t pid;

		tree_free(&A);
		handover_wipe(H);
		A = tree_new();
		ck_assert_int_eq(tree_keep_state(A, H), 0);
		pid = fork();
		if (pid == 0) {
			struct tree_connector *c = tree_connector(A, "slack");
			unsigned long long g;
			uint64_t prev = 0;
			char tok[32];

			for (g = 1;; g++) {
				struct connection *v;

				snprintf(tok, sizeof(tok), "tok-%llu", g);
				/*
				 * No ck_assert in here: a passing one writes to
				 * Check's pipe, and a kill in the middle of that
				 * write corrupts the runner's messages.
				 */
				v = child_value(tok);
				if (v == NULL)
					_exit(1);
				n = tree_file(A, c, NODE_TOKEN, NULL, v, g, (long long)g, 1);
				tree_note_current(A, "slack", v, g, (long long)g, (long long)g);
				if (prev != 0)
					tree_forget(A, prev, 1);
				prev = n->ino;
				connection_unref(&v);
			}
		}
		ck_assert_int_ge(pid, 0);	/* in the parent only: see child_value() */
		usleep(2000 + (useconds_t)(rand() % 20000));
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		b = restored(&s, 0);
		rc = tree_connector_find(b, "slack");
		if (rc != NULL && rc->token != NULL) {
			n = rc->token;
			ck_assert_ptr_nonnull(n->value);
			ck_assert_int_eq(strncmp(n->value->token, "tok-", 4), 0);
			ck_assert_uint_eq(strtoull(n->value->token + 4, NULL, 10), n->generation);
		}
		tree_free(&b);
	}
}
END_TEST

START_TEST(test_tree_state_refuses_inode_numbers_that_would_wrap)
{
	struct seen_current s = { 0 };
	static const char body[] = { 5, 0, 0, 0, 0, 0, 0, 0, 'e', 'v', 'i', 'l', 0 };
	size_t ref;
	uint64_t ino;
	struct tree *b;

	/* A connector record naming folder inodes at the top of the range. */
	ck_assert_int_eq(handover_append(H, 1, 3, body, sizeof(body), &ref), 0);
	handover_slot_set(H, ref, 0, UINT64_MAX);
	handover_slot_set(H, ref, 1, UINT64_MAX - 1);
	handover_set_field(H, HANDOVER_NEXT_INO, UINT64_MAX);
	b = restored(&s, -1);
	ck_assert_ptr_null(tree_connector_find(b, "evil"));
	ino = tree_ephemeral(b, NODE_STATUS, NULL, NULL, 0);
	ck_assert_uint_gt(ino, TREE_REFRESH_INO);
	ck_assert_uint_lt(ino, 1000);
	tree_free(&b);
}
END_TEST

START_TEST(test_tree_state_a_current_record_cut_short_leaves_the_one_before)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v3 = value("tok-3");
	static const char body[] = { 6, 0, 0, 0, 0, 0, 0, 0, 's', 'l', 'a', 'c', 'k', 0 };
	struct seen_current s = { 0 };
	struct tree *b;

	(void)tree_file(A, c, NODE_TOKEN, NULL, v3, 3, 3000, 1);
	tree_note_current(A, "slack", v3, 3, 3000, 3500);
	/* What a kill between a CURRENT record's publication and its slots leaves. */
	ck_assert_int_eq(handover_append(H, 4, 4, body, sizeof(body), NULL), 0);
	b = restored(&s, 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_str_eq(s.token, "tok-3");
	ck_assert_uint_eq(s.generation, 3);
	tree_free(&b);
	connection_unref(&v3);
}
END_TEST

START_TEST(test_tree_state_cache_generations_never_restart_below_the_files_shown)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-1"), *v5 = value("tok-5");
	struct seen_current s = { 0 };
	struct tree *b;

	/* The cache's record says generation 1; a file already showed generation 5. */
	tree_note_current(A, "slack", v1, 1, 1000, 1000);
	(void)tree_file(A, c, NODE_TOKEN, NULL, v5, 5, 5000, 1);
	b = restored(&s, 0);
	ck_assert_int_eq(s.calls, 1);
	ck_assert_str_eq(s.token, "");		/* fetched afresh, not served */
	ck_assert_uint_eq(s.generation, 5);	/* and counted on from 5 */
	tree_free(&b);
	connection_unref(&v1);
	connection_unref(&v5);
}
END_TEST

START_TEST(test_tree_state_numbers_move_on_after_the_state_is_full)
{
	struct handover *small;
	struct tree *t = tree_new();
	struct tree_connector *c;
	struct seen_current s = { 0 };
	char msg[256], tok[64];
	uint64_t last = 0, fresh;
	struct tree *b;
	int i;

	ck_assert_int_eq(handover_create(HANDOVER_HALF_MIN, &small, msg, sizeof(msg)), 0);
	ck_assert_int_eq(tree_keep_state(t, small), 0);
	unit_log_reset();
	/* Far more than one 4 KiB half holds: the state gives up keeping the tree. */
	for (i = 0; i < 200; i++) {
		struct connection *v;
		char name[32];

		snprintf(name, sizeof(name), "c%d", i);
		snprintf(tok, sizeof(tok), "tok-%d-xxxxxxxxxxxxxxxxxxxxxxxx", i);
		v = value(tok);
		c = tree_connector(t, name);
		last = tree_file(t, c, NODE_TOKEN, NULL, v, 1, 1000, 1)->ino;
		connection_unref(&v);
	}
	ck_assert(unit_log_contains("no longer fits"));
	b = tree_new();
	(void)tree_restore(b, small, seen, &s, msg, sizeof(msg));
	/* Files the state lost answer ENOENT; none of their numbers is given again. */
	fresh = tree_ephemeral(b, NODE_STATUS, NULL, NULL, 0);
	ck_assert_uint_gt(fresh, last);
	tree_free(&b);
	tree_free(&t);
	handover_close(&small);
}
END_TEST

/* Every byte of the state, as the next process would find it. */
static int
state_holds(const char *needle)
{
	int fd = handover_fd(H);
	off_t size = lseek(fd, 0, SEEK_END);
	char *all = malloc((size_t)size);
	int found;

	ck_assert_ptr_nonnull(all);
	ck_assert_int_eq(pread(fd, all, (size_t)size, 0), size);
	found = memmem(all, (size_t)size, needle, strlen(needle)) != NULL;
	free(all);
	return found;
}

START_TEST(test_tree_state_a_replaced_token_leaves_the_state_when_nothing_shows_it)
{
	struct tree_connector *c = tree_connector(A, "slack");
	struct connection *v1 = value("tok-first-secret"), *v2 = value("tok-second-secret");
	struct tree_node *old;
	uint64_t old_ino;

	old = tree_file(A, c, NODE_TOKEN, NULL, v1, 1, 1000, 1);
	old_ino = old->ino;
	tree_note_current(A, "slack", v1, 1, 1000, 1000);
	ck_assert(state_holds("tok-first-secret"));
	(void)tree_file(A, c, NODE_TOKEN, NULL, v2, 2, 2000, 1);
	tree_note_current(A, "slack", v2, 2, 2000, 2000);
	/* An open file of the old value still needs it. */
	ck_assert(state_holds("tok-first-secret"));
	tree_forget(A, old_ino, 1);
	ck_assert(!state_holds("tok-first-secret"));
	ck_assert(state_holds("tok-second-secret"));
	connection_unref(&v1);
	connection_unref(&v2);
}
END_TEST

Suite *
tree_state_suite(void)
{
	Suite *s = suite_create("tree_state");
	TCase *tc = tcase_create("handover");

	tcase_add_checked_fixture(tc, state_setup, state_teardown);
	tcase_add_test(tc, test_tree_state_restores_inodes_counts_and_values);
	tcase_add_test(tc, test_tree_state_forgotten_inodes_are_not_restored);
	tcase_add_test(tc, test_tree_state_counts_move_in_place);
	tcase_add_test(tc, test_tree_state_survives_compaction_of_many_rotations);
	tcase_add_test(tc, test_tree_state_skips_what_it_cannot_read_and_restores_the_rest);
	tcase_add_test(tc, test_tree_state_new_numbers_never_reuse_carried_ones);
	tcase_add_test(tc, test_tree_state_ended_connector_restores_without_a_value);
	tcase_add_test(tc, test_tree_state_kill_at_any_moment_leaves_a_whole_tree);
	tcase_add_test(tc, test_tree_state_a_replaced_token_leaves_the_state_when_nothing_shows_it);
	tcase_add_test(tc, test_tree_state_refuses_inode_numbers_that_would_wrap);
	tcase_add_test(tc, test_tree_state_a_current_record_cut_short_leaves_the_one_before);
	tcase_add_test(tc, test_tree_state_cache_generations_never_restart_below_the_files_shown);
	tcase_add_test(tc, test_tree_state_numbers_move_on_after_the_state_is_full);
	suite_add_tcase(s, tc);
	return s;
}
