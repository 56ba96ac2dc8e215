/*
 * test_handover.c: the state memfd (handover.h). Records come back in
 * order with their slots, a second mapping of the same fd (the next
 * process) sees them, compaction keeps exactly what fill appended and
 * nothing of the old half, and the file refuses to be anything but what
 * handover_create made. The crash tests fork a writer and kill -9 it at a
 * random moment, then read the log as the next process would.
 *
 * These tests look at the file from outside through the fd, so they know
 * handover.c's layout: a 4096-byte header with the active half's index at
 * byte 12, then half 0 and half 1; a record's word is
 * 0xc5 << 56 | type << 40 | nslots << 32 | length.
 */
#define _GNU_SOURCE	/* memfd_create, SEEK_DATA, F_GET_SEALS */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "handover.h"
#include "unit.h"

#define HEADER		4096u
#define ACTIVE_AT	12
#define SMALL_HALF	(64u * 1024)
#define BIG_HALF	(4u << 20)

static struct handover *
ho_create(size_t half)
{
	struct handover *h = NULL;
	char msg[256];

	ck_assert_msg(handover_create(half, &h, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_ptr_nonnull(h);
	return h;
}

/* A second handover on h's memfd, as the next process would attach it. */
static struct handover *
ho_attach_dup(const struct handover *h)
{
	struct handover *g = NULL;
	char msg[256];
	int fd = dup(handover_fd(h));

	ck_assert_int_ge(fd, 0);
	ck_assert_msg(handover_attach(fd, &g, msg, sizeof(msg)) == 0, "%s", msg);
	return g;
}

/* The whole file, read through the fd rather than the mapping. */
static unsigned char *
read_file(int fd, size_t *len)
{
	struct stat st;
	unsigned char *buf;

	ck_assert_int_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pread(fd, buf, *len, 0), (ssize_t)*len);
	return buf;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static unsigned
active_half(int fd)
{
	uint32_t a;

	ck_assert_int_eq(pread(fd, &a, sizeof(a), ACTIVE_AT), (ssize_t)sizeof(a));
	return a;
}

static size_t
half_off(const struct handover *h, unsigned i)
{
	return HEADER + i * handover_half_size(h);
}

static void
pwrite_u64(int fd, size_t off, uint64_t v)
{
	ck_assert_int_eq(pwrite(fd, &v, sizeof(v), (off_t)off), (ssize_t)sizeof(v));
}

static size_t
rec_bytes(unsigned nslots, size_t len)
{
	return 8 + 8 * (size_t)nslots + ((len + 7) & ~(size_t)7);
}

/* Record seq's body: seq % 61 bytes, each the low byte of seq. */
static size_t
seq_body(unsigned long seq, unsigned char *buf)
{
	size_t len = seq % 61;

	memset(buf, (int)(seq & 0xff), len);
	return len;
}

/* Append record seq (two slots: seq + 1 and ~seq); -1 when the append fails. */
static int
append_seq(struct handover *h, unsigned type, unsigned long seq)
{
	unsigned char body[64];
	handover_ref ref;
	size_t len = seq_body(seq, body);

	if (handover_append(h, type, 2, body, len, &ref) != 0)
		return -1;
	handover_slot_set(h, ref, 0, seq + 1);
	handover_slot_set(h, ref, 1, ~(uint64_t)seq);
	return 0;
}

/* check_seq_log(): the last record, whichever it is, may be torn. */
#define TORN_LAST	LONG_MAX

/* Record seq as append_seq() wrote it; slots may be unset when torn. */
static int
seq_record_ok(const struct handover *h, const struct handover_record *rec,
    unsigned type, long seq, int torn)
{
	unsigned char want[64];
	size_t len = seq_body((unsigned long)seq, want);
	uint64_t s0 = handover_slot_get(h, rec->ref, 0);
	uint64_t s1 = handover_slot_get(h, rec->ref, 1);

	if (rec->type != type || rec->nslots != 2 || rec->len != len ||
	    memcmp(rec->body, want, len) != 0)
		return 0;
	if (torn)
		return (s0 == 0 || s0 == (uint64_t)seq + 1) &&
		    (s1 == 0 || (s1 == ~(uint64_t)seq && s0 != 0));
	return s0 == (uint64_t)seq + 1 && s1 == ~(uint64_t)seq;
}

/*
 * Check that the log holds records 0, 1, ... of type, each whole, and ends
 * cleanly; record torn (-1: none) may still have slots unset, as a writer
 * killed between the append and the slot stores leaves it. The count.
 * (Check records every passing ck_assert with a write, so the loop uses
 * plain tests: a log holds tens of thousands of records.)
 */
static long
check_seq_log(const struct handover *h, unsigned type, long torn)
{
	struct handover_record rec, next;
	size_t cursor = 0, peek;
	long seq = 0;
	int rc;

	while ((rc = handover_next(h, &cursor, &rec)) == 1) {
		peek = cursor;
		if (torn == TORN_LAST && handover_next(h, &peek, &next) == 0)
			torn = seq;
		if (!seq_record_ok(h, &rec, type, seq, seq == torn))
			ck_abort_msg("record %ld is not whole", seq);
		seq++;
	}
	ck_assert_msg(rc == 0, "log ends with %d after %ld records", rc, seq);
	ck_assert_uint_eq(cursor, handover_used(h));
	return seq;
}

static void
append_seqs(struct handover *h, unsigned type, long n)
{
	long i;

	for (i = 0; i < n; i++)
		if (append_seq(h, type, (unsigned long)i) != 0)
			ck_abort_msg("append %ld of %ld failed: %s", i, n, strerror(errno));
}

START_TEST(test_handover_create_gives_an_empty_sealed_sparse_log)
{
	struct handover *h = ho_create(SMALL_HALF);
	struct handover_record rec;
	size_t cursor = 0;
	char init[16];
	struct stat st;
	int fd = handover_fd(h), f;

	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	ck_assert_uint_eq(handover_used(h), 0);
	ck_assert_uint_eq(handover_half_size(h), SMALL_HALF);
	for (f = 0; f < HANDOVER_FIELD_COUNT; f++)
		ck_assert_uint_eq(handover_field(h, (enum handover_field)f), 0);
	ck_assert_uint_eq(handover_init(h, init, sizeof(init)), 0);
	ck_assert_int_eq(handover_locked(h) == 0 || handover_locked(h) == 1, 1);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	ck_assert_int_eq(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
	    F_SEAL_SHRINK | F_SEAL_GROW);
	ck_assert_int_eq(ftruncate(fd, 0), -1);
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, HEADER + 2 * SMALL_HALF);
	/* Only the header page is there: the halves take memory as they fill. */
	ck_assert_int_le(st.st_blocks * 512, 16384);
	handover_close(&h);
	ck_assert_ptr_null(h);
	handover_close(&h);
	handover_close(NULL);
}
END_TEST

START_TEST(test_handover_create_refuses_bad_half_sizes)
{
	static const size_t bad[] = { 0, 100, 4095, 4097, HANDOVER_HALF_MAX + 4096u, SIZE_MAX };
	struct handover *h;
	char msg[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = (struct handover *)1;
		msg[0] = '\0';
		ck_assert_int_eq(handover_create(bad[i], &h, msg, sizeof(msg)), -1);
		ck_assert_ptr_null(h);
		ck_assert_int_eq(errno, EINVAL);
		ck_assert_msg(strstr(msg, "half size") != NULL, "%s", msg);
	}
}
END_TEST

START_TEST(test_handover_create_without_memlock_still_works_unlocked)
{
	struct rlimit old, none;
	struct handover *h;
	char line[256];
	unsigned long long caps = 0;
	FILE *f;

	/* Only CAP_IPC_LOCK (bit 14) can lock past a zero limit. */
	f = fopen("/proc/self/status", "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	ck_assert_int_eq(getrlimit(RLIMIT_MEMLOCK, &old), 0);
	none.rlim_cur = 0;
	none.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &none), 0);
	h = ho_create(SMALL_HALF);
	/* With CAP_IPC_LOCK mlock2 may still be missing (valgrind): either is fine. */
	if (((caps >> 14) & 1) == 0)
		ck_assert_int_eq(handover_locked(h), 0);
	ck_assert_int_eq(append_seq(h, 1, 0), 0);
	ck_assert_int_eq(check_seq_log(h, 1, -1), 1);
	handover_close(&h);
	ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &old), 0);
}
END_TEST

/* The lowest fd not in use: with RLIMIT_NOFILE there, no new fd can be made. */
static int
lowest_free_fd(void)
{
	int fd = dup(0);

	ck_assert_int_ge(fd, 0);
	close(fd);
	return fd;
}

START_TEST(test_handover_create_reports_why_it_failed)
{
	struct rlimit old_nofile, old_fsize, lim;
	int first_free = lowest_free_fd();
	struct handover *h;
	char msg[256];

	/* No fd left for the memfd. */
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old_nofile), 0);
	lim = old_nofile;
	lim.rlim_cur = (rlim_t)first_free;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	h = (struct handover *)1;
	ck_assert_int_eq(handover_create(SMALL_HALF, &h, msg, sizeof(msg)), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old_nofile), 0);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(errno, EMFILE);
	ck_assert_msg(strstr(msg, "memfd_create") != NULL, "%s", msg);

	/* A file size limit below the state's size (SIGXFSZ would kill us). */
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old_fsize), 0);
	lim = old_fsize;
	lim.rlim_cur = 4096;
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	h = (struct handover *)1;
	ck_assert_int_eq(handover_create(SMALL_HALF, &h, msg, sizeof(msg)), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old_fsize), 0);
	signal(SIGXFSZ, SIG_DFL);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(errno, EFBIG);
	ck_assert_msg(strstr(msg, "ftruncate") != NULL, "%s", msg);
	/* Nothing was left open on the way out. */
	ck_assert_int_eq(lowest_free_fd(), first_free);
}
END_TEST

START_TEST(test_handover_append_then_next_returns_records_in_order)
{
	static const struct {
		unsigned type, nslots;
		const char *body;
		size_t len;
	} recs[] = {
		{ 2, 0, NULL, 0 },
		{ 1, 1, "a", 1 },
		{ HANDOVER_TYPE_MAX, HANDOVER_SLOTS_MAX, "123456789", 9 },
		{ 5, 3, "eight b.", 8 },
		{ 6, 0, "with\0nul", 8 },
	};
	struct handover *h = ho_create(SMALL_HALF);
	struct handover_record rec;
	handover_ref refs[5];
	size_t i, cursor = 0, used = 0;
	unsigned s;

	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(handover_append(h, recs[i].type, recs[i].nslots, recs[i].body,
		    recs[i].len, &refs[i]), 0);
		ck_assert_uint_ne(refs[i], 0);
		used += rec_bytes(recs[i].nslots, recs[i].len);
		ck_assert_uint_eq(handover_used(h), used);
	}
	ck_assert_int_eq(handover_append(h, 9, 1, "x", 1, NULL), 0);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
		ck_assert_uint_eq(rec.type, recs[i].type);
		ck_assert_uint_eq(rec.nslots, recs[i].nslots);
		ck_assert_uint_eq(rec.ref, refs[i]);
		ck_assert_uint_eq(rec.len, recs[i].len);
		ck_assert_uint_eq((uintptr_t)rec.body % 8, 0);
		if (recs[i].len > 0)
			ck_assert_mem_eq(rec.body, recs[i].body, recs[i].len);
		for (s = 0; s < rec.nslots; s++)
			ck_assert_uint_eq(handover_slot_get(h, rec.ref, s), 0);
	}
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
	ck_assert_uint_eq(rec.type, 9);
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	ck_assert_uint_eq(cursor, handover_used(h));
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_append_refuses_bad_arguments_with_einval)
{
	struct handover *h = ho_create(SMALL_HALF);
	handover_ref ref = 12345;

	errno = 0;
	ck_assert_int_eq(handover_append(h, HANDOVER_TYPE_MAX + 1, 0, "x", 1, &ref), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(handover_append(h, 1, HANDOVER_SLOTS_MAX + 1, "x", 1, &ref), -1);
	ck_assert_int_eq(errno, EINVAL);
	/* Refused before anything is read from the (one-byte) body. */
	ck_assert_int_eq(handover_append(h, 1, 0, "x", (size_t)UINT32_MAX + 1, &ref), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(handover_append(h, 1, 0, NULL, 1, &ref), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_uint_eq(ref, 12345);
	ck_assert_uint_eq(handover_used(h), 0);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_append_reports_enospc_when_the_half_is_full)
{
	struct handover *h = ho_create(4096);
	struct handover_record rec;
	char body[4096];
	size_t cursor = 0;
	int i;

	memset(body, 'r', sizeof(body));
	ck_assert_int_eq(handover_append(h, 1, 0, body, 4096, NULL), -1);
	ck_assert_int_eq(errno, ENOSPC);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(handover_append(h, 1, 0, body, 56, NULL), 0);
	ck_assert_uint_eq(handover_used(h), 4096);
	ck_assert_int_eq(handover_append(h, 1, 0, NULL, 0, NULL), -1);
	ck_assert_int_eq(errno, ENOSPC);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	ck_assert_uint_eq(cursor, 4096);
	handover_close(&h);

	/* One record can take the whole half, and nothing more. */
	h = ho_create(4096);
	ck_assert_int_eq(handover_append(h, 1, 1, body, 4081, NULL), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(handover_append(h, 1, 1, body, 4080, NULL), 0);
	cursor = 0;
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
	ck_assert_uint_eq(rec.len, 4080);
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_slots_set_in_place_are_seen_by_a_second_attach)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	struct handover_record rec;
	handover_ref ref;
	size_t cursor = 0;

	ck_assert_int_eq(handover_append(h, 2, 3, "inode", 5, &ref), 0);
	handover_slot_set(h, ref, 0, 11);
	handover_slot_set(h, ref, 2, UINT64_MAX);
	g = ho_attach_dup(h);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 1);
	ck_assert_uint_eq(rec.ref, ref);
	ck_assert_uint_eq(handover_slot_get(g, rec.ref, 0), 11);
	ck_assert_uint_eq(handover_slot_get(g, rec.ref, 1), 0);
	ck_assert_uint_eq(handover_slot_get(g, rec.ref, 2), UINT64_MAX);
	/* Both map the same pages: a store through one is seen through the other. */
	handover_slot_set(h, ref, 1, 42);
	ck_assert_uint_eq(handover_slot_get(g, rec.ref, 1), 42);
	handover_slot_set(g, rec.ref, 0, 12);
	ck_assert_uint_eq(handover_slot_get(h, ref, 0), 12);
	/* The body is untouched by slot stores. */
	ck_assert_mem_eq(rec.body, "inode", 5);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 0);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_slot_refs_that_name_no_slot_are_ignored)
{
	struct handover *h = ho_create(SMALL_HALF);
	unsigned char *before, *after;
	size_t len, len2, i, end = HEADER + 2 * SMALL_HALF;
	handover_ref ref, bad[8];

	ck_assert_int_eq(handover_append(h, 2, 2, "body", 4, &ref), 0);
	handover_slot_set(h, ref, 0, 5);
	bad[0] = 0;
	bad[1] = 8;				/* in the header */
	bad[2] = ref + 4;			/* not aligned */
	bad[3] = ref + rec_bytes(2, 4);		/* past the last record: a zero word */
	bad[4] = ref + 8;			/* a slot, not a record */
	bad[5] = end;
	bad[6] = end - 8;
	bad[7] = SIZE_MAX - 7;
	before = read_file(handover_fd(h), &len);
	for (i = 0; i < 8; i++) {
		handover_slot_set(h, bad[i], 0, 99);
		ck_assert_uint_eq(handover_slot_get(h, bad[i], 0), 0);
	}
	handover_slot_set(h, ref, 2, 99);	/* the record has slots 0 and 1 */
	ck_assert_uint_eq(handover_slot_get(h, ref, 2), 0);
	after = read_file(handover_fd(h), &len2);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(before, after, len);
	ck_assert_uint_eq(handover_slot_get(h, ref, 0), 5);
	free(before);
	free(after);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_fields_and_init_are_kept_across_attach)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	unsigned char req[HANDOVER_INIT_MAX + 1], got[HANDOVER_INIT_MAX], *file;
	size_t i, len;

	for (i = 0; i < sizeof(req); i++)
		req[i] = (unsigned char)(i * 7 + 1);
	handover_set_field(h, HANDOVER_NEXT_INO, 1000);
	handover_set_field(h, HANDOVER_TAKEOVERS, 3);
	handover_set_field(h, HANDOVER_MOUNT_WALL_MS, UINT64_MAX);
	handover_set_field(h, HANDOVER_FIELD_COUNT - 1, 15);
	handover_set_field(h, HANDOVER_FIELD_COUNT, 16);	/* no such field */
	ck_assert_int_eq(handover_set_init(h, req, 104), 0);
	g = ho_attach_dup(h);
	ck_assert_uint_eq(handover_field(g, HANDOVER_NEXT_INO), 1000);
	ck_assert_uint_eq(handover_field(g, HANDOVER_TAKEOVERS), 3);
	ck_assert_uint_eq(handover_field(g, HANDOVER_MOUNT_WALL_MS), UINT64_MAX);
	ck_assert_uint_eq(handover_field(g, HANDOVER_FIELD_COUNT - 1), 15);
	ck_assert_uint_eq(handover_field(g, HANDOVER_FIELD_COUNT), 0);
	ck_assert_uint_eq(handover_init(g, got, sizeof(got)), 104);
	ck_assert_mem_eq(got, req, 104);
	ck_assert_uint_eq(handover_init(g, got, 103), 0);	/* would not fit */

	errno = 0;
	ck_assert_int_eq(handover_set_init(h, req, HANDOVER_INIT_MAX + 1), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(handover_set_init(h, NULL, 1), -1);
	ck_assert_uint_eq(handover_init(g, got, sizeof(got)), 104);
	ck_assert_int_eq(handover_set_init(h, req, HANDOVER_INIT_MAX), 0);
	ck_assert_uint_eq(handover_init(g, got, sizeof(got)), HANDOVER_INIT_MAX);
	ck_assert_mem_eq(got, req, HANDOVER_INIT_MAX);

	/* A shorter request leaves nothing of the longer one behind. */
	memset(req, 'A', sizeof(req));
	ck_assert_int_eq(handover_set_init(h, req, 200), 0);
	ck_assert_int_eq(handover_set_init(h, "BB", 2), 0);
	ck_assert_uint_eq(handover_init(g, got, sizeof(got)), 2);
	file = read_file(handover_fd(h), &len);
	ck_assert_ptr_null(memchr(file, 'A', len));
	free(file);
	ck_assert_int_eq(handover_set_init(h, NULL, 0), 0);
	ck_assert_uint_eq(handover_init(g, got, sizeof(got)), 0);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

/* fill(): re-append the records of the active half whose sequence is even. */
struct keep_even {
	handover_ref refs[64];
	int n;
};

static int
fill_keep_even(struct handover *h, void *arg)
{
	struct keep_even *k = arg;
	struct handover_record rec;
	size_t cursor = 0;
	uint64_t seq;
	int rc;

	while ((rc = handover_next(h, &cursor, &rec)) == 1) {
		seq = handover_slot_get(h, rec.ref, 0) - 1;
		if (seq % 2 != 0)
			continue;
		if (handover_append(h, rec.type, rec.nslots, rec.body, rec.len,
		    &k->refs[k->n]) != 0)
			return -1;
		handover_slot_set(h, k->refs[k->n], 0, seq / 2 + 1);
		handover_slot_set(h, k->refs[k->n], 1, ~(seq / 2));
		k->n++;
	}
	return rc;
}

START_TEST(test_handover_rewrite_keeps_only_what_fill_appended_and_zeroes_the_old_half)
{
	struct handover *h = ho_create(SMALL_HALF);
	struct keep_even k = { .n = 0 };
	struct handover_record rec;
	handover_ref old_ref;
	unsigned char *file;
	size_t len, cursor = 0, used;
	unsigned old;
	off_t data;
	long i;

	/* Even seq 2i with the body of i: the kept log reads as 0, 1, 2... */
	for (i = 0; i < 64; i++) {
		unsigned char body[64];
		size_t blen = seq_body((unsigned long)(i / 2), body);

		ck_assert_int_eq(handover_append(h, 3, 2, body, blen, &old_ref), 0);
		handover_slot_set(h, old_ref, 0, (uint64_t)i + 1);
	}
	old = active_half(handover_fd(h));
	ck_assert_int_eq(old, 0);
	ck_assert_int_eq(handover_rewrite(h, fill_keep_even, &k), 0);
	ck_assert_int_eq(k.n, 32);
	/*
	 * The old half's pages went back to the kernel, not just zeroed (looked
	 * at first: reading the half through the mapping faults pages in).
	 */
	if (sysconf(_SC_PAGESIZE) == 4096) {
		data = lseek(handover_fd(h), (off_t)half_off(h, 0), SEEK_DATA);
		ck_assert_int_ge(data, (off_t)half_off(h, 1));
	}
	ck_assert_uint_eq(active_half(handover_fd(h)), old ^ 1);
	ck_assert_int_eq(check_seq_log(h, 3, -1), 32);
	used = handover_used(h);

	/* The refs fill got are the new records' refs; the old ones name nothing. */
	handover_slot_set(h, k.refs[5], 1, 777);
	ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(handover_next(h, &cursor, &rec), 1);
	ck_assert_uint_eq(rec.ref, k.refs[5]);
	ck_assert_uint_eq(handover_slot_get(h, rec.ref, 1), 777);
	handover_slot_set(h, k.refs[5], 1, ~(uint64_t)5);
	ck_assert_uint_eq(handover_slot_get(h, old_ref, 0), 0);

	file = read_file(handover_fd(h), &len);
	ck_assert(all_zero(file + half_off(h, old), SMALL_HALF));
	ck_assert(all_zero(file + half_off(h, old ^ 1) + used, SMALL_HALF - used));
	free(file);
	/* Appends go on after what fill wrote. */
	ck_assert_int_eq(append_seq(h, 3, 32), 0);
	ck_assert_int_eq(check_seq_log(h, 3, -1), 33);
	handover_close(&h);
}
END_TEST

struct fill_some {
	int n;
	int rc;
};

static int
fill_some_then(struct handover *h, void *arg)
{
	struct fill_some *f = arg;
	int i;

	for (i = 0; i < f->n; i++)
		if (append_seq(h, 8, (unsigned long)i) != 0)
			break;
	return f->rc;
}

/* The old log is whole and the other half holds nothing. */
static void
assert_old_log_kept(struct handover *h, unsigned old, long n, size_t used)
{
	unsigned char *file;
	size_t len;

	ck_assert_uint_eq(active_half(handover_fd(h)), old);
	ck_assert_uint_eq(handover_used(h), used);
	ck_assert_int_eq(check_seq_log(h, 1, -1), n);
	file = read_file(handover_fd(h), &len);
	ck_assert(all_zero(file + half_off(h, old ^ 1), handover_half_size(h)));
	free(file);
}

START_TEST(test_handover_rewrite_failure_keeps_the_old_records)
{
	struct handover *h = ho_create(SMALL_HALF);
	struct fill_some f = { 5, -1 };
	unsigned old;
	size_t used;

	append_seqs(h, 1, 10);
	used = handover_used(h);
	old = active_half(handover_fd(h));
	ck_assert_int_eq(handover_rewrite(h, fill_some_then, &f), -1);
	assert_old_log_kept(h, old, 10, used);
	/* The writer goes on where it was. */
	ck_assert_int_eq(append_seq(h, 1, 10), 0);
	ck_assert_int_eq(check_seq_log(h, 1, -1), 11);
	/* Any nonzero result is a failure, and is what rewrite returns. */
	f.rc = 7;
	ck_assert_int_eq(handover_rewrite(h, fill_some_then, &f), 7);
	assert_old_log_kept(h, old, 11, handover_used(h));
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_rewrite_enospc_inside_fill_keeps_the_old_records)
{
	struct handover *h = ho_create(4096);
	struct fill_some f = { 1000, 0 };	/* ignores the failed append */
	unsigned old;
	size_t used;

	append_seqs(h, 1, 10);
	used = handover_used(h);
	old = active_half(handover_fd(h));
	errno = 0;
	ck_assert_int_eq(handover_rewrite(h, fill_some_then, &f), -1);
	ck_assert_int_eq(errno, ENOSPC);
	assert_old_log_kept(h, old, 10, used);
	handover_close(&h);
}
END_TEST

static int
fill_two(struct handover *h, void *arg)
{
	(void)arg;
	return append_seq(h, 1, 0) == 0 && append_seq(h, 1, 1) == 0 ? 0 : -1;
}

START_TEST(test_handover_rewrite_over_a_stale_half_shows_only_what_fill_appended)
{
	struct handover *h = ho_create(SMALL_HALF);
	unsigned char *file;
	size_t len;
	unsigned old;
	int fd = handover_fd(h);

	/* A crash after an earlier flip, before the wipe: the old log is still there. */
	append_seqs(h, 1, 50);
	old = active_half(fd);
	file = read_file(fd, &len);
	ck_assert_int_eq(pwrite(fd, file + half_off(h, old), SMALL_HALF,
	    (off_t)half_off(h, old ^ 1)), (ssize_t)SMALL_HALF);
	free(file);
	ck_assert_int_eq(handover_rewrite(h, fill_two, NULL), 0);
	ck_assert_int_eq(check_seq_log(h, 1, -1), 2);
	handover_close(&h);
}
END_TEST

static int
fill_nested(struct handover *h, void *arg)
{
	int *nested_errno = arg;

	if (handover_rewrite(h, fill_two, NULL) != -1)
		return -1;
	*nested_errno = errno;
	handover_wipe(h);	/* ignored: the log is being rebuilt */
	return fill_two(h, NULL);
}

START_TEST(test_handover_rewrite_cannot_nest_and_wipe_waits_for_it)
{
	struct handover *h = ho_create(SMALL_HALF);
	int nested_errno = 0;

	handover_set_field(h, HANDOVER_TAKEOVERS, 9);
	append_seqs(h, 1, 5);
	ck_assert_int_eq(handover_rewrite(h, fill_nested, &nested_errno), 0);
	ck_assert_int_eq(nested_errno, EBUSY);
	ck_assert_int_eq(check_seq_log(h, 1, -1), 2);
	ck_assert_uint_eq(handover_field(h, HANDOVER_TAKEOVERS), 9);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_append_after_a_torn_append_leaves_no_stale_bytes)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	unsigned char torn[300], *file;
	size_t len, tail;
	unsigned act;

	append_seqs(h, 1, 3);
	act = active_half(handover_fd(h));
	tail = handover_used(h);
	/* A writer killed after writing a body, before its word: bytes past the tail. */
	memset(torn, 0xc5, sizeof(torn));
	ck_assert_int_eq(pwrite(handover_fd(h), torn, sizeof(torn),
	    (off_t)(half_off(h, act) + tail + 8)), (ssize_t)sizeof(torn));
	g = ho_attach_dup(h);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 3);
	ck_assert_uint_eq(handover_used(g), tail);
	/* A shorter record over the torn one must not leave its tail readable. */
	ck_assert_int_eq(append_seq(g, 1, 3), 0);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 4);
	file = read_file(handover_fd(g), &len);
	ck_assert(all_zero(file + half_off(g, act) + handover_used(g),
	    SMALL_HALF - handover_used(g)));
	free(file);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_first_append_after_attach_wipes_a_stale_inactive_half)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	unsigned char *file;
	size_t len;
	unsigned act;
	int fd = handover_fd(h);

	/* A writer killed between a rewrite's flip and its wipe: the old log stays. */
	append_seqs(h, 1, 50);
	act = active_half(fd);
	file = read_file(fd, &len);
	ck_assert_int_eq(pwrite(fd, file + half_off(h, act), SMALL_HALF,
	    (off_t)half_off(h, act ^ 1)), (ssize_t)SMALL_HALF);
	free(file);
	g = ho_attach_dup(h);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 50);
	ck_assert_int_eq(append_seq(g, 1, 50), 0);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 51);
	file = read_file(fd, &len);
	ck_assert(all_zero(file + half_off(g, act ^ 1), SMALL_HALF));
	free(file);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

/* Attach after putting word w at the tail of h's log; the count read before -1. */
static struct handover *
attach_with_bad_word(struct handover *h, uint64_t w, long *good)
{
	struct handover_record rec;
	struct handover *g;
	size_t cursor = 0;
	long n = 0;
	int rc;

	pwrite_u64(handover_fd(h), half_off(h, active_half(handover_fd(h))) +
	    handover_used(h), w);
	g = ho_attach_dup(h);
	while ((rc = handover_next(g, &cursor, &rec)) == 1)
		n++;
	ck_assert_msg(rc == -1, "word %llx read as %d", (unsigned long long)w, rc);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), -1);	/* and stays there */
	*good = n;
	return g;
}

START_TEST(test_handover_next_refuses_inconsistent_words_without_reading_out_of_bounds)
{
	const uint64_t mark = 0xc5ull << 56;
	struct handover *h = ho_create(4096), *g;
	struct handover_record rec;
	size_t cursor, left;
	long good;

	append_seqs(h, 1, 2);
	left = 4096 - handover_used(h);
	/* A length past the half, by far and by one word; a wrong mark. */
	g = attach_with_bad_word(h, mark | 0xffffffffu, &good);
	ck_assert_int_eq(good, 2);
	handover_close(&g);
	g = attach_with_bad_word(h, mark | (left - 8 + 1), &good);
	handover_close(&g);
	g = attach_with_bad_word(h, mark | 1ull << 32 | (left - 8 - 8 + 1), &good);
	handover_close(&g);
	g = attach_with_bad_word(h, 0x01ull << 56 | 4, &good);
	ck_assert_int_eq(good, 2);

	/* No appending after a record that cannot be read past... */
	ck_assert_int_eq(append_seq(g, 1, 2), -1);
	ck_assert_int_eq(errno, EIO);
	/* ...until a rewrite gives a log that can. */
	ck_assert_int_eq(handover_rewrite(g, fill_two, NULL), 0);
	ck_assert_int_eq(append_seq(g, 1, 2), 0);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 3);

	cursor = 3;
	ck_assert_int_eq(handover_next(g, &cursor, &rec), -1);
	cursor = 4096 + 8;
	ck_assert_int_eq(handover_next(g, &cursor, &rec), -1);
	cursor = 4096;
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 0);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

/*
 * A memfd holding h's header (with the u32 at edit_at set to v when edit_at
 * is nonzero), size bytes long, sealed or not.
 */
static int
copy_state(struct handover *h, size_t size, size_t edit_at, uint32_t v, int seal)
{
	unsigned char hdr[HEADER];
	int fd = memfd_create("not-state", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(handover_fd(h), hdr, HEADER, 0), (ssize_t)HEADER);
	if (edit_at != 0)
		memcpy(hdr + edit_at, &v, sizeof(v));
	ck_assert_int_eq(ftruncate(fd, (off_t)size), 0);
	ck_assert_int_eq(pwrite(fd, hdr, size < HEADER ? size : HEADER, 0),
	    (ssize_t)(size < HEADER ? size : HEADER));
	if (seal)
		ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	return fd;
}

/* attach(fd) fails naming why, and leaves fd to the caller, who closes it. */
static void
assert_attach_refused(int fd, const char *why)
{
	struct handover *g = (struct handover *)1;
	char msg[256] = "";

	ck_assert_int_eq(handover_attach(fd, &g, msg, sizeof(msg)), -1);
	ck_assert_ptr_null(g);
	ck_assert_msg(strstr(msg, why) != NULL, "wanted \"%s\" in: %s", why, msg);
	ck_assert_ptr_null(strchr(msg, '\n'));
	ck_assert_int_eq(close(fd), 0);
}

START_TEST(test_handover_attach_refuses_what_is_not_handover_state)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	size_t full = HEADER + 2 * SMALL_HALF;
	unsigned char hdr[HEADER];
	char msg[256];
	int fd, p[2];
	FILE *f;

	ck_assert_int_eq(pread(handover_fd(h), hdr, HEADER, 0), (ssize_t)HEADER);

	assert_attach_refused(memfd_create("empty", MFD_CLOEXEC), "too short");
	fd = memfd_create("zeros", MFD_CLOEXEC);
	ck_assert_int_eq(ftruncate(fd, (off_t)full), 0);
	assert_attach_refused(fd, "bad magic");
	ck_assert_int_eq(pipe(p), 0);
	assert_attach_refused(p[0], "too short");
	close(p[1]);
	assert_attach_refused(copy_state(h, HEADER + SMALL_HALF, 0, 0, 1), "truncated");
	assert_attach_refused(copy_state(h, full + 4096, 0, 0, 1), "truncated");
	assert_attach_refused(copy_state(h, 100, 0, 0, 0), "too short");
	assert_attach_refused(copy_state(h, full, 8, 2, 1), "version 2");
	assert_attach_refused(copy_state(h, full, ACTIVE_AT, 2, 1), "corrupt");
	assert_attach_refused(copy_state(h, full, 16, 4096 + 1, 1), "truncated");
	assert_attach_refused(copy_state(h, full, 0, 0, 0), "not sealed");
	/* A plain file cannot be sealed at all. */
	f = tmpfile();
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(pwrite(fileno(f), hdr, HEADER, 0), (ssize_t)HEADER);
	ck_assert_int_eq(ftruncate(fileno(f), (off_t)full), 0);
	assert_attach_refused(dup(fileno(f)), "not sealed");
	fclose(f);
	g = (struct handover *)1;
	ck_assert_int_eq(handover_attach(-1, &g, msg, sizeof(msg)), -1);
	ck_assert_ptr_null(g);
	ck_assert_msg(strstr(msg, "fstat") != NULL, "%s", msg);
	/* The same header, sized and sealed, is state. */
	fd = copy_state(h, full, 0, 0, 1);
	ck_assert_msg(handover_attach(fd, &g, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_int_eq(handover_fd(g), fd);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_erased_record_is_skipped_and_zeroed)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	struct handover_record rec;
	handover_ref a, b, c;
	unsigned char *file;
	size_t len, cursor = 0;

	ck_assert_int_eq(handover_append(h, 4, 1, "keep-1", 6, &a), 0);
	ck_assert_int_eq(handover_append(h, 4, 2, "TOKEN-xoxb-replaced", 19, &b), 0);
	ck_assert_int_eq(handover_append(h, 4, 1, "keep-2", 6, &c), 0);
	handover_slot_set(h, b, 1, 0x544f4b454e544f4bull);
	handover_erase(h, b);
	handover_erase(h, 12345);	/* not a record: ignored */
	/* Erased is not a type one may append. */
	ck_assert_int_eq(handover_append(h, HANDOVER_TYPE_ERASED, 0, NULL, 0, NULL), -1);
	ck_assert_int_eq(errno, EINVAL);
	g = ho_attach_dup(h);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 1);
	ck_assert_int_eq(memcmp(rec.body, "keep-1", 6), 0);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 1);
	ck_assert_int_eq(memcmp(rec.body, "keep-2", 6), 0);
	ck_assert_int_eq(handover_next(g, &cursor, &rec), 0);
	handover_close(&g);
	file = read_file(handover_fd(h), &len);
	ck_assert_ptr_null(memmem(file, len, "TOKEN", 5));
	free(file);
	/* Appends go on after it. */
	ck_assert_int_eq(handover_append(h, 4, 0, "after", 5, NULL), 0);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_wipe_leaves_nothing_readable)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	struct handover_record rec;
	struct fill_some f = { 20, 0 };
	unsigned char *file, out[64];
	size_t len, cursor = 0;
	int i, fd = handover_fd(h);

	for (i = 0; i < 40; i++)
		ck_assert_int_eq(handover_append(h, 4, 1, "TOKEN-xoxb-secret", 17, NULL), 0);
	ck_assert_int_eq(handover_rewrite(h, fill_some_then, &f), 0);
	for (i = 0; i < 40; i++)
		ck_assert_int_eq(handover_append(h, 4, 1, "TOKEN-xoxb-secret", 17, NULL), 0);
	handover_set_field(h, HANDOVER_NEXT_INO, 77);
	ck_assert_int_eq(handover_set_init(h, "TOKEN-init", 10), 0);
	handover_wipe(h);
	/* Every page given back (before any read through the mapping faults one in). */
	if (sysconf(_SC_PAGESIZE) == 4096) {
		errno = 0;
		ck_assert_int_eq(lseek(fd, HEADER, SEEK_DATA), -1);
		ck_assert_int_eq(errno, ENXIO);
	}

	ck_assert_int_eq(handover_next(h, &cursor, &rec), 0);
	ck_assert_uint_eq(handover_used(h), 0);
	ck_assert_uint_eq(handover_field(h, HANDOVER_NEXT_INO), 0);
	ck_assert_uint_eq(handover_init(h, out, sizeof(out)), 0);
	file = read_file(fd, &len);
	ck_assert_ptr_null(memmem(file, len, "TOKEN", 5));
	/* magic, version, active half, half size: nothing else is left */
	ck_assert(all_zero(file + 24, len - 24));
	ck_assert_uint_eq(active_half(fd), 0);
	free(file);
	/* Still valid state: the next process attaches to an empty one. */
	g = ho_attach_dup(h);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 0);
	handover_close(&g);
	append_seqs(h, 1, 3);
	g = ho_attach_dup(h);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 3);
	handover_close(&g);
	handover_close(&h);
}
END_TEST

START_TEST(test_handover_close_leaves_the_contents_to_the_next_process)
{
	struct handover *h = ho_create(SMALL_HALF), *g;
	char msg[256];
	int fd;

	append_seqs(h, 1, 100);
	handover_set_field(h, HANDOVER_TAKEOVERS, 1);
	fd = dup(handover_fd(h));
	handover_close(&h);
	ck_assert_msg(handover_attach(fd, &g, msg, sizeof(msg)) == 0, "%s", msg);
	ck_assert_int_eq(check_seq_log(g, 1, -1), 100);
	ck_assert_uint_eq(handover_field(g, HANDOVER_TAKEOVERS), 1);
	handover_close(&g);
}
END_TEST

/* Tell the parent how far we are; a child has no test to fail. */
static void
child_signal(int fd, char c)
{
	if (write(fd, &c, 1) != 1)
		_exit(3);
}

static void
child_wait_for_kill(void)
{
	for (;;)
		pause();
}

/* Append records 0, 1, ... until killed (or the half is full). */
static void
writer_child(struct handover *h, int ready)
{
	unsigned long seq;

	child_signal(ready, 'r');
	for (seq = 0;; seq++)
		if (append_seq(h, 7, seq) != 0)
			child_wait_for_kill();
}

/* Fork child(h, fd), wait for its first byte, then usec later kill -9 it. */
static void
run_and_kill(struct handover *h, void (*child)(struct handover *, int), int bytes,
    unsigned usec)
{
	int p[2], st, i;
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	if (pid == 0) {
		/* No ck_assert in the child: it writes to Check's pipe and may be killed. */
		close(p[0]);
		child(h, p[1]);
		_exit(0);
	}
	ck_assert_int_ge(pid, 0);
	close(p[1]);
	for (i = 0; i < bytes; i++)
		ck_assert_int_eq(read(p[0], &c, 1), 1);
	if (usec > 0)
		usleep(usec);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	/* Open until now: a child telling us more must not die of SIGPIPE. */
	close(p[0]);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

START_TEST(test_handover_survives_a_writer_killed_at_any_moment)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct handover *h, *g;
	long n, total = 0;
	int round;

	for (round = 0; round < 20; round++) {
		h = ho_create(BIG_HALF);
		run_and_kill(h, writer_child, 1, (unsigned)rand_r(&seed) % 4000);
		/* The next process: every record up to the kill, whole. */
		g = ho_attach_dup(h);
		handover_close(&h);
		n = check_seq_log(g, 7, TORN_LAST);
		/* And it can go on writing where the dead one stopped. */
		if (append_seq(g, 7, (unsigned long)n) == 0)
			ck_assert_int_eq(check_seq_log(g, 7, n - 1), n + 1);
		else
			ck_assert_int_eq(errno, ENOSPC);	/* filled before the kill */
		handover_close(&g);
		total += n;
	}
	ck_assert_int_gt(total, 0);
}
END_TEST

#define OLD_TYPE	1
#define NEW_TYPE	2
#define OLD_COUNT	2000
#define NEW_COUNT	30000

/* fill(): NEW_COUNT records, saying when it starts and maybe stalling half way. */
struct big_fill {
	int fd;
	int stall;
};

static int
fill_big(struct handover *h, void *arg)
{
	struct big_fill *b = arg;
	unsigned long seq;

	child_signal(b->fd, 'r');
	for (seq = 0; seq < NEW_COUNT; seq++) {
		if (b->stall && seq == NEW_COUNT / 2) {
			child_signal(b->fd, 's');
			child_wait_for_kill();
		}
		if (append_seq(h, NEW_TYPE, seq) != 0)
			return -1;
	}
	return 0;
}

static void
rewriter(struct handover *h, int fd, int stall)
{
	struct big_fill b = { fd, stall };

	if (handover_rewrite(h, fill_big, &b) != 0)
		_exit(2);
	child_signal(fd, 'd');
	child_wait_for_kill();
}

static void
rewriter_child(struct handover *h, int fd)
{
	rewriter(h, fd, 0);
}

static void
stalling_rewriter_child(struct handover *h, int fd)
{
	rewriter(h, fd, 1);
}

/* Which whole log the next process finds: OLD_TYPE or NEW_TYPE. */
static unsigned
surviving_log(struct handover *h)
{
	struct handover_record rec;
	struct handover *g = ho_attach_dup(h);
	size_t cursor = 0;
	unsigned type;

	ck_assert_int_eq(handover_next(g, &cursor, &rec), 1);
	type = rec.type;
	ck_assert_int_eq(check_seq_log(g, type, -1),
	    type == OLD_TYPE ? OLD_COUNT : NEW_COUNT);
	handover_close(&g);
	return type;
}

static struct handover *
old_log(void)
{
	struct handover *h = ho_create(BIG_HALF);

	append_seqs(h, OLD_TYPE, OLD_COUNT);
	return h;
}

START_TEST(test_handover_rewrite_killed_at_any_moment_leaves_one_whole_log)
{
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	struct handover *h;
	int round, seen[3] = { 0, 0, 0 };
	unsigned type;

	for (round = 0; round < 16; round++) {
		h = old_log();
		run_and_kill(h, rewriter_child, 1, (unsigned)rand_r(&seed) % 8000);
		type = surviving_log(h);
		ck_assert(type == OLD_TYPE || type == NEW_TYPE);
		seen[type]++;
		handover_close(&h);
	}
	/* Killed during fill: the old log. */
	h = old_log();
	run_and_kill(h, stalling_rewriter_child, 2, 0);
	ck_assert_uint_eq(surviving_log(h), OLD_TYPE);
	handover_close(&h);
	/* Killed once the rewrite returned: the new one. */
	h = old_log();
	run_and_kill(h, rewriter_child, 2, 0);
	ck_assert_uint_eq(surviving_log(h), NEW_TYPE);
	handover_close(&h);
	ck_assert_int_eq(seen[OLD_TYPE] + seen[NEW_TYPE], 16);
}
END_TEST

Suite *
handover_suite(void)
{
	Suite *s = suite_create("handover");
	TCase *basic = tcase_create("log");
	TCase *rewrite = tcase_create("rewrite");
	TCase *state = tcase_create("state");
	TCase *crash = tcase_create("crash");

	tcase_add_test(basic, test_handover_create_gives_an_empty_sealed_sparse_log);
	tcase_add_test(basic, test_handover_create_refuses_bad_half_sizes);
	tcase_add_test(basic, test_handover_create_without_memlock_still_works_unlocked);
	tcase_add_test(basic, test_handover_create_reports_why_it_failed);
	tcase_add_test(basic, test_handover_append_then_next_returns_records_in_order);
	tcase_add_test(basic, test_handover_append_refuses_bad_arguments_with_einval);
	tcase_add_test(basic, test_handover_append_reports_enospc_when_the_half_is_full);
	tcase_add_test(basic, test_handover_slots_set_in_place_are_seen_by_a_second_attach);
	tcase_add_test(basic, test_handover_slot_refs_that_name_no_slot_are_ignored);
	tcase_add_test(basic, test_handover_next_refuses_inconsistent_words_without_reading_out_of_bounds);
	suite_add_tcase(s, basic);

	tcase_add_test(rewrite,
	    test_handover_rewrite_keeps_only_what_fill_appended_and_zeroes_the_old_half);
	tcase_add_test(rewrite, test_handover_rewrite_failure_keeps_the_old_records);
	tcase_add_test(rewrite, test_handover_rewrite_enospc_inside_fill_keeps_the_old_records);
	tcase_add_test(rewrite,
	    test_handover_rewrite_over_a_stale_half_shows_only_what_fill_appended);
	tcase_add_test(rewrite, test_handover_rewrite_cannot_nest_and_wipe_waits_for_it);
	suite_add_tcase(s, rewrite);

	tcase_add_test(state, test_handover_fields_and_init_are_kept_across_attach);
	tcase_add_test(state, test_handover_attach_refuses_what_is_not_handover_state);
	tcase_add_test(state, test_handover_wipe_leaves_nothing_readable);
	tcase_add_test(state, test_handover_erased_record_is_skipped_and_zeroed);
	tcase_add_test(state, test_handover_close_leaves_the_contents_to_the_next_process);
	suite_add_tcase(s, state);

	tcase_add_test(crash, test_handover_append_after_a_torn_append_leaves_no_stale_bytes);
	tcase_add_test(crash, test_handover_first_append_after_attach_wipes_a_stale_inactive_half);
	tcase_add_test(crash, test_handover_survives_a_writer_killed_at_any_moment);
	tcase_add_test(crash, test_handover_rewrite_killed_at_any_moment_leaves_one_whole_log);
	suite_add_tcase(s, crash);
	return s;
}
