/*
 * envfile.h: the env file connectorfs serves, read back into names and
 * values (for `connectorfs exec`). The format is the one connection.c
 * writes: NAME=value per line, the value bare or in single quotes with '\''
 * for a quote, which sh and systemd's EnvironmentFile= read alike. Anything
 * else is refused with its line number, never guessed at.
 */
#ifndef CFS_ENVFILE_H
#define CFS_ENVFILE_H

#include <stddef.h>

#include "err.h"

struct envfile_var {
	char *assignment;	/* "NAME=value", secret memory, NUL-terminated */
	size_t name_len;	/* bytes of NAME */
};

struct envfile {
	struct envfile_var *vars;
	size_t n;
	size_t cap;	/* slots allocated */
};

/*
 * Parse text (len bytes; NULs refused) and append its assignments to ef,
 * a later one replacing an earlier one of the same name. CFS_ERR_MALFORMED
 * with *bad_line (1-based) set, or CFS_ERR_NO_MEMORY; ef keeps what it had
 * before the call on any error.
 */
enum cfs_err envfile_parse(struct envfile *ef, const char *text, size_t len, size_t *bad_line);

/* The value of NAME, or NULL. */
const char *envfile_get(const struct envfile *ef, const char *name);

/* Zero and free every assignment; ef is empty and usable again. */
void envfile_clear(struct envfile *ef);

#endif
