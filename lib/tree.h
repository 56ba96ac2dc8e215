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
#include "table.h"

enum node_kind {
	NODE_NONE,		/* no node: a name that leads nowhere */
	NODE_ROOT,
	NODE_CTL_DIR,		/* .connectorfs/ */
	NODE_STATUS,		/* .connectorfs/status.json, one render */
	NODE_METRICS,		/* .connectorfs/metrics, one render */
	NODE_REFRESH,		/* .connectorfs/refresh/ */
	NODE_REFRESH_FILE,	/* .connectorfs/refresh/NAME, one refresh */
	NODE_CONN_DIR,		/* slack/ */
	NODE_TOKEN,		/* slack/access_token */
	NODE_CONFIG_DIR,	/* slack/connectionConfig/ */
	NODE_CONFIG_FILE,	/* slack/connectionConfig/KEY */
	NODE_JSON,		/* slack/connection.json */
	NODE_ENV,		/* slack/env */
	NODE_WORKSPACE_DIR,	/* connectors/: workspace connectors' folders */
};

#define TREE_ROOT_INO		1
#define TREE_CTL_INO		2
#define TREE_REFRESH_INO	3
/*
 * Far above every number the tree hands out or the handover state restores
 * (tree_state.c), so that adding this folder moved no number: a mount
 * upgraded from a binary without it keeps every inode.
 */
#define TREE_WORKSPACE_INO	((UINT64_C(1) << 62) + 1)

/*
 * The fixed names of the tree, the one place they are spelled: each is a
 * child of a folder kind and stands for a node kind. Names that vary
 * (connectors, connectionConfig keys, refresh/ files) are not here.
 */
struct tree_name {
	enum node_kind parent;
	const char *name;
	enum node_kind kind;
};

/* The kind a fixed name stands for in a folder of kind parent; NODE_NONE if none. */
enum node_kind tree_child_kind(enum node_kind parent, const char *name);

/* The fixed name of a kind (NULL for a kind whose names vary). */
const char *tree_kind_name(enum node_kind kind);

/* The fixed children of a folder kind, in name order: *count entries from the result. */
const struct tree_name *tree_children(enum node_kind parent, size_t *count);

/* A value file (its bytes come from a connection): token, json, env, config key. */
int tree_kind_is_value(enum node_kind kind);

struct tree_node;

/* "/slack/access_token": a file node's path inside the mount (for the audit log). */
void tree_node_path(const struct tree_node *n, char *out, size_t outsz);

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
	/*
	 * .connectorfs files: the bytes this inode shows (a render, or a
	 * refresh's outcome once known) or the errno it fails with; under the
	 * tree lock (tree_ctl_*).
	 */
	char *ctl_bytes;
	size_t ctl_len;
	int ctl_errno;
	int ctl_started;		/* a refresh was started for it */
	/* Private to tree.c. */
	uint64_t nlookup;		/* the kernel's references */
	int current;			/* still what its name resolves to */
	int ephemeral;			/* one look: dropped when the kernel forgets it */
	size_t state_ref;		/* its record in the handover state, or 0 */
	struct table_link link;		/* in the tree's inode table */
	struct tree_node *conn_next, *conn_prev;
};

struct tree_connector {
	struct table_link link;		/* in the tree's connector table */
	char name[NAME_CONNECTION_MAX + 1];
	struct tree_node *dir, *config_dir;	/* stable */
	/* Private to tree.c: current file nodes, and every live file node. */
	struct tree_node *token, *json, *env;
	struct tree_node **keys;
	size_t nkeys;
	unsigned long long newest_generation;	/* of any file node made */
	struct tree_node *files;
	/* Private to tree_state.c: what the handover state holds of it. */
	size_t state_ref;
	struct connection *current;		/* the cache's value; NULL: none */
	unsigned long long current_gen;
	long long current_changed_ms, current_fetched_ms;
	int current_known;			/* the cache said something */
	size_t current_ref;
	struct tree_kept_value {		/* values recorded in the state */
		unsigned long long generation;
		size_t ref;
	} *kept;
	size_t nkept;
};

struct tree;

struct tree *tree_new(void);
void tree_free(struct tree **tree);

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
 * becomes current. Generations only move forward: a caller holding an
 * older value (a view taken before a rotation) gets the current, newer
 * node, never puts its value back. lookup counts one kernel reference (a
 * LOOKUP reply; give it back with tree_forget() if the reply fails).
 * NULL when out of memory, or when the value is older than one the
 * connector's files already showed (ask the cache again).
 */
struct tree_node *tree_file(struct tree *tree, struct tree_connector *conn,
    enum node_kind kind, const char *key, struct connection *value,
    unsigned long long generation, long long changed_ms, int lookup);

/*
 * The inode number tree_file() would give, without a kernel reference
 * (readdir); 0 when out of memory. The number is read under the lock, so
 * a concurrent replacement cannot free the node under the caller.
 */
uint64_t tree_file_ino(struct tree *tree, struct tree_connector *conn, enum node_kind kind,
    const char *key, struct connection *value, unsigned long long generation,
    long long changed_ms);

/*
 * A new inode for one look at a .connectorfs file (kind NODE_STATUS,
 * NODE_METRICS or NODE_REFRESH_FILE with key the connector or "all"):
 * every LOOKUP gets its own, so the kernel can never serve one look's
 * bytes to the next. Counted once (the LOOKUP reply) and dropped when the
 * kernel forgets it. bytes (malloc'ed, may be NULL) become the node's.
 * Returns the inode number, or 0 when out of memory (bytes freed).
 */
uint64_t tree_ephemeral(struct tree *tree, enum node_kind kind, const char *key,
    char *bytes, size_t len);

/*
 * A slice of an ephemeral node's bytes: 1 with *copy (malloc'ed, may be
 * NULL for an empty slice) and *len, or with *err set when it fails; 0 when
 * its outcome is not known yet; -1 when there is no such node.
 */
int tree_ctl_slice(struct tree *tree, uint64_t ino, size_t off, size_t size, char **copy,
    size_t *len, int *err);

/* Size and whether the outcome is known, for GETATTR. -1 when no such node. */
int tree_ctl_size(struct tree *tree, uint64_t ino, size_t *len, int *known);

/* 1 for the first caller only: it starts the node's refresh. */
int tree_ctl_claim(struct tree *tree, uint64_t ino);

/* The outcome of a node's refresh (bytes become the node's; freed if it is gone). */
void tree_ctl_set(struct tree *tree, uint64_t ino, char *bytes, size_t len, int err);

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

/*
 * Carrying the tree to the next server process (lib/handover.h). Every
 * file inode the kernel may know, its lookup count and its value, every
 * connector's folder inodes, and the cache's current values are written
 * to the state before the kernel or a reader can see them, so a server
 * killed at any instant leaves a state the next one restores exactly:
 * the same inode numbers, counts at least the kernel's (a lookup is
 * counted before its reply), the same bytes. .connectorfs inodes are not
 * carried (a look in progress at a crash gets ESTALE).
 */
struct handover;

/* One connector's cache value as kept (value NULL: serving had ended). */
typedef void (*tree_current_fn)(void *arg, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms);

/*
 * Rebuild the tree from a dead server's state (before tree_keep_state());
 * each connector's current cache value goes to fn. 0, or -1 with a
 * one-line msg when records were skipped (what could be read is restored).
 */
int tree_restore(struct tree *tree, struct handover *state, tree_current_fn fn, void *arg,
    char *msg, size_t msgsz);

/* From now on keep the tree in state (compacting what is there). 0 or -1. */
int tree_keep_state(struct tree *tree, struct handover *state);

/* The cache's current value of a connector (NULL: serving ended). */
void tree_note_current(struct tree *tree, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms);

/* Take the tree's lock for good: nothing changes the state any more. */
void tree_freeze(struct tree *tree);

#endif
