/*
 * audit.h: the audit=PATH log, one JSON line per open of a connector file:
 * time, uid, gid, pid, the reader's executable and the path. Never a value.
 */
#ifndef CFS_AUDIT_H
#define CFS_AUDIT_H

#include <sys/types.h>

#include "err.h"

struct audit;

/* Open (create, append) the log; a reason in msg when that fails. */
enum cfs_err audit_open(const char *path, struct audit **out, char *msg, size_t msgsz);

/*
 * Append one line. exe is looked up in /proc/PID/exe; "?" when it cannot be
 * read (the process may be gone). Safe from many threads: one write() each.
 */
enum cfs_err audit_record(struct audit *a, uid_t uid, gid_t gid, pid_t pid,
    const char *path);

void audit_close(struct audit **a);

#endif
