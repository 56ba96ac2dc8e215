/*
 * ops.c: FUSE requests onto the tree and the cache; dispatch only. The
 * low-level API is used because it gives inode numbers directly (stable, no
 * path strings) and the kernel notifications that keep cached values
 * coherent. After libfuse's passthrough_ll.c: each ops_do_* computes and
 * returns an errno, and each registered handler replies exactly once.
 *
 * Coherence rule: a file inode shows one value for its whole life (see
 * tree.h). A changed value is a new inode under the same name, so the
 * kernel can never pair one value's size with another's bytes, and a reader
 * that opened the old inode reads the old value to the end.
 *
 * Warm reads never reach this file: opens are answered ENOSYS once (the
 * kernel then opens without asking, keeping its page cache), flush likewise,
 * and entries and attributes carry timeouts (attr.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "attr.h"
#include "audit.h"
#include "clock.h"
#include "control.h"
#include "ctx.h"
#include "dir.h"
#include "handover.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "ops.h"
#include "perm.h"
#include "secret.h"

/* Names that can never exist (".git", "Desktop.ini") stay negative this long. */
#define OPS_IMPOSSIBLE_TIMEOUT	3600.0
/*
 * An inode the kernel holds and this server does not know: a look at a
 * .connectorfs file a previous server made (those are not carried over),
 * or one the state lost. ESTALE, not ENOENT: the kernel then looks the
 * path up again (LOOKUP_REVAL) and an open() across a takeover succeeds.
 */
#define OPS_STALE		ESTALE

static struct cfs_ctx *
ops_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
ops_is_file(enum node_kind k)
{
	return tree_kind_is_value(k) || k == NODE_STATUS || k == NODE_METRICS ||
	    k == NODE_REFRESH_FILE;
}

/* A reader's Ctrl-C while it waits for a fetch: stop waiting (the fetch goes on). */
struct ops_wait {
	struct cfs_ctx *ctx;
	int cancel;
};

static void
ops_interrupted(fuse_req_t req, void *arg)
{
	struct ops_wait *w = arg;

	(void)req;
	__atomic_store_n(&w->cancel, 1, __ATOMIC_RELEASE);
	cache_wake(w->ctx->cache);
}

/* cache_get() for a request: CFS_ERR_INTERRUPTED when the kernel interrupts it. */
static enum cfs_err
ops_cache_get(fuse_req_t req, struct cfs_ctx *ctx, const char *name, struct cache_view *v)
{
	struct ops_wait w = { ctx, 0 };
	enum cfs_err err;

	fuse_req_interrupt_func(req, ops_interrupted, &w);
	err = cache_get_cancellable(ctx->cache, name, v, NULL, &w.cancel);
	/* Waits out a callback in progress: w must outlive every call of it. */
	fuse_req_interrupt_func(req, NULL, NULL);
	return err;
}

/* "No such name" the kernel may remember for timeout seconds (ino 0). */
static void
ops_negative(struct fuse_entry_param *e, double timeout)
{
	memset(e, 0, sizeof(*e));
	e->entry_timeout = timeout;
}

static void
ops_entry(struct fuse_entry_param *e, const struct stat *st, double timeout)
{
	memset(e, 0, sizeof(*e));
	e->ino = st->st_ino;
	e->generation = 1;
	e->attr = *st;
	e->attr_timeout = timeout;
	e->entry_timeout = timeout;
}

/*
 * The errno for a cache failure (README "Errors a reader sees", through
 * err_to_errno()); a 404 at lookup is instead a negative entry the kernel
 * keeps for negative_ttl (0 and e filled).
 */
static int
ops_cache_errno(struct cfs_ctx *ctx, enum cfs_err err, struct fuse_entry_param *e)
{
	if (err == CFS_ERR_NOT_FOUND && e != NULL) {
		ops_negative(e, (double)ctx->cfg->negative_ttl);
		return 0;
	}
	return err_to_errno(err);
}

/* A connector's folder by its name in the daemon: an app connector's, or "connectors/ID". */
static int
ops_lookup_connection(fuse_req_t req, struct cfs_ctx *ctx, const char *name,
    struct fuse_entry_param *e)
{
	struct tree_connector *c;
	struct cache_view v;
	struct stat st;
	enum cfs_err err;

	err = ops_cache_get(req, ctx, name, &v);
	if (err != CFS_OK)
		return ops_cache_errno(ctx, err, e);
	c = tree_connector(ctx->tree, name);
	if (c == NULL) {
		cache_view_release(&v);
		return ENOMEM;
	}
	attr_dir(ctx, c->name, c->dir->ino, ctx->mount_wall_ms, &st);
	ops_entry(e, &st, attr_timeout(ctx, &v));
	cache_view_release(&v);
	return 0;
}

static int
ops_lookup_root(fuse_req_t req, struct cfs_ctx *ctx, const char *name,
    struct fuse_entry_param *e)
{
	struct stat st;

	switch (tree_child_kind(NODE_ROOT, name)) {
	case NODE_CTL_DIR:
		attr_dir(ctx, NULL, TREE_CTL_INO, ctx->mount_wall_ms, &st);
		ops_entry(e, &st, ATTR_STATIC_TIMEOUT);
		return 0;
	case NODE_WORKSPACE_DIR:
		attr_dir(ctx, NULL, TREE_WORKSPACE_INO, ctx->mount_wall_ms, &st);
		ops_entry(e, &st, ATTR_STATIC_TIMEOUT);
		return 0;
	default:
		break;
	}
	if (!name_is_connector(name)) {
		/* No request: shells and tools probe .git, Desktop.ini, ... */
		ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);
		return 0;
	}
	return ops_lookup_connection(req, ctx, name, e);
}

/* connectors/ID: a workspace connector, asked for by id. */
static int
ops_lookup_workspace(fuse_req_t req, struct cfs_ctx *ctx, const char *id,
    struct fuse_entry_param *e)
{
	char name[NAME_CONNECTION_MAX + 1];

	if (!name_is_workspace_id(id)) {
		ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);	/* no request, as at the root */
		return 0;
	}
	snprintf(name, sizeof(name), "%s%s", NAME_WORKSPACE_PREFIX, id);
	return ops_lookup_connection(req, ctx, name, e);
}

/* A file or connectionConfig/ inside a connector folder. */
static int
ops_lookup_connector(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *p,
    enum node_kind kind, const char *name, struct fuse_entry_param *e, int *counted)
{
	struct tree_node *n = NULL;
	struct cache_view v;
	struct stat st;
	enum cfs_err err;
	int tries;

	for (tries = 0; tries < 2 && n == NULL; tries++) {
		err = ops_cache_get(req, ctx, p->conn->name, &v);
		if (err != CFS_OK)
			return ops_cache_errno(ctx, err, NULL);
		if (kind == NODE_CONFIG_DIR) {
			attr_dir(ctx, p->conn->name, p->conn->config_dir->ino, v.changed_ms, &st);
			ops_entry(e, &st, attr_timeout(ctx, &v));
			cache_view_release(&v);
			return 0;
		}
		if (kind == NODE_CONFIG_FILE && connection_key_find(v.value, name) == NULL) {
			ops_negative(e, attr_timeout(ctx, &v));
			cache_view_release(&v);
			return 0;
		}
		/* NULL also when a rotation overtook this view: ask again, once. */
		n = tree_file(ctx->tree, p->conn, kind, kind == NODE_CONFIG_FILE ? name : NULL,
		    v.value, v.generation, v.changed_ms, 1);
		if (n != NULL) {
			*counted = 1;
			attr_value(ctx, n, &st);
			ops_entry(e, &st, attr_node_timeout(ctx, n, &v));
		}
		cache_view_release(&v);
	}
	return n != NULL ? 0 : ENOMEM;
}

/* LOOKUP: 0 with e filled (a negative entry when e->ino is 0), or an errno. */
static int
ops_do_lookup(fuse_req_t req, struct cfs_ctx *ctx, fuse_ino_t parent, const char *name,
    struct fuse_entry_param *e, int *counted)
{
	struct tree_node *p = tree_node(ctx->tree, parent);
	enum node_kind kind;
	int rc;

	*counted = 0;
	if (p == NULL)
		return OPS_STALE;
	rc = perm_check(req, ctx, p, X_OK);
	if (rc != 0)
		return rc;
	switch (p->kind) {
	case NODE_ROOT:
		return ops_lookup_root(req, ctx, name, e);
	case NODE_WORKSPACE_DIR:
		return ops_lookup_workspace(req, ctx, name, e);
	case NODE_CTL_DIR:
	case NODE_REFRESH:
		rc = control_lookup(ctx, p, name, e);
		if (rc == ENOENT) {
			/* refresh/NAME may become known: remember nothing there. */
			ops_negative(e, p->kind == NODE_REFRESH ? 0 : OPS_IMPOSSIBLE_TIMEOUT);
			return 0;
		}
		*counted = rc == 0 && e->ino != TREE_REFRESH_INO;
		return rc;
	case NODE_CONN_DIR:
		kind = tree_child_kind(NODE_CONN_DIR, name);
		break;
	case NODE_CONFIG_DIR:
		kind = name_is_config_key(name, strlen(name)) ? NODE_CONFIG_FILE : NODE_NONE;
		break;
	default:
		return ENOTDIR;
	}
	if (kind == NODE_NONE) {
		ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);
		return 0;
	}
	return ops_lookup_connector(req, ctx, p, kind, name, e, counted);
}

/* GETATTR: 0 with st and timeout filled, or an errno. */
static int
ops_do_getattr(fuse_req_t req, struct cfs_ctx *ctx, fuse_ino_t ino, struct stat *st,
    double *timeout)
{
	struct tree_node *n = tree_node(ctx->tree, ino);
	struct cache_view v;
	enum cfs_err err;

	if (n == NULL)
		return OPS_STALE;
	if (n->conn == NULL)
		return control_getattr(ctx, n, st, timeout);
	/* Also the moment to notice a connector in use and refresh it ahead. */
	err = ops_cache_get(req, ctx, n->conn->name, &v);
	if (err != CFS_OK)
		return ops_cache_errno(ctx, err, NULL);
	if (n->kind == NODE_CONN_DIR) {
		attr_dir(ctx, n->conn->name, n->ino, ctx->mount_wall_ms, st);
		*timeout = attr_timeout(ctx, &v);
	} else if (n->kind == NODE_CONFIG_DIR) {
		attr_dir(ctx, n->conn->name, n->ino, v.changed_ms, st);
		*timeout = attr_timeout(ctx, &v);
	} else {
		attr_value(ctx, n, st);
		*timeout = attr_node_timeout(ctx, n, &v);
	}
	cache_view_release(&v);
	return 0;
}

/*
 * OPEN: 0 to open (audit= mode), or an errno. ENOSYS is the usual answer:
 * from then on the kernel opens every file itself (zero upcalls).
 */
static int
ops_do_open(fuse_req_t req, struct cfs_ctx *ctx, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct tree_node *n = tree_node(ctx->tree, ino);

	if (n == NULL)
		return OPS_STALE;
	if (!ops_is_file(n->kind))
		return EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return EROFS;
	if (perm_check(req, ctx, n, R_OK) != 0)
		return EACCES;
	if (ctx->no_open)
		return ENOSYS;
	if (ctx->audit != NULL && n->conn != NULL) {
		const struct fuse_ctx *who = fuse_req_ctx(req);
		char path[NAME_CONNECTION_MAX + NAME_KEY_MAX + 40];

		tree_node_path(n, path, sizeof(path));
		(void)audit_record(ctx->audit, who->uid, who->gid, who->pid, path);
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	return 0;
}

/*
 * READ of a value file: 0 with the slice in *p and *len (inside the node's own
 * value, which the kernel keeps alive while the request runs), or an errno.
 */
static int
ops_do_read(struct cfs_ctx *ctx, const struct tree_node *n, size_t size, off_t off,
    const char **p, size_t *len)
{
	const struct connection *v = n->value;
	size_t all = 0;
	enum cfs_err err;

	*p = NULL;
	*len = 0;
	/* A value whose serving has ended (404, 401/403, expiry) is not shown. */
	err = cache_check(ctx->cache, n->conn->name);
	if (err != CFS_OK)
		return err_to_errno(err);
	/* An fd opened before the JWT expired must not read it after. */
	if (v->token_exp > 0 && time(NULL) >= v->token_exp)
		return EKEYEXPIRED;
	if (attr_value_bytes(n, v, p, &all) != 0)
		return ENOENT;
	if (off < 0 || (size_t)off >= all) {
		*p = NULL;
		return 0;
	}
	*p += off;
	*len = all - (size_t)off < size ? all - (size_t)off : size;
	return 0;
}

/* OPENDIR: 0 with a snapshot of the entries in fi->fh, or an errno. */
static int
ops_do_opendir(fuse_req_t req, struct cfs_ctx *ctx, fuse_ino_t ino,
    struct fuse_file_info *fi)
{
	struct tree_node *n = tree_node(ctx->tree, ino);
	struct dir_snapshot *d = NULL;
	struct cache_view v;
	enum cfs_err err;
	int rc;

	if (n == NULL)
		return OPS_STALE;
	if (ops_is_file(n->kind))
		return ENOTDIR;
	if (perm_check(req, ctx, n, R_OK) != 0)
		return EACCES;
	if (n->kind != NODE_CONN_DIR && n->kind != NODE_CONFIG_DIR) {
		rc = dir_open(req, ctx, n, NULL, &d);
	} else {
		err = ops_cache_get(req, ctx, n->conn->name, &v);
		if (err != CFS_OK)
			return err_to_errno(err);
		rc = dir_open(req, ctx, n, &v, &d);
		cache_view_release(&v);
	}
	if (rc != 0)
		return rc;
	fi->fh = dir_handles_add(ctx->dirs, d);
	return fi->fh != 0 ? 0 : ENOMEM;
}

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cfs_ctx *ctx = userdata;

	/*
	 * An audit log must see every open, and so must the caller checks of
	 * a /dev/fd/N mount (perm.h): both forgo no-open mode.
	 */
	ctx->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 && ctx->audit == NULL &&
	    !ctx->check_callers;
	/* For the next server (server_opens_lost()): set before any OPEN is answered. */
	if (ctx->state != NULL) {
		if (ctx->no_open)
			handover_set_field(ctx->state, HANDOVER_OPEN_MODE,
			    HANDOVER_OPENS_GIVEN_TO_KERNEL);
		else if (!ctx->takeover)
			handover_set_field(ctx->state, HANDOVER_OPEN_MODE,
			    HANDOVER_OPENS_REACH_SERVER);
	}
	/*
	 * No auto_inval_data: it would make every read() check attributes.
	 * A changed value is announced by the notifier instead, and a changed
	 * size makes the kernel drop its pages on the next GETATTR anyway.
	 */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * Synchronous reads: an asynchronous READ is a background request the
	 * kernel never interrupts, so a reader of refresh/NAME that takes a
	 * signal (not only a fatal one) would wait for the whole refresh.
	 * Warm reads send no READ at all, so this costs them nothing.
	 */
	conn->want &= ~(unsigned)FUSE_CAP_ASYNC_READ;
	/*
	 * Lookups in one folder run side by side: without this the kernel
	 * serializes them, and one slow connector (or a flood of made-up
	 * names) holds up every other lookup in the root. (libfuse 3.14 drops
	 * this from its reply; kernel_io.c puts it back.)
	 */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	log_debug("kernel %s no-open mode", ctx->no_open ? "supports" : "lacks");
}

/*
 * The registered handlers: each computes, replies once, then zeroes the
 * stack below it where a value may have passed through.
 */
static void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct fuse_entry_param e;
	int counted = 0, rc;

	memset(&e, 0, sizeof(e));
	rc = ops_do_lookup(req, ctx, parent, name, &e, &counted);
	if (rc != 0)
		fuse_reply_err(req, rc);
	else if (fuse_reply_entry(req, &e) != 0 && counted)
		tree_forget(ctx->tree, e.ino, 1);	/* the kernel never got it */
	secret_scrub_stack();
}

static void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	double timeout = 0;
	int rc;

	(void)fi;
	rc = ops_do_getattr(req, ops_ctx(req), ino, &st, &timeout);
	if (rc != 0)
		fuse_reply_err(req, rc);
	else
		fuse_reply_attr(req, &st, timeout);
	secret_scrub_stack();
}

static void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = ops_do_open(req, ops_ctx(req), ino, fi);

	if (rc != 0)
		fuse_reply_err(req, rc);
	else
		fuse_reply_open(req, fi);
}

static void
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	const char *p = NULL;
	size_t len = 0;
	int rc;

	(void)fi;
	if (n != NULL && n->conn == NULL && ops_is_file(n->kind)) {
		/* .connectorfs/ files reply themselves (a refresh answers later). */
		control_read(req, ctx, n, size, off);
		return;
	}
	rc = n == NULL ? OPS_STALE : !ops_is_file(n->kind) ? EISDIR :
	    ops_do_read(ctx, n, size, off, &p, &len);
	if (rc != 0)
		fuse_reply_err(req, rc);
	else
		fuse_reply_buf(req, p, len);
	secret_scrub_stack();
}

static void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc = ops_do_opendir(req, ops_ctx(req), ino, fi);

	if (rc != 0)
		fuse_reply_err(req, rc);
	else
		fuse_reply_open(req, fi);
}

static void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	char *copy = NULL;
	size_t len = 0;
	int rc;

	/*
	 * Reply from a copy: once the kernel has the entries the reader may
	 * close the folder, and RELEASEDIR frees the snapshot on another
	 * thread while this one is still returning from writev().
	 */
	rc = dir_handles_read(ctx->dirs, fi->fh, size, off, &copy, &len);
	if (rc < 0) {
		/*
		 * A folder opened under a previous server: list it afresh. A
		 * listing that spans a takeover may see an entry twice or miss
		 * one that changed meanwhile, as when a folder changes under
		 * any reader; it never fails.
		 */
		struct fuse_file_info now;

		memset(&now, 0, sizeof(now));
		rc = ops_do_opendir(req, ctx, ino, &now);
		if (rc == 0) {
			rc = dir_handles_read(ctx->dirs, now.fh, size, off, &copy, &len);
			dir_handles_release(ctx->dirs, now.fh);
		}
	}
	if (rc != 0)
		fuse_reply_err(req, rc);
	else
		fuse_reply_buf(req, copy, len);
	free(copy);
}

static void
ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_handles_release(ops_ctx(req)->dirs, fi->fh);
	fuse_reply_err(req, 0);
}

static void
ops_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	/* Nothing to flush; ENOSYS makes the kernel stop sending FLUSH. */
	fuse_reply_err(req, ENOSYS);
}

static void
ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* A replaced or one-look inode the kernel no longer holds is dropped. */
	tree_forget(ops_ctx(req)->tree, ino, nlookup);
	fuse_reply_none(req);
}

static void
ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	size_t i;

	for (i = 0; i < count; i++)
		tree_forget(ctx->tree, forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * ACCESS comes only where the kernel does not check modes itself (a
 * /dev/fd/N mount without default_permissions): answered as it would.
 */
static void
ops_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	int rc;

	if (n == NULL)
		rc = OPS_STALE;
	else if ((mask & W_OK) != 0)
		rc = EROFS;
	else
		rc = perm_check(req, ctx, n, mask & (R_OK | X_OK));
	fuse_reply_err(req, rc);
}

static void
ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

/*
 * Every change is refused. The kernel mount is read-only and refuses first;
 * these are the second lock, should a request ever get through.
 */
static void
ops_erofs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	(void)ino; (void)attr; (void)to_set; (void)fi;
	fuse_reply_err(req, EROFS);
}

/*
 * A WRITE can only come from a superblock someone with CAP_SYS_ADMIN in the
 * initial user namespace remounted read-write (host root): the page it
 * dirtied is what other readers see until the value changes. Say so loudly
 * (once a minute), and have the notifier drop the file's pages.
 */
static void
ops_erofs_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	long long now = clock_mono_ms();
	long long warned = __atomic_load_n(&ctx->write_warned_ms, __ATOMIC_RELAXED);

	(void)data; (void)size; (void)off; (void)fi;
	if ((warned == 0 || now - warned > 60000) &&
	    __atomic_compare_exchange_n(&ctx->write_warned_ms, &warned, now, 0,
	    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		log_warnx("a write reached inode %llu: the mount was remounted read-write "
		    "(mount -o remount,rw needs CAP_SYS_ADMIN); refused, dropping its pages",
		    (unsigned long long)ino);
	}
	if (n != NULL && n->conn != NULL)
		notifier_push(ctx->notifier, n->conn->name);
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_mknod(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode, dev_t rdev)
{
	(void)p; (void)name; (void)mode; (void)rdev;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_mkdir(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode)
{
	(void)p; (void)name; (void)mode;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_unlink(fuse_req_t req, fuse_ino_t p, const char *name)
{
	(void)p; (void)name;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_symlink(fuse_req_t req, const char *link, fuse_ino_t p, const char *name)
{
	(void)link; (void)p; (void)name;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_rename(fuse_req_t req, fuse_ino_t p, const char *name, fuse_ino_t np,
    const char *newname, unsigned int flags)
{
	(void)p; (void)name; (void)np; (void)newname; (void)flags;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *name)
{
	(void)ino; (void)np; (void)name;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_create(fuse_req_t req, fuse_ino_t p, const char *name, mode_t mode,
    struct fuse_file_info *fi)
{
	(void)p; (void)name; (void)mode; (void)fi;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
    size_t size, int flags)
{
	(void)ino; (void)name; (void)value; (void)size; (void)flags;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino; (void)name;
	fuse_reply_err(req, EROFS);
}

static void
ops_erofs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
    struct fuse_file_info *fi)
{
	(void)ino; (void)mode; (void)off; (void)len; (void)fi;
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops ops_table = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.setattr = ops_erofs_setattr,
	.mknod = ops_erofs_mknod,
	.mkdir = ops_erofs_mkdir,
	.unlink = ops_erofs_unlink,
	.rmdir = ops_erofs_unlink,
	.symlink = ops_erofs_symlink,
	.rename = ops_erofs_rename,
	.link = ops_erofs_link,
	.open = ops_open,
	.read = ops_read,
	.write = ops_erofs_write,
	.flush = ops_flush,
	.release = ops_release,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.releasedir = ops_releasedir,
	.access = ops_access,
	.statfs = ops_statfs,
	.setxattr = ops_erofs_setxattr,
	.removexattr = ops_erofs_removexattr,
	.create = ops_erofs_create,
	.fallocate = ops_erofs_fallocate,
};
