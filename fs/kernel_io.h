/*
 * kernel_io.h: the daemon's reads and writes on /dev/fuse, through
 * libfuse's custom I/O hooks, so that the INIT reply asks for what libfuse
 * 3.14 forgets to ask for (parallel lookups in one folder).
 */
#ifndef CFS_KERNEL_IO_H
#define CFS_KERNEL_IO_H

#include <fuse_lowlevel.h>

/*
 * Route the mounted session's device I/O through kernel_io.c. Call after
 * fuse_session_mount() and before the loop. Returns 0, or -1 (the session
 * keeps libfuse's own I/O, which works, with lookups serialized).
 */
int kernel_io_install(struct fuse_session *se);

#endif
