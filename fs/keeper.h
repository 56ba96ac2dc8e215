/*
 * keeper.h: the process that holds a mount and the state behind it, and
 * runs the server that answers its requests (see keeper.c for the model).
 */
#ifndef CFS_KEEPER_H
#define CFS_KEEPER_H

#include "options.h"

/* Control messages on the socket between the keeper and one server. */
#define KEEPER_MSG_STANDBY	'R'	/* server: ready to take over, waiting */
#define KEEPER_MSG_GO		'G'	/* keeper: the state is yours, serve */
#define KEEPER_MSG_SERVING	'S'	/* server: answering the kernel */
#define KEEPER_MSG_QUIT		'Q'	/* keeper: stop now, a new server takes over */

/* The descriptors a server finds open, and the variable naming them. */
#define KEEPER_FD_FUSE		3
#define KEEPER_FD_STATE		4
#define KEEPER_FD_CTL		5
#define KEEPER_FD_WATCHDOG	6	/* the auto_unmount watchdog's socket, if any */
#define KEEPER_FD_SECRETS	7	/* secrets the environment gave (a memfd), if any */
#define KEEPER_FD_EXE		8	/* the pinned binary, until the exec (close-on-exec) */
#define KEEPER_ENV_SERVER	"CONNECTORFS_SERVER"
#define KEEPER_ENV_MOUNTPOINT	"CONNECTORFS_MOUNTPOINT"
#define KEEPER_ENV_SYSLOG	"CONNECTORFS_SYSLOG"
#define KEEPER_ENV_STORE	"CONNECTORFS_STORE"	/* systemd keeps the connection */

/*
 * Mount (or take the mount back from systemd's descriptor store), go to
 * the background unless -f, and keep a server running until stopped.
 * Returns the exit status.
 */
int keeper_main(struct options *opts, int argc, char *argv[]);

#endif
