/*
 * kernel_io.h: the daemon's reads and writes on /dev/fuse, through
 * libfuse's custom I/O hooks. Two jobs:
 *  - the INIT reply asks for what libfuse 3.14 forgets to ask for
 *    (parallel lookups in one folder);
 *  - a server taking over a connection another process negotiated
 *    replays that INIT into its own session (the kernel sends INIT once
 *    per connection) and asks the kernel to resend what the previous
 *    server read but never answered (FUSE_NOTIFY_RESEND, Linux 6.9).
 */
#ifndef CFS_KERNEL_IO_H
#define CFS_KERNEL_IO_H

#include <fuse_lowlevel.h>

struct cfs_ctx;
struct handover;
struct kernel_io;

/*
 * Route ctx->se's device I/O on fd through kernel_io.c (sets ctx->kio).
 * state (may be NULL) keeps the INIT request for the next server; takeover
 * says a previous server has read from this connection. Returns 0, or -1
 * when out of memory or libfuse refuses (the session has no device: fatal).
 */
int kernel_io_install(struct cfs_ctx *ctx, int fd, struct handover *state, int takeover);

/* Whether the kernel took FUSE_NOTIFY_RESEND (0: not asked or refused). */
int kernel_io_resent(const struct kernel_io *kio);

/* After the session is destroyed. NULL accepted. */
void kernel_io_free(struct kernel_io **kio);

#endif
