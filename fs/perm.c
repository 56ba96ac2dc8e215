/*
 * perm.c: the caller checks of a /dev/fd/N mount (see perm.h). The owner,
 * group and mode come from attr.c, as the kernel would see them in a stat.
 */
#include <errno.h>
#include <sys/stat.h>

#include "attr.h"
#include "dac.h"
#include "perm.h"

/* Enough for a service user; more are read but not compared (denied if only those grant). */
#define PERM_GROUPS_MAX	64

static int
perm_is_dir(enum node_kind k)
{
	return k == NODE_ROOT || k == NODE_CTL_DIR || k == NODE_REFRESH ||
	    k == NODE_CONN_DIR || k == NODE_CONFIG_DIR || k == NODE_WORKSPACE_DIR;
}

int
perm_check(fuse_req_t req, const struct cfs_ctx *ctx, const struct tree_node *n, int mask)
{
	const struct fuse_ctx *who;
	const char *connector;
	gid_t groups[PERM_GROUPS_MAX];
	struct stat st;
	int ngroups = 0;

	if (!ctx->check_callers)
		return 0;
	who = fuse_req_ctx(req);
	connector = n->conn != NULL ? n->conn->name : NULL;
	if (perm_is_dir(n->kind))
		attr_dir(ctx, connector, n->ino, 0, &st);
	else
		attr_file(ctx, connector, n->ino, 0, 0, &st);
	if (dac_needs_groups(who->uid, who->gid, st.st_uid, st.st_gid, st.st_mode, mask)) {
		/* From /proc/PID/task/TID/status: none when the caller's pid is not ours to see. */
		ngroups = fuse_req_getgroups(req, PERM_GROUPS_MAX, groups);
		if (ngroups < 0)
			ngroups = 0;
		else if (ngroups > PERM_GROUPS_MAX)
			ngroups = PERM_GROUPS_MAX;
	}
	return dac_allows(who->uid, who->gid, groups, ngroups, st.st_uid, st.st_gid, st.st_mode,
	    mask) ? 0 : EACCES;
}
