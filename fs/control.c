/*
 * control.c: the filesystem's own files under .connectorfs/: status.json,
 * metrics and the refresh/ folder. Each LOOKUP of one of these files gets an
 * inode of its own (tree_ephemeral()), so the kernel, which keeps a file's
 * pages in no-open mode, can never serve one look's bytes to the next:
 *
 *     $ cat .connectorfs/status.json     # uptime_seconds 11
 *     $ sleep 2; cat .connectorfs/status.json
 *     # with one inode for every look: uptime_seconds 11 again, from the page cache
 *
 * A read of refresh/NAME is answered from a thread of its own once the new
 * value is visible, never from the request's thread: telling the kernel
 * about a change may need a folder lock that the kernel holds for a request
 * queued behind this one (with -s, the only one).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "attr.h"
#include "buf.h"
#include "control.h"
#include "handover.h"
#include "log.h"
#include "names.h"
#include "notify.h"
#include "status.h"

#define CONTROL_STATUS_MAX	(4 * 1024 * 1024)
/* Declared sizes of a refresh file before its outcome is known (reads stop at the real end). */
#define CONTROL_REFRESH_SIZE	4096
#define CONTROL_REFRESH_ALL_SIZE (1024 * 1024)
/* Refreshes running at once; more readers are told EAGAIN. */
#define CONTROL_JOBS_MAX	64
/* How long a refresh waits for the kernel to be told, at most. */
#define CONTROL_SYNC_MS		5000

/* A READ of a refresh file waiting for its outcome. */
struct control_wait {
	struct control_wait *next;
	fuse_req_t req;
	uint64_t ino;
	size_t size;
	off_t off;
	enum { WAIT_NEW, WAIT_QUEUED, WAIT_INTERRUPTED, WAIT_CLAIMED } state;
	struct control *ctl;
};

struct control_job {
	struct control *ctl;
	uint64_t ino;
	char name[NAME_CONNECTION_MAX + 1];
};

struct control {
	struct cfs_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	struct control_wait *waits;
	unsigned jobs;
	int stopping;
};


struct control *
control_new(struct cfs_ctx *ctx)
{
	struct control *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ctx = ctx;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	return c;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = 1;
	while (c->jobs > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void
control_free(struct control **cp)
{
	struct control *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	control_stop(c);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* A refresh file's name: a connector known to the cache, or "all". */
static int
control_refresh_name_ok(struct cfs_ctx *ctx, const char *name)
{
	if (strcmp(name, "all") == 0)
		return 1;
	if (!name_is_connector(name))
		return 0;
	/*
	 * Only names the cache knows (declared or fetched once): a stranger
	 * making up refresh/NAME names must not cost an inode each.
	 */
	return cache_is_known(ctx->cache, name);
}

/*
 * A forced refresh costs a request to the API each time, so only the files'
 * owner (uid=, or the mounting user) and root may ask for one; anyone else
 * who may read the mount would otherwise spend the app's rate limit.
 */
static int
control_may_refresh(const struct cfs_ctx *ctx, fuse_req_t req)
{
	const struct fuse_ctx *who = fuse_req_ctx(req);

	return who->uid == 0 || who->uid == ctx->cfg->uid;
}

/* One render of status.json or metrics, as a new inode's bytes. */
static int
control_render(struct cfs_ctx *ctx, enum node_kind kind, uint64_t *ino, size_t *size)
{
	struct status_process proc = {
		.mount_wall_ms = ctx->mount_wall_ms,
		.started_wall_ms = ctx->process_wall_ms,
		.pid = (long)getpid(),
		.supervisor_pid = ctx->supervisor_pid,
		.takeovers = ctx->state != NULL ?
		    handover_field(ctx->state, HANDOVER_TAKEOVERS) : 0,
	};
	struct buf b;
	enum cfs_err err;
	char *data;

	buf_init(&b, CONTROL_STATUS_MAX);
	if (kind == NODE_STATUS)
		err = status_render_json(ctx->cache, &proc, clock_wall_ms(), &b);
	else
		err = status_render_metrics(ctx->cache, &proc, clock_wall_ms(), &b);
	if (err != CFS_OK) {
		buf_reset(&b);
		return err_to_errno(err);
	}
	/* Plain memory: status holds no secret. */
	data = malloc(b.len + 1);
	if (data == NULL) {
		buf_reset(&b);
		return ENOMEM;
	}
	memcpy(data, b.data != NULL ? b.data : "", b.len);
	*size = b.len;
	buf_reset(&b);
	*ino = tree_ephemeral(ctx->tree, kind, NULL, data, *size);
	return *ino != 0 ? 0 : ENOMEM;
}

int
control_lookup(struct cfs_ctx *ctx, const struct tree_node *parent, const char *name,
    struct fuse_entry_param *e)
{
	enum node_kind kind;
	size_t size = 0;
	uint64_t ino = 0;
	int rc;

	memset(e, 0, sizeof(*e));
	e->generation = 1;
	kind = tree_child_kind(parent->kind, name);
	if (kind == NODE_REFRESH) {
		attr_dir(ctx, NULL, TREE_REFRESH_INO, ctx->mount_wall_ms, &e->attr);
		e->ino = TREE_REFRESH_INO;
		e->attr_timeout = e->entry_timeout = ATTR_STATIC_TIMEOUT;
		return 0;
	}
	if (parent->kind == NODE_CTL_DIR) {
		if (kind != NODE_STATUS && kind != NODE_METRICS)
			return ENOENT;
		rc = control_render(ctx, kind, &ino, &size);
		if (rc != 0)
			return rc;
	} else {
		if (!control_refresh_name_ok(ctx, name))
			return ENOENT;
		size = strcmp(name, "all") == 0 ? CONTROL_REFRESH_ALL_SIZE : CONTROL_REFRESH_SIZE;
		ino = tree_ephemeral(ctx->tree, NODE_REFRESH_FILE, name, NULL, 0);
		if (ino == 0)
			return ENOMEM;
	}
	/* Timeouts 0: every open looks again and gets a new inode. */
	e->ino = ino;
	attr_file(ctx, NULL, ino, size, clock_wall_ms(), &e->attr);
	return 0;
}

int
control_getattr(struct cfs_ctx *ctx, const struct tree_node *n, struct stat *st,
    double *timeout)
{
	size_t len = 0;
	int known = 0;

	*timeout = 0;
	if (n->kind == NODE_ROOT || n->kind == NODE_CTL_DIR || n->kind == NODE_REFRESH ||
	    n->kind == NODE_WORKSPACE_DIR) {
		attr_dir(ctx, NULL, n->ino, ctx->mount_wall_ms, st);
		*timeout = ATTR_STATIC_TIMEOUT;
		return 0;
	}
	if (tree_ctl_size(ctx->tree, n->ino, &len, &known) != 0)
		return ENOENT;
	if (!known)
		len = strcmp(n->key, "all") == 0 ? CONTROL_REFRESH_ALL_SIZE : CONTROL_REFRESH_SIZE;
	attr_file(ctx, NULL, n->ino, len, clock_wall_ms(), st);
	return 0;
}

/* Answer a READ whose outcome is known now: 1 when answered, 0 when not known yet. */
static int
control_answer_known(struct cfs_ctx *ctx, fuse_req_t req, uint64_t ino, size_t size,
    off_t off)
{
	char *copy = NULL;
	size_t len = 0;
	int err = 0, rc;

	rc = tree_ctl_slice(ctx->tree, ino, off < 0 ? 0 : (size_t)off, size, &copy, &len, &err);
	if (rc == 0)
		return 0;
	if (rc < 0)
		fuse_reply_err(req, ESTALE);	/* a previous server's look (ops.c OPS_STALE) */
	else if (err != 0)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, copy, len);
	free(copy);
	return 1;
}

/* Ctrl-C on a reader waiting for a refresh: it is answered EINTR at once. */
static void
control_interrupted(fuse_req_t req, void *arg)
{
	struct control_wait *w = arg;
	struct control *c = w->ctl;
	struct control_wait **pp;
	int answer = 0;

	pthread_mutex_lock(&c->lock);
	if (w->state == WAIT_NEW) {
		w->state = WAIT_INTERRUPTED;	/* control_read() answers it */
	} else if (w->state == WAIT_QUEUED) {
		for (pp = &c->waits; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		w->state = WAIT_CLAIMED;
		answer = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (answer) {
		fuse_reply_err(req, EINTR);
		free(w);
	}
}

/*
 * Visible to the next open: tell the kernel before answering. 0, or
 * ETIMEDOUT when the kernel could not be told in time (a notification held
 * up by a folder lock): the value is fetched but an open may still find
 * the old one for a while, and the reader must not be told otherwise.
 */
static int
control_sync(struct control *c, const char *name)
{
	if (notifier_sync(c->ctx->notifier, name, CONTROL_SYNC_MS) == 0)
		return 0;
	log_warnx("%s: refreshed, but the kernel was not told within %d s", name,
	    CONTROL_SYNC_MS / 1000);
	return ETIMEDOUT;
}

struct control_lines {
	struct control *ctl;
	struct buf out;
};

/* One line into b (names are short: a line never needs more than this). */
static void
control_append_line(struct buf *b, const char *fmt, const char *name, const char *what)
{
	char line[NAME_CONNECTION_MAX + 128];

	snprintf(line, sizeof(line), fmt, name, what);
	(void)buf_append_str(b, line);
}

static void
control_all_line(const char *name, enum cfs_err err, unsigned long long generation,
    const struct base44_result *res, void *arg)
{
	struct control_lines *l = arg;
	int rc = control_sync(l->ctl, name);
	char gen[32];

	(void)res;
	if (err != CFS_OK)
		rc = err_to_errno(err);
	snprintf(gen, sizeof(gen), "%llu", generation);
	if (rc == 0)
		control_append_line(&l->out, "%s generation %s\n", name, gen);
	else
		control_append_line(&l->out, "%s error: %s\n", name, strerror(rc));
}


static void
control_refresh_all(struct control *c, char **bytes, size_t *len, int *err)
{
	struct control_lines l;

	l.ctl = c;
	buf_init(&l.out, CONTROL_REFRESH_ALL_SIZE);
	/* Each connector is synced with the kernel as its line is written. */
	(void)cache_refresh_all(c->ctx->cache, control_all_line, &l, NULL);
	*err = 0;
	*len = l.out.len;
	*bytes = malloc(l.out.len + 1);
	if (*bytes == NULL) {
		*err = ENOMEM;
		*len = 0;
	} else {
		memcpy(*bytes, l.out.data != NULL ? l.out.data : "", l.out.len);
	}
	buf_reset(&l.out);
}

static void *
control_job_main(void *arg)
{
	struct control_job *job = arg;
	struct control *c = job->ctl;
	struct control_wait *w, **pp, *mine = NULL;
	struct base44_result res;
	unsigned long long generation = 0;
	enum cfs_err err;
	char *bytes = NULL;
	size_t len = 0;
	int rc = 0;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (strcmp(job->name, "all") == 0) {
		control_refresh_all(c, &bytes, &len, &rc);
	} else {
		err = cache_refresh(c->ctx->cache, job->name, &generation, &res, NULL);
		/* Synced either way: a 404 or 401/403 ends serving, and the kernel must know. */
		rc = control_sync(c, job->name);
		if (err != CFS_OK)
			rc = err_to_errno(err);
		if (rc == 0 && (bytes = malloc(NAME_CONNECTION_MAX + 40)) == NULL)
			rc = ENOMEM;
		if (rc == 0)
			len = (size_t)snprintf(bytes, NAME_CONNECTION_MAX + 40,
			    "%s generation %llu\n", job->name, generation);
	}
	tree_ctl_set(c->ctx->tree, job->ino, bytes, len, rc);
	/* Every reader of this inode waiting so far; later ones find the outcome. */
	pthread_mutex_lock(&c->lock);
	for (pp = &c->waits; *pp != NULL; ) {
		w = *pp;
		if (w->ino == job->ino) {
			*pp = w->next;
			w->state = WAIT_CLAIMED;
			w->next = mine;
			mine = w;
		} else {
			pp = &w->next;
		}
	}
	pthread_mutex_unlock(&c->lock);
	while (mine != NULL) {
		w = mine;
		mine = w->next;
		/* Waits out a concurrent interrupt callback; none runs after it. */
		fuse_req_interrupt_func(w->req, NULL, NULL);
		(void)control_answer_known(c->ctx, w->req, w->ino, w->size, w->off);
		free(w);
	}
	pthread_mutex_lock(&c->lock);
	if (--c->jobs == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	free(job);
	return NULL;
}

/* Start the refresh of a refresh file's inode; an errno when it cannot. */
static int
control_start_job(struct control *c, const struct tree_node *n)
{
	struct control_job *job;
	pthread_attr_t attr;
	pthread_t th;
	int rc;

	job = calloc(1, sizeof(*job));
	if (job == NULL)
		return ENOMEM;
	job->ctl = c;
	job->ino = n->ino;
	snprintf(job->name, sizeof(job->name), "%s", n->key);
	pthread_mutex_lock(&c->lock);
	if (c->stopping || c->jobs >= CONTROL_JOBS_MAX) {
		pthread_mutex_unlock(&c->lock);
		free(job);
		return c->stopping ? EINTR : EAGAIN;
	}
	c->jobs++;
	pthread_mutex_unlock(&c->lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &attr, control_job_main, job);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		pthread_mutex_lock(&c->lock);
		if (--c->jobs == 0)
			pthread_cond_broadcast(&c->idle);
		pthread_mutex_unlock(&c->lock);
		free(job);
		return EAGAIN;
	}
	return 0;
}

void
control_read(fuse_req_t req, struct cfs_ctx *ctx, const struct tree_node *n, size_t size,
    off_t off)
{
	struct control *c = ctx->control;
	struct control_wait *w;
	size_t len;
	int known, rc;

	if (n->kind == NODE_REFRESH_FILE && !control_may_refresh(ctx, req)) {
		fuse_reply_err(req, EACCES);
		return;
	}
	if (control_answer_known(ctx, req, n->ino, size, off))
		return;
	/* The first reader of this inode starts its refresh; a failed start is its outcome. */
	if (tree_ctl_claim(ctx->tree, n->ino) && (rc = control_start_job(c, n)) != 0)
		tree_ctl_set(ctx->tree, n->ino, NULL, 0, rc);
	/* Wait for the outcome without holding a thread. */
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	w->req = req;
	w->ino = n->ino;
	w->size = size;
	w->off = off;
	w->ctl = c;
	w->state = WAIT_NEW;
	fuse_req_interrupt_func(req, control_interrupted, w);
	/*
	 * Whether the outcome is known and whether w is published are decided
	 * under c->lock, which the job takes only after setting the outcome:
	 * either we see the outcome here, or the job's sweep finds w. Once w
	 * is published it belongs to the sweep or the interrupt callback, and
	 * this thread never touches it again.
	 */
	pthread_mutex_lock(&c->lock);
	/* A node forgotten meanwhile (tree_ctl_size() fails) is answered ENOENT below. */
	known = 1;
	if (w->state != WAIT_INTERRUPTED && tree_ctl_size(ctx->tree, n->ino, &len, &known) != 0)
		known = 1;
	if (!known) {
		w->state = WAIT_QUEUED;
		w->next = c->waits;
		c->waits = w;
		pthread_mutex_unlock(&c->lock);
		return;
	}
	pthread_mutex_unlock(&c->lock);
	fuse_req_interrupt_func(req, NULL, NULL);
	if (w->state == WAIT_INTERRUPTED)
		fuse_reply_err(req, EINTR);
	else
		(void)control_answer_known(ctx, req, w->ino, w->size, w->off);
	free(w);
}

struct control_dirfill {
	int (*add)(void *arg, const char *name, uint64_t ino, mode_t type);
	void *arg;
	int rc;
};

static void
control_add_known(const struct cache_stat *st, void *arg)
{
	struct control_dirfill *f = arg;

	/* refresh/NAME is for app connectors: a name with '/' is no directory entry. */
	if (st->ever_fetched && f->rc == 0 && name_workspace_id(st->name) == NULL)
		f->rc = f->add(f->arg, st->name, TREE_REFRESH_INO, S_IFREG);
}

int
control_fill_dir(struct cfs_ctx *ctx, const struct tree_node *dir,
    int (*add)(void *arg, const char *name, uint64_t ino, mode_t type), void *arg)
{
	struct control_dirfill f = { add, arg, 0 };
	const struct tree_name *names;
	size_t i, n;

	if (dir->kind == NODE_CTL_DIR) {
		/* Each look at a file is its own inode: their numbers here are placeholders. */
		names = tree_children(NODE_CTL_DIR, &n);
		for (i = 0; i < n && f.rc == 0; i++)
			f.rc = names[i].kind == NODE_REFRESH ?
			    add(arg, names[i].name, TREE_REFRESH_INO, S_IFDIR) :
			    add(arg, names[i].name, TREE_CTL_INO, S_IFREG);
		return f.rc;
	}
	f.rc = add(arg, "all", TREE_REFRESH_INO, S_IFREG);
	cache_foreach(ctx->cache, control_add_known, &f);
	return f.rc;
}
