/*
 * audit.c: the line is built in memory and written with one write() to an
 * O_APPEND descriptor, so concurrent openers never interleave and a crash
 * leaves only whole lines. A failed write is logged once, not fatal: reads
 * must not start failing because a log disk filled up.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "audit.h"
#include "buf.h"
#include "jsonw.h"
#include "log.h"

#define AUDIT_LINE_MAX 8192

struct audit {
	int fd;
	int warned;
};

enum cfs_err
audit_open(const char *path, struct audit **out, char *msg, size_t msgsz)
{
	struct audit *a;
	int fd;

	*out = NULL;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		snprintf(msg, msgsz, "audit log %s: %s", path, strerror(errno));
		return CFS_ERR_INVALID;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		close(fd);
		snprintf(msg, msgsz, "out of memory");
		return CFS_ERR_NO_MEMORY;
	}
	a->fd = fd;
	*out = a;
	return CFS_OK;
}

enum cfs_err
audit_record(struct audit *a, uid_t uid, gid_t gid, pid_t pid, const char *path)
{
	char exe[PATH_MAX], proc[64], head[160];
	struct buf b;
	enum cfs_err err;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/%ld/exe", (long)pid);
	n = readlink(proc, exe, sizeof(exe) - 1);
	if (n < 0)
		n = snprintf(exe, sizeof(exe), "?");
	exe[n] = '\0';
	buf_init(&b, AUDIT_LINE_MAX);
	err = buf_append_str(&b, "{\"time\":");
	if (err == CFS_OK)
		err = jsonw_time(&b, clock_wall_ms());
	snprintf(head, sizeof(head), ",\"uid\":%lu,\"gid\":%lu,\"pid\":%ld,\"exe\":",
	    (unsigned long)uid, (unsigned long)gid, (long)pid);
	if (err == CFS_OK)
		err = buf_append_str(&b, head);
	if (err == CFS_OK)
		err = jsonw_string(&b, exe, (size_t)n);
	if (err == CFS_OK)
		err = buf_append_str(&b, ",\"path\":");
	if (err == CFS_OK)
		err = jsonw_string(&b, path, strlen(path));
	if (err == CFS_OK)
		err = buf_append_str(&b, "}\n");
	if (err == CFS_OK && write(a->fd, b.data, b.len) != (ssize_t)b.len) {
		err = CFS_ERR_TRANSPORT;
		if (!__atomic_exchange_n(&a->warned, 1, __ATOMIC_RELAXED))
			log_warn("audit log write failed (further failures not logged)");
	}
	buf_reset(&b);
	return err;
}

void
audit_close(struct audit **ap)
{
	if (ap == NULL || *ap == NULL)
		return;
	close((*ap)->fd);
	free(*ap);
	*ap = NULL;
}
