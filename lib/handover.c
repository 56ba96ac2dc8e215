/*
 * handover.c: the memfd of handover.h. Layout:
 *
 *	[header, HANDOVER_HEADER bytes][half 0][half 1]
 *
 * A record in a half is one header word, its slots, then its body padded to
 * 8 bytes:
 *
 *	word	0xc5 mark (8 bits) | type (16) | nslots (8) | body length (32)
 *
 * The mark makes every header word nonzero, so zero means "no record here",
 * and gives a reader something to check before it trusts a length. Records
 * are written into zeroed memory and published by the release store of
 * their word. A torn append leaves bytes past the last word that a later,
 * shorter record must not leave readable behind it, so the first append
 * after attaching zeroes everything past the end of the log first
 * (handover_scrub).
 *
 * The file is sized once and sealed against growing and shrinking, so the
 * mapping can never turn into SIGBUS under us; memory is only taken as
 * pages are touched, and given back (wiped first) by punching holes.
 */
#define _GNU_SOURCE	/* memfd_create, mlock2, fallocate, SEEK_DATA */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "handover.h"
#include "secret.h"

#define HANDOVER_MAGIC		0x5245564f48534643ull	/* "CFSHOVER" */
#define HANDOVER_VERSION	1u
#define HANDOVER_HEADER		4096u
#define HANDOVER_SEALS		(F_SEAL_SHRINK | F_SEAL_GROW)

#define REC_MARK		0xc5u
#define REC_WORD		8u

struct handover_header {
	uint64_t magic;
	uint32_t version;
	uint32_t active;	/* 0 or 1: flipped by one release store */
	uint64_t half_size;
	uint64_t init_len;	/* 0 while the bytes are being replaced */
	uint64_t fields[HANDOVER_FIELD_COUNT];
	unsigned char init[HANDOVER_INIT_MAX];
};

_Static_assert(sizeof(struct handover_header) <= HANDOVER_HEADER,
    "the handover header must fit its page");

struct handover {
	int fd;
	int locked;
	unsigned char *map;
	size_t map_len;
	size_t half;
	size_t page;
	size_t tail;		/* end of the active log */
	int dirty;		/* bytes past tail may be nonzero (a torn append) */
	int broken;		/* the active log stops at an inconsistent word */
	int filling;		/* inside handover_rewrite(): appends go to the other half */
	size_t fill_tail;
	int fill_err;		/* errno of an append inside fill that failed */
};

static struct handover_header *
handover_hdr(const struct handover *h)
{
	return (struct handover_header *)(void *)h->map;
}

/* Masked: a header scribbled on after attaching must not move us off the map. */
static unsigned
handover_active(const struct handover *h)
{
	return __atomic_load_n(&handover_hdr(h)->active, __ATOMIC_ACQUIRE) & 1u;
}

/* Offset in the mapping of half i. */
static size_t
handover_half_off(const struct handover *h, unsigned i)
{
	return HANDOVER_HEADER + (size_t)i * h->half;
}

static uint64_t *
handover_word(const struct handover *h, size_t off)
{
	return (uint64_t *)(void *)(h->map + off);
}

static int
handover_half_ok(uint64_t half)
{
	return half >= HANDOVER_HALF_MIN && half <= HANDOVER_HALF_MAX &&
	    half % HANDOVER_HALF_MIN == 0;
}

static uint64_t
rec_pack_word(unsigned type, unsigned nslots, size_t len)
{
	return (uint64_t)REC_MARK << 56 | (uint64_t)type << 40 | (uint64_t)nslots << 32 |
	    (uint64_t)len;
}

/* Bytes a record takes: word, slots, body rounded up to 8. */
static uint64_t
rec_size(unsigned nslots, uint64_t len)
{
	return REC_WORD + (uint64_t)nslots * 8 + ((len + 7) & ~(uint64_t)7);
}

static unsigned
rec_nslots(uint64_t w)
{
	return (unsigned)(w >> 32) & 0xff;
}

/*
 * Zero [off, off + len) of the mapping. Only pages that exist are wiped
 * (SEEK_DATA finds them), so a sparse half is not faulted in whole; then
 * whole pages are punched out and go back to the kernel. Wiping comes
 * first because a punched page reaches the allocator with its contents,
 * and tokens must not wait there for its next owner.
 */
static void
handover_zero(struct handover *h, size_t off, size_t len)
{
	size_t end = off + len, pos = off, first, last;
	off_t data, hole;

	while (pos < end) {
		data = lseek(h->fd, (off_t)pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			break;				/* no page past pos */
		if (data < 0) {
			secret_wipe(h->map + pos, end - pos);	/* cannot tell: all */
			break;
		}
		if ((size_t)data >= end)
			break;
		hole = lseek(h->fd, data, SEEK_HOLE);
		if (hole < 0 || (size_t)hole > end)
			hole = (off_t)end;
		secret_wipe(h->map + data, (size_t)(hole - data));
		pos = (size_t)hole;
	}
	first = (off + h->page - 1) / h->page * h->page;
	last = end / h->page * h->page;
	/* Failing to punch leaves zeroed pages in memory: still correct. */
	if (first < last)
		(void)fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		    (off_t)first, (off_t)(last - first));
}

/*
 * One record of the half at base (an offset in the mapping) at *cursor: 1,
 * 0 at the end, -1 when the word there does not describe a record that
 * fits. Reads nothing outside the half.
 */
static int
handover_read(const struct handover *h, size_t base, size_t *cursor,
    struct handover_record *rec)
{
	size_t off = *cursor;
	uint64_t w, size;

	if (off % REC_WORD != 0 || off > h->half)
		return -1;
	if (off == h->half)
		return 0;
	w = __atomic_load_n(handover_word(h, base + off), __ATOMIC_ACQUIRE);
	if (w == 0)
		return 0;
	if ((w >> 56) != REC_MARK)
		return -1;
	size = rec_size(rec_nslots(w), w & 0xffffffffu);
	if (size > h->half - off)
		return -1;
	rec->type = (unsigned)(w >> 40) & 0xffff;
	rec->nslots = rec_nslots(w);
	rec->ref = base + off;
	rec->body = h->map + base + off + REC_WORD + (size_t)rec->nslots * 8;
	rec->len = (size_t)(w & 0xffffffffu);
	*cursor = off + (size_t)size;
	return 1;
}

/* Where the active log ends, and whether it ends at a bad word. */
static void
handover_find_tail(struct handover *h)
{
	struct handover_record rec;
	size_t cursor = 0;
	int rc;

	while ((rc = handover_next(h, &cursor, &rec)) == 1)
		continue;
	h->tail = cursor;
	h->broken = rc < 0;
}

/* Map fd (size bytes) shared, keep it out of core files, lock it if we may. */
static int
handover_map(struct handover *h, int fd, size_t half, char *msg, size_t msgsz)
{
	long page = sysconf(_SC_PAGESIZE);

	h->fd = fd;
	h->half = half;
	h->page = page > 0 ? (size_t)page : 4096;
	h->map_len = HANDOVER_HEADER + 2 * half;
	h->map = mmap(NULL, h->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h->map == MAP_FAILED) {
		h->map = NULL;
		snprintf(msg, msgsz, "handover: mmap of %zu bytes: %s", h->map_len,
		    strerror(errno));
		return -1;
	}
	(void)madvise(h->map, h->map_len, MADV_DONTDUMP);
	/* On fault only: the halves stay sparse, and locked as they fill. */
	h->locked = mlock2(h->map, h->map_len, MLOCK_ONFAULT) == 0;
	return 0;
}

int
handover_create(size_t half_size, struct handover **out, char *msg, size_t msgsz)
{
	struct handover_header *hdr;
	struct handover *h;
	int fd, saved;

	*out = NULL;
	if (!handover_half_ok(half_size)) {
		snprintf(msg, msgsz, "handover: half size %zu is not a multiple of %u "
		    "between %u and %u", half_size, HANDOVER_HALF_MIN, HANDOVER_HALF_MIN,
		    HANDOVER_HALF_MAX);
		errno = EINVAL;
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(msg, msgsz, "handover: out of memory");
		return -1;
	}
	fd = memfd_create("connectorfs-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		snprintf(msg, msgsz, "handover: memfd_create: %s", strerror(errno));
		goto fail;
	}
	if (ftruncate(fd, (off_t)(HANDOVER_HEADER + 2 * half_size)) != 0) {
		snprintf(msg, msgsz, "handover: ftruncate: %s", strerror(errno));
		goto fail;
	}
	/* Fixed size from now on: no one can truncate the mapping into SIGBUS. */
	if (fcntl(fd, F_ADD_SEALS, HANDOVER_SEALS | F_SEAL_SEAL) != 0) {
		snprintf(msg, msgsz, "handover: sealing the memfd: %s", strerror(errno));
		goto fail;
	}
	if (handover_map(h, fd, half_size, msg, msgsz) != 0)
		goto fail;
	hdr = handover_hdr(h);
	hdr->version = HANDOVER_VERSION;
	hdr->half_size = half_size;
	__atomic_store_n(&hdr->magic, HANDOVER_MAGIC, __ATOMIC_RELEASE);
	*out = h;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(h);
	errno = saved;
	return -1;
}

/* The header of fd, checked against its size, before anything is mapped. */
static int
handover_check(int fd, struct handover_header *hdr, char *msg, size_t msgsz)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) != 0) {
		snprintf(msg, msgsz, "handover: fstat: %s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)HANDOVER_HEADER ||
	    pread(fd, hdr, sizeof(*hdr), 0) != (ssize_t)sizeof(*hdr)) {
		snprintf(msg, msgsz, "handover: fd %d is too short for a handover header "
		    "(%lld bytes)", fd, (long long)st.st_size);
		return -1;
	}
	if (hdr->magic != HANDOVER_MAGIC) {
		snprintf(msg, msgsz, "handover: fd %d is not connectorfs state (bad magic)",
		    fd);
		return -1;
	}
	if (hdr->version != HANDOVER_VERSION) {
		snprintf(msg, msgsz, "handover: state version %u, this build reads %u",
		    hdr->version, HANDOVER_VERSION);
		return -1;
	}
	if (!handover_half_ok(hdr->half_size) ||
	    (uint64_t)st.st_size != HANDOVER_HEADER + 2 * hdr->half_size) {
		snprintf(msg, msgsz, "handover: state of %lld bytes does not match its "
		    "half size %llu (truncated?)", (long long)st.st_size,
		    (unsigned long long)hdr->half_size);
		return -1;
	}
	if (hdr->active > 1 || hdr->init_len > HANDOVER_INIT_MAX) {
		snprintf(msg, msgsz, "handover: state header is corrupt (active half %u, "
		    "INIT of %llu bytes)", hdr->active, (unsigned long long)hdr->init_len);
		return -1;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & HANDOVER_SEALS) != HANDOVER_SEALS) {
		snprintf(msg, msgsz, "handover: state memfd is not sealed against "
		    "resizing");
		return -1;
	}
	return 0;
}

int
handover_attach(int fd, struct handover **out, char *msg, size_t msgsz)
{
	struct handover_header hdr;
	struct handover *h;

	*out = NULL;
	if (handover_check(fd, &hdr, msg, msgsz) != 0) {
		errno = EINVAL;
		return -1;
	}
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(msg, msgsz, "handover: out of memory");
		return -1;
	}
	if (handover_map(h, fd, (size_t)hdr.half_size, msg, msgsz) != 0) {
		free(h);
		return -1;
	}
	handover_find_tail(h);
	/* A writer killed mid-append may have left bytes past the tail. */
	h->dirty = 1;
	*out = h;
	return 0;
}

int
handover_fd(const struct handover *h)
{
	return h->fd;
}

int
handover_locked(const struct handover *h)
{
	return h->locked;
}

void
handover_close(struct handover **hp)
{
	struct handover *h;

	if (hp == NULL || *hp == NULL)
		return;
	h = *hp;
	*hp = NULL;
	munmap(h->map, h->map_len);
	close(h->fd);
	free(h);
}

void
handover_wipe(struct handover *h)
{
	struct handover_header *hdr = handover_hdr(h);
	unsigned i;

	if (h->filling)
		return;		/* would pull the half from under fill() */
	/* An empty log first: a crash during the wipe leaves no torn one. */
	__atomic_store_n(handover_word(h, handover_half_off(h, handover_active(h))), 0,
	    __ATOMIC_RELEASE);
	__atomic_store_n(&hdr->init_len, 0, __ATOMIC_RELEASE);
	secret_wipe(hdr->init, sizeof(hdr->init));
	for (i = 0; i < HANDOVER_FIELD_COUNT; i++)
		__atomic_store_n(&hdr->fields[i], 0, __ATOMIC_RELEASE);
	handover_zero(h, handover_half_off(h, 0), 2 * h->half);
	__atomic_store_n(&hdr->active, 0, __ATOMIC_RELEASE);
	h->tail = 0;
	h->dirty = 0;
	h->broken = 0;
}

uint64_t
handover_field(const struct handover *h, enum handover_field f)
{
	if ((unsigned)f >= HANDOVER_FIELD_COUNT)
		return 0;
	return __atomic_load_n(&handover_hdr(h)->fields[f], __ATOMIC_ACQUIRE);
}

void
handover_set_field(struct handover *h, enum handover_field f, uint64_t v)
{
	if ((unsigned)f < HANDOVER_FIELD_COUNT)
		__atomic_store_n(&handover_hdr(h)->fields[f], v, __ATOMIC_RELEASE);
}

int
handover_set_init(struct handover *h, const void *req, size_t len)
{
	struct handover_header *hdr = handover_hdr(h);

	if (len > HANDOVER_INIT_MAX || (len > 0 && req == NULL)) {
		errno = EINVAL;
		return -1;
	}
	/* Length 0 while the bytes change: a crash leaves none, not a mix. */
	__atomic_store_n(&hdr->init_len, 0, __ATOMIC_RELEASE);
	if (len > 0)
		memcpy(hdr->init, req, len);
	secret_wipe(hdr->init + len, sizeof(hdr->init) - len);
	__atomic_store_n(&hdr->init_len, len, __ATOMIC_RELEASE);
	return 0;
}

size_t
handover_init(const struct handover *h, void *buf, size_t bufsz)
{
	const struct handover_header *hdr = handover_hdr(h);
	uint64_t n = __atomic_load_n(&hdr->init_len, __ATOMIC_ACQUIRE);

	if (n == 0 || n > HANDOVER_INIT_MAX || n > bufsz)
		return 0;
	memcpy(buf, hdr->init, (size_t)n);
	return (size_t)n;
}

/* Fail an append, remembering it when it happens inside fill(). */
static int
handover_refuse(struct handover *h, int err)
{
	if (h->filling)
		h->fill_err = err;
	errno = err;
	return -1;
}

/*
 * Before the first append after attaching: zero what a dead writer may
 * have left past the tail (a torn record), and the inactive half, which
 * still holds the old log when it died between a rewrite's flip and wipe;
 * its tokens should not wait there for the next rewrite.
 */
static void
handover_scrub(struct handover *h)
{
	unsigned act = handover_active(h);

	handover_zero(h, handover_half_off(h, act) + h->tail, h->half - h->tail);
	handover_zero(h, handover_half_off(h, act ^ 1), h->half);
	h->dirty = 0;
}

int
handover_append(struct handover *h, unsigned type, unsigned nslots, const void *body,
    size_t len, handover_ref *ref)
{
	size_t base, *tail, off;
	unsigned char *rec;
	uint64_t size;

	if (type == HANDOVER_TYPE_ERASED || type > HANDOVER_TYPE_MAX ||
	    nslots > HANDOVER_SLOTS_MAX || len > UINT32_MAX || (len > 0 && body == NULL))
		return handover_refuse(h, EINVAL);
	if (!h->filling && h->broken)
		return handover_refuse(h, EIO);
	base = handover_half_off(h, handover_active(h) ^ (unsigned)h->filling);
	tail = h->filling ? &h->fill_tail : &h->tail;
	size = rec_size(nslots, len);
	if (size > h->half - *tail)
		return handover_refuse(h, ENOSPC);
	if (!h->filling && h->dirty)
		handover_scrub(h);
	off = base + *tail;
	rec = h->map + off;
	/* The memory past the tail is zero, so slots and padding already are. */
	if (len > 0)
		memcpy(rec + REC_WORD + (size_t)nslots * 8, body, len);
	__atomic_store_n(handover_word(h, off), rec_pack_word(type, nslots, len),
	    __ATOMIC_RELEASE);
	*tail += (size_t)size;
	if (ref != NULL)
		*ref = off;
	return 0;
}

/* The slot's word, or NULL when ref does not name a record with that slot. */
static uint64_t *
handover_slot(const struct handover *h, handover_ref ref, unsigned slot)
{
	size_t half_end;
	uint64_t w;

	if (ref < HANDOVER_HEADER || ref >= h->map_len || ref % REC_WORD != 0)
		return NULL;
	half_end = ref < handover_half_off(h, 1) ? handover_half_off(h, 1) : h->map_len;
	w = __atomic_load_n(handover_word(h, ref), __ATOMIC_ACQUIRE);
	if ((w >> 56) != REC_MARK || slot >= rec_nslots(w) ||
	    half_end - ref < REC_WORD + ((size_t)slot + 1) * 8)
		return NULL;
	return handover_word(h, ref + REC_WORD + (size_t)slot * 8);
}

void
handover_slot_set(struct handover *h, handover_ref ref, unsigned slot, uint64_t v)
{
	uint64_t *p = handover_slot(h, ref, slot);

	if (p != NULL)
		__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

uint64_t
handover_slot_get(const struct handover *h, handover_ref ref, unsigned slot)
{
	const uint64_t *p = handover_slot(h, ref, slot);

	return p != NULL ? __atomic_load_n(p, __ATOMIC_ACQUIRE) : 0;
}

int
handover_rewrite(struct handover *h, int (*fill)(struct handover *h, void *arg),
    void *arg)
{
	unsigned old;
	int rc, saved;

	if (h->filling) {
		errno = EBUSY;
		return -1;
	}
	old = handover_active(h);
	/* A crash after an earlier flip may have left the old log there. */
	handover_zero(h, handover_half_off(h, old ^ 1), h->half);
	h->filling = 1;
	h->fill_tail = 0;
	h->fill_err = 0;
	rc = fill(h, arg);
	h->filling = 0;
	if (rc == 0 && h->fill_err != 0) {
		rc = -1;
		errno = h->fill_err;
	}
	if (rc != 0) {
		saved = errno;
		handover_zero(h, handover_half_off(h, old ^ 1), h->half);
		errno = saved;
		return rc;
	}
	__atomic_store_n(&handover_hdr(h)->active, old ^ 1, __ATOMIC_RELEASE);
	handover_zero(h, handover_half_off(h, old), h->half);
	h->tail = h->fill_tail;
	h->dirty = 0;
	h->broken = 0;
	return 0;
}

int
handover_next(const struct handover *h, size_t *cursor, struct handover_record *rec)
{
	int rc;

	do {
		rc = handover_read(h, handover_half_off(h, handover_active(h)), cursor, rec);
	} while (rc == 1 && rec->type == HANDOVER_TYPE_ERASED);
	return rc;
}

void
handover_erase(struct handover *h, handover_ref ref)
{
	size_t half_end;
	uint64_t w;

	if (ref < HANDOVER_HEADER || ref >= h->map_len || ref % REC_WORD != 0)
		return;
	half_end = ref < handover_half_off(h, 1) ? handover_half_off(h, 1) : h->map_len;
	w = __atomic_load_n(handover_word(h, ref), __ATOMIC_ACQUIRE);
	if ((w >> 56) != REC_MARK || rec_size(rec_nslots(w), w & 0xffffffffu) > half_end - ref)
		return;
	/*
	 * Marked erased first, so a reader in the next process skips it
	 * whatever instant this one dies at; then its bytes are zeroed.
	 */
	__atomic_store_n(handover_word(h, ref),
	    rec_pack_word(HANDOVER_TYPE_ERASED, rec_nslots(w), w & 0xffffffffu),
	    __ATOMIC_RELEASE);
	secret_wipe(h->map + ref + REC_WORD,
	    (size_t)rec_size(rec_nslots(w), w & 0xffffffffu) - REC_WORD);
}

size_t
handover_used(const struct handover *h)
{
	return h->tail;
}

size_t
handover_half_size(const struct handover *h)
{
	return h->half;
}
