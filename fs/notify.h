/*
 * notify.h: tells the kernel that a connector's files changed behind its
 * caches. Runs on its own thread because an invalidation must never be made
 * from inside a request the kernel may be holding locks for.
 */
#ifndef CFS_NOTIFY_H
#define CFS_NOTIFY_H

#include "ctx.h"

struct notifier *notifier_start(struct cfs_ctx *ctx);

/*
 * Stop the thread and join it, keeping the notifier's memory: later pushes
 * and syncs do nothing. Call it while the FUSE loop still answers requests:
 * an invalidation may wait for a folder lock held by a request in the
 * queue, and with nobody left to answer it would wait forever.
 */
void notifier_halt(struct notifier *n);

/* Halt, then free; queued names are dropped. NULL accepted. */
void notifier_stop(struct notifier **n);

/* Queue one connector for invalidation (any thread, never blocks long). */
void notifier_push(struct notifier *n, const char *name);

/*
 * Queue one connector and wait until the kernel has been told (bounded by
 * timeout_ms). Never call it from a FUSE request handler: the notifier may
 * need a folder lock that the kernel holds for a request waiting behind it.
 * Returns 0 once done, -1 on timeout or when stopping.
 */
int notifier_sync(struct notifier *n, const char *name, long timeout_ms);

/* Invalidations made so far (status and tests). */
unsigned long long notifier_count(struct notifier *n);

#endif
