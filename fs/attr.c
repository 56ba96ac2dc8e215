/*
 * attr.c: struct stat for each kind of node. A value file's size is its
 * value's exact length and its mtime when that value last changed; a file
 * inode shows one value for its whole life (tree.h), so its attributes are
 * fixed and only the current node's timeout runs out.
 */
#include <string.h>

#include "attr.h"
#include "clock.h"

static void
attr_times(struct stat *st, long long ms)
{
	st->st_mtim = clock_timespec(ms);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

void
attr_dir(const struct cfs_ctx *ctx, const char *connector, uint64_t ino, long long mtime_ms,
    struct stat *st)
{
	mode_t mode, dir_mode;

	memset(st, 0, sizeof(*st));
	config_access_of(ctx->cfg, connector, &st->st_uid, &st->st_gid, &mode, &dir_mode);
	/*
	 * With access= rules every tenant must pass through the root to reach its
	 * folder: the root is searchable by all, and listable only as dir_mode= says.
	 */
	if ((ino == TREE_ROOT_INO || ino == TREE_WORKSPACE_INO) && ctx->cfg->naccess > 0)
		dir_mode |= 0111;
	st->st_ino = ino;
	st->st_mode = S_IFDIR | dir_mode;
	st->st_nlink = 2;
	st->st_blksize = 4096;
	attr_times(st, mtime_ms);
}

void
attr_file(const struct cfs_ctx *ctx, const char *connector, uint64_t ino, size_t size,
    long long mtime_ms, struct stat *st)
{
	mode_t mode, dir_mode;

	memset(st, 0, sizeof(*st));
	config_access_of(ctx->cfg, connector, &st->st_uid, &st->st_gid, &mode, &dir_mode);
	st->st_ino = ino;
	st->st_mode = S_IFREG | mode;
	st->st_nlink = 1;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	attr_times(st, mtime_ms);
}

int
attr_value_bytes(const struct tree_node *n, const struct connection *v, const char **p,
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

void
attr_value(const struct cfs_ctx *ctx, const struct tree_node *n, struct stat *st)
{
	const char *p;
	size_t len = 0;

	(void)attr_value_bytes(n, n->value, &p, &len);
	attr_file(ctx, n->conn != NULL ? n->conn->name : NULL, n->ino, len, n->changed_ms, st);
}

/*
 * A sixteenth of the TTL: a connector in steady use is seen by the daemon
 * (GETATTR) several times in the last eighth of its TTL, where the cache
 * refreshes ahead.
 */
double
attr_timeout(const struct cfs_ctx *ctx, const struct cache_view *v)
{
	double t = ctx->attr_timeout_max;
	double left = (double)v->valid_ms / 1000.0;

	return left < t ? left : t;
}

double
attr_node_timeout(const struct cfs_ctx *ctx, const struct tree_node *n,
    const struct cache_view *v)
{
	return n->generation == v->generation ? attr_timeout(ctx, v) : ATTR_STATIC_TIMEOUT;
}
