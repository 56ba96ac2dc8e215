/*
 * buf.h: a growable byte buffer with a hard cap, kept in secret memory
 * because what it collects (response bodies, rendered files) holds tokens.
 * Growth past the cap fails and sets too_big instead of allocating.
 */
#ifndef CFS_BUF_H
#define CFS_BUF_H

#include <stddef.h>

#include "err.h"

struct buf {
	char *data;	/* secret memory, always NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
	size_t max;	/* largest len allowed */
	int too_big;
};

void buf_init(struct buf *b, size_t max);

/* Append n bytes; CFS_ERR_TOO_BIG past the cap, CFS_ERR_NO_MEMORY. */
enum cfs_err buf_append(struct buf *b, const void *p, size_t n);
enum cfs_err buf_append_str(struct buf *b, const char *s);

/* Zero and free the contents; the buffer can be used again. */
void buf_reset(struct buf *b);

/* Hand the contents to the caller (secret memory, free with secret_free). */
char *buf_take(struct buf *b, size_t *len);

#endif
