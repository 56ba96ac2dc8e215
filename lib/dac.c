/*
 * dac.c: owner, group and other bits as generic_permission() in the
 * kernel's fs/namei.c applies them, without ACLs or capabilities beyond
 * root's override.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "dac.h"

/* The rwx bits of mode at shift (6 owner, 3 group, 0 other) grant all of mask. */
static int
dac_bits_allow(mode_t mode, int shift, int mask)
{
	int bits = (int)(mode >> shift) & 7;
	int want = ((mask & R_OK) ? 4 : 0) | ((mask & W_OK) ? 2 : 0) | ((mask & X_OK) ? 1 : 0);

	return (bits & want) == want;
}

static int
dac_in_groups(gid_t group, const gid_t *groups, int ngroups)
{
	int i;

	for (i = 0; i < ngroups; i++)
		if (groups[i] == group)
			return 1;
	return 0;
}

int
dac_allows(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, uid_t owner,
    gid_t group, mode_t mode, int mask)
{
	if (uid == 0)
		return !(mask & X_OK) || S_ISDIR(mode) || (mode & (S_IXUSR | S_IXGRP | S_IXOTH));
	if (uid == owner)
		return dac_bits_allow(mode, 6, mask);
	if (gid == group || dac_in_groups(group, groups, ngroups))
		return dac_bits_allow(mode, 3, mask);
	return dac_bits_allow(mode, 0, mask);
}

int
dac_needs_groups(uid_t uid, gid_t gid, uid_t owner, gid_t group, mode_t mode, int mask)
{
	if (uid == 0 || uid == owner || gid == group)
		return 0;
	return dac_bits_allow(mode, 3, mask) != dac_bits_allow(mode, 0, mask);
}
