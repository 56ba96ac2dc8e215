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

#include "audit.h"
#include "buf.h"
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
/* Folders and .connectorfs never change shape. */
#define OPS_STATIC_TIMEOUT	3600.0
/* status.json and metrics are re-rendered at most this often per reader. */
#define OPS_CTL_TIMEOUT		1.0
#define OPS_STATUS_MAX		(4 * 1024 * 1024)

static struct cfs_ctx *
ops_ctx(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static int
ops_is_file(enum node_kind k)
{
	return k == NODE_TOKEN || k == NODE_CONFIG_FILE || k == NODE_JSON || k == NODE_ENV ||
	    k == NODE_STATUS || k == NODE_METRICS || k == NODE_REFRESH;
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
	st->st_mtim.tv_sec = (time_t)(ms / 1000);
	st->st_mtim.tv_nsec = (long)(ms % 1000) * 1000000L;
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
	if (n->kind == NODE_REFRESH)
		st->st_mode = S_IFREG | 0200;	/* write-only control file */
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

/* Render a .connectorfs file into the node; READ serves these bytes until the next GETATTR. */
static int
ops_ctl_render(struct cfs_ctx *ctx, struct tree_node *n, size_t *size)
{
	struct timespec ts;
	long long now;
	struct buf b;
	enum cfs_err err = CFS_OK;
	char *data, *old;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	buf_init(&b, OPS_STATUS_MAX);
	if (n->kind == NODE_STATUS)
		err = status_render_json(ctx->cache, ctx->mount_wall_ms, now, &b);
	else if (n->kind == NODE_METRICS)
		err = status_render_metrics(ctx->cache, ctx->mount_wall_ms, now, &b);
	if (err != CFS_OK) {
		buf_reset(&b);
		return -err_to_errno(err);
	}
	/* Copy into plain memory: status holds no secret. */
	len = b.len;
	data = malloc(len + 1);
	if (data == NULL) {
		buf_reset(&b);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(data, b.data, len);
	buf_reset(&b);
	tree_lock(ctx->tree);
	old = n->ctl_bytes;
	n->ctl_bytes = data;
	n->ctl_len = len;
	tree_unlock(ctx->tree);
	free(old);
	*size = len;
	return 0;
}

static int
ops_ctl_attr(struct cfs_ctx *ctx, struct tree_node *n, struct stat *st, double *timeout)
{
	struct timespec ts;
	size_t size = 0;
	int rc;

	*timeout = OPS_STATIC_TIMEOUT;
	if (n->kind == NODE_ROOT || n->kind == NODE_CTL_DIR) {
		ops_dir_attr(ctx, n, ctx->mount_wall_ms, st);
		return 0;
	}
	if (n->kind != NODE_REFRESH) {
		rc = ops_ctl_render(ctx, n, &size);
		if (rc != 0)
			return rc;
		*timeout = OPS_CTL_TIMEOUT;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ops_file_attr(ctx, n, size, n->kind == NODE_REFRESH ? ctx->mount_wall_ms :
	    (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, st);
	return 0;
}

static void
ops_reply_negative(fuse_req_t req, double timeout)
{
	struct fuse_entry_param e;

	/* ino 0 lets the kernel remember "no such name" for entry_timeout. */
	memset(&e, 0, sizeof(e));
	e.entry_timeout = timeout;
	fuse_reply_entry(req, &e);
}

static void
ops_reply_entry(fuse_req_t req, const struct stat *st, double timeout)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.ino = st->st_ino;
	e.generation = 1;
	e.attr = *st;
	e.attr_timeout = timeout;
	e.entry_timeout = timeout;
	fuse_reply_entry(req, &e);
}

/*
 * Reply to a cache failure with its errno (err_to_errno(); README "Errors a
 * reader sees"); a 404 on lookup is a negative entry the kernel keeps for
 * negative_ttl=.
 */
static void
ops_reply_cache_error(fuse_req_t req, struct cfs_ctx *ctx, enum cfs_err err, int lookup)
{
	if (err == CFS_ERR_NOT_FOUND && lookup) {
		ops_reply_negative(req, (double)ctx->cfg->negative_ttl);
		return;
	}
	fuse_reply_err(req, err_to_errno(err));
}

static void
ops_lookup_root(fuse_req_t req, struct cfs_ctx *ctx, const char *name)
{
	struct tree_connector *c;
	struct cache_view v;
	struct stat st;
	enum cfs_err err;

	if (strcmp(name, TREE_CTL_NAME) == 0) {
		struct tree_node *n = tree_node(ctx->tree, TREE_CTL_INO);
		double t;

		ops_ctl_attr(ctx, n, &st, &t);
		ops_reply_entry(req, &st, t);
		return;
	}
	if (!name_is_connector(name)) {
		/* No request: shells and tools probe .git, Desktop.ini, ... */
		ops_reply_negative(req, OPS_IMPOSSIBLE_TIMEOUT);
		return;
	}
	err = cache_get(ctx->cache, name, &v, NULL);
	if (err != CFS_OK) {
		ops_reply_cache_error(req, ctx, err, 1);
		return;
	}
	c = tree_connector(ctx->tree, name);
	if (c == NULL) {
		cache_view_release(&v);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ops_dir_attr(ctx, c->dir, ctx->mount_wall_ms, &st);
	ops_reply_entry(req, &st, ops_file_timeout(ctx, &v));
	cache_view_release(&v);
}

static void
ops_lookup_body(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *p = tree_node(ctx->tree, parent), *n = NULL;
	enum node_kind kind = NODE_ROOT;
	struct cache_view v;
	struct stat st;
	enum cfs_err err;
	double t;

	if (p == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	switch (p->kind) {
	case NODE_ROOT:
		ops_lookup_root(req, ctx, name);
		return;
	case NODE_CTL_DIR:
		if (strcmp(name, "status.json") == 0)
			n = tree_node(ctx->tree, TREE_STATUS_INO);
		else if (strcmp(name, "metrics") == 0)
			n = tree_node(ctx->tree, TREE_METRICS_INO);
		else if (strcmp(name, "refresh") == 0)
			n = tree_node(ctx->tree, TREE_REFRESH_INO);
		if (n == NULL) {
			ops_reply_negative(req, OPS_IMPOSSIBLE_TIMEOUT);
			return;
		}
		if (ops_ctl_attr(ctx, n, &st, &t) != 0) {
			fuse_reply_err(req, EIO);
			return;
		}
		ops_reply_entry(req, &st, t);
		return;
	case NODE_CONN_DIR:
		kind = ops_conn_child_kind(name);
		if (kind == NODE_ROOT && strcmp(name, "connectionConfig") != 0) {
			ops_reply_negative(req, OPS_IMPOSSIBLE_TIMEOUT);
			return;
		}
		break;
	case NODE_CONFIG_DIR:
		if (!name_is_config_key(name, strlen(name))) {
			ops_reply_negative(req, OPS_IMPOSSIBLE_TIMEOUT);
			return;
		}
		kind = NODE_CONFIG_FILE;
		break;
	default:
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	err = cache_get(ctx->cache, p->conn->name, &v, NULL);
	if (err != CFS_OK) {
		ops_reply_cache_error(req, ctx, err, 0);
		return;
	}
	if (kind == NODE_ROOT) {	/* connectionConfig/ */
		ops_dir_attr(ctx, p->conn->config_dir, v.changed_ms, &st);
		ops_reply_entry(req, &st, ops_file_timeout(ctx, &v));
		goto out;
	}
	if (kind == NODE_CONFIG_FILE && connection_key_find(v.value, name) == NULL) {
		ops_reply_negative(req, ops_file_timeout(ctx, &v));
		goto out;
	}
	n = tree_file(ctx->tree, p->conn, kind, kind == NODE_CONFIG_FILE ? name : NULL,
	    v.value, v.generation, v.changed_ms, 1);
	if (n == NULL) {
		fuse_reply_err(req, ENOMEM);
		goto out;
	}
	ops_value_attr(ctx, n, &st);
	ops_reply_entry(req, &st, ops_file_timeout(ctx, &v));
out:
	cache_view_release(&v);
}

static void
ops_getattr_body(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	struct cache_view v;
	struct stat st;
	enum cfs_err err;
	double t;
	int rc;

	(void)fi;
	if (n == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (n->conn == NULL) {
		rc = ops_ctl_attr(ctx, n, &st, &t);
		if (rc != 0)
			fuse_reply_err(req, -rc);
		else
			fuse_reply_attr(req, &st, t);
		return;
	}
	/* Also the moment to notice a connector in use and refresh it ahead. */
	err = cache_get(ctx->cache, n->conn->name, &v, NULL);
	if (err != CFS_OK) {
		ops_reply_cache_error(req, ctx, err, 0);
		return;
	}
	if (n->kind == NODE_CONN_DIR) {
		ops_dir_attr(ctx, n, ctx->mount_wall_ms, &st);
		fuse_reply_attr(req, &st, ops_file_timeout(ctx, &v));
	} else if (n->kind == NODE_CONFIG_DIR) {
		ops_dir_attr(ctx, n, v.changed_ms, &st);
		fuse_reply_attr(req, &st, ops_file_timeout(ctx, &v));
	} else {
		ops_value_attr(ctx, n, &st);
		fuse_reply_attr(req, &st, ops_node_timeout(ctx, n, &v));
	}
	cache_view_release(&v);
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
	char *copy = NULL;
	enum cfs_err err;
	size_t len = 0;

	(void)fi;
	if (n == NULL || !ops_is_file(n->kind)) {
		fuse_reply_err(req, n == NULL ? ENOENT : EISDIR);
		return;
	}
	if (n->conn == NULL) {
		/* status.json / metrics: the bytes their last GETATTR sized. */
		tree_lock(ctx->tree);
		if (n->ctl_bytes != NULL && (size_t)off < n->ctl_len) {
			len = n->ctl_len - (size_t)off < size ? n->ctl_len - (size_t)off : size;
			copy = malloc(len);
			if (copy != NULL)
				memcpy(copy, n->ctl_bytes + off, len);
		}
		tree_unlock(ctx->tree);
		fuse_reply_buf(req, copy, copy ? len : 0);
		free(copy);
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

static void
ops_collect_known(const struct cache_stat *st, void *arg)
{
	if (st->ever_fetched)
		ops_names_add(arg, st->name);
}

/* Invalidate, in this thread, every connector fetched since the mount. */
static void
ops_invalidate_all(struct cfs_ctx *ctx)
{
	struct ops_names l;
	size_t i;

	memset(&l, 0, sizeof(l));
	cache_foreach(ctx->cache, ops_collect_known, &l);
	for (i = 0; i < l.n; i++)
		notifier_invalidate_now(ctx, l.names[i]);
	free(l.names);
}

/* Refresh every name in buf (one per line, or "all"). */
static void
ops_write_body(fuse_req_t req, fuse_ino_t ino, const char *data, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	char line[NAME_CONNECTOR_MAX + 2];
	size_t i = 0;
	enum cfs_err err = CFS_OK;

	(void)off;
	(void)fi;
	if (n == NULL || n->kind != NODE_REFRESH) {
		fuse_reply_err(req, EROFS);
		return;
	}
	while (i < size && err == CFS_OK) {
		size_t j = 0;

		while (i < size && (data[i] == '\n' || data[i] == ' ' || data[i] == '\t' ||
		    data[i] == '\r' || data[i] == ','))
			i++;
		while (i < size && data[i] != '\n' && data[i] != ' ' && data[i] != '\t' &&
		    data[i] != '\r' && data[i] != ',') {
			if (j + 1 >= sizeof(line)) {
				fuse_reply_err(req, EINVAL);
				return;
			}
			line[j++] = data[i++];
		}
		line[j] = '\0';
		if (j == 0)
			break;
		if (strcmp(line, "all") != 0 && !name_is_connector(line)) {
			log_warnx("refresh: '%s' is not a connector name", line);
			fuse_reply_err(req, EINVAL);
			return;
		}
		err = cache_refresh(ctx->cache, line, NULL);
		/* Before the write returns, so the next open sees the new value. */
		if (strcmp(line, "all") == 0)
			ops_invalidate_all(ctx);
		else
			notifier_invalidate_now(ctx, line);
	}
	if (err != CFS_OK)
		fuse_reply_err(req, err_to_errno(err));
	else
		fuse_reply_write(req, size);
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
	struct tree_node *f;
	size_t i;
	int rc = 0;

	if (dir->kind == NODE_CONN_DIR) {
		for (i = 0; i < sizeof(ops_file_kinds) / sizeof(ops_file_kinds[0]) && rc == 0; i++) {
			f = tree_file(ctx->tree, c, ops_file_kinds[i], NULL, v->value,
			    v->generation, v->changed_ms, 0);
			rc |= f ? ops_dirbuf_add(req, b, ops_file_names[i], f->ino, S_IFREG) : -1;
		}
		rc |= ops_dirbuf_add(req, b, "connectionConfig", c->config_dir->ino, S_IFDIR);
		return rc;
	}
	for (i = 0; i < v->value->nkeys && rc == 0; i++) {
		const struct connection_key *k = &v->value->keys[i];

		if (!k->safe)
			continue;
		f = tree_file(ctx->tree, c, NODE_CONFIG_FILE, k->name, v->value, v->generation,
		    v->changed_ms, 0);
		rc |= f ? ops_dirbuf_add(req, b, k->name, f->ino, S_IFREG) : -1;
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
	    TREE_ROOT_INO, S_IFDIR);
	switch (n->kind) {
	case NODE_ROOT:
		rc |= ops_fill_root(req, ctx, b);
		break;
	case NODE_CTL_DIR:
		rc |= ops_dirbuf_add(req, b, "status.json", TREE_STATUS_INO, S_IFREG);
		rc |= ops_dirbuf_add(req, b, "metrics", TREE_METRICS_INO, S_IFREG);
		rc |= ops_dirbuf_add(req, b, "refresh", TREE_REFRESH_INO, S_IFREG);
		break;
	case NODE_CONN_DIR:
	case NODE_CONFIG_DIR:
		err = cache_get(ctx->cache, n->conn->name, &v, NULL);
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
	struct cfs_ctx *ctx = ops_ctx(req);
	struct tree_node *n = tree_node(ctx->tree, ino);
	struct stat st;

	(void)attr;
	(void)fi;
	/* `echo x > refresh` truncates first; that alone is allowed. */
	if (n != NULL && n->kind == NODE_REFRESH &&
	    (to_set & ~(FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_CTIME |
	    FUSE_SET_ATTR_MTIME_NOW)) == 0) {
		ops_file_attr(ctx, n, 0, ctx->mount_wall_ms, &st);
		fuse_reply_attr(req, &st, 0);
		return;
	}
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
	log_debug("kernel %s no-open mode", ctx->no_open ? "supports" : "lacks");
}

static void
ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	ops_lookup_body(req, parent, name);
	secret_scrub_stack();
}

static void
ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	ops_getattr_body(req, ino, fi);
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
	ops_write_body(req, ino, data, size, off, fi);
	secret_scrub_stack();
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
