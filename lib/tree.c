/*
 * tree.c: an inode hash map, a connector-name hash map, and the rule that a
 * changed value gets a new file inode (see tree.h). One mutex guards it all;
 * it is held only for pointer work, never across a fetch or a kernel call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"
#include "tree.h"
#include "tree_priv.h"

struct tree_node *
tree_add_node_ino(struct tree *t, enum node_kind kind, struct tree_connector *conn,
    uint64_t ino)
{
	struct tree_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->conn = conn;
	n->current = 1;
	n->ino = ino;
	if (ino >= t->next_ino)
		t->next_ino = ino + 1;
	table_add(&t->inodes, &n->link, n->ino);
	tree_state_next_ino(t);
	return n;
}

/* A folder at a fixed number outside the counted range: the counter does not move. */
static struct tree_node *
tree_add_fixed_node(struct tree *t, enum node_kind kind, uint64_t ino)
{
	struct tree_node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->current = 1;
	n->ino = ino;
	table_add(&t->inodes, &n->link, n->ino);
	return n;
}

static struct tree_node *
tree_add_node(struct tree *t, enum node_kind kind, struct tree_connector *conn)
{
	return tree_add_node_ino(t, kind, conn, t->next_ino);
}

struct tree_node *
tree_find_ino_locked(struct tree *t, uint64_t ino)
{
	struct table_link *l;

	for (l = table_chain(&t->inodes, ino); l != NULL; l = l->next)
		if (l->hash == ino)
			return table_entry(l, struct tree_node, link);
	return NULL;
}

void
tree_node_destroy(struct tree_node *n)
{
	connection_unref(&n->value);
	free(n->key);
	free(n->ctl_bytes);
	free(n);
}

/* Unlink a replaced, forgotten file node from every index and free it. */
static void
tree_drop_file_locked(struct tree *t, struct tree_node *n)
{
	tree_state_node_drop(t, n);
	table_del(&t->inodes, &n->link);
	if (n->conn == NULL) {
		/* An ephemeral .connectorfs node: on no connector's list. */
	} else if (n->conn_prev != NULL) {
		n->conn_prev->conn_next = n->conn_next;
	} else {
		n->conn->files = n->conn_next;
	}
	if (n->conn != NULL && n->conn_next != NULL)
		n->conn_next->conn_prev = n->conn_prev;
	tree_node_destroy(n);
}

struct tree *
tree_new(void)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->next_ino = TREE_ROOT_INO;
	/* Fixed inodes, in the order of the TREE_*_INO numbers. */
	if (table_init(&t->inodes, 256) != 0 || table_init(&t->connectors, 64) != 0 ||
	    tree_add_node(t, NODE_ROOT, NULL) == NULL ||
	    tree_add_node(t, NODE_CTL_DIR, NULL) == NULL ||
	    tree_add_node(t, NODE_REFRESH, NULL) == NULL ||
	    tree_add_fixed_node(t, NODE_WORKSPACE_DIR, TREE_WORKSPACE_INO) == NULL) {
		tree_free(&t);
		return NULL;
	}
	return t;
}

void
tree_free(struct tree **tp)
{
	struct table_link *l, *next;
	struct tree *t;
	size_t i;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	*tp = NULL;
	for (l = table_first(&t->inodes, &i); l != NULL; l = next) {
		next = table_next(&t->inodes, l, &i);
		tree_node_destroy(table_entry(l, struct tree_node, link));
	}
	for (l = table_first(&t->connectors, &i); l != NULL; l = next) {
		struct tree_connector *c = table_entry(l, struct tree_connector, link);

		next = table_next(&t->connectors, l, &i);
		tree_connector_destroy(c);
	}
	table_release(&t->connectors);
	table_release(&t->inodes);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct tree_node *
tree_node(struct tree *t, uint64_t ino)
{
	struct tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = tree_find_ino_locked(t, ino);
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t
tree_node_count(struct tree *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->inodes.count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct tree_connector *
tree_find_locked(struct tree *t, const char *name)
{
	uint64_t hash = name_hash(name);
	struct table_link *l;

	for (l = table_chain(&t->connectors, hash); l != NULL; l = l->next) {
		struct tree_connector *c = table_entry(l, struct tree_connector, link);

		if (l->hash == hash && strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

struct tree_connector *
tree_connector_find(struct tree *t, const char *name)
{
	struct tree_connector *c;

	pthread_mutex_lock(&t->lock);
	c = tree_find_locked(t, name);
	pthread_mutex_unlock(&t->lock);
	return c;
}

void
tree_connector_destroy(struct tree_connector *c)
{
	connection_unref(&c->current);
	free(c->kept);
	free(c->keys);
	free(c);
}

struct tree_connector *
tree_connector_locked(struct tree *t, const char *name, uint64_t dir_ino, uint64_t config_ino)
{
	struct tree_connector *c = tree_find_locked(t, name);

	if (c != NULL)
		return c;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	strcpy(c->name, name);
	if ((c->dir = tree_add_node_ino(t, NODE_CONN_DIR, c,
	    dir_ino ? dir_ino : t->next_ino)) == NULL ||
	    (c->config_dir = tree_add_node_ino(t, NODE_CONFIG_DIR, c,
	    config_ino ? config_ino : t->next_ino)) == NULL) {
		/* A stray folder inode stays unreachable: no name leads to it. */
		if (c->dir != NULL)
			c->dir->conn = NULL;
		free(c);
		return NULL;
	}
	table_add(&t->connectors, &c->link, name_hash(name));
	tree_state_connector(t, c);
	return c;
}

struct tree_connector *
tree_connector(struct tree *t, const char *name)
{
	struct tree_connector *c;

	if (!name_is_connection(name))
		return NULL;
	pthread_mutex_lock(&t->lock);
	c = tree_connector_locked(t, name, 0, 0);
	pthread_mutex_unlock(&t->lock);
	return c;
}

/* Where the current node of (kind, key) is kept; NULL when no room. */
struct tree_node **
tree_slot_locked(struct tree_connector *c, enum node_kind kind, const char *key)
{
	struct tree_node **grown;
	size_t i;

	switch (kind) {
	case NODE_TOKEN:
		return &c->token;
	case NODE_JSON:
		return &c->json;
	case NODE_ENV:
		return &c->env;
	case NODE_CONFIG_FILE:
		for (i = 0; i < c->nkeys; i++)
			if (c->keys[i] != NULL && strcmp(c->keys[i]->key, key) == 0)
				return &c->keys[i];
		for (i = 0; i < c->nkeys; i++)
			if (c->keys[i] == NULL)
				return &c->keys[i];
		grown = realloc(c->keys, (c->nkeys + 1) * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		c->keys = grown;
		c->keys[c->nkeys] = NULL;
		return &c->keys[c->nkeys++];
	default:
		return NULL;
	}
}

void
tree_link_file_locked(struct tree_connector *c, struct tree_node *n)
{
	n->conn_prev = NULL;
	n->conn_next = c->files;
	if (c->files != NULL)
		c->files->conn_prev = n;
	c->files = n;
}

/* n is no longer what its name resolves to; free it if the kernel has let go. */
static void
tree_retire_locked(struct tree *t, struct tree_node *n)
{
	n->current = 0;
	if (n->nlookup == 0)
		tree_drop_file_locked(t, n);
	else
		tree_state_node_update(t, n);
}

static struct tree_node *
tree_file_locked(struct tree *t, struct tree_connector *c, enum node_kind kind,
    const char *key, struct connection *value, unsigned long long generation,
    long long changed_ms, int lookup)
{
	struct tree_node **slot, *n = NULL;
	char *keycopy = NULL;
	size_t i;

	slot = tree_slot_locked(c, kind, key);
	if (slot == NULL)
		goto out;
	/* Never back: an older view resolves to the newer node already there. */
	if (*slot != NULL && (*slot)->generation >= generation) {
		n = *slot;
		goto counted;
	}
	/* A value older than one already shown (a key the newer one dropped). */
	if (generation < c->newest_generation)
		goto out;
	c->newest_generation = generation;
	tree_state_connector_update(t, c);
	if (key != NULL && (keycopy = strdup(key)) == NULL)
		goto out;
	n = tree_add_node(t, kind, c);
	if (n == NULL) {
		free(keycopy);
		goto out;
	}
	n->key = keycopy;
	n->value = connection_ref(value);
	n->generation = generation;
	n->changed_ms = changed_ms;
	tree_link_file_locked(c, n);
	/* Kept before the kernel can hear of it; then the node it replaces. */
	tree_state_node_new(t, n);
	if (*slot != NULL)
		tree_retire_locked(t, *slot);
	*slot = n;
	/* Keys of older values that nobody holds any more go too. */
	for (i = 0; kind == NODE_CONFIG_FILE && i < c->nkeys; i++) {
		struct tree_node *k = c->keys[i];

		if (k != NULL && k != n && k->generation < generation && k->nlookup == 0) {
			c->keys[i] = NULL;
			tree_retire_locked(t, k);
		}
	}
counted:
	if (lookup) {
		/* Counted in the state before the reply: a crash can only over-count. */
		n->nlookup++;
		tree_state_node_update(t, n);
	}
out:
	return n;
}

struct tree_node *
tree_file(struct tree *t, struct tree_connector *c, enum node_kind kind, const char *key,
    struct connection *value, unsigned long long generation, long long changed_ms,
    int lookup)
{
	struct tree_node *n;

	if (kind == NODE_CONFIG_FILE && !name_is_config_key(key, strlen(key)))
		return NULL;
	pthread_mutex_lock(&t->lock);
	n = tree_file_locked(t, c, kind, key, value, generation, changed_ms, lookup);
	pthread_mutex_unlock(&t->lock);
	return n;
}

uint64_t
tree_file_ino(struct tree *t, struct tree_connector *c, enum node_kind kind, const char *key,
    struct connection *value, unsigned long long generation, long long changed_ms)
{
	struct tree_node *n;
	uint64_t ino = 0;

	if (kind == NODE_CONFIG_FILE && !name_is_config_key(key, strlen(key)))
		return 0;
	pthread_mutex_lock(&t->lock);
	n = tree_file_locked(t, c, kind, key, value, generation, changed_ms, 0);
	if (n != NULL)
		ino = n->ino;
	pthread_mutex_unlock(&t->lock);
	return ino;
}

uint64_t
tree_ephemeral(struct tree *t, enum node_kind kind, const char *key, char *bytes, size_t len)
{
	struct tree_node *n;
	char *keycopy = NULL;
	uint64_t ino = 0;

	if (key != NULL && (keycopy = strdup(key)) == NULL) {
		free(bytes);
		return 0;
	}
	pthread_mutex_lock(&t->lock);
	n = tree_add_node(t, kind, NULL);
	if (n != NULL) {
		n->key = keycopy;
		n->ctl_bytes = bytes;
		n->ctl_len = len;
		n->ephemeral = 1;
		n->current = 0;
		n->nlookup = 1;
		ino = n->ino;
	}
	pthread_mutex_unlock(&t->lock);
	if (n == NULL) {
		free(keycopy);
		free(bytes);
	}
	return ino;
}

static struct tree_node *
tree_ephemeral_locked(struct tree *t, uint64_t ino)
{
	struct tree_node *n = tree_find_ino_locked(t, ino);

	return n != NULL && n->ephemeral ? n : NULL;
}

int
tree_ctl_slice(struct tree *t, uint64_t ino, size_t off, size_t size, char **copy,
    size_t *len, int *err)
{
	struct tree_node *n;
	int rc = -1;

	*copy = NULL;
	*len = 0;
	*err = 0;
	pthread_mutex_lock(&t->lock);
	n = tree_ephemeral_locked(t, ino);
	if (n == NULL)
		goto out;
	rc = 0;
	if (n->ctl_errno != 0) {
		*err = n->ctl_errno;
		rc = 1;
	} else if (n->ctl_bytes != NULL || n->kind != NODE_REFRESH_FILE) {
		rc = 1;
		if (off < n->ctl_len) {
			*len = n->ctl_len - off < size ? n->ctl_len - off : size;
			*copy = malloc(*len);
			if (*copy == NULL) {
				*len = 0;
				*err = ENOMEM;
			} else {
				memcpy(*copy, n->ctl_bytes + off, *len);
			}
		}
	}
out:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int
tree_ctl_size(struct tree *t, uint64_t ino, size_t *len, int *known)
{
	struct tree_node *n;
	int rc = -1;

	pthread_mutex_lock(&t->lock);
	n = tree_ephemeral_locked(t, ino);
	if (n != NULL) {
		*len = n->ctl_len;
		*known = n->ctl_bytes != NULL || n->ctl_errno != 0 || n->kind != NODE_REFRESH_FILE;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int
tree_ctl_claim(struct tree *t, uint64_t ino)
{
	struct tree_node *n;
	int first = 0;

	pthread_mutex_lock(&t->lock);
	n = tree_ephemeral_locked(t, ino);
	if (n != NULL && !n->ctl_started) {
		n->ctl_started = 1;
		first = 1;
	}
	pthread_mutex_unlock(&t->lock);
	return first;
}

void
tree_ctl_set(struct tree *t, uint64_t ino, char *bytes, size_t len, int err)
{
	struct tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = tree_ephemeral_locked(t, ino);
	if (n != NULL && n->ctl_bytes == NULL && n->ctl_errno == 0) {
		n->ctl_bytes = bytes;
		n->ctl_len = len;
		n->ctl_errno = err;
		bytes = NULL;
	}
	pthread_mutex_unlock(&t->lock);
	free(bytes);
}

void
tree_forget(struct tree *t, uint64_t ino, uint64_t count)
{
	struct tree_node *n;

	pthread_mutex_lock(&t->lock);
	n = tree_find_ino_locked(t, ino);
	/* Folders and fixed nodes are never dropped; their counts do not matter. */
	if (n != NULL && (n->value != NULL || n->ephemeral)) {
		n->nlookup = count >= n->nlookup ? 0 : n->nlookup - count;
		if (n->nlookup == 0 && !n->current)
			tree_drop_file_locked(t, n);
		else if (!n->ephemeral)
			tree_state_node_update(t, n);
	}
	pthread_mutex_unlock(&t->lock);
}

/* Sorted by parent, then name: tree_children() hands out runs of it. */
static const struct tree_name tree_names[] = {
	{ NODE_ROOT, ".connectorfs", NODE_CTL_DIR },
	{ NODE_ROOT, NAME_WORKSPACE_DIR, NODE_WORKSPACE_DIR },
	{ NODE_CTL_DIR, "metrics", NODE_METRICS },
	{ NODE_CTL_DIR, "refresh", NODE_REFRESH },
	{ NODE_CTL_DIR, "status.json", NODE_STATUS },
	{ NODE_CONN_DIR, "access_token", NODE_TOKEN },
	{ NODE_CONN_DIR, "connection.json", NODE_JSON },
	{ NODE_CONN_DIR, "connectionConfig", NODE_CONFIG_DIR },
	{ NODE_CONN_DIR, "env", NODE_ENV },
};

#define TREE_NNAMES (sizeof(tree_names) / sizeof(tree_names[0]))

enum node_kind
tree_child_kind(enum node_kind parent, const char *name)
{
	size_t i;

	for (i = 0; i < TREE_NNAMES; i++)
		if (tree_names[i].parent == parent && strcmp(tree_names[i].name, name) == 0)
			return tree_names[i].kind;
	return NODE_NONE;
}

const char *
tree_kind_name(enum node_kind kind)
{
	size_t i;

	for (i = 0; i < TREE_NNAMES; i++)
		if (tree_names[i].kind == kind)
			return tree_names[i].name;
	return NULL;
}

const struct tree_name *
tree_children(enum node_kind parent, size_t *count)
{
	size_t i, first = TREE_NNAMES;

	*count = 0;
	for (i = 0; i < TREE_NNAMES; i++) {
		if (tree_names[i].parent != parent)
			continue;
		if (first == TREE_NNAMES)
			first = i;
		++*count;
	}
	return *count ? &tree_names[first] : NULL;
}

int
tree_kind_is_value(enum node_kind kind)
{
	return kind == NODE_TOKEN || kind == NODE_JSON || kind == NODE_ENV ||
	    kind == NODE_CONFIG_FILE;
}

/* A file node's name in its folder. */
static const char *
tree_file_name(const struct tree_node *n)
{
	return n->kind == NODE_CONFIG_FILE ? n->key : tree_kind_name(n->kind);
}

void
tree_node_path(const struct tree_node *n, char *out, size_t outsz)
{
	const char *mid = n->kind == NODE_CONFIG_FILE ?
	    tree_kind_name(NODE_CONFIG_DIR) : NULL;

	if (mid != NULL)
		snprintf(out, outsz, "/%s/%s/%s", n->conn->name, mid, n->key);
	else
		snprintf(out, outsz, "/%s/%s", n->conn->name, tree_file_name(n));
}

int
tree_connector_files(struct tree *t, struct tree_connector *c,
    unsigned long long generation, struct tree_file_ref **files, size_t *nfiles)
{
	struct tree_node *n, **slot;
	size_t count = 0, i = 0;

	*files = NULL;
	*nfiles = 0;
	pthread_mutex_lock(&t->lock);
	for (n = c->files; n != NULL; n = n->conn_next)
		count++;
	*files = calloc(count + 1, sizeof(**files));
	if (*files == NULL) {
		pthread_mutex_unlock(&t->lock);
		return -1;
	}
	for (n = c->files; n != NULL; n = n->conn_next) {
		struct tree_file_ref *f = &(*files)[i++];

		f->ino = n->ino;
		f->parent = n->kind == NODE_CONFIG_FILE ? c->config_dir->ino : c->dir->ino;
		snprintf(f->name, sizeof(f->name), "%s", tree_file_name(n));
		f->generation = n->generation;
	}
	*nfiles = i;
	/* Names of an older value stop resolving to their inodes now. */
	for (n = c->files; n != NULL; n = n->conn_next) {
		if (!n->current || n->generation >= generation)
			continue;
		slot = tree_slot_locked(c, n->kind, n->key);
		if (slot != NULL && *slot == n)
			*slot = NULL;
	}
	for (n = c->files; n != NULL; ) {
		struct tree_node *next = n->conn_next;

		if (n->current && n->generation < generation)
			tree_retire_locked(t, n);
		n = next;
	}
	pthread_mutex_unlock(&t->lock);
	return 0;
}
