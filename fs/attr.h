/*
 * attr.h: the stat of every node and how long the kernel may keep it, in
 * one place for LOOKUP, GETATTR and the control files (after hello_ll.c's
 * hello_stat()).
 */
#ifndef CFS_ATTR_H
#define CFS_ATTR_H

#include <sys/stat.h>

#include "ctx.h"

/* Folders and .connectorfs/ never change shape. */
#define ATTR_STATIC_TIMEOUT	3600.0

/* connector: whose folder or file (its access= rule applies), or NULL for the mount's own. */
void attr_dir(const struct cfs_ctx *ctx, const char *connector, uint64_t ino, long long mtime_ms,
    struct stat *st);
void attr_file(const struct cfs_ctx *ctx, const char *connector, uint64_t ino, size_t size,
    long long mtime_ms, struct stat *st);

/* The bytes a value file node shows for value v; -1 when it has none (key gone). */
int attr_value_bytes(const struct tree_node *n, const struct connection *v, const char **p,
    size_t *len);

/* Attributes of a value file node: its own value, fixed for the inode's life. */
void attr_value(const struct cfs_ctx *ctx, const struct tree_node *n, struct stat *st);

/*
 * How long the kernel may keep a connector's entries and attributes: a
 * sixteenth of the TTL, and never longer than the value may be served.
 */
double attr_timeout(const struct cfs_ctx *ctx, const struct cache_view *v);

/* The same for a file node: a replaced inode never changes, so it keeps long. */
double attr_node_timeout(const struct cfs_ctx *ctx, const struct tree_node *n,
    const struct cache_view *v);

#endif
