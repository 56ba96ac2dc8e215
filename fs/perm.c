/*
 * perm.c: the caller checks of a /dev/fd/N mount (see perm.h). The owner,
 * group and mode come from attr.c, as the kernel would see them in a stat;
 * the rule is lib/dac.c's. A path walk over names the kernel has cached
 * never reaches us, so a check covers every folder above the node too.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr.h"
#include "dac.h"
#include "names.h"
#include "perm.h"

/* A status this long is not a process's (65536 groups take under 800 KiB). */
#define PERM_STATUS_MAX	(1u << 20)

/* One folder or file on the way: what attr.c needs to give its owner and mode. */
struct perm_step {
	const char *connector;		/* its access= rule's, or NULL for the mount's */
	uint64_t ino;			/* for attr_dir(): the root and connectors/ differ */
	int is_dir;
};

/* The node, then every folder above it up to the root. Returns how many. */
static size_t
perm_path(const struct tree_node *n, struct perm_step steps[5])
{
	const char *conn = n->conn != NULL ? n->conn->name : NULL;
	size_t k = 0;

	switch (n->kind) {
	case NODE_TOKEN:
	case NODE_JSON:
	case NODE_ENV:
		steps[k++] = (struct perm_step){ conn, n->ino, 0 };
		break;
	case NODE_CONFIG_FILE:
		steps[k++] = (struct perm_step){ conn, n->ino, 0 };
		/* FALLTHROUGH */
	case NODE_CONFIG_DIR:
		steps[k++] = (struct perm_step){ conn, 0, 1 };
		break;
	case NODE_STATUS:
	case NODE_METRICS:
		steps[k++] = (struct perm_step){ NULL, n->ino, 0 };
		steps[k++] = (struct perm_step){ NULL, TREE_CTL_INO, 1 };
		steps[k++] = (struct perm_step){ NULL, TREE_ROOT_INO, 1 };
		return k;
	case NODE_REFRESH_FILE:
		steps[k++] = (struct perm_step){ NULL, n->ino, 0 };
		/* FALLTHROUGH */
	case NODE_REFRESH:
		steps[k++] = (struct perm_step){ NULL, TREE_REFRESH_INO, 1 };
		/* FALLTHROUGH */
	case NODE_CTL_DIR:
		steps[k++] = (struct perm_step){ NULL, TREE_CTL_INO, 1 };
		/* FALLTHROUGH */
	case NODE_ROOT:
		steps[k++] = (struct perm_step){ NULL, TREE_ROOT_INO, 1 };
		return k;
	case NODE_WORKSPACE_DIR:
		steps[k++] = (struct perm_step){ NULL, TREE_WORKSPACE_INO, 1 };
		steps[k++] = (struct perm_step){ NULL, TREE_ROOT_INO, 1 };
		return k;
	default:
		break;
	}
	/* The connector's folder, and what holds it. */
	steps[k++] = (struct perm_step){ conn, 0, 1 };
	if (conn != NULL && strncmp(conn, NAME_WORKSPACE_PREFIX,
	    sizeof(NAME_WORKSPACE_PREFIX) - 1) == 0)
		steps[k++] = (struct perm_step){ NULL, TREE_WORKSPACE_INO, 1 };
	steps[k++] = (struct perm_step){ NULL, TREE_ROOT_INO, 1 };
	return k;
}

/* The first bytes of a /proc file (NUL-terminated), or -1. */
static ssize_t
perm_read_proc(const char *path, char *buf, size_t bufsz)
{
	size_t len = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (len < bufsz - 1 && (n = read(fd, buf + len, bufsz - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* This process's user namespace is the initial one: read once, it never changes. */
static int
perm_self_in_initial_namespace(void)
{
	static int known = -1;	/* -1 not read yet; a race reads it twice, same answer */
	char map[256];
	ssize_t len;
	int v = __atomic_load_n(&known, __ATOMIC_RELAXED);

	if (v < 0) {
		len = perm_read_proc("/proc/self/uid_map", map, sizeof(map));
		v = len > 0 && dac_uid_map_is_initial(map, (size_t)len);
		__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* Both the caller and this daemon are in the initial user namespace. */
static int
perm_initial_namespace(long pid)
{
	char path[64], map[256];
	ssize_t len;

	if (!perm_self_in_initial_namespace())
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/uid_map", pid, pid);
	len = perm_read_proc(path, map, sizeof(map));
	return len > 0 && dac_uid_map_is_initial(map, (size_t)len);
}

/*
 * The caller's supplementary groups and capabilities, from its status in
 * our /proc. The kernel numbers the caller in the mount's pid namespace,
 * which may not be ours (a helper in another one mounted): a status whose
 * fsuid and fsgid are not the request's is some other process's, and
 * counts for nothing. Nothing, too, when it cannot be read (pid 0: not
 * in the mount's namespace; gone).
 */
static void
perm_caller_status(const struct fuse_ctx *req_who, struct dac_caller *who)
{
	struct dac_caller seen;
	char path[64], *text = NULL, *bigger;
	size_t size = 16384;
	ssize_t len;

	if (req_who->pid <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%ld/task/%ld/status", (long)req_who->pid,
	    (long)req_who->pid);
	/* All of it: a caller in thousands of groups has a long Groups: line. */
	for (;;) {
		bigger = realloc(text, size);
		if (bigger == NULL)
			goto out;
		text = bigger;
		len = perm_read_proc(path, text, size);
		if (len <= 0)
			goto out;
		if ((size_t)len < size - 1 || size >= PERM_STATUS_MAX)
			break;
		size *= 4;
	}
	if (dac_parse_status(text, (size_t)len, &seen) != 0)
		goto out;
	if (seen.uid != req_who->uid || seen.gid != req_who->gid) {
		dac_caller_release(&seen);
		goto out;
	}
	/*
	 * Capabilities held in a user namespace of the caller's own making
	 * (unshare -U gives every one) say nothing about files the initial
	 * namespace owns: the kernel would not count them, nor do we.
	 */
	if (seen.caps != 0 && !perm_initial_namespace((long)req_who->pid))
		seen.caps = 0;
	*who = seen;
out:
	free(text);
}

static int
perm_step_allows(const struct cfs_ctx *ctx, const struct perm_step *step,
    const struct dac_caller *who, int mask)
{
	struct stat st;

	if (step->is_dir)
		attr_dir(ctx, step->connector, step->ino, 0, &st);
	else
		attr_file(ctx, step->connector, step->ino, 0, 0, &st);
	return dac_allows(who, st.st_uid, st.st_gid, st.st_mode, mask);
}

/* Every step allows: the node mask, each folder above it search. */
static int
perm_path_allows(const struct cfs_ctx *ctx, const struct perm_step *steps, size_t nsteps,
    const struct dac_caller *who, int mask)
{
	size_t i;

	for (i = 0; i < nsteps; i++)
		if (!perm_step_allows(ctx, &steps[i], who, i == 0 ? mask : X_OK))
			return 0;
	return 1;
}

int
perm_check(fuse_req_t req, const struct cfs_ctx *ctx, const struct tree_node *n, int mask)
{
	const struct fuse_ctx *req_who;
	struct dac_caller who;
	struct perm_step steps[5];
	size_t nsteps;
	int allowed;

	if (!ctx->check_callers)
		return 0;
	req_who = fuse_req_ctx(req);
	memset(&who, 0, sizeof(who));
	who.uid = req_who->uid;
	who.gid = req_who->gid;
	nsteps = perm_path(n, steps);
	if (perm_path_allows(ctx, steps, nsteps, &who, mask))
		return 0;
	/* Denied on the bits alone: its groups or capabilities may still allow it. */
	perm_caller_status(req_who, &who);
	allowed = perm_path_allows(ctx, steps, nsteps, &who, mask);
	dac_caller_release(&who);
	return allowed ? 0 : EACCES;
}
