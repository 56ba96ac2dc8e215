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

/*
 * Open folders, by the handle the kernel keeps for each (fi->fh) and hands
 * back on READDIR and RELEASEDIR. The kernel keeps handles across a
 * takeover, so a handle is never a pointer: it names this server (epoch,
 * one per server of the mount) and a number, and a handle of a previous
 * server is recognised as one, not followed.
 */
struct dir_handles;

/* epoch: nonzero, different for every server of a mount. NULL when out of memory. */
struct dir_handles *dir_handles_new(uint32_t epoch);
void dir_handles_free(struct dir_handles **h);

/* The snapshot is the table's now: its handle, or 0 when out of memory (d freed). */
uint64_t dir_handles_add(struct dir_handles *h, struct dir_snapshot *d);

/*
 * dir_read() of the snapshot behind fh: its result, or -1 when fh is not
 * one of this server's (a previous server's: the caller lists afresh).
 */
int dir_handles_read(struct dir_handles *h, uint64_t fh, size_t size, off_t off, char **copy,
    size_t *len);

/* RELEASEDIR: the snapshot goes (nothing for a previous server's handle). */
void dir_handles_release(struct dir_handles *h, uint64_t fh);

#endif
