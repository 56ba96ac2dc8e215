/*
 * tree.c: inode table (an array indexed by inode number, so a lookup by
 * inode is one load) and a hash of connector names. One mutex guards both;
 * it is held only for pointer work, never across a fetch or a kernel call.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

struct tree {
	pthread_mutex_t lock;
	struct tree_node **nodes;	/* nodes[ino - 1] */
	size_t nnodes, capnodes;
	struct tree_connector **buckets;
	size_t nbuckets, nconnectors;
};

static struct tree_node *
tree_add_node(struct tree *t, enum node_kind kind, struct tree_connector *conn)
{
	struct tree_node *n;

	if (t->nnodes == t->capnodes) {
		size_t cap = t->capnodes ? t->capnodes * 2 : 64;
		struct tree_node **grown = realloc(t->nodes, cap * sizeof(*grown));

		if (grown == NULL)
			return NULL;
		t->nodes = grown;
		t->capnodes = cap;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->conn = conn;
	t->nodes[t->nnodes++] = n;
	n->ino = t->nnodes;
	return n;
}

struct tree *
tree_new(void)
{
	struct tree *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	pthread_mutex_init(&t->lock, NULL);
	t->nbuckets = 64;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	/* Fixed inodes: 1 root, 2 .connectorfs, 3-5 its files. */
	if (t->buckets == NULL || tree_add_node(t, NODE_ROOT, NULL) == NULL ||
	    tree_add_node(t, NODE_CTL_DIR, NULL) == NULL ||
	    tree_add_node(t, NODE_STATUS, NULL) == NULL ||
	    tree_add_node(t, NODE_METRICS, NULL) == NULL ||
	    tree_add_node(t, NODE_REFRESH, NULL) == NULL) {
		tree_free(&t);
		return NULL;
	}
	return t;
}

void
tree_free(struct tree **tp)
{
	struct tree *t;
	size_t i;

	if (tp == NULL || *tp == NULL)
		return;
	t = *tp;
	*tp = NULL;
	for (i = 0; i < t->nnodes; i++) {
		connection_unref(&t->nodes[i]->kview);
		free(t->nodes[i]->key);
		free(t->nodes[i]->ctl_bytes);
		free(t->nodes[i]);
	}
	for (i = 0; t->buckets != NULL && i < t->nbuckets; i++) {
		struct tree_connector *c = t->buckets[i], *next;

		for (; c != NULL; c = next) {
			next = c->next;
			free(c->keys);
			free(c);
		}
	}
	free(t->buckets);
	free(t->nodes);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

void
tree_lock(struct tree *t)
{
	pthread_mutex_lock(&t->lock);
}

void
tree_unlock(struct tree *t)
{
	pthread_mutex_unlock(&t->lock);
}

struct tree_node *
tree_node(struct tree *t, uint64_t ino)
{
	struct tree_node *n = NULL;

	pthread_mutex_lock(&t->lock);
	if (ino >= 1 && ino <= t->nnodes)
		n = t->nodes[ino - 1];
	pthread_mutex_unlock(&t->lock);
	return n;
}

size_t
tree_node_count(struct tree *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->nnodes;
	pthread_mutex_unlock(&t->lock);
	return n;
}

static struct tree_connector *
tree_find_locked(struct tree *t, const char *name)
{
	struct tree_connector *c;

	for (c = t->buckets[name_hash(name) % t->nbuckets]; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

static void
tree_rehash_locked(struct tree *t)
{
	size_t n = t->nbuckets * 2, i;
	struct tree_connector **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (i = 0; i < t->nbuckets; i++) {
		struct tree_connector *c = t->buckets[i], *next;

		for (; c != NULL; c = next) {
			size_t j = name_hash(c->name) % n;

			next = c->next;
			c->next = b[j];
			b[j] = c;
		}
	}
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = n;
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

struct tree_connector *
tree_connector(struct tree *t, const char *name)
{
	struct tree_connector *c;
	size_t i;

	if (!name_is_connector(name))
		return NULL;
	pthread_mutex_lock(&t->lock);
	c = tree_find_locked(t, name);
	if (c != NULL)
		goto out;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		goto out;
	strcpy(c->name, name);
	/* Consecutive inodes per connector; on failure the strays stay unused. */
	if ((c->dir = tree_add_node(t, NODE_CONN_DIR, c)) == NULL ||
	    (c->token = tree_add_node(t, NODE_TOKEN, c)) == NULL ||
	    (c->config_dir = tree_add_node(t, NODE_CONFIG_DIR, c)) == NULL ||
	    (c->json = tree_add_node(t, NODE_JSON, c)) == NULL ||
	    (c->env = tree_add_node(t, NODE_ENV, c)) == NULL) {
		if (c->dir != NULL)
			c->dir->conn = NULL;
		free(c);
		c = NULL;
		goto out;
	}
	if (t->nconnectors >= t->nbuckets)
		tree_rehash_locked(t);
	i = name_hash(name) % t->nbuckets;
	c->next = t->buckets[i];
	t->buckets[i] = c;
	t->nconnectors++;
out:
	pthread_mutex_unlock(&t->lock);
	return c;
}

struct tree_node *
tree_config_key(struct tree *t, struct tree_connector *c, const char *key)
{
	struct tree_node *n = NULL, **grown;
	size_t i;

	if (!name_is_config_key(key, strlen(key)))
		return NULL;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < c->nkeys; i++) {
		if (strcmp(c->keys[i]->key, key) == 0) {
			n = c->keys[i];
			goto out;
		}
	}
	grown = realloc(c->keys, (c->nkeys + 1) * sizeof(*grown));
	if (grown == NULL)
		goto out;
	c->keys = grown;
	n = tree_add_node(t, NODE_CONFIG_FILE, c);
	if (n == NULL)
		goto out;
	n->key = strdup(key);
	if (n->key == NULL) {
		n->conn = NULL;		/* an unused inode, never looked up */
		n = NULL;
		goto out;
	}
	c->keys[c->nkeys++] = n;
out:
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct connection *
tree_swap_kview(struct tree_node *node, struct connection *value)
{
	struct connection *old = node->kview;

	node->kview = connection_ref(value);
	return old;
}
