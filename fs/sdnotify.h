/*
 * sdnotify.h: systemd's readiness protocol (Type=notify) without linking
 * libsystemd: one datagram to $NOTIFY_SOCKET.
 */
#ifndef CFS_SDNOTIFY_H
#define CFS_SDNOTIFY_H

/*
 * Send state (e.g. "READY=1\nSTATUS=...") when $NOTIFY_SOCKET is set.
 * Returns 1 when sent, 0 when there is no socket, -1 on error (logged).
 */
int sdnotify_send(const char *state);

#endif
