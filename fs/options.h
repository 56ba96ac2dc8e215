/*
 * options.h: the command line, sshfs-style and as mount(8) calls it
 * (`connectorfs [SOURCE] MOUNTPOINT -o opts`). Our keys go to lib/config;
 * generic mount(8)/fstab words are dropped; the rest is left for libfuse.
 */
#ifndef CFS_OPTIONS_H
#define CFS_OPTIONS_H

#include <fuse_lowlevel.h>

#include "config.h"

struct options {
	struct config cfg;
	char *mountpoint_arg;		/* as given on the command line */
	char *mountpoint;		/* absolute; set by main from mountpoint_prepare() */
	int foreground;
	int debug;
	int single_thread;
	int show_help;
	int show_version;
	int list;			/* 1: --list, 2: --list-available */
	struct fuse_args fuse_args;	/* what libfuse gets */
};

/*
 * Parse argv. Returns 0, or -1 after printing one line naming the bad
 * option to stderr (the caller exits with status 2). Nothing on disk is
 * touched: the mountpoint is only recorded, and checked (a stale mount
 * detached) by mountpoint_prepare() right before mounting.
 */
int options_parse(int argc, char *argv[], struct options *opts);

void options_print_help(const char *progname);
void options_free(struct options *opts);

#endif
