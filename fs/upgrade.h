/*
 * upgrade.h: `connectorfs upgrade MOUNTPOINT`: the running mount is handed
 * to the binary now at connectorfs's path, with no reader noticing.
 */
#ifndef CFS_UPGRADE_H
#define CFS_UPGRADE_H

/* argv[0] is "upgrade". Returns the exit status: 0 done, 1 failed, 2 usage. */
int upgrade_main(int argc, char *argv[]);

#endif
