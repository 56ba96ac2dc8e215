/*
 * secret.c: a small secure heap for tokens. Memory is carved from 64 KiB
 * slabs that are mlock'ed and marked MADV_DONTDUMP; blocks are grouped in
 * power-of-two size classes with one free list each, and are zeroed on free.
 * Slabs are never returned: the heap is bounded by the peak number of live
 * secrets, which the cache bounds. This is the one piece of process-wide
 * mutable state in lib/ (besides libcurl's global init): locked memory is a
 * process resource, like OpenSSL's secure heap.
 * Built with -DCFS_SECRET_PLAIN_MALLOC (fuzz.mk only, never shipped), blocks
 * come from plain malloc instead: see secret_block_get() below.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "log.h"
#include "secret.h"

#define SECRET_SLAB_SIZE	(64 * 1024)
#define SECRET_MIN_SHIFT	5	/* 32-byte smallest block */
#define SECRET_MAX_SHIFT	16	/* 64 KiB largest pooled block */
#define SECRET_CLASSES		(SECRET_MAX_SHIFT - SECRET_MIN_SHIFT + 1)
#define SECRET_BIG_CLASS	0xff

/* Sits in front of every block; 16 bytes keeps the payload aligned. */
struct secret_header {
	size_t size;		/* usable bytes after the header */
	uint32_t class_index;	/* SECRET_BIG_CLASS for a dedicated mapping */
	uint32_t magic;
};

#define SECRET_MAGIC 0x5ec12e75u

struct secret_free_block {
	struct secret_free_block *next;
};

static struct {
	pthread_mutex_t lock;
	struct secret_free_block *free_list[SECRET_CLASSES];
	char *slab_cursor;
	size_t slab_left;
	size_t mapped;
	size_t unlocked;
	int warned;
} secret_heap = { .lock = PTHREAD_MUTEX_INITIALIZER };

__attribute__((noinline)) void
secret_scrub_stack(void)
{
	char frame[64 * 1024];

	explicit_bzero(frame, sizeof(frame));
	__asm__ __volatile__("" : : "r"(frame) : "memory");
}

void
secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

#ifdef CFS_SECRET_PLAIN_MALLOC
/*
 * Fuzz builds: the slabs round every block up to a power of two, so ASan
 * cannot see a read or write past the end of a token buffer. Here each block
 * is its own allocation of exactly the size asked for, neither locked nor
 * counted, and a block that is not a secret one aborts instead of being
 * logged and ignored.
 */
static struct secret_header *
secret_block_get(size_t len)
{
	struct secret_header *h = calloc(1, sizeof(*h) + len);

	if (h != NULL)
		h->size = len;
	return h;
}

static void
secret_block_put(struct secret_header *h)
{
	free(h);
}

/* Never: a new block of exactly len bytes lets ASan see a read past a shrunk length. */
static int
secret_block_keeps(const struct secret_header *h, size_t len)
{
	(void)h;
	(void)len;
	return 0;
}

static void
secret_bad_block(const char *fn)
{
	fprintf(stderr, "%s: not a secret block\n", fn);
	abort();
}
#else
/* Map, lock and hide from core dumps; caller holds the heap lock. */
static void *
secret_map_locked(size_t len)
{
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	if (mlock(p, len) != 0) {
		secret_heap.unlocked += len;
		if (!secret_heap.warned) {
			secret_heap.warned = 1;
			log_warn("mlock of token memory failed; tokens may reach swap "
			    "(raise RLIMIT_MEMLOCK or grant CAP_IPC_LOCK)");
		}
	}
	secret_heap.mapped += len;
	return p;
}

static unsigned
secret_class_of(size_t total)
{
	unsigned shift = SECRET_MIN_SHIFT;

	while (((size_t)1 << shift) < total)
		shift++;
	return shift - SECRET_MIN_SHIFT;
}

/* A block of at least len usable bytes, its size and class set; not zeroed. */
static struct secret_header *
secret_block_get(size_t len)
{
	struct secret_header *h = NULL;
	size_t total;
	unsigned ci;

	total = len + sizeof(*h);
	pthread_mutex_lock(&secret_heap.lock);
	if (total > ((size_t)1 << SECRET_MAX_SHIFT)) {
		size_t maplen = (total + 4095) & ~(size_t)4095;

		h = secret_map_locked(maplen);
		if (h != NULL) {
			h->size = maplen - sizeof(*h);
			h->class_index = SECRET_BIG_CLASS;
		}
		goto out;
	}
	ci = secret_class_of(total);
	if (secret_heap.free_list[ci] != NULL) {
		struct secret_free_block *fb = secret_heap.free_list[ci];

		secret_heap.free_list[ci] = fb->next;
		h = (struct secret_header *)(void *)fb;
		fb->next = NULL;
	} else {
		size_t block = (size_t)1 << (ci + SECRET_MIN_SHIFT);

		if (secret_heap.slab_left < block) {
			/* The slab's tail is too small for this class: give it to
			 * the smaller classes' free lists rather than leaking it. */
			while (secret_heap.slab_left >= ((size_t)1 << SECRET_MIN_SHIFT)) {
				unsigned tci = secret_class_of(secret_heap.slab_left + 1) - 1;
				size_t tblock = (size_t)1 << (tci + SECRET_MIN_SHIFT);
				struct secret_free_block *fb = (void *)secret_heap.slab_cursor;

				fb->next = secret_heap.free_list[tci];
				secret_heap.free_list[tci] = fb;
				secret_heap.slab_cursor += tblock;
				secret_heap.slab_left -= tblock;
			}
			secret_heap.slab_cursor = secret_map_locked(SECRET_SLAB_SIZE);
			if (secret_heap.slab_cursor == NULL) {
				secret_heap.slab_left = 0;
				goto out;
			}
			secret_heap.slab_left = SECRET_SLAB_SIZE;
		}
		h = (struct secret_header *)(void *)secret_heap.slab_cursor;
		secret_heap.slab_cursor += block;
		secret_heap.slab_left -= block;
	}
	h->size = ((size_t)1 << (ci + SECRET_MIN_SHIFT)) - sizeof(*h);
	h->class_index = ci;
out:
	pthread_mutex_unlock(&secret_heap.lock);
	return h;
}

/* Back to its free list, or unmapped when it had a mapping of its own. */
static void
secret_block_put(struct secret_header *h)
{
	struct secret_free_block *fb;

	if (h->class_index == SECRET_BIG_CLASS) {
		size_t maplen = h->size + sizeof(*h);

		pthread_mutex_lock(&secret_heap.lock);
		secret_heap.mapped -= maplen;
		pthread_mutex_unlock(&secret_heap.lock);
		munmap(h, maplen);
		return;
	}
	pthread_mutex_lock(&secret_heap.lock);
	fb = (struct secret_free_block *)(void *)h;
	fb->next = secret_heap.free_list[h->class_index];
	secret_heap.free_list[h->class_index] = fb;
	pthread_mutex_unlock(&secret_heap.lock);
}

/* The block is big enough already. */
static int
secret_block_keeps(const struct secret_header *h, size_t len)
{
	return len <= h->size;
}

static void
secret_bad_block(const char *fn)
{
	log_warnx("%s: not a secret block (ignored)", fn);
}
#endif

void *
secret_alloc(size_t len)
{
	struct secret_header *h;

	if (len > SIZE_MAX - sizeof(*h) - 4096)
		return NULL;
	h = secret_block_get(len);
	if (h == NULL)
		return NULL;
	h->magic = SECRET_MAGIC;
	memset(h + 1, 0, h->size);
	return h + 1;
}

void
secret_free(void *p)
{
	struct secret_header *h;

	if (p == NULL)
		return;
	h = (struct secret_header *)p - 1;
	if (h->magic != SECRET_MAGIC) {
		secret_bad_block("secret_free");
		return;
	}
	secret_wipe(p, h->size);
	h->magic = 0;
	secret_block_put(h);
}

void *
secret_realloc(void *p, size_t len)
{
	struct secret_header *h;
	void *q;

	if (p == NULL)
		return secret_alloc(len);
	h = (struct secret_header *)p - 1;
	if (secret_block_keeps(h, len))
		return p;
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
	return secret_alloc(n * size);	/* always zeroed */
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
	size_t n;

	pthread_mutex_lock(&secret_heap.lock);
	n = secret_heap.unlocked;
	pthread_mutex_unlock(&secret_heap.lock);
	return n;
}

size_t
secret_mapped_bytes(void)
{
	size_t n;

	pthread_mutex_lock(&secret_heap.lock);
	n = secret_heap.mapped;
	pthread_mutex_unlock(&secret_heap.lock);
	return n;
}

int
secret_harden_process(void)
{
	struct rlimit nocore = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &nocore) != 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return -1;
	return 0;
}
