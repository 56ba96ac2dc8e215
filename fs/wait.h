/* wait.h: `connectorfs wait [--timeout SECONDS] PATH...` (wait.c). */
#ifndef CFS_WAIT_H
#define CFS_WAIT_H

/* argv[0] is "wait". Exit status: 0 a value changed, 1 timeout, 2 error. */
int wait_main(int argc, char *argv[]);

#endif
