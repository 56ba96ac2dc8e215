/*
 * table.h: one chained hash table for the whole tree (after curl's
 * lib/hash.h), intrusive: an entry embeds a struct table_link and is found
 * by its 64-bit hash; the caller compares its own key along the chain. The
 * table grows by doubling at a load of one; a failed growth only makes the
 * chains longer. It owns no entry and takes no lock.
 */
#ifndef CFS_TABLE_H
#define CFS_TABLE_H

#include <stddef.h>
#include <stdint.h>

struct table_link {
	struct table_link *next;
	uint64_t hash;
};

struct table {
	struct table_link **buckets;
	size_t nbuckets;
	size_t count;
};

/* 0, or -1 when out of memory. */
int table_init(struct table *t, size_t nbuckets);

/* Frees the buckets, not the entries. */
void table_release(struct table *t);

void table_add(struct table *t, struct table_link *l, uint64_t hash);
void table_del(struct table *t, struct table_link *l);

/* The chain a hash is on: walk ->next, compare ->hash, then the key. */
struct table_link *table_chain(const struct table *t, uint64_t hash);

/*
 * Every entry: for (l = table_first(t, &i); l; l = table_next(t, l, &i)).
 * Deleting l during the walk is allowed once l's successor is taken first.
 */
struct table_link *table_first(const struct table *t, size_t *cursor);
struct table_link *table_next(const struct table *t, const struct table_link *l,
    size_t *cursor);

/* The enclosing struct of a link. */
#define table_entry(link, type, member) \
	((type *)(void *)((char *)(link) - offsetof(type, member)))

#endif
