/*
 * ops.c: FUSE requests onto the tree and the cache. The low-level API is
 * used because it gives inode numbers directly (stable, no path strings) and
 * the kernel notifications that keep cached values coherent.
 *
 * Coherence rule: a file inode shows one value for its whole life (see
 * tree.h). A changed value is a new inode under the same name, so the
 * kernel can never pair one value's size with another's bytes, and a reader
 * that opened the old inode reads the old value to the end.
 *
 * Warm reads never reach this file: opens are answered ENOSYS once (the
 * kernel then opens without asking, keeping its page cache), flush likewise,
 * and entries and attributes carry timeouts; see ops_file_timeout().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <sys/statvfs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "audit.h"
#include "buf.h"
#include "control.h"
#include "ctx.h"
#include "listing.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "ops.h"
#include "secret.h"
#include "status.h"

/* Names that can never exist (".git", "Desktop.ini") stay negative this long. */
#define OPS_IMPOSSIBLE_TIMEOUT	3600.0
/* Folders never change shape. */
#define OPS_STATIC_TIMEOUT	3600.0

static struct cfs_ctx *
ops_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
ops_is_file(enum node_kind k)
{
	return k == NODE_TOKEN || k == NODE_CONFIG_FILE || k == NODE_JSON || k == NODE_ENV ||
	    k == NODE_STATUS || k == NODE_METRICS || k == NODE_REFRESH_FILE;
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

/* cache_get() for a request: EINTR when the kernel interrupts it. */
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

/*
 * How long the kernel may keep an entry or attributes of a connector file:
 * a sixteenth of the TTL, so a connector in steady use is seen by the daemon
 * (GETATTR) several times in the last eighth of its TTL, where the cache
 * refreshes ahead; and never longer than the value may still be served.
 */
static double
ops_file_timeout(const struct cfs_ctx *ctx, const struct cache_view *v)
{
	double t = ctx->attr_timeout_max;
	double left = (double)v->valid_ms / 1000.0;

	return left < t ? left : t;
}

/* The bytes a file node shows for value v; -1 when it has none (key gone). */
static int
ops_file_bytes(const struct tree_node *n, const struct connection *v, const char **p,
    size_t *len)
{
	const struct connection_key *k;

	switch (n->kind) {
	case NODE_TOKEN:
		*p = v->token;
		*len = v->token_len;
		return 0;
	case NODE_JSON:
		*p = v->json_doc;
		*len = v->json_doc_len;
		return 0;
	case NODE_ENV:
		*p = v->env_doc;
		*len = v->env_doc_len;
		return 0;
	case NODE_CONFIG_FILE:
		k = connection_key_find(v, n->key);
		if (k == NULL)
			return -1;
		*p = k->value;
		*len = k->value_len;
		return 0;
	default:
		return -1;
	}
}

static void
ops_set_times(struct stat *st, long long ms)
{
	st->st_mtim = clock_timespec(ms);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void
ops_dir_attr(const struct cfs_ctx *ctx, const struct tree_node *n, long long mtime_ms,
    struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = S_IFDIR | ctx->cfg->dir_mode;
	st->st_nlink = 2;
	st->st_uid = ctx->cfg->uid;
	st->st_gid = ctx->cfg->gid;
	st->st_blksize = 4096;
	ops_set_times(st, mtime_ms);
}

static void
ops_file_attr(const struct cfs_ctx *ctx, const struct tree_node *n, size_t size,
    long long mtime_ms, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = S_IFREG | ctx->cfg->mode;
	st->st_nlink = 1;
	st->st_uid = ctx->cfg->uid;
	st->st_gid = ctx->cfg->gid;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	ops_set_times(st, mtime_ms);
}

/* Attributes of a file node: its own value, fixed for the inode's life. */
static void
ops_value_attr(const struct cfs_ctx *ctx, const struct tree_node *n, struct stat *st)
{
	const char *p;
	size_t len = 0;

	(void)ops_file_bytes(n, n->value, &p, &len);
	ops_file_attr(ctx, n, len, n->changed_ms, st);
}

/*
 * Kernel timeout for a file node: a replaced inode's attributes never change;
 * the current one's run out with ops_file_timeout() so the name is looked
 * up again (and refreshed ahead) while it is in use.
 */
static double
ops_node_timeout(const struct cfs_ctx *ctx, const struct tree_node *n,
    const struct cache_view *v)
{
	return n->generation == v->generation ? ops_file_timeout(ctx, v) : OPS_STATIC_TIMEOUT;
}

static const enum node_kind ops_file_kinds[] = { NODE_TOKEN, NODE_JSON, NODE_ENV };
static const char *const ops_file_names[] = { "access_token", "connection.json", "env" };

/* The file kind a name in a connector folder stands for, or NODE_ROOT. */
static enum node_kind
ops_conn_child_kind(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ops_file_kinds) / sizeof(ops_file_kinds[0]); i++)
		if (strcmp(name, ops_file_names[i]) == 0)
			return ops_file_kinds[i];
	return NODE_ROOT;
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
 * The errno for a cache failure; a 404 at lookup is a negative entry the
 * kernel keeps for negative_ttl (0 and e filled).
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

static int
ops_lookup_root(fuse_req_t req, struct cfs_ctx *ctx, const char *name, struct fuse_entry_param *e)
{
	struct tree_connector *c;
	struct cache_view v;
	struct stat st;
	enum cfs_err err;

	if (strcmp(name, TREE_CTL_NAME) == 0) {
		control_dir_attr(ctx, TREE_CTL_INO, &st);
		ops_entry(e, &st, CONTROL_STATIC_TIMEOUT);
		return 0;
	}
	if (!name_is_connector(name)) {
		/* No request: shells and tools probe .git, Desktop.ini, ... */
		ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);
		return 0;
	}
	err = ops_cache_get(req, ctx, name, &v);
	if (err != CFS_OK)
		return ops_cache_errno(ctx, err, e);
	c = tree_connector(ctx->tree, name);
	if (c == NULL) {
		cache_view_release(&v);
		return ENOMEM;
	}
	ops_dir_attr(ctx, c->dir, ctx->mount_wall_ms, &st);
	ops_entry(e, &st, ops_file_timeout(ctx, &v));
	cache_view_release(&v);
	return 0;
}

/* A file or connectionConfig/ inside a connector folder. */
static int
ops_lookup_connector(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *p, enum node_kind kind,
    const char *name, struct fuse_entry_param *e, int *counted)
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
		if (kind == NODE_ROOT) {	/* connectionConfig/ */
			ops_dir_attr(ctx, p->conn->config_dir, v.changed_ms, &st);
			ops_entry(e, &st, ops_file_timeout(ctx, &v));
			cache_view_release(&v);
			return 0;
		}
		if (kind == NODE_CONFIG_FILE && connection_key_find(v.value, name) == NULL) {
			ops_negative(e, ops_file_timeout(ctx, &v));
			cache_view_release(&v);
			return 0;
		}
		/* NULL also when a rotation overtook this view: ask again, once. */
		n = tree_file(ctx->tree, p->conn, kind, kind == NODE_CONFIG_FILE ? name : NULL,
		    v.value, v.generation, v.changed_ms, 1);
		if (n != NULL) {
			*counted = 1;
			ops_value_attr(ctx, n, &st);
			ops_entry(e, &st, ops_node_timeout(ctx, n, &v));
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
	enum node_kind kind = NODE_ROOT;
	int rc;

	*counted = 0;
	if (p == NULL)
		return ENOENT;
	switch (p->kind) {
	case NODE_ROOT:
		return ops_lookup_root(req, ctx, name, e);
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
		kind = ops_conn_child_kind(name);
		if (kind == NODE_ROOT && strcmp(name, "connectionConfig") != 0) {
			ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);
			return 0;
		}
		break;
	case NODE_CONFIG_DIR:
		if (!name_is_config_key(name, strlen(name))) {
			ops_negative(e, OPS_IMPOSSIBLE_TIMEOUT);
			return 0;
		}
		kind = NODE_CONFIG_FILE;
		break;
	default:
		return ENOTDIR;
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
		return ENOENT;
	if (n->conn == NULL)
		return control_getattr(ctx, n, st, timeout);
	/* Also the moment to notice a connector in use and refresh it ahead. */
	err = ops_cache_get(req, ctx, n->conn->name, &v);
	if (err != CFS_OK)
		return ops_cache_errno(ctx, err, NULL);
	if (n->kind == NODE_CONN_DIR) {
		ops_dir_attr(ctx, n, ctx->mount_wall_ms, st);
		*timeout = ops_file_timeout(ctx, &v);
	} else if (n->kind == NODE_CONFIG_DIR) {
		ops_dir_attr(ctx, n, v.changed_ms, st);
		*timeout = ops_file_timeout(ctx, &v);
	} else {
		ops_value_attr(ctx, n, st);
		*timeout = ops_node_timeout(ctx, n, &v);
	}
	cache_view_release(&v);
	return 0;
}

/* "/slack/access_token": the node's path inside the mount, for the audit log. */
static void
ops_node_path(const struct tree_node *n, char *out, size_t outsz)
{
	const char *file = "";

	switch (n->kind) {
	case NODE_TOKEN: file = "/access_token"; break;
	case NODE_JSON: file = "/connection.json"; break;
	case NODE_ENV: file = "/env"; break;
	case NODE_CONFIG_FILE: file = "/connectionConfig/"; break;
	default: break;
	}
	snprintf(out, outsz, "/%s%s%s", n->conn->name, file,
	    n->kind == NODE_CONFIG_FILE ? n->key : "");
}

static void
ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);

	if (n == NULL || !ops_is_file(n->kind)) {
		fuse_reply_err(req, n == NULL ? ENOENT : EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY && n->kind != NODE_REFRESH) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (ctx->no_open) {
		/* From now on the kernel opens every file itself (zero upcalls). */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (ctx->audit != NULL && n->conn != NULL) {
		const struct fuse_ctx *who = fuse_req_ctx(req);
		char path[NAME_CONNECTOR_MAX + NAME_KEY_MAX + 40];

		ops_node_path(n, path, sizeof(path));
		(void)audit_record(ctx->audit, who->uid, who->gid, who->pid, path);
	}
	fi->keep_cache = 1;
	fi->noflush = 1;
	fuse_reply_open(req, fi);
}

static void
ops_read_body(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	const struct connection *v;
	const char *p = NULL;
	enum cfs_err err;
	size_t len = 0;

	(void)fi;
	if (n == NULL || !ops_is_file(n->kind)) {
		fuse_reply_err(req, n == NULL ? ENOENT : EISDIR);
		return;
	}
	if (n->conn == NULL) {
		control_read(req, ctx, n, size, off);
		return;
	}
	/* A value whose serving has ended (404, 401/403, expiry) is not shown. */
	err = cache_check(ctx->cache, n->conn->name);
	v = n->value;
	if (err != CFS_OK) {
		fuse_reply_err(req, err_to_errno(err));
	} else if (v->token_exp > 0 && time(NULL) >= v->token_exp) {
		/* An fd opened before the JWT expired must not read it after. */
		fuse_reply_err(req, EKEYEXPIRED);
	} else if (ops_file_bytes(n, v, &p, &len) != 0) {
		fuse_reply_err(req, ENOENT);
	} else if (off < 0 || (size_t)off >= len) {
		fuse_reply_buf(req, NULL, 0);
	} else {
		size_t left = len - (size_t)off;

		fuse_reply_buf(req, p + off, left < size ? left : size);
	}
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

struct ops_names {
	char (*names)[NAME_CONNECTOR_MAX + 1];
	size_t n, cap;
	int oom;
};

/* Duplicates are removed after sorting (ops_names_sort_unique). */
static void
ops_names_add(struct ops_names *l, const char *name)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *g = realloc(l->names, cap * sizeof(*l->names));

		if (g == NULL) {
			l->oom = 1;
			return;
		}
		l->names = g;
		l->cap = cap;
	}
	snprintf(l->names[l->n++], sizeof(l->names[0]), "%s", name);
}

struct ops_dirbuf {
	char *data;
	size_t len;
};

static int
ops_dirbuf_add(fuse_req_t req, struct ops_dirbuf *b, const char *name, fuse_ino_t ino,
    mode_t type)
{
	struct stat st;
	size_t need;
	char *grown;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
	grown = realloc(b->data, b->len + need);
	if (grown == NULL)
		return -1;
	b->data = grown;
	fuse_add_direntry(req, b->data + b->len, need, name, &st, (off_t)(b->len + need));
	b->len += need;
	return 0;
}

struct ops_dirbuf_ctx {
	fuse_req_t req;
	struct ops_dirbuf *b;
};

static int
ops_dirbuf_add_cb(void *arg, const char *name, uint64_t ino, mode_t type)
{
	struct ops_dirbuf_ctx *d = arg;

	return ops_dirbuf_add(d->req, d->b, name, ino, type);
}

static void
ops_collect_listed(const struct cache_stat *st, void *arg)
{
	/* A connector is listed once it has been fetched with success since the mount. */
	if (st->ever_fetched)
		ops_names_add(arg, st->name);
}

static void
ops_collect_name(const char *name, void *arg)
{
	ops_names_add(arg, name);
}

static int
ops_name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
ops_names_sort_unique(struct ops_names *l)
{
	size_t i, out = 0;

	if (l->n < 2)
		return;
	qsort(l->names, l->n, sizeof(l->names[0]), ops_name_cmp);
	for (i = 0; i < l->n; i++)
		if (out == 0 || strcmp(l->names[out - 1], l->names[i]) != 0)
			memmove(l->names[out++], l->names[i], sizeof(l->names[0]));
	l->n = out;
}

static int
ops_fill_root(fuse_req_t req, struct cfs_ctx *ctx, struct ops_dirbuf *b)
{
	struct ops_names l;
	size_t i;
	int rc = 0;

	memset(&l, 0, sizeof(l));
	for (i = 0; i < ctx->cfg->nconnectors; i++)
		ops_names_add(&l, ctx->cfg->connectors[i]);
	cache_foreach(ctx->cache, ops_collect_listed, &l);
	if (ctx->listing != NULL)
		listing_foreach_active(ctx->listing, ops_collect_name, &l);
	if (l.oom) {
		free(l.names);
		return -1;
	}
	ops_names_sort_unique(&l);
	rc |= ops_dirbuf_add(req, b, TREE_CTL_NAME, TREE_CTL_INO, S_IFDIR);
	for (i = 0; i < l.n && rc == 0; i++) {
		struct tree_connector *c = tree_connector(ctx->tree, l.names[i]);

		/* Listed by the API: expected, so never held to the unknown-name budget. */
		(void)cache_declare(ctx->cache, l.names[i]);

		if (c == NULL)
			rc = -1;
		else
			rc = ops_dirbuf_add(req, b, l.names[i], c->dir->ino, S_IFDIR);
	}
	free(l.names);
	return rc;
}

/* Entries of slack/ or slack/connectionConfig/ for the value in v. */
static int
ops_fill_connector_dir(fuse_req_t req, struct cfs_ctx *ctx, struct tree_node *dir,
    const struct cache_view *v, struct ops_dirbuf *b)
{
	struct tree_connector *c = dir->conn;
	uint64_t ino;
	size_t i;
	int rc = 0;

	/*
	 * Inode numbers are read under the tree's lock (tree_file_ino): a node
	 * nobody holds may be replaced and freed as soon as it is unlocked. 0
	 * means a rotation overtook v; the folder's number stands in (readdir's
	 * numbers are hints; LOOKUP gives the real one).
	 */
	if (dir->kind == NODE_CONN_DIR) {
		for (i = 0; i < sizeof(ops_file_kinds) / sizeof(ops_file_kinds[0]) && rc == 0; i++) {
			ino = tree_file_ino(ctx->tree, c, ops_file_kinds[i], NULL, v->value,
			    v->generation, v->changed_ms);
			rc |= ops_dirbuf_add(req, b, ops_file_names[i], ino ? ino : dir->ino,
			    S_IFREG);
		}
		rc |= ops_dirbuf_add(req, b, "connectionConfig", c->config_dir->ino, S_IFDIR);
		return rc;
	}
	for (i = 0; i < v->value->nkeys && rc == 0; i++) {
		const struct connection_key *k = &v->value->keys[i];

		if (!k->safe)
			continue;
		ino = tree_file_ino(ctx->tree, c, NODE_CONFIG_FILE, k->name, v->value,
		    v->generation, v->changed_ms);
		rc |= ops_dirbuf_add(req, b, k->name, ino ? ino : dir->ino, S_IFREG);
	}
	return rc;
}

static void
ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	struct ops_dirbuf *b;
	struct cache_view v;
	enum cfs_err err;
	int rc = 0;

	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (ops_is_file(n->kind)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* A snapshot per open folder, so offsets stay valid while it is read. */
	rc |= ops_dirbuf_add(req, b, ".", n->ino, S_IFDIR);
	rc |= ops_dirbuf_add(req, b, "..", n->kind == NODE_CONFIG_DIR ? n->conn->dir->ino :
	    n->kind == NODE_REFRESH ? TREE_CTL_INO : TREE_ROOT_INO, S_IFDIR);
	switch (n->kind) {
	case NODE_ROOT:
		rc |= ops_fill_root(req, ctx, b);
		break;
	case NODE_CTL_DIR:
	case NODE_REFRESH:
		rc |= control_fill_dir(ctx, n, ops_dirbuf_add_cb, &(struct ops_dirbuf_ctx){ req, b });
		break;
	case NODE_CONN_DIR:
	case NODE_CONFIG_DIR:
		err = ops_cache_get(req, ctx, n->conn->name, &v);
		if (err != CFS_OK) {
			free(b->data);
			free(b);
			fuse_reply_err(req, err_to_errno(err));
			return;
		}
		rc |= ops_fill_connector_dir(req, ctx, n, &v, b);
		cache_view_release(&v);
		break;
	default:
		break;
	}
	if (rc != 0) {
		free(b->data);
		free(b);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)b;
	fuse_reply_open(req, fi);
}

static void
ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct ops_dirbuf *b = (struct ops_dirbuf *)(uintptr_t)fi->fh;
	size_t n;
	char *copy;

	(void)ino;
	if (b == NULL || off < 0 || (size_t)off >= b->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	/*
	 * Reply from a copy: once the kernel has the entries the reader may
	 * close the folder, and RELEASEDIR frees b on another thread while
	 * this one is still returning from writev().
	 */
	n = b->len - (size_t)off < size ? b->len - (size_t)off : size;
	copy = malloc(n);
	if (copy == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memcpy(copy, b->data + off, n);
	fuse_reply_buf(req, copy, n);
	free(copy);
}

static void
ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ops_dirbuf *b = (struct ops_dirbuf *)(uintptr_t)fi->fh;

	(void)ino;
	if (b != NULL) {
		free(b->data);
		free(b);
	}
	fuse_reply_err(req, 0);
}

static void
ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
    struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	/* The kernel mount is read-only and refuses first; this is the second lock. */
	fuse_reply_err(req, EROFS);
}

static void
ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/* A replaced file inode the kernel no longer holds is dropped. */
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

/* Every change to the tree is refused with EROFS: the mount is read-only. */
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

static void
ops_init(void *userdata, struct fuse_conn_info *conn)
{
	struct cfs_ctx *ctx = userdata;

	/* An audit log must see every open, so it forgoes no-open mode. */
	ctx->no_open = (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT) != 0 && ctx->audit == NULL;
	/*
	 * No auto_inval_data: it would make every read() check attributes.
	 * A changed value is announced by the notifier instead, and a changed
	 * size makes the kernel drop its pages on the next GETATTR anyway.
	 */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	/*
	 * Lookups in one folder run side by side: without this the kernel
	 * serializes them, and one slow connector (or a flood of made-up
	 * names) holds up every other lookup in the root.
	 */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	log_debug("kernel %s no-open mode; capable 0x%x want 0x%x", ctx->no_open ? "supports" : "lacks", conn->capable, conn->want);
}

/*
 * The registered handlers: each computes, replies once, then zeroes the
 * stack below it (a value may have passed through).
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
ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ops_read_body(req, ino, size, off, fi);
	secret_scrub_stack();
}

static void
ops_write(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)ino; (void)data; (void)size; (void)off; (void)fi;
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops ops_table = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.setattr = ops_setattr,
	.mknod = ops_erofs_mknod,
	.mkdir = ops_erofs_mkdir,
	.unlink = ops_erofs_unlink,
	.rmdir = ops_erofs_unlink,
	.symlink = ops_erofs_symlink,
	.rename = ops_erofs_rename,
	.link = ops_erofs_link,
	.open = ops_open,
	.read = ops_read,
	.write = ops_write,
	.flush = ops_flush,
	.release = ops_release,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.releasedir = ops_releasedir,
	.statfs = ops_statfs,
	.setxattr = ops_erofs_setxattr,
	.removexattr = ops_erofs_removexattr,
	.create = ops_erofs_create,
	.fallocate = ops_erofs_fallocate,
};
