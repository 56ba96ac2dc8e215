/*
 * ctx.h: the one context of a mount, handed to fuse_session_new() and read
 * back in every handler with fuse_req_userdata(). No other mutable state.
 */
#ifndef CFS_CTX_H
#define CFS_CTX_H

#include <fuse_lowlevel.h>

#include "base44.h"
#include "cache.h"
#include "config.h"
#include "tree.h"

struct notifier;
struct audit;
struct listing;
struct control;
struct kernel_io;
struct handover;
struct dir_handles;

struct cfs_ctx {
	const struct config *cfg;
	const char *mountpoint;		/* absolute */
	struct base44_client *api;
	struct cache *cache;
	struct tree *tree;
	struct notifier *notifier;
	struct audit *audit;		/* audit=PATH, or NULL */
	struct listing *listing;	/* with a management credential, or NULL */
	struct control *control;	/* .connectorfs/ */
	struct fuse_session *se;
	long long mount_wall_ms;	/* st_mtime of folders */
	double attr_timeout_max;	/* seconds; see ops_file_timeout() */
	int no_open;			/* kernel serves opens without us (not with audit=) */
	int check_callers;		/* a /dev/fd/N mount: perm.c checks who asks */
	struct kernel_io *kio;		/* kernel_io.c */
	struct dir_handles *dirs;	/* open folders (dir.c) */
	struct handover *state;		/* what the next server takes over */
	int takeover;			/* a previous server served this mount */
	long long process_wall_ms;	/* when this server process started */
	long supervisor_pid;		/* the process holding the connection */
	long long write_warned_ms;	/* ops.c: last warning about a WRITE (rate limit) */
};

#endif
