/*
 * dir.c: folder listings. The root lists connectors= names, the ones
 * fetched since the mount and, with a management credential, the app's
 * active ones; a connector folder lists its fixed names (tree.c's table)
 * and connectionConfig/ the safe keys of the current value; .connectorfs/
 * and refresh/ are control.c's. Inode numbers are read under the tree's
 * lock: a node nobody holds may be replaced and freed at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "control.h"
#include "dir.h"
#include "listing.h"
#include "namelist.h"
#include "table.h"

struct dir_snapshot {
	fuse_req_t req;		/* for fuse_add_direntry()'s sizes only */
	char *data;
	size_t len;
	struct table_link link;	/* in dir_handles, by handle */
};

struct dir_handles {
	pthread_mutex_t lock;
	struct table open;	/* struct dir_snapshot by handle */
	uint32_t epoch;
	uint32_t next;
};

static int
dir_add(void *arg, const char *name, uint64_t ino, mode_t type)
{
	struct dir_snapshot *d = arg;
	struct stat st;
	size_t need;
	char *grown;

	memset(&st, 0, sizeof(st));
	st.st_ino = ino;
	st.st_mode = type;
	need = fuse_add_direntry(d->req, NULL, 0, name, NULL, 0);
	grown = realloc(d->data, d->len + need);
	if (grown == NULL)
		return -1;
	d->data = grown;
	fuse_add_direntry(d->req, d->data + d->len, need, name, &st, (off_t)(d->len + need));
	d->len += need;
	return 0;
}

/*
 * A connector is listed once it has been fetched with success since the
 * mount: app connectors at the root, workspace ones (which the API does not
 * list) in connectors/.
 */
struct dir_fetched {
	struct name_list *names;
	int workspace;
};

static void
dir_collect_fetched(const struct cache_stat *st, void *arg)
{
	struct dir_fetched *f = arg;

	if (st->ever_fetched && (name_workspace_id(st->name) != NULL) == f->workspace)
		name_list_add(f->names, st->name);
}

struct dir_listed {
	struct cfs_ctx *ctx;
	struct name_list *names;
};

/* A connector the API lists is expected: never held to the unknown-name budget. */
static void
dir_collect_listed(const char *name, void *arg)
{
	struct dir_listed *l = arg;

	(void)cache_declare(l->ctx->cache, name);
	name_list_add(l->names, name);
}

/* Each connector's folder, under its name in the folder listed (a workspace one by id). */
static int
dir_add_connectors(struct cfs_ctx *ctx, struct dir_snapshot *d, const struct name_list *l)
{
	const char *id;
	size_t i;
	int rc = 0;

	for (i = 0; i < l->n && rc == 0; i++) {
		struct tree_connector *c = tree_connector(ctx->tree, l->names[i]);

		id = name_workspace_id(l->names[i]);
		if (c == NULL)
			rc = -1;
		else
			rc = dir_add(d, id != NULL ? id : l->names[i], c->dir->ino, S_IFDIR);
	}
	return rc;
}

static int
dir_fill_root(struct cfs_ctx *ctx, struct dir_snapshot *d)
{
	struct name_list l = NAME_LIST_INIT;
	size_t i;
	int rc = 0;

	for (i = 0; i < ctx->cfg->nconnectors; i++)
		name_list_add(&l, ctx->cfg->connectors[i]);
	cache_foreach(ctx->cache, dir_collect_fetched, &(struct dir_fetched){ &l, 0 });
	if (ctx->listing != NULL)
		listing_foreach_active(ctx->listing, dir_collect_listed,
		    &(struct dir_listed){ ctx, &l });
	if (l.oom) {
		name_list_clear(&l);
		return -1;
	}
	name_list_sort_unique(&l);
	rc |= dir_add(d, tree_kind_name(NODE_CTL_DIR), TREE_CTL_INO, S_IFDIR);
	rc |= dir_add(d, tree_kind_name(NODE_WORKSPACE_DIR), TREE_WORKSPACE_INO, S_IFDIR);
	rc |= dir_add_connectors(ctx, d, &l);
	name_list_clear(&l);
	return rc;
}

static int
dir_fill_workspace(struct cfs_ctx *ctx, struct dir_snapshot *d)
{
	struct name_list l = NAME_LIST_INIT;
	int rc;

	cache_foreach(ctx->cache, dir_collect_fetched, &(struct dir_fetched){ &l, 1 });
	if (l.oom) {
		name_list_clear(&l);
		return -1;
	}
	name_list_sort_unique(&l);
	rc = dir_add_connectors(ctx, d, &l);
	name_list_clear(&l);
	return rc;
}

/*
 * Entries of slack/ or slack/connectionConfig/ for the value in v. An
 * inode number of 0 means a rotation overtook v; the folder's stands in
 * (readdir's numbers are hints; LOOKUP gives the real one).
 */
static int
dir_fill_connector(struct cfs_ctx *ctx, const struct tree_node *dir,
    const struct cache_view *v, struct dir_snapshot *d)
{
	const struct tree_name *names;
	struct tree_connector *c = dir->conn;
	size_t i, n;
	uint64_t ino;
	int rc = 0;

	if (dir->kind == NODE_CONN_DIR) {
		names = tree_children(NODE_CONN_DIR, &n);
		for (i = 0; i < n && rc == 0; i++) {
			if (names[i].kind == NODE_CONFIG_DIR) {
				rc = dir_add(d, names[i].name, c->config_dir->ino, S_IFDIR);
				continue;
			}
			ino = tree_file_ino(ctx->tree, c, names[i].kind, NULL, v->value,
			    v->generation, v->changed_ms);
			rc = dir_add(d, names[i].name, ino ? ino : dir->ino, S_IFREG);
		}
		return rc;
	}
	for (i = 0; i < v->value->nkeys && rc == 0; i++) {
		const struct connection_key *k = &v->value->keys[i];

		if (!k->safe)
			continue;
		ino = tree_file_ino(ctx->tree, c, NODE_CONFIG_FILE, k->name, v->value,
		    v->generation, v->changed_ms);
		rc = dir_add(d, k->name, ino ? ino : dir->ino, S_IFREG);
	}
	return rc;
}

int
dir_open(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *n,
    const struct cache_view *v, struct dir_snapshot **out)
{
	struct dir_snapshot *d;
	uint64_t parent;
	int rc = 0;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return ENOMEM;
	d->req = req;
	parent = n->kind == NODE_CONFIG_DIR ? n->conn->dir->ino :
	    n->kind == NODE_REFRESH ? TREE_CTL_INO :
	    n->kind == NODE_CONN_DIR && name_workspace_id(n->conn->name) != NULL ?
	    TREE_WORKSPACE_INO : TREE_ROOT_INO;
	rc |= dir_add(d, ".", n->ino, S_IFDIR);
	rc |= dir_add(d, "..", parent, S_IFDIR);
	switch (n->kind) {
	case NODE_ROOT:
		rc |= dir_fill_root(ctx, d);
		break;
	case NODE_WORKSPACE_DIR:
		rc |= dir_fill_workspace(ctx, d);
		break;
	case NODE_CTL_DIR:
	case NODE_REFRESH:
		rc |= control_fill_dir(ctx, n, dir_add, d);
		break;
	case NODE_CONN_DIR:
	case NODE_CONFIG_DIR:
		rc |= dir_fill_connector(ctx, n, v, d);
		break;
	default:
		break;
	}
	d->req = NULL;
	if (rc != 0) {
		dir_free(&d);
		return ENOMEM;
	}
	*out = d;
	return 0;
}

int
dir_read(const struct dir_snapshot *d, size_t size, off_t off, char **copy, size_t *len)
{
	*copy = NULL;
	*len = 0;
	if (d == NULL || off < 0 || (size_t)off >= d->len)
		return 0;
	*len = d->len - (size_t)off < size ? d->len - (size_t)off : size;
	*copy = malloc(*len);
	if (*copy == NULL) {
		*len = 0;
		return ENOMEM;
	}
	memcpy(*copy, d->data + off, *len);
	return 0;
}

void
dir_free(struct dir_snapshot **dp)
{
	if (dp == NULL || *dp == NULL)
		return;
	free((*dp)->data);
	free(*dp);
	*dp = NULL;
}

struct dir_handles *
dir_handles_new(uint32_t epoch)
{
	struct dir_handles *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if (table_init(&h->open, 64) != 0) {
		free(h);
		return NULL;
	}
	pthread_mutex_init(&h->lock, NULL);
	h->epoch = epoch;
	return h;
}

void
dir_handles_free(struct dir_handles **hp)
{
	struct table_link *l, *next;
	struct dir_handles *h;
	size_t i;

	if (hp == NULL || *hp == NULL)
		return;
	h = *hp;
	*hp = NULL;
	for (l = table_first(&h->open, &i); l != NULL; l = next) {
		struct dir_snapshot *d = table_entry(l, struct dir_snapshot, link);

		next = table_next(&h->open, l, &i);
		dir_free(&d);
	}
	table_release(&h->open);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static struct dir_snapshot *
dir_handles_find_locked(struct dir_handles *h, uint64_t fh)
{
	struct table_link *l;

	if ((uint32_t)(fh >> 32) != h->epoch)
		return NULL;
	for (l = table_chain(&h->open, fh); l != NULL; l = l->next)
		if (l->hash == fh)
			return table_entry(l, struct dir_snapshot, link);
	return NULL;
}

uint64_t
dir_handles_add(struct dir_handles *h, struct dir_snapshot *d)
{
	uint64_t fh;

	pthread_mutex_lock(&h->lock);
	/* Numbers wrap after 2^32 opens; one still open is skipped. */
	do {
		if (++h->next == 0)
			h->next = 1;
		fh = (uint64_t)h->epoch << 32 | h->next;
	} while (dir_handles_find_locked(h, fh) != NULL);
	table_add(&h->open, &d->link, fh);
	pthread_mutex_unlock(&h->lock);
	return fh;
}

int
dir_handles_read(struct dir_handles *h, uint64_t fh, size_t size, off_t off, char **copy,
    size_t *len)
{
	struct dir_snapshot *d;
	int rc = -1;

	pthread_mutex_lock(&h->lock);
	d = dir_handles_find_locked(h, fh);
	if (d != NULL)
		rc = dir_read(d, size, off, copy, len);
	pthread_mutex_unlock(&h->lock);
	return rc;
}

void
dir_handles_release(struct dir_handles *h, uint64_t fh)
{
	struct dir_snapshot *d;

	pthread_mutex_lock(&h->lock);
	d = dir_handles_find_locked(h, fh);
	if (d != NULL)
		table_del(&h->open, &d->link);
	pthread_mutex_unlock(&h->lock);
	dir_free(&d);
}
