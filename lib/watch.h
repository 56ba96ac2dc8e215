/*
 * watch.h: notices that the value behind a connectorfs path changed, for
 * `connectorfs wait` and `connectorfs exec`, from the files alone (so it
 * works on a connector folder bind-mounted into a container).
 *
 * A value file is a new inode whenever its value changes, so a path's
 * identity (device, inode, size, mtime) tells a change; a connector folder
 * is watched through its connection.json, which holds every value. inotify
 * wakes the watcher at once when the kernel still has the name cached;
 * otherwise the look every WATCH_TICK_MS finds it. That look is also a
 * reader's: it reaches the daemon once per attribute timeout, so the
 * connectors watched are refreshed about once per TTL, never more.
 */
#ifndef CFS_WATCH_H
#define CFS_WATCH_H

#include <stddef.h>

#include "err.h"

#define WATCH_TICK_MS	1000

struct watch_set;

enum watch_want {
	WATCH_VALUE_OR_FOLDER,	/* wait: a value file or a connector folder */
	WATCH_FOLDER		/* exec: connector folders only */
};

/*
 * Resolve and look at each path. CFS_ERR_INVALID with a one-line reason
 * naming the path in msg, or CFS_ERR_NO_MEMORY. inotify is optional: without
 * it (no instance left for this user) the ticks alone find a change.
 */
enum cfs_err watch_set_new(struct watch_set **out, char *const paths[], size_t n,
    enum watch_want want, char *msg, size_t msgsz);

/* The inotify descriptor to poll() for input, or -1. */
int watch_set_fd(const struct watch_set *ws);

/*
 * Read the pending inotify events and look at every path again: the number
 * of paths whose value changed since the last snapshot (a path that no
 * longer exists has changed), or -1 with msg when a path can no longer be
 * looked at (the mount is gone). A lookup that fails for a while (EIO while
 * the API is down) is not a change.
 */
int watch_set_check(struct watch_set *ws, char *msg, size_t msgsz);

size_t watch_set_count(const struct watch_set *ws);
const char *watch_set_path(const struct watch_set *ws, size_t i);	/* as given */
int watch_set_changed(const struct watch_set *ws, size_t i);	/* by the last check */

/* Take what each path shows now as the reference for the next checks. */
void watch_set_rearm(struct watch_set *ws);

void watch_set_free(struct watch_set **ws);

#endif
