/*
 * tree.h: the filesystem's nodes and their inode numbers.
 *
 * Folders keep one inode for the life of the mount. A file's inode stands
 * for one value of that file: when the value changes, the name is given a
 * new inode, as if the file had been atomically replaced (written aside and
 * renamed over). A reader that opened the old inode keeps reading the old
 * bytes to the end, whatever the kernel caches, and the next open finds the
 * new inode with the new value in full. The old inode is dropped when the
 * kernel forgets it. Inode numbers are never reused.
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

#define TREE_ROOT_INO		1
#define TREE_CTL_INO		2
#define TREE_STATUS_INO		3
#define TREE_METRICS_INO	4
#define TREE_REFRESH_INO	5
#define TREE_CTL_NAME		".connectorfs"

struct tree_connector;

struct tree_node {
	uint64_t ino;
	enum node_kind kind;
	struct tree_connector *conn;	/* NULL for root and .connectorfs */
	char *key;			/* NODE_CONFIG_FILE only */
	/* File nodes: the one value this inode shows, fixed at creation. */
	struct connection *value;
	unsigned long long generation;
	long long changed_ms;		/* st_mtime */
	/* .connectorfs files: bytes of their last GETATTR; under the tree lock. */
	char *ctl_bytes;
	size_t ctl_len;
	/* Private to tree.c. */
	uint64_t nlookup;		/* the kernel's references */
	int current;			/* still what its name resolves to */
	struct tree_node *hash_next;
	struct tree_node *conn_next, *conn_prev;
};

struct tree_connector {
	struct tree_connector *next;	/* hash chain */
	char name[NAME_CONNECTOR_MAX + 1];
	struct tree_node *dir, *config_dir;	/* stable */
	/* Private to tree.c: current file nodes, and every live file node. */
	struct tree_node *token, *json, *env;
	struct tree_node **keys;
	size_t nkeys;
	struct tree_node *files;
};

struct tree;

struct tree *tree_new(void);
void tree_free(struct tree **tree);

/* The tree's lock, for ctl_bytes. */
void tree_lock(struct tree *tree);
void tree_unlock(struct tree *tree);

/*
 * The node with this inode number, or NULL. A file node stays valid while
 * the kernel has a request on it (it sends FORGET only after those).
 */
struct tree_node *tree_node(struct tree *tree, uint64_t ino);

/* The connector's folder nodes, made on first use; NULL when out of memory. */
struct tree_connector *tree_connector(struct tree *tree, const char *name);

/* Existing connector only (no allocation); NULL if none. */
struct tree_connector *tree_connector_find(struct tree *tree, const char *name);

/*
 * The node a file name resolves to for the value of this generation
 * (kind NODE_TOKEN, NODE_JSON, NODE_ENV, or NODE_CONFIG_FILE with key):
 * the current node when its generation matches, else a new inode that
 * becomes current. lookup counts one kernel reference (a LOOKUP reply).
 * NULL when out of memory.
 */
struct tree_node *tree_file(struct tree *tree, struct tree_connector *conn,
    enum node_kind kind, const char *key, struct connection *value,
    unsigned long long generation, long long changed_ms, int lookup);

/* The kernel dropped n references (FORGET); a replaced node may go. */
void tree_forget(struct tree *tree, uint64_t ino, uint64_t n);

/* One live file inode, as the notifier needs it. */
struct tree_file_ref {
	uint64_t ino;
	uint64_t parent;		/* folder inode holding its name */
	char name[NAME_KEY_MAX + 1];	/* its name in that folder */
	unsigned long long generation;
};

/*
 * Every live file inode of a connector (malloc'ed array, free it). Those of
 * a generation older than `generation` stop being what their names resolve
 * to: the caller tells the kernel they were deleted.
 */
int tree_connector_files(struct tree *tree, struct tree_connector *conn,
    unsigned long long generation, struct tree_file_ref **files, size_t *nfiles);

/* Live inodes (for tests and status). */
size_t tree_node_count(struct tree *tree);

#endif
