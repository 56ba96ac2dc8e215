/*
 * watch.c: a set of paths and what each showed last. It never opens a value
 * file: an open file keeps the kernel's name for it alive, which would hold
 * back the IN_DELETE_SELF every other watcher of that file is waiting for.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "watch.h"

/* Every way a value file can be replaced or touched. */
#define WATCH_EVENTS	(IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY | IN_CLOSE_WRITE)

struct watch_identity {
	int exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct watch_entry {
	char *arg;		/* as given */
	char *file;		/* what is looked at */
	struct watch_identity seen;
	int wd;			/* -1: none */
	int changed;
};

struct watch_set {
	int fd;			/* inotify, or -1 */
	size_t n;
	struct watch_entry *e;
};

enum watch_look { WATCH_LOOK_OK, WATCH_LOOK_TRANSIENT, WATCH_LOOK_FATAL };

/* Errors that mean the path cannot be looked at again, as opposed to a moment's trouble. */
static int
watch_errno_fatal(int e)
{
	return e == ENOTCONN || e == EACCES || e == EPERM || e == ELOOP || e == ENAMETOOLONG ||
	    e == ENODEV || e == ENXIO;
}

static enum watch_look
watch_look(const char *file, struct watch_identity *id, int *err)
{
	struct stat st;

	memset(id, 0, sizeof(*id));
	if (stat(file, &st) != 0) {
		*err = errno;
		if (errno == ENOENT || errno == ENOTDIR)
			return WATCH_LOOK_OK;	/* gone: exists = 0 */
		return watch_errno_fatal(errno) ? WATCH_LOOK_FATAL : WATCH_LOOK_TRANSIENT;
	}
	id->exists = 1;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->size = st.st_size;
	id->mtime = st.st_mtim;
	return WATCH_LOOK_OK;
}

/*
 * The same value: connectorfs moves a file's mtime on every change of its
 * value (strictly increasing), while a new inode alone can mean the same
 * value shown afresh (SIGHUP makes the daemon drop every name). A file
 * replaced by rename with the same size and mtime is therefore not seen.
 */
static int
watch_same_value(const struct watch_identity *a, const struct watch_identity *b)
{
	return a->exists == b->exists && a->size == b->size &&
	    a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int
watch_same_inode(const struct watch_identity *a, const struct watch_identity *b)
{
	return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino;
}

/*
 * Watch what the name shows now, and let go of the inode watched before:
 * a mark pins its inode, and with it the daemon's copy of an old value.
 */
static void
watch_arm(struct watch_set *ws, struct watch_entry *e)
{
	int wd;

	if (ws->fd < 0)
		return;
	wd = inotify_add_watch(ws->fd, e->file, WATCH_EVENTS);
	if (e->wd >= 0 && e->wd != wd)
		(void)inotify_rm_watch(ws->fd, e->wd);
	e->wd = wd;
}

/*
 * A path that no longer exists: its connector went away, or its whole
 * mount did. The nearest folder above it that still exists tells which: in
 * the same filesystem, the connector is gone (a change); elsewhere (the
 * mountpoint's own folder), the mount is.
 */
static int
watch_mount_gone(const char *file, dev_t dev)
{
	char path[PATH_MAX], *slash;
	struct stat st;

	if (snprintf(path, sizeof(path), "%s", file) >= (int)sizeof(path))
		return 0;
	for (;;) {
		slash = strrchr(path, '/');
		if (slash == NULL)
			return stat(".", &st) == 0 && st.st_dev != dev;
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(path, &st) == 0)
			return st.st_dev != dev;
		if (errno != ENOENT || strcmp(path, "/") == 0)
			return 0;
	}
}

/* What to look at for path: itself, or a connector folder's connection.json. */
static enum cfs_err
watch_resolve(struct watch_entry *e, enum watch_want want, char *msg, size_t msgsz)
{
	struct stat st;
	size_t len;

	if (stat(e->arg, &st) != 0) {
		snprintf(msg, msgsz, "%s: %s", e->arg, strerror(errno));
		return CFS_ERR_INVALID;
	}
	if (S_ISREG(st.st_mode) && want == WATCH_VALUE_OR_FOLDER) {
		e->file = strdup(e->arg);
		return e->file != NULL ? CFS_OK : CFS_ERR_NO_MEMORY;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, msgsz, "%s: not a connector folder%s", e->arg,
		    want == WATCH_VALUE_OR_FOLDER ? " or value file" : "");
		return CFS_ERR_INVALID;
	}
	len = strlen(e->arg) + sizeof("/connection.json");
	e->file = malloc(len);
	if (e->file == NULL)
		return CFS_ERR_NO_MEMORY;
	snprintf(e->file, len, "%s/connection.json", e->arg);
	if (stat(e->file, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msgsz, "%s: not a connector folder (no connection.json in it)",
		    e->arg);
		return CFS_ERR_INVALID;
	}
	return CFS_OK;
}

enum cfs_err
watch_set_new(struct watch_set **out, char *const paths[], size_t n, enum watch_want want,
    char *msg, size_t msgsz)
{
	struct watch_set *ws;
	enum cfs_err err = CFS_OK;
	size_t i;
	int e;

	*out = NULL;
	snprintf(msg, msgsz, "out of memory");
	ws = calloc(1, sizeof(*ws));
	if (ws == NULL)
		return CFS_ERR_NO_MEMORY;
	ws->e = calloc(n ? n : 1, sizeof(*ws->e));
	if (ws->e == NULL) {
		free(ws);
		return CFS_ERR_NO_MEMORY;
	}
	ws->n = n;
	ws->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	for (i = 0; i < n; i++)
		ws->e[i].wd = -1;
	for (i = 0; i < n && err == CFS_OK; i++) {
		ws->e[i].arg = strdup(paths[i]);
		if (ws->e[i].arg == NULL) {
			err = CFS_ERR_NO_MEMORY;
			break;
		}
		err = watch_resolve(&ws->e[i], want, msg, msgsz);
		if (err == CFS_OK && watch_look(ws->e[i].file, &ws->e[i].seen, &e) !=
		    WATCH_LOOK_OK) {
			snprintf(msg, msgsz, "%s: %s", ws->e[i].arg, strerror(e));
			err = CFS_ERR_INVALID;
		}
	}
	if (err != CFS_OK) {
		watch_set_free(&ws);
		return err;
	}
	for (i = 0; i < n; i++)
		watch_arm(ws, &ws->e[i]);
	*out = ws;
	return CFS_OK;
}

int
watch_set_fd(const struct watch_set *ws)
{
	return ws->fd;
}

/* Empty the inotify queue; which paths it named does not matter, every one is looked at. */
static void
watch_drain(struct watch_set *ws)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	if (ws->fd < 0)
		return;
	while (read(ws->fd, buf, sizeof(buf)) > 0)
		;
}

int
watch_set_check(struct watch_set *ws, char *msg, size_t msgsz)
{
	struct watch_identity now;
	int changed = 0, e = 0;
	size_t i;

	watch_drain(ws);
	for (i = 0; i < ws->n; i++) {
		struct watch_entry *w = &ws->e[i];

		switch (watch_look(w->file, &now, &e)) {
		case WATCH_LOOK_FATAL:
			snprintf(msg, msgsz, "%s: %s", w->arg, strerror(e));
			return -1;
		case WATCH_LOOK_TRANSIENT:
			w->changed = 0;
			continue;
		case WATCH_LOOK_OK:
			break;
		}
		if (!now.exists && w->seen.exists && watch_mount_gone(w->file, w->seen.dev)) {
			snprintf(msg, msgsz, "%s: the mount is gone", w->arg);
			return -1;
		}
		w->changed = !watch_same_value(&now, &w->seen);
		/*
		 * A watch dies with the inode it is on (IN_IGNORED after
		 * IN_DELETE_SELF): put it on what the name shows now. A new
		 * inode with the same value is the reference from now on.
		 */
		if (now.exists && (!watch_same_inode(&now, &w->seen) || w->wd < 0)) {
			watch_arm(ws, w);
			if (!w->changed)
				w->seen = now;
		}
		changed += w->changed;
	}
	return changed;
}

size_t
watch_set_count(const struct watch_set *ws)
{
	return ws->n;
}

const char *
watch_set_path(const struct watch_set *ws, size_t i)
{
	return ws->e[i].arg;
}

int
watch_set_changed(const struct watch_set *ws, size_t i)
{
	return ws->e[i].changed;
}

void
watch_set_rearm(struct watch_set *ws)
{
	struct watch_identity now;
	size_t i;
	int e;

	for (i = 0; i < ws->n; i++) {
		if (watch_look(ws->e[i].file, &now, &e) == WATCH_LOOK_OK)
			ws->e[i].seen = now;
		ws->e[i].changed = 0;
		watch_arm(ws, &ws->e[i]);
	}
}

void
watch_set_free(struct watch_set **wsp)
{
	struct watch_set *ws;
	size_t i;

	if (wsp == NULL || *wsp == NULL)
		return;
	ws = *wsp;
	*wsp = NULL;
	for (i = 0; i < ws->n; i++) {
		free(ws->e[i].arg);
		free(ws->e[i].file);
	}
	if (ws->fd >= 0)
		close(ws->fd);
	free(ws->e);
	free(ws);
}
