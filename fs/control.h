/*
 * control.h: the files under .connectorfs/ (status.json, metrics, and the
 * refresh/ folder whose files re-fetch a connector when read). Each look at
 * one of these files is an inode of its own, so no kernel cache ever serves
 * an old render or an old refresh outcome.
 */
#ifndef CFS_CONTROL_H
#define CFS_CONTROL_H

#include <sys/stat.h>

#include "ctx.h"

struct control *control_new(struct cfs_ctx *ctx);

/* Refuse new refreshes and wait for those running (they end once the cache is aborted). */
void control_stop(struct control *c);

/* control_stop(), then free. NULL accepted. */
void control_free(struct control **c);

/*
 * LOOKUP of name in .connectorfs/ or refresh/: 0 with e filled (one kernel
 * reference counted on e->ino), or an errno (ENOENT: no such file).
 */
int control_lookup(struct cfs_ctx *ctx, const struct tree_node *parent, const char *name,
    struct fuse_entry_param *e);

/* Attributes of a .connectorfs node; 0 or an errno. */
int control_getattr(struct cfs_ctx *ctx, const struct tree_node *n, struct stat *st,
    double *timeout);

/*
 * READ of status.json, metrics or a refresh file. Replies itself: at once
 * when the bytes are known, else once the refresh it starts has made the
 * new value visible (or EINTR if the request is interrupted first).
 */
void control_read(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *n,
    size_t size, off_t off);

/* The entries of .connectorfs/ or refresh/, through add (non-zero stops). */
int control_fill_dir(struct cfs_ctx *ctx, const struct tree_node *dir,
    int (*add)(void *arg, const char *name, uint64_t ino, mode_t type), void *arg);

#endif
