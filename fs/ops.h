/*
 * ops.h: the FUSE low-level operations of connectorfs.
 */
#ifndef CFS_OPS_H
#define CFS_OPS_H

#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops ops_table;

#endif
