/* exec.h: `connectorfs exec [--signal SIG] [--debounce SECONDS] FOLDER... -- COMMAND` (exec.c). */
#ifndef CFS_EXEC_H
#define CFS_EXEC_H

/*
 * argv[0] is "exec". Exit status: COMMAND's (128+N when signal N ended it);
 * 125 when exec itself failed, 126 COMMAND could not run, 127 not found, as env(1).
 */
int exec_main(int argc, char *argv[]);

#endif
