/*
 * buf.c: capped growth in secret memory. Every reallocation copies into a new
 * secret block and frees (zeroes) the old one, so no stale copy of a body
 * is left behind in freed memory.
 */
#include <string.h>

#include "buf.h"
#include "secret.h"

void
buf_init(struct buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

enum cfs_err
buf_append(struct buf *b, const void *p, size_t n)
{
	size_t want, newcap;
	char *nd;

	if (n > b->max || b->len > b->max - n) {
		b->too_big = 1;
		return CFS_ERR_TOO_BIG;
	}
	want = b->len + n + 1;
	if (b->data == NULL || want > b->cap) {
		newcap = b->cap ? b->cap : 256;
		while (newcap < want)
			newcap *= 2;
		if (newcap > b->max + 1)
			newcap = b->max + 1;
		nd = secret_alloc(newcap);
		if (nd == NULL)
			return CFS_ERR_NO_MEMORY;
		if (b->data != NULL) {
			memcpy(nd, b->data, b->len);
			secret_free(b->data);
		}
		b->data = nd;
		b->cap = newcap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CFS_OK;
}

enum cfs_err
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

void
buf_reset(struct buf *b)
{
	secret_free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->too_big = 0;
}

char *
buf_take(struct buf *b, size_t *len)
{
	char *d = b->data;

	if (d == NULL) {
		/* An empty value is still a value: give a real empty string. */
		d = secret_alloc(1);
	}
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->too_big = 0;
	return d;
}
