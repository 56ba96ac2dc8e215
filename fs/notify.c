/*
 * notify.c: a small queue and one thread that tells the kernel a connector
 * changed. A changed file is a new inode (tree.h), so the names are
 * invalidated (the next open looks them up and finds the new inode), and
 * the pages of the older inodes are dropped so that a reader still holding
 * one asks again and is refused if the connector's serving has ended.
 * ENOENT (not cached), EBADF and ENODEV (unmounting) are expected.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "notify.h"

struct notify_item {
	struct notify_item *next;
	unsigned long long ticket;	/* done once n->done reaches it */
	char name[NAME_CONNECTION_MAX + 1];
};

struct notifier {
	struct cfs_ctx *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t progress;	/* done moved, or stopping */
	struct notify_item *head, *tail;
	int stopping;
	int joined;
	unsigned long long queued;	/* items ever queued: the last ticket */
	unsigned long long done;	/* items handled, in queue order */
};

static void
notify_report(const char *what, uint64_t ino, int rc)
{
	if (rc != 0 && rc != -ENOENT && rc != -EBADF && rc != -ENODEV)
		log_debug("invalidate %s of inode %llu: %s", what, (unsigned long long)ino,
		    strerror(-rc));
}

static void
notify_entry(struct cfs_ctx *ctx, uint64_t parent, const char *name)
{
	notify_report("entry", parent,
	    fuse_lowlevel_notify_inval_entry(ctx->se, parent, name, strlen(name)));
}

static void
notify_inode(struct cfs_ctx *ctx, uint64_t ino)
{
	notify_report("inode", ino, fuse_lowlevel_notify_inval_inode(ctx->se, ino, 0, 0));
}

static void
notifier_invalidate_now(struct cfs_ctx *ctx, const char *name)
{
	const struct tree_name *names;
	struct tree_connector *c = tree_connector_find(ctx->tree, name);
	unsigned long long generation = ~0ULL;	/* unservable: every inode is old */
	struct tree_file_ref *refs;
	struct cache_view v;
	size_t i, n, nnames;
	int have = 0;

	if (ctx->se == NULL)
		return;
	if (c == NULL) {
		/*
		 * Never a folder: the kernel can only remember the name as absent
		 * (a 404 kept for negative_ttl). Forget that, so a refresh or a
		 * SIGHUP that finds it is seen at once.
		 */
		const char *id = name_workspace_id(name);

		if (id != NULL)
			notify_entry(ctx, TREE_WORKSPACE_INO, id);
		else
			notify_entry(ctx, TREE_ROOT_INO, name);
		return;
	}
	if (cache_peek(ctx->cache, name, &v) == CFS_OK) {
		generation = v.generation;
		have = 1;
	}
	if (tree_connector_files(ctx->tree, c, generation, &refs, &n) != 0) {
		log_warnx("%s: out of memory invalidating kernel caches", name);
		if (have)
			cache_view_release(&v);
		return;
	}
	/*
	 * An inode of an older value is deleted under its name, as if replaced
	 * by rename: the kernel drops the name, and drops (FORGETs) the inode
	 * as soon as no open file holds it.
	 */
	for (i = 0; i < n; i++) {
		if (refs[i].generation < generation)
			notify_report("entry", refs[i].ino,
			    fuse_lowlevel_notify_delete(ctx->se, refs[i].parent, refs[i].ino,
			    refs[i].name, strlen(refs[i].name)));
	}
	/* Names the kernel may remember as absent, or as another inode. */
	names = tree_children(NODE_CONN_DIR, &nnames);
	for (i = 0; i < nnames; i++)
		if (names[i].kind != NODE_CONFIG_DIR)
			notify_entry(ctx, c->dir->ino, names[i].name);
	if (have) {
		for (i = 0; i < v.value->nkeys; i++)
			if (v.value->keys[i].safe)
				notify_entry(ctx, c->config_dir->ino, v.value->keys[i].name);
		cache_view_release(&v);
	}
	notify_inode(ctx, c->config_dir->ino);
	/* Pages of every inode: an open file re-reads, and is refused if serving ended. */
	for (i = 0; i < n; i++)
		notify_inode(ctx, refs[i].ino);
	free(refs);
}

static void *
notifier_main(void *arg)
{
	struct notifier *n = arg;
	struct notify_item *it;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		it = n->head;
		if (it == NULL) {
			pthread_cond_wait(&n->wake, &n->lock);
			continue;
		}
		n->head = it->next;
		if (n->head == NULL)
			n->tail = NULL;
		pthread_mutex_unlock(&n->lock);
		notifier_invalidate_now(n->ctx, it->name);
		free(it);
		pthread_mutex_lock(&n->lock);
		n->done++;
		pthread_cond_broadcast(&n->progress);
	}
	pthread_cond_broadcast(&n->progress);
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

struct notifier *
notifier_start(struct cfs_ctx *ctx)
{
	struct notifier *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->ctx = ctx;
	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->wake, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&n->progress, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
		pthread_cond_destroy(&n->progress);
		pthread_cond_destroy(&n->wake);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return NULL;
	}
	return n;
}

void
notifier_halt(struct notifier *n)
{
	int join;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	join = !n->joined;
	n->joined = 1;
	pthread_cond_signal(&n->wake);
	pthread_cond_broadcast(&n->progress);
	pthread_mutex_unlock(&n->lock);
	if (join)
		pthread_join(n->thread, NULL);
}

void
notifier_stop(struct notifier **np)
{
	struct notifier *n;
	struct notify_item *it, *next;

	if (np == NULL || *np == NULL)
		return;
	n = *np;
	*np = NULL;
	notifier_halt(n);
	for (it = n->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	pthread_cond_destroy(&n->progress);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

/* Queue name (once: an item not yet started covers a later change too); its ticket, 0 if none. */
static unsigned long long
notifier_queue(struct notifier *n, const char *name)
{
	struct notify_item *it, *q;
	unsigned long long ticket;

	it = calloc(1, sizeof(*it));
	if (it == NULL) {
		log_warnx("%s: out of memory queueing a cache invalidation", name);
		return 0;
	}
	snprintf(it->name, sizeof(it->name), "%s", name);
	pthread_mutex_lock(&n->lock);
	if (n->stopping) {
		pthread_mutex_unlock(&n->lock);
		free(it);
		return 0;
	}
	for (q = n->head; q != NULL; q = q->next) {
		if (strcmp(q->name, name) == 0) {	/* already queued */
			ticket = q->ticket;
			pthread_mutex_unlock(&n->lock);
			free(it);
			return ticket;
		}
	}
	it->ticket = ticket = ++n->queued;
	if (n->tail != NULL)
		n->tail->next = it;
	else
		n->head = it;
	n->tail = it;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	return ticket;
}

void
notifier_push(struct notifier *n, const char *name)
{
	if (n != NULL)
		(void)notifier_queue(n, name);
}

int
notifier_sync(struct notifier *n, const char *name, long timeout_ms)
{
	unsigned long long ticket;
	struct timespec deadline;
	int rc = 0;

	if (n == NULL || (ticket = notifier_queue(n, name)) == 0)
		return -1;
	deadline = clock_timespec(clock_mono_ms() + timeout_ms);
	pthread_mutex_lock(&n->lock);
	while (n->done < ticket && !n->stopping && rc == 0)
		rc = pthread_cond_timedwait(&n->progress, &n->lock, &deadline);
	rc = n->done >= ticket ? 0 : -1;
	pthread_mutex_unlock(&n->lock);
	return rc;
}

unsigned long long
notifier_count(struct notifier *n)
{
	unsigned long long c;

	pthread_mutex_lock(&n->lock);
	c = n->done;
	pthread_mutex_unlock(&n->lock);
	return c;
}
