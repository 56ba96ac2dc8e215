/*
 * tree_state.c: the tree written to the handover state as it changes, and
 * read back by the next server (see tree.h and lib/handover.h).
 *
 * Records, each written under the tree's lock before the change can reach
 * the kernel (a LOOKUP reply, a readdir entry) or a reader:
 *	CONN	a connector: its two folder inodes and newest generation
 *	VALUE	one value of a connector (connection_pack), once per generation
 *		in the log, before anything that refers to it
 *	NODE	a file inode: number, kind, key, generation, st_mtime, and in
 *		place its lookup count and whether it is current or dropped
 *	CURRENT	the cache's value of a connector: generation, st_mtime and, in
 *		place, when it was fetched; the last one of a name wins
 * Counts and flags change in place; a new record is appended only for a
 * new inode, connector or value, so the log grows with rotations and first
 * looks, not with reads. When the half is full it is compacted from the
 * tree itself (handover_rewrite()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connection.h"
#include "handover.h"
#include "log.h"
#include "names.h"
#include "pack.h"
#include "tree.h"
#include "tree_priv.h"

enum tree_record {
	REC_CONN = 1,
	REC_VALUE = 2,
	REC_NODE = 3,
	REC_CURRENT = 4,
};

/* Slots of each record. */
enum { CONN_DIR, CONN_CONFIG_DIR, CONN_NEWEST, CONN_SLOTS };
enum { NODE_INO, NODE_NLOOKUP, NODE_FLAGS, NODE_GENERATION, NODE_CHANGED, NODE_KIND,
	NODE_SLOTS };
enum { CUR_GENERATION, CUR_CHANGED, CUR_FETCHED, CUR_FLAGS, CUR_SLOTS };

/* Inode numbers a state may name: far below where next_ino could wrap. */
#define TREE_STATE_INO_MAX	(1ull << 62)

#define NODE_F_CURRENT	1u
#define NODE_F_DROPPED	2u
#define CUR_F_VALUE	1u

static int tree_state_fill(struct handover *h, void *arg);

/* The state is full and cannot be compacted: say so once, stop keeping it. */
static void
tree_state_fail(struct tree *t, const char *what)
{
	if (!t->state_failed)
		log_warnx("handover state: %s: %s; a server taking over now would answer "
		    "ENOENT for files open before it", what, strerror(errno));
	t->state_failed = 1;
}

static int
tree_state_active(const struct tree *t)
{
	return t->state != NULL && !t->state_failed;
}

/*
 * Append a record; when the half is full, compact instead: the tree
 * already holds what the record says, so the compacted log has it too.
 * *ref is 0 after a compaction (the fill set the object's refs itself).
 */
static int
tree_state_append(struct tree *t, unsigned type, unsigned nslots, const struct pack *p,
    size_t *ref)
{
	int rc;

	if (handover_append(t->state, type, nslots, p->buf, p->len, ref) == 0)
		return 0;
	if (t->state_filling)
		return -1;	/* the compaction in progress fails, and says so */
	if (errno != ENOSPC) {
		tree_state_fail(t, "append");
		return -1;
	}
	t->state_filling = 1;
	rc = handover_rewrite(t->state, tree_state_fill, t);
	t->state_filling = 0;
	if (rc != 0) {
		errno = ENOSPC;
		tree_state_fail(t, "the tree no longer fits (compaction)");
		return -1;
	}
	return 1;
}

static int
tree_state_has_value(const struct tree_connector *c, unsigned long long gen)
{
	size_t i;

	for (i = 0; i < c->nkept; i++)
		if (c->kept[i].generation == gen)
			return 1;
	return 0;
}

/*
 * Values nothing shows any more (no live inode of that generation, not the
 * cache's) are erased from the state at once: a replaced token must not
 * wait in it for the next compaction. gone is a node on its way out.
 */
static void
tree_state_release_values(struct tree *t, struct tree_connector *c,
    const struct tree_node *gone)
{
	const struct tree_node *n;
	size_t i = 0;

	while (i < c->nkept) {
		unsigned long long gen = c->kept[i].generation;
		int used = c->current != NULL && c->current_gen == gen;

		for (n = c->files; n != NULL && !used; n = n->conn_next)
			used = n != gone && n->generation == gen;
		if (used) {
			i++;
			continue;
		}
		handover_erase(t->state, c->kept[i].ref);
		c->kept[i] = c->kept[--c->nkept];
	}
}

/* VALUE of (c, gen) unless the log has it: 0 written or there, -1 failed, 1 compacted. */
static int
tree_state_value(struct tree *t, struct tree_connector *c, unsigned long long gen,
    const struct connection *value)
{
	struct tree_kept_value *grown;
	struct pack p;
	size_t ref = 0;
	int rc;

	if (value == NULL || tree_state_has_value(c, gen))
		return 0;
	grown = realloc(c->kept, (c->nkept + 1) * sizeof(*grown));
	if (grown == NULL) {
		errno = ENOMEM;
		tree_state_fail(t, "value");
		return -1;
	}
	c->kept = grown;
	pack_init(&p);
	pack_str(&p, c->name);
	pack_u64(&p, gen);
	if (connection_pack(value, &p) != 0 || p.failed) {
		pack_release(&p);
		errno = ENOMEM;
		tree_state_fail(t, "value");
		return -1;
	}
	rc = tree_state_append(t, REC_VALUE, 0, &p, &ref);
	pack_release(&p);
	if (rc == 0) {
		c->kept[c->nkept].generation = gen;
		c->kept[c->nkept].ref = ref;
		c->nkept++;
	}
	return rc;
}

static int
tree_state_write_conn(struct tree *t, struct tree_connector *c)
{
	struct pack p;
	size_t ref = 0;
	int rc;

	pack_init(&p);
	pack_str(&p, c->name);
	if (p.failed) {
		pack_release(&p);
		return -1;
	}
	rc = tree_state_append(t, REC_CONN, CONN_SLOTS, &p, &ref);
	pack_release(&p);
	if (rc == 0) {
		c->state_ref = ref;
		handover_slot_set(t->state, ref, CONN_DIR, c->dir->ino);
		handover_slot_set(t->state, ref, CONN_CONFIG_DIR, c->config_dir->ino);
		handover_slot_set(t->state, ref, CONN_NEWEST, c->newest_generation);
	}
	return rc < 0 ? -1 : 0;
}

static void
tree_state_node_slots(struct tree *t, const struct tree_node *n)
{
	handover_slot_set(t->state, n->state_ref, NODE_NLOOKUP, n->nlookup);
	handover_slot_set(t->state, n->state_ref, NODE_FLAGS,
	    n->current ? NODE_F_CURRENT : 0);
}

static int
tree_state_write_node(struct tree *t, struct tree_node *n)
{
	struct pack p;
	size_t ref = 0;
	int rc;

	rc = tree_state_value(t, n->conn, n->generation, n->value);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	pack_init(&p);
	pack_str(&p, n->conn->name);
	pack_str(&p, n->key);
	if (p.failed) {
		pack_release(&p);
		return -1;
	}
	rc = tree_state_append(t, REC_NODE, NODE_SLOTS, &p, &ref);
	pack_release(&p);
	if (rc == 0) {
		n->state_ref = ref;
		/* The number last: a reader takes a record with ino 0 as unfinished. */
		handover_slot_set(t->state, ref, NODE_GENERATION, n->generation);
		handover_slot_set(t->state, ref, NODE_CHANGED, (uint64_t)n->changed_ms);
		handover_slot_set(t->state, ref, NODE_KIND, (uint64_t)n->kind);
		tree_state_node_slots(t, n);
		handover_slot_set(t->state, ref, NODE_INO, n->ino);
	}
	return rc < 0 ? -1 : 0;
}

static int
tree_state_write_current(struct tree *t, struct tree_connector *c)
{
	struct pack p;
	size_t ref = 0;
	int rc;

	rc = tree_state_value(t, c, c->current_gen, c->current);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	pack_init(&p);
	pack_str(&p, c->name);
	if (p.failed) {
		pack_release(&p);
		return -1;
	}
	rc = tree_state_append(t, REC_CURRENT, CUR_SLOTS, &p, &ref);
	pack_release(&p);
	if (rc == 0) {
		c->current_ref = ref;
		handover_slot_set(t->state, ref, CUR_CHANGED, (uint64_t)c->current_changed_ms);
		handover_slot_set(t->state, ref, CUR_FETCHED, (uint64_t)c->current_fetched_ms);
		handover_slot_set(t->state, ref, CUR_FLAGS, c->current != NULL ? CUR_F_VALUE : 0);
		/* The generation last: a reader takes a record with 0 as unfinished. */
		handover_slot_set(t->state, ref, CUR_GENERATION, c->current_gen);
	}
	return rc < 0 ? -1 : 0;
}

/* Compaction: the whole tree, from the tree itself (lock held by the caller). */
static int
tree_state_fill(struct handover *h, void *arg)
{
	struct tree *t = arg;
	struct table_link *l;
	size_t i;

	(void)h;
	handover_set_field(t->state, HANDOVER_NEXT_INO, t->next_ino);
	for (l = table_first(&t->connectors, &i); l != NULL; l = table_next(&t->connectors, l, &i))
		table_entry(l, struct tree_connector, link)->nkept = 0;
	for (l = table_first(&t->connectors, &i); l != NULL;
	    l = table_next(&t->connectors, l, &i)) {
		struct tree_connector *c = table_entry(l, struct tree_connector, link);
		struct tree_node *n;

		if (tree_state_write_conn(t, c) != 0)
			return -1;
		if (c->current_known && tree_state_write_current(t, c) != 0)
			return -1;
		for (n = c->files; n != NULL; n = n->conn_next)
			if (tree_state_write_node(t, n) != 0)
				return -1;
	}
	return 0;
}

/*
 * Even when the state no longer holds the tree: a server taking over must
 * never hand out a number the kernel may still hold for another file.
 */
void
tree_state_next_ino(struct tree *t)
{
	if (t->state != NULL)
		handover_set_field(t->state, HANDOVER_NEXT_INO, t->next_ino);
}

void
tree_state_connector(struct tree *t, struct tree_connector *c)
{
	if (tree_state_active(t))
		(void)tree_state_write_conn(t, c);
}

void
tree_state_connector_update(struct tree *t, struct tree_connector *c)
{
	if (tree_state_active(t) && c->state_ref != 0)
		handover_slot_set(t->state, c->state_ref, CONN_NEWEST, c->newest_generation);
}

void
tree_state_node_new(struct tree *t, struct tree_node *n)
{
	if (tree_state_active(t) && n->conn != NULL && !n->ephemeral)
		(void)tree_state_write_node(t, n);
}

void
tree_state_node_update(struct tree *t, struct tree_node *n)
{
	if (tree_state_active(t) && n->state_ref != 0)
		tree_state_node_slots(t, n);
}

void
tree_state_node_drop(struct tree *t, struct tree_node *n)
{
	if (tree_state_active(t) && n->state_ref != 0) {
		handover_slot_set(t->state, n->state_ref, NODE_FLAGS, NODE_F_DROPPED);
		if (n->conn != NULL)
			tree_state_release_values(t, n->conn, n);
	}
	n->state_ref = 0;
}

void
tree_note_current(struct tree *t, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms)
{
	struct tree_connector *c;

	if (!name_is_connection(name))
		return;
	pthread_mutex_lock(&t->lock);
	c = tree_connector_locked(t, name, 0, 0);
	if (c == NULL)
		goto out;
	/* The same value fetched again: only its time moves. */
	if (value != NULL && c->current != NULL && c->current_gen == generation) {
		c->current_fetched_ms = fetched_wall_ms;
		if (tree_state_active(t) && c->current_ref != 0)
			handover_slot_set(t->state, c->current_ref, CUR_FETCHED,
			    (uint64_t)fetched_wall_ms);
		goto out;
	}
	connection_unref(&c->current);
	c->current = value != NULL ? connection_ref(value) : NULL;
	c->current_gen = generation;
	c->current_changed_ms = changed_ms;
	c->current_fetched_ms = fetched_wall_ms;
	c->current_known = 1;
	if (tree_state_active(t) && tree_state_write_current(t, c) == 0)
		tree_state_release_values(t, c, NULL);
out:
	pthread_mutex_unlock(&t->lock);
}

int
tree_keep_state(struct tree *t, struct handover *state)
{
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	t->state = state;
	t->state_failed = 0;
	t->state_filling = 1;
	if (handover_rewrite(state, tree_state_fill, t) != 0) {
		tree_state_fail(t, "first write");
		rc = -1;
	}
	t->state_filling = 0;
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void
tree_freeze(struct tree *t)
{
	pthread_mutex_lock(&t->lock);
}

/* Restoring: the values read so far, by connector and generation. */
struct tree_restored_value {
	char name[NAME_CONNECTION_MAX + 1];
	unsigned long long generation;
	struct connection *value;
};

struct tree_restore {
	struct tree_restored_value *values;
	size_t nvalues;
	unsigned skipped;
};

/* What the cache is told after the tree's lock is let go. */
struct tree_restore_call {
	char name[NAME_CONNECTION_MAX + 1];
	struct connection *value;
	unsigned long long generation;
	long long changed_ms, fetched_ms;
};

/* Append c's current value to *calls: the new count, or 0 when out of memory. */
static size_t
tree_restore_calls_add(struct tree_restore_call **calls, size_t *cap, size_t n,
    const struct tree_connector *c)
{
	struct tree_restore_call *k;

	if (n == *cap) {
		size_t grown = *cap ? *cap * 2 : 16;
		struct tree_restore_call *g = realloc(*calls, grown * sizeof(*g));

		if (g == NULL)
			return 0;
		*calls = g;
		*cap = grown;
	}
	k = &(*calls)[n];
	snprintf(k->name, sizeof(k->name), "%s", c->name);
	k->value = c->current != NULL ? connection_ref(c->current) : NULL;
	k->generation = c->current_gen;
	k->changed_ms = c->current_changed_ms;
	k->fetched_ms = c->current_fetched_ms;
	return n + 1;
}

static struct connection *
tree_restore_find(const struct tree_restore *r, const char *name, unsigned long long gen)
{
	size_t i;

	for (i = r->nvalues; i-- > 0; )
		if (r->values[i].generation == gen && strcmp(r->values[i].name, name) == 0)
			return r->values[i].value;
	return NULL;
}

static int
tree_restore_value(struct tree_restore *r, const struct handover_record *rec)
{
	struct tree_restored_value *grown, *v;
	struct unpack u;
	char *name;

	unpack_init(&u, rec->body, rec->len);
	name = unpack_str_dup(&u, 0);
	if (name == NULL || !name_is_connection(name)) {
		free(name);
		return -1;
	}
	grown = realloc(r->values, (r->nvalues + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(name);
		return -1;
	}
	r->values = grown;
	v = &r->values[r->nvalues];
	snprintf(v->name, sizeof(v->name), "%s", name);
	free(name);
	v->generation = unpack_u64(&u);
	v->value = connection_unpack(&u);
	if (v->value == NULL || u.failed) {
		connection_unref(&v->value);
		return -1;
	}
	r->nvalues++;
	return 0;
}

static int
tree_restore_conn(struct tree *t, const struct handover *h, const struct handover_record *rec)
{
	struct tree_connector *c;
	struct unpack u;
	uint64_t dir, cfg;
	char *name;

	unpack_init(&u, rec->body, rec->len);
	name = unpack_str_dup(&u, 0);
	dir = handover_slot_get(h, rec->ref, CONN_DIR);
	cfg = handover_slot_get(h, rec->ref, CONN_CONFIG_DIR);
	if (name == NULL || !name_is_connection(name) || dir <= TREE_REFRESH_INO ||
	    cfg <= TREE_REFRESH_INO || dir == cfg || dir >= TREE_STATE_INO_MAX ||
	    cfg >= TREE_STATE_INO_MAX || tree_find_ino_locked(t, dir) != NULL ||
	    tree_find_ino_locked(t, cfg) != NULL) {
		free(name);
		return -1;
	}
	c = tree_connector_locked(t, name, dir, cfg);
	free(name);
	if (c == NULL)
		return -1;
	c->newest_generation = handover_slot_get(h, rec->ref, CONN_NEWEST);
	return 0;
}

static int
tree_restore_node(struct tree *t, const struct tree_restore *r, const struct handover *h,
    const struct handover_record *rec)
{
	uint64_t ino = handover_slot_get(h, rec->ref, NODE_INO);
	uint64_t flags = handover_slot_get(h, rec->ref, NODE_FLAGS);
	uint64_t kind = handover_slot_get(h, rec->ref, NODE_KIND);
	struct tree_connector *c;
	struct tree_node *n, **slot;
	struct connection *value;
	char *name, *key;
	struct unpack u;

	if (ino == 0 || (flags & NODE_F_DROPPED))
		return 0;	/* unfinished, or gone */
	unpack_init(&u, rec->body, rec->len);
	name = unpack_str_dup(&u, 0);
	key = unpack_str_dup(&u, 0);
	c = name != NULL ? tree_find_locked(t, name) : NULL;
	free(name);
	if (u.failed || c == NULL || !tree_kind_is_value((enum node_kind)kind) ||
	    (kind == NODE_CONFIG_FILE) != (key != NULL) ||
	    (key != NULL && !name_is_config_key(key, strlen(key))) ||
	    ino <= TREE_REFRESH_INO || ino >= TREE_STATE_INO_MAX ||
	    tree_find_ino_locked(t, ino) != NULL)
		goto bad;
	value = tree_restore_find(r, c->name, handover_slot_get(h, rec->ref, NODE_GENERATION));
	if (value == NULL)
		goto bad;
	n = tree_add_node_ino(t, (enum node_kind)kind, c, ino);
	if (n == NULL)
		goto bad;
	n->key = key;
	n->value = connection_ref(value);
	n->generation = handover_slot_get(h, rec->ref, NODE_GENERATION);
	n->changed_ms = (long long)handover_slot_get(h, rec->ref, NODE_CHANGED);
	n->nlookup = handover_slot_get(h, rec->ref, NODE_NLOOKUP);
	n->current = (flags & NODE_F_CURRENT) != 0;
	tree_link_file_locked(c, n);
	if (n->current) {
		slot = tree_slot_locked(c, n->kind, n->key);
		if (slot == NULL) {
			n->current = 0;
		} else if (*slot == NULL || (*slot)->generation < n->generation) {
			if (*slot != NULL)
				(*slot)->current = 0;
			*slot = n;
		} else {
			n->current = 0;
		}
	}
	return 0;
bad:
	free(key);
	return -1;
}

/* The cache's value of a connector, straight into the tree's copy: the last record wins. */
static int
tree_restore_current(struct tree *t, const struct tree_restore *r, const struct handover *h,
    const struct handover_record *rec)
{
	unsigned long long gen = handover_slot_get(h, rec->ref, CUR_GENERATION);
	struct tree_connector *c;
	struct unpack u;
	char *name;

	unpack_init(&u, rec->body, rec->len);
	name = unpack_str_dup(&u, 0);
	if (name == NULL || !name_is_connection(name)) {
		free(name);
		return -1;
	}
	if (gen == 0) {
		free(name);
		return 0;	/* unfinished: the one before it stands */
	}
	c = tree_connector_locked(t, name, 0, 0);
	free(name);
	if (c == NULL)
		return -1;
	connection_unref(&c->current);
	/* Its VALUE record comes before it in the log. */
	if (handover_slot_get(h, rec->ref, CUR_FLAGS) & CUR_F_VALUE)
		c->current = connection_ref(tree_restore_find(r, c->name, gen));
	c->current_gen = gen;
	c->current_changed_ms = (long long)handover_slot_get(h, rec->ref, CUR_CHANGED);
	c->current_fetched_ms = (long long)handover_slot_get(h, rec->ref, CUR_FETCHED);
	c->current_known = 1;
	return 0;
}

int
tree_restore(struct tree *t, struct handover *h, tree_current_fn fn, void *arg, char *msg,
    size_t msgsz)
{
	struct tree_restore r;
	struct handover_record rec;
	struct tree_restore_call *calls = NULL;
	struct table_link *l;
	size_t cursor = 0, i, ncalls = 0, ncalls_cap = 0;
	uint64_t next;
	int rc, corrupt = 0;

	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&t->lock);
	while ((rc = handover_next(h, &cursor, &rec)) == 1) {
		switch (rec.type) {
		case REC_CONN:
			if (rec.nslots < CONN_SLOTS || tree_restore_conn(t, h, &rec) != 0)
				r.skipped++;
			break;
		case REC_VALUE:
			if (tree_restore_value(&r, &rec) != 0)
				r.skipped++;
			break;
		case REC_NODE:
			if (rec.nslots < NODE_SLOTS || tree_restore_node(t, &r, h, &rec) != 0)
				r.skipped++;
			break;
		case REC_CURRENT:
			if (rec.nslots < CUR_SLOTS || tree_restore_current(t, &r, h, &rec) != 0)
				r.skipped++;
			break;
		default:
			r.skipped++;	/* a newer build's record: not ours to read */
		}
	}
	corrupt = rc < 0;
	next = handover_field(h, HANDOVER_NEXT_INO);
	if (next > t->next_ino && next < TREE_STATE_INO_MAX)
		t->next_ino = next;
	/*
	 * Generations only move forward, in the cache as in the tree: a cache
	 * value older than a file the tree already showed (its record lost
	 * to a crash mid-write) is not served again; it is fetched afresh,
	 * and counted on from the newest generation any file showed.
	 */
	for (l = table_first(&t->connectors, &i); l != NULL; l = table_next(&t->connectors, l, &i)) {
		struct tree_connector *c = table_entry(l, struct tree_connector, link);

		if (c->current_gen < c->newest_generation) {
			connection_unref(&c->current);
			c->current_gen = c->newest_generation;
			c->current_known = 1;
		}
		if (c->current_known) {
			size_t n = tree_restore_calls_add(&calls, &ncalls_cap, ncalls, c);

			if (n == 0)
				break;	/* out of memory: the rest is fetched afresh */
			ncalls = n;
		}
	}
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < ncalls && fn != NULL; i++) {
		struct tree_restore_call *k = &calls[i];

		fn(arg, k->name, k->value, k->generation, k->changed_ms, k->fetched_ms);
	}
	for (i = 0; i < ncalls; i++)
		connection_unref(&calls[i].value);
	free(calls);
	for (i = 0; i < r.nvalues; i++)
		connection_unref(&r.values[i].value);
	free(r.values);
	if (r.skipped || corrupt) {
		snprintf(msg, msgsz, "%u record%s skipped%s", r.skipped, r.skipped == 1 ? "" : "s",
		    corrupt ? ", the log ends in a damaged record" : "");
		return -1;
	}
	return 0;
}
