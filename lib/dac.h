/*
 * dac.h: the kernel's discretionary access rule (owner, group, other bits),
 * for a daemon that must apply it itself (fs/perm.c).
 */
#ifndef CFS_DAC_H
#define CFS_DAC_H

#include <sys/types.h>

/*
 * 1 when a caller with uid, gid and supplementary groups may have every
 * access in mask (R_OK, W_OK, X_OK) to a file of owner, group and mode
 * (with its S_IFMT bits), else 0. As in the kernel, the owner gets the
 * owner bits only and a member of the group the group bits only. uid 0 may
 * read, write and search anything (CAP_DAC_OVERRIDE) and execute a file
 * with an x bit somewhere. groups may be NULL with ngroups 0.
 */
int dac_allows(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, uid_t owner,
    gid_t group, mode_t mode, int mask);

/*
 * 1 when the answer for this caller depends on its supplementary groups
 * (which cost a read of /proc to learn), 0 when dac_allows() can be asked
 * with none.
 */
int dac_needs_groups(uid_t uid, gid_t gid, uid_t owner, gid_t group, mode_t mode, int mask);

#endif
