/*
 * secret.h: memory for tokens. Blocks come from locked (mlock), undumpable
 * (MADV_DONTDUMP) pages and are zeroed when freed, so a token never reaches
 * swap or a core file and does not linger in freed memory.
 * Every buffer that ever holds a token must come from here and go back here.
 */
#ifndef CFS_SECRET_H
#define CFS_SECRET_H

#include <stddef.h>

/* A zeroed block of at least len bytes, or NULL when out of memory. */
void *secret_alloc(size_t len);

/* Zero the whole block and recycle it. NULL is accepted. */
void secret_free(void *p);

/* malloc-style companions, so libraries can be given this heap (http.c). */
void *secret_realloc(void *p, size_t len);
void *secret_calloc(size_t n, size_t size);
char *secret_strdup(const char *s);

/* Copy n bytes of s into a secret block and NUL-terminate it. */
char *secret_strndup(const char *s, size_t n);

/*
 * Zero the 64 KiB of stack below the caller's frame: libraries that handled
 * a token (libcurl, json-c) may have left copies in their frames, which
 * stay in the thread's stack until overwritten.
 */
void secret_scrub_stack(void);

/* Zero n bytes in a way the compiler may not optimise out. */
void secret_wipe(void *p, size_t n);

/* Bytes of secret pages that mlock failed on (0 when all are locked). */
size_t secret_unlocked_bytes(void);

/* Bytes of secret pages mapped so far (locked or not). */
size_t secret_mapped_bytes(void);

/*
 * Make the process undumpable and without core files. Returns 0, or -1 with
 * errno set when the kernel refused.
 */
int secret_harden_process(void);

#endif
