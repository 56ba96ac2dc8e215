/*
 * notify.c: a small queue and one thread that calls
 * fuse_lowlevel_notify_inval_inode() for each file of a changed connector.
 * Dropping the kernel's pages and attributes is enough: the next access asks
 * GETATTR, sees the new size and mtime, and READ serves the new bytes.
 * ENOENT (inode not cached), EBADF and ENODEV (unmounting) are expected.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "notify.h"

struct notify_item {
	struct notify_item *next;
	char name[NAME_CONNECTOR_MAX + 1];
};

struct notifier {
	struct cfs_ctx *ctx;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct notify_item *head, *tail;
	int stopping;
	unsigned long long done;
};

static void
notify_inval(struct cfs_ctx *ctx, struct tree_node *node)
{
	int rc;

	if (node == NULL)
		return;
	rc = fuse_lowlevel_notify_inval_inode(ctx->se, node->ino, 0, 0);
	if (rc != 0 && rc != -ENOENT && rc != -EBADF && rc != -ENODEV)
		log_debug("invalidate inode %llu: %s", (unsigned long long)node->ino,
		    strerror(-rc));
}

void
notifier_invalidate_now(struct cfs_ctx *ctx, const char *name)
{
	struct tree_connector *c = tree_connector_find(ctx->tree, name);
	struct tree_node **keys = NULL;
	size_t i, n = 0;

	if (c == NULL || ctx->se == NULL)
		return;
	/* Copy the key list: it may grow while we call into the kernel. */
	tree_lock(ctx->tree);
	if (c->nkeys > 0 && (keys = malloc(c->nkeys * sizeof(*keys))) != NULL) {
		memcpy(keys, c->keys, c->nkeys * sizeof(*keys));
		n = c->nkeys;
	}
	tree_unlock(ctx->tree);
	notify_inval(ctx, c->token);
	notify_inval(ctx, c->json);
	notify_inval(ctx, c->env);
	notify_inval(ctx, c->config_dir);
	for (i = 0; i < n; i++)
		notify_inval(ctx, keys[i]);
	free(keys);
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
	}
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
	if (pthread_create(&n->thread, NULL, notifier_main, n) != 0) {
		pthread_cond_destroy(&n->wake);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return NULL;
	}
	return n;
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
	pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);
	for (it = n->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

void
notifier_push(struct notifier *n, const char *name)
{
	struct notify_item *it, *q;

	if (n == NULL)
		return;
	it = calloc(1, sizeof(*it));
	if (it == NULL) {
		log_warnx("%s: out of memory queueing a cache invalidation", name);
		return;
	}
	snprintf(it->name, sizeof(it->name), "%s", name);
	pthread_mutex_lock(&n->lock);
	for (q = n->head; q != NULL; q = q->next) {
		if (strcmp(q->name, name) == 0) {	/* already queued */
			pthread_mutex_unlock(&n->lock);
			free(it);
			return;
		}
	}
	if (n->tail != NULL)
		n->tail->next = it;
	else
		n->head = it;
	n->tail = it;
	pthread_cond_signal(&n->wake);
	pthread_mutex_unlock(&n->lock);
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
