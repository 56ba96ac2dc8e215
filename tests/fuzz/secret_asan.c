/*
 * secret_asan.c: secret.h on plain malloc, for the fuzz builds only. The real
 * heap carves blocks out of its own slabs, rounded up to a power of two, so
 * ASan cannot see a read or write past the end of a token buffer; here every
 * block is its own allocation of the exact size asked for. The contract is
 * kept (zeroed on alloc, wiped on free, NULL accepted), and freeing anything
 * that is not a secret block aborts instead of being logged and ignored.
 * `make fuzz FUZZ_SECRET=real` links lib/secret.c instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"

#define SECRET_ASAN_MAGIC 0x5ec12e75u

/* In front of each block; 16 bytes keeps the payload aligned like the real one. */
struct secret_asan_header {
	size_t size;
	uint32_t magic;
	uint32_t pad;
};

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

void *
secret_alloc(size_t len)
{
	struct secret_asan_header *h;

	if (len > SIZE_MAX - sizeof(*h) - 4096)
		return NULL;
	h = calloc(1, sizeof(*h) + len);
	if (h == NULL)
		return NULL;
	h->size = len;
	h->magic = SECRET_ASAN_MAGIC;
	return h + 1;
}

void
secret_free(void *p)
{
	struct secret_asan_header *h;

	if (p == NULL)
		return;
	h = (struct secret_asan_header *)p - 1;
	if (h->magic != SECRET_ASAN_MAGIC) {
		fprintf(stderr, "secret_free: not a secret block\n");
		abort();
	}
	secret_wipe(p, h->size);
	h->magic = 0;
	free(h);
}

/*
 * Always a new block of exactly len bytes (the real heap keeps a block that
 * is big enough), so that ASan also sees a read past a shrunk length.
 */
void *
secret_realloc(void *p, size_t len)
{
	struct secret_asan_header *h;
	void *q;

	if (p == NULL)
		return secret_alloc(len);
	h = (struct secret_asan_header *)p - 1;
	if (h->magic != SECRET_ASAN_MAGIC) {
		fprintf(stderr, "secret_realloc: not a secret block\n");
		abort();
	}
	q = secret_alloc(len);
	if (q == NULL)
		return NULL;
	memcpy(q, p, h->size < len ? h->size : len);
	secret_free(p);
	return q;
}

void *
secret_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return secret_alloc(n * size);
}

char *
secret_strdup(const char *s)
{
	return secret_strndup(s, strlen(s));
}

char *
secret_strndup(const char *s, size_t n)
{
	char *p;

	if (n == SIZE_MAX)
		return NULL;
	p = secret_alloc(n + 1);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
secret_unlocked_bytes(void)
{
	return 0;
}

size_t
secret_mapped_bytes(void)
{
	return 0;
}

int
secret_harden_process(void)
{
	return 0;
}

void
secret_scrub_stack(void)
{
	/* Nothing to scrub for: the fuzzers look for memory errors, not residue. */
}
