/*
 * mountpoint.c: a stale mount is recognised by ENOTCONN from a lookup and is
 * detached with umount2(MNT_DETACH) when we are root, or with
 * `fusermount3 -uz` otherwise (run without a shell, never with a token in
 * its environment: it gets an empty one).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "mountpoint.h"

/* /dev/fuse is the misc device 10:229 wherever it is (or is not) in /dev. */
#define MOUNTPOINT_FUSE_MAJOR	10
#define MOUNTPOINT_FUSE_MINOR	229

int
mountpoint_fuse_fd(const char *path)
{
	const char *p;
	long n = 0;

	if (strncmp(path, "/dev/fd/", 8) != 0 || path[8] == '\0')
		return -1;
	for (p = path + 8; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || n > INT_MAX / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return n <= INT_MAX ? (int)n : -1;
}

/* The checks for /dev/fd/N: the descriptor is open and is /dev/fuse. */
static int
mountpoint_check_fd(const char *path, int fd, char **resolved, char *msg, size_t msgsz)
{
	struct pollfd pfd;
	struct stat st;

	if (fd <= 2) {
		/* Going to the background puts /dev/null there. */
		snprintf(msg, msgsz, "mountpoint %s: descriptors 0-2 are stdin, stdout and stderr; "
		    "pass /dev/fuse as descriptor 3 or above", path);
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, msgsz, "mountpoint %s: descriptor %d is not open (the helper that "
		    "mounted /dev/fuse with fd=%d must pass it on)", path, fd, fd);
		return -1;
	}
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != MOUNTPOINT_FUSE_MAJOR ||
	    minor(st.st_rdev) != MOUNTPOINT_FUSE_MINOR) {
		snprintf(msg, msgsz, "mountpoint %s: descriptor %d is not /dev/fuse", path, fd);
		return -1;
	}
	/*
	 * /dev/fuse polls POLLERR until a mount is made with it and again once
	 * that mount is gone: serving it would end at once, or never begin.
	 */
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLERR) != 0) {
		snprintf(msg, msgsz, "mountpoint %s: descriptor %d is /dev/fuse but no mount uses "
		    "it (mount it with -o fd=%d first, and keep the mount)", path, fd, fd);
		return -1;
	}
	*resolved = strdup(path);
	if (*resolved == NULL) {
		snprintf(msg, msgsz, "out of memory");
		return -1;
	}
	return 0;
}

int
mountpoint_detach(const char *path)
{
	char prog[] = "fusermount3", flag[] = "-uz", envpath[] = "PATH=/usr/bin:/bin";
	char *argv[4], *envp[2];
	int status;
	pid_t pid;

	if (geteuid() == 0)
		return umount2(path, MNT_DETACH);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		argv[0] = prog;
		argv[1] = flag;
		argv[2] = (char *)(uintptr_t)path;
		argv[3] = NULL;
		envp[0] = envpath;
		envp[1] = NULL;
		execve("/usr/bin/fusermount3", argv, envp);
		execve("/bin/fusermount3", argv, envp);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

/*
 * ENOTCONN from a lookup means a FUSE mount whose daemon is gone. stat() of
 * the mountpoint alone can still succeed from attributes the kernel cached,
 * so a name that cannot be cached is looked up as well.
 */
static int
mountpoint_is_stale(const char *path)
{
	char probe[PATH_MAX];
	struct stat st;

	if (stat(path, &st) != 0)
		return errno == ENOTCONN;
	if (!S_ISDIR(st.st_mode))
		return 0;
	snprintf(probe, sizeof(probe), "%s/.connectorfs-probe-%ld", path, (long)getpid());
	return stat(probe, &st) != 0 && errno == ENOTCONN;
}

int
mountpoint_prepare(const char *path, char **resolved, char *msg, size_t msgsz)
{
	struct stat st;
	int fd;

	*resolved = NULL;
	fd = mountpoint_fuse_fd(path);
	if (fd >= 0)
		return mountpoint_check_fd(path, fd, resolved, msg, msgsz);
	if (mountpoint_is_stale(path)) {
		log_warnx("mountpoint %s: stale FUSE mount (its daemon is gone); "
		    "detaching it", path);
		if (mountpoint_detach(path) != 0) {
			snprintf(msg, msgsz, "mountpoint %s: stale mount that cannot be "
			    "detached: %s", path, strerror(errno));
			return -1;
		}
	}
	*resolved = realpath(path, NULL);
	if (*resolved == NULL) {
		snprintf(msg, msgsz, "mountpoint %s: %s", path, strerror(errno));
		return -1;
	}
	if (stat(*resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(msg, msgsz, "mountpoint %s: not a folder", path);
		free(*resolved);
		*resolved = NULL;
		return -1;
	}
	return 0;
}
