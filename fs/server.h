/*
 * server.h: the process that answers the kernel's requests for a mount the
 * keeper holds (keeper.h): it finds the connection, the handover state and
 * its control socket as descriptors, restores what a previous server left,
 * and serves until told to stop or to hand over.
 */
#ifndef CFS_SERVER_H
#define CFS_SERVER_H

#include "options.h"

/*
 * The secrets the keeper's environment gave it, from the memfd it passed,
 * put in this process's environment (not the one /proc shows) for
 * options_parse() to take and scrub. Call first thing in a server.
 */
void server_take_secrets(void);

/* Serve the mount the keeper passed. Returns the exit status. */
int server_main(struct options *opts);

/* --list and --list-available: print the app's connectors, no mount. */
int server_list(struct options *opts);

#endif
