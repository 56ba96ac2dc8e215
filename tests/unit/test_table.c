/*
 * test_table.c: the one hash table (table.h): entries are found by hash and
 * key through growth, deleted in place, and every one is visited once.
 */
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "unit.h"

struct item {
	struct table_link link;
	int key;
	int seen;
};

static struct item *
table_test_find(struct table *t, int key)
{
	struct table_link *l;

	for (l = table_chain(t, (uint64_t)key); l != NULL; l = l->next)
		if (l->hash == (uint64_t)key && table_entry(l, struct item, link)->key == key)
			return table_entry(l, struct item, link);
	return NULL;
}

START_TEST(test_table_finds_every_entry_through_growth_and_deletes_in_place)
{
	enum { N = 1000 };
	struct item *items = calloc(N, sizeof(*items));
	struct table t;
	struct table_link *l;
	size_t cur;
	int i, visited = 0;

	ck_assert_int_eq(table_init(&t, 4), 0);
	for (i = 0; i < N; i++) {
		items[i].key = i;
		table_add(&t, &items[i].link, (uint64_t)i);
	}
	ck_assert_uint_eq(t.count, N);
	ck_assert_uint_ge(t.nbuckets, N);
	for (i = 0; i < N; i++)
		ck_assert_ptr_eq(table_test_find(&t, i), &items[i]);
	ck_assert_ptr_null(table_test_find(&t, N + 1));
	for (i = 0; i < N; i += 2)
		table_del(&t, &items[i].link);
	ck_assert_uint_eq(t.count, N / 2);
	ck_assert_ptr_null(table_test_find(&t, 10));
	ck_assert_ptr_eq(table_test_find(&t, 11), &items[11]);
	for (l = table_first(&t, &cur); l != NULL; l = table_next(&t, l, &cur)) {
		table_entry(l, struct item, link)->seen++;
		visited++;
	}
	ck_assert_int_eq(visited, N / 2);
	for (i = 1; i < N; i += 2)
		ck_assert_int_eq(items[i].seen, 1);
	table_release(&t);
	ck_assert_ptr_null(table_first(&t, &cur));
	free(items);
}
END_TEST

Suite *
table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_table_finds_every_entry_through_growth_and_deletes_in_place);
	suite_add_tcase(s, tc);
	return s;
}
