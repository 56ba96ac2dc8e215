/*
 * sdnotify.h: systemd's readiness and file-descriptor-store protocols
 * (Type=notify, FDSTORE=1, LISTEN_FDS) without linking libsystemd: one
 * datagram to $NOTIFY_SOCKET, and the fds systemd hands back at start.
 */
#ifndef CFS_SDNOTIFY_H
#define CFS_SDNOTIFY_H

/*
 * Send state (e.g. "READY=1\nSTATUS=...") when $NOTIFY_SOCKET is set.
 * Returns 1 when sent, 0 when there is no socket, -1 on error (logged).
 */
int sdnotify_send(const char *state);

/*
 * Keep fd in systemd's file-descriptor store under name (FDSTORE=1, FDNAME=,
 * FDPOLL=0: systemd must not drop it when it polls readable or hung up).
 * Same returns as sdnotify_send().
 */
int sdnotify_store_fd(const char *name, int fd);

/* 1 when $NOTIFY_SOCKET is set: a supervisor that may keep descriptors. */
int sdnotify_present(void);

/*
 * The descriptor systemd passed with this name (LISTEN_FDS, LISTEN_FDNAMES,
 * LISTEN_PID naming this process), made close-on-exec; -1 when none.
 */
int sdnotify_listen_fd(const char *name);

/* Forget LISTEN_* so that children do not take the descriptors for theirs. */
void sdnotify_listen_done(void);

#endif
