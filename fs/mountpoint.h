/*
 * mountpoint.h: checks on the mountpoint before anything is mounted, and
 * recovery from a stale FUSE mount that a killed daemon left behind.
 */
#ifndef CFS_MOUNTPOINT_H
#define CFS_MOUNTPOINT_H

#include <stddef.h>

/*
 * Resolve path to an absolute folder we can mount on (or check that a
 * /dev/fd/N path is an open /dev/fuse descriptor, kept as given). A stale FUSE mount
 * there ("Transport endpoint is not connected") is detached first, with a
 * log line. Returns 0 with *resolved malloc'ed, or -1 with a reason in msg.
 */
int mountpoint_prepare(const char *path, char **resolved, char *msg, size_t msgsz);

/*
 * N when path is "/dev/fd/N": libfuse's convention for a /dev/fuse
 * descriptor a privileged helper opened and mounted (mount -o fd=N) and
 * handed over, so that the daemon needs no privilege to mount. Else -1.
 */
int mountpoint_fuse_fd(const char *path);

/*
 * Detach the mount at path (umount2 MNT_DETACH as root, else
 * `fusermount3 -uz`). 0, or -1 with errno.
 */
int mountpoint_detach(const char *path);

#endif
