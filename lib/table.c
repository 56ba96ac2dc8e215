/*
 * table.c: see table.h. Buckets are a power of two, so a hash picks its
 * bucket by mask; hashes are mixed once more here so that inode numbers
 * (sequential) spread as well as names.
 */
#include <stdlib.h>

#include "table.h"

static size_t
table_index(const struct table *t, uint64_t hash)
{
	return (size_t)((hash * 0x9e3779b97f4a7c15ULL) >> 17) & (t->nbuckets - 1);
}

int
table_init(struct table *t, size_t nbuckets)
{
	size_t n = 8;

	while (n < nbuckets)
		n *= 2;
	t->buckets = calloc(n, sizeof(*t->buckets));
	t->nbuckets = t->buckets != NULL ? n : 0;
	t->count = 0;
	return t->buckets != NULL ? 0 : -1;
}

void
table_release(struct table *t)
{
	free(t->buckets);
	t->buckets = NULL;
	t->nbuckets = 0;
	t->count = 0;
}

static void
table_grow(struct table *t)
{
	struct table_link **old = t->buckets, *l, *next;
	size_t n = t->nbuckets, i;

	t->buckets = calloc(n * 2, sizeof(*t->buckets));
	if (t->buckets == NULL) {
		t->buckets = old;	/* longer chains, still correct */
		return;
	}
	t->nbuckets = n * 2;
	for (i = 0; i < n; i++) {
		for (l = old[i]; l != NULL; l = next) {
			size_t j = table_index(t, l->hash);

			next = l->next;
			l->next = t->buckets[j];
			t->buckets[j] = l;
		}
	}
	free(old);
}

void
table_add(struct table *t, struct table_link *l, uint64_t hash)
{
	size_t i;

	if (t->count >= t->nbuckets)
		table_grow(t);
	l->hash = hash;
	i = table_index(t, hash);
	l->next = t->buckets[i];
	t->buckets[i] = l;
	t->count++;
}

void
table_del(struct table *t, struct table_link *l)
{
	struct table_link **pp;

	for (pp = &t->buckets[table_index(t, l->hash)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			l->next = NULL;
			t->count--;
			return;
		}
	}
}

struct table_link *
table_chain(const struct table *t, uint64_t hash)
{
	return t->nbuckets ? t->buckets[table_index(t, hash)] : NULL;
}

struct table_link *
table_first(const struct table *t, size_t *cursor)
{
	size_t i;

	for (i = 0; i < t->nbuckets; i++) {
		if (t->buckets[i] != NULL) {
			*cursor = i;
			return t->buckets[i];
		}
	}
	*cursor = t->nbuckets;
	return NULL;
}

struct table_link *
table_next(const struct table *t, const struct table_link *l, size_t *cursor)
{
	size_t i;

	if (l->next != NULL)
		return l->next;
	for (i = *cursor + 1; i < t->nbuckets; i++) {
		if (t->buckets[i] != NULL) {
			*cursor = i;
			return t->buckets[i];
		}
	}
	*cursor = t->nbuckets;
	return NULL;
}
