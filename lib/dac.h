/*
 * dac.h: the kernel's discretionary access rule (owner, group, other bits,
 * and the two capabilities that override them), for a daemon that must
 * apply it itself (fs/perm.c), and the caller facts it needs from
 * /proc/PID/task/TID/status.
 */
#ifndef CFS_DAC_H
#define CFS_DAC_H

#include <stddef.h>
#include <sys/types.h>

/* Capability bits (linux/capability.h numbers) the rule looks at. */
#define DAC_CAP_OVERRIDE	(1ull << 1)	/* CAP_DAC_OVERRIDE */
#define DAC_CAP_READ_SEARCH	(1ull << 2)	/* CAP_DAC_READ_SEARCH */

/* Who asks: as the kernel sees it when it checks (fsuid, fsgid). */
struct dac_caller {
	uid_t uid;
	gid_t gid;
	gid_t *groups;			/* supplementary (malloc'd by dac_parse_status()) */
	size_t ngroups;
	unsigned long long caps;	/* effective capabilities (DAC_CAP_*) */
};

/*
 * 1 when the caller may have every access in mask (R_OK, W_OK, X_OK) to a
 * file of owner, group and mode (with its S_IFMT bits), else 0, as
 * generic_permission() decides: the owner gets the owner bits only, a
 * member of the group the group bits only; then CAP_DAC_OVERRIDE grants
 * anything but executing a file with no x bit, and CAP_DAC_READ_SEARCH
 * reading a file and reading or searching a folder. uid 0 is not special
 * without those capabilities.
 */
int dac_allows(const struct dac_caller *who, uid_t owner, gid_t group, mode_t mode, int mask);

/*
 * Read the caller facts of a /proc/PID/task/TID/status text into who: its
 * fsuid and fsgid (the fourth field of Uid: and Gid:), every group of
 * Groups: (into who->groups, malloc'd) and CapEff:. 0, or -1 when a line is
 * missing or malformed, or out of memory (who is then left with no groups
 * and no capabilities). Release with dac_caller_release().
 */
int dac_parse_status(const char *text, size_t len, struct dac_caller *who);

/* Free who->groups; who then has none. */
void dac_caller_release(struct dac_caller *who);

/*
 * 1 when a uid_map text is the initial user namespace's (one line:
 * 0 0 4294967295), else 0. Capabilities count against the mount's files
 * only in the user namespace that owns the mount (the initial one for a
 * helper's /dev/fd/N mount); anyone can make a namespace of their own and
 * hold every capability in it.
 */
int dac_uid_map_is_initial(const char *text, size_t len);

#endif
