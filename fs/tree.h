/*
 * tree.h: the filesystem's nodes and their inode numbers. A node is created
 * the first time a name is found to exist and lives until unmount, so its
 * inode number never changes while mounted. Holds no values: those are the
 * cache's; a node only remembers which value the kernel was last told about.
 */
#ifndef CFS_TREE_H
#define CFS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "connection.h"
#include "names.h"

enum node_kind {
	NODE_ROOT,
	NODE_CTL_DIR,		/* .connectorfs/ */
	NODE_STATUS,		/* .connectorfs/status.json */
	NODE_METRICS,		/* .connectorfs/metrics */
	NODE_REFRESH,		/* .connectorfs/refresh */
	NODE_CONN_DIR,		/* slack/ */
	NODE_TOKEN,		/* slack/access_token */
	NODE_CONFIG_DIR,	/* slack/connectionConfig/ */
	NODE_CONFIG_FILE,	/* slack/connectionConfig/KEY */
	NODE_JSON,		/* slack/connection.json */
	NODE_ENV,		/* slack/env */
};

#define TREE_ROOT_INO	1
#define TREE_CTL_NAME	".connectorfs"

struct tree_connector;

struct tree_node {
	uint64_t ino;
	enum node_kind kind;
	struct tree_connector *conn;	/* NULL for root and .connectorfs */
	char *key;			/* NODE_CONFIG_FILE only */
	/*
	 * The value whose size and mtime the kernel was last given for this
	 * node; reads serve these bytes so that the kernel never pairs the
	 * size of one value with the bytes of another. Guarded by the tree lock.
	 */
	struct connection *kview;
	/* Rendered bytes for .connectorfs files, same rule. */
	char *ctl_bytes;
	size_t ctl_len;
};

struct tree_connector {
	struct tree_connector *next;	/* hash chain */
	char name[NAME_CONNECTOR_MAX + 1];
	struct tree_node *dir, *token, *config_dir, *json, *env;
	struct tree_node **keys;	/* config key nodes, in creation order */
	size_t nkeys;
};

struct tree;

struct tree *tree_new(void);
void tree_free(struct tree **tree);

/* The tree's lock, for reading or swapping kview/ctl_bytes. */
void tree_lock(struct tree *tree);
void tree_unlock(struct tree *tree);

/* The node with this inode number, or NULL. Nodes outlive every caller. */
struct tree_node *tree_node(struct tree *tree, uint64_t ino);

/* The connector's nodes, made on first use; NULL when out of memory. */
struct tree_connector *tree_connector(struct tree *tree, const char *name);

/* Existing connector nodes only (no allocation); NULL if none. */
struct tree_connector *tree_connector_find(struct tree *tree, const char *name);

/* The node of one config key, made on first use. */
struct tree_node *tree_config_key(struct tree *tree, struct tree_connector *conn,
    const char *key);

/* Number of inodes given out so far. */
size_t tree_node_count(struct tree *tree);

/*
 * Set node's kview to value (taking a reference) and return the previous
 * one for the caller to release outside the lock. Caller holds the lock.
 */
struct connection *tree_swap_kview(struct tree_node *node, struct connection *value);

#endif
