/*
 * main.c: what the command line asks for. `connectorfs upgrade MOUNTPOINT`
 * hands a running mount to the binary now installed; --list prints the
 * app's connectors; a mount starts the keeper (keeper.c), which runs this
 * same binary again as the server (server.c), told so by its environment.
 * Exit status 2 means the command line or configuration was refused
 * before anything was mounted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fuse_lowlevel.h>

#include "exec.h"
#include "keeper.h"
#include "log.h"
#include "options.h"
#include "server.h"
#include "upgrade.h"
#include "wait.h"

int
main(int argc, char *argv[])
{
	struct options opts;
	int ret = 2;

	log_init("connectorfs", 0, LOG_LEVEL_INFO);
	if (argc >= 2 && strcmp(argv[1], "upgrade") == 0)
		return upgrade_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "wait") == 0)
		return wait_main(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "exec") == 0)
		return exec_main(argc - 1, argv + 1);
	if (getenv(KEEPER_ENV_SERVER) != NULL)
		server_take_secrets();
	if (options_parse(argc, argv, &opts) != 0)
		goto out;
	if (opts.show_help) {
		options_print_help(argv[0]);
		printf("\nlibfuse options:\n");
		fuse_lowlevel_help();
		ret = 0;
		goto out;
	}
	if (opts.show_version) {
		printf("connectorfs %s (libfuse %s)\n", CFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out;
	}
	log_init("connectorfs", 0, opts.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (opts.list) {
		ret = server_list(&opts);
		goto out;
	}
	if (getenv(KEEPER_ENV_SERVER) != NULL) {
		ret = server_main(&opts);
		goto out;
	}
	/*
	 * ro: the kernel itself refuses every write, writable shared mapping,
	 * truncate and the rest, for root too and through any bind mount, so
	 * no reader can change the page another reader is served.
	 */
	if (fuse_opt_add_arg(&opts.fuse_args, "-odefault_permissions,ro,"
	    "fsname=connectorfs,subtype=connectorfs") != 0)
		goto out;
	ret = keeper_main(&opts, argc, argv);
out:
	options_free(&opts);
	return ret;
}
