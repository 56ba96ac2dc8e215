/*
 * sdnotify.c: $NOTIFY_SOCKET is a path, or an abstract name when it starts
 * with '@'. The message is small and sent once per state change, so a
 * failure is only logged: readiness is systemd's concern, not the mount's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

/* state, with fd as SCM_RIGHTS when fd >= 0. */
static int
sdnotify_sendmsg(const char *state, int fdpass)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t salen;
	size_t n;
	int fd, rc = -1, passfd = fdpass;

	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket path", path);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_warn("NOTIFY_SOCKET: socket");
		return -1;
	}
	{
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int))];
		} control;
		struct iovec iov = { (void *)(uintptr_t)state, strlen(state) };
		struct msghdr mh;

		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &sa;
		mh.msg_namelen = salen;
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		if (passfd >= 0) {
			struct cmsghdr *cm;

			memset(&control, 0, sizeof(control));
			mh.msg_control = control.buf;
			mh.msg_controllen = sizeof(control.buf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &passfd, sizeof(int));
		}
		if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
			log_warn("NOTIFY_SOCKET %s: send", path);
		else
			rc = 1;
	}
	close(fd);
	return rc;
}

int
sdnotify_send(const char *state)
{
	return sdnotify_sendmsg(state, -1);
}

int
sdnotify_store_fd(const char *name, int fd)
{
	char state[128];

	snprintf(state, sizeof(state), "FDSTORE=1\nFDNAME=%s\nFDPOLL=0", name);
	return sdnotify_sendmsg(state, fd);
}

int
sdnotify_present(void)
{
	const char *path = getenv("NOTIFY_SOCKET");

	return path != NULL && path[0] != '\0';
}

#define SDNOTIFY_LISTEN_FDS_START 3

int
sdnotify_listen_fd(const char *name)
{
	const char *pid = getenv("LISTEN_PID"), *count = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	size_t len = strlen(name);
	long n, i;
	char *end;

	if (pid == NULL || count == NULL || names == NULL)
		return -1;
	if (strtol(pid, &end, 10) != (long)getpid() || *end != '\0')
		return -1;
	n = strtol(count, &end, 10);
	if (*end != '\0' || n <= 0 || n > 64)
		return -1;
	/* LISTEN_FDNAMES: one name per descriptor, separated by ':'. */
	for (i = 0; i < n && *names != '\0'; i++) {
		const char *colon = strchr(names, ':');
		size_t l = colon != NULL ? (size_t)(colon - names) : strlen(names);
		int fd = SDNOTIFY_LISTEN_FDS_START + (int)i;

		if (l == len && memcmp(names, name, len) == 0) {
			if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0)
				return -1;
			return fd;
		}
		if (colon == NULL)
			break;
		names = colon + 1;
	}
	return -1;
}

void
sdnotify_listen_done(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}
