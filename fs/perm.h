/*
 * perm.h: the daemon's own check of who may open what, for a mount whose
 * options it did not choose.
 *
 * A mount connectorfs makes itself always has default_permissions, and the
 * kernel checks every open against the owner, group and mode the files
 * show. A /dev/fd/N mount was made by a helper, and the daemon cannot see
 * its options: without default_permissions the kernel would let anyone the
 * mount admits (allow_other) read every token. So for such a mount the
 * daemon checks each open, folder listing, lookup and access() itself, with
 * the same owner, group and mode (perm_needed()), whatever the helper chose.
 */
#ifndef CFS_PERM_H
#define CFS_PERM_H

#include <fuse_lowlevel.h>

#include "ctx.h"

/*
 * 0 when the caller of req may have every access in mask (R_OK, W_OK, X_OK
 * from <unistd.h>) to node n, else EACCES. Always 0 unless ctx->check_callers.
 */
int perm_check(fuse_req_t req, const struct cfs_ctx *ctx, const struct tree_node *n, int mask);

#endif
