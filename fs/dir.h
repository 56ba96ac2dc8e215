/*
 * dir.h: the entries of each folder, taken as a snapshot when the folder
 * is opened, so that offsets stay valid however the tree changes while it
 * is read.
 */
#ifndef CFS_DIR_H
#define CFS_DIR_H

#include "ctx.h"

struct dir_snapshot;

/*
 * The entries of folder n now. v is the connector's current value for a
 * connector folder or its connectionConfig/ (NULL for the others). 0 and
 * *out, or an errno.
 */
int dir_open(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *n,
    const struct cache_view *v, struct dir_snapshot **out);

/*
 * size bytes of entries from off, copied (the reader may close the folder,
 * freeing the snapshot, while the reply is on its way): 0 with *copy
 * (malloc'ed, NULL at the end) and *len, or an errno.
 */
int dir_read(const struct dir_snapshot *d, size_t size, off_t off, char **copy, size_t *len);

void dir_free(struct dir_snapshot **d);

#endif
