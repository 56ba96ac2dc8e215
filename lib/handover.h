/*
 * handover.h: state that one server process leaves to the next, after a
 * crash (kill -9 at any instant) or an upgrade, in memory only: a memfd that
 * the next process inherits. It holds a header (a few u64 fields and the
 * INIT request the kernel sent) and an append-only log of records in one of
 * two halves; the other half is where compaction (handover_rewrite) builds
 * the next log before one store makes it the active one.
 *
 * A record is published by one release store of its header word after its
 * slots and body are written, and the log beyond its end is zero, so a
 * reader stops at the first zero header: a writer killed during an append
 * leaves every earlier record intact and the torn one invisible. A record's
 * slots are u64 that can be changed in place afterwards, each atomically.
 *
 * One writer at a time: the caller serialises every call that writes with
 * its own lock. Readers are the next process, after the writer died.
 * The memory is locked when the limit allows it (handover_locked), never
 * dumped, and wiped before its pages are given back, since records hold
 * tokens.
 */
#ifndef CFS_HANDOVER_H
#define CFS_HANDOVER_H

#include <stddef.h>
#include <stdint.h>

struct handover;

enum handover_field {
	HANDOVER_NEXT_INO,
	HANDOVER_TAKEOVERS,
	HANDOVER_MOUNT_WALL_MS,
	HANDOVER_SERVED,		/* a server has served (the next one takes over) */
	HANDOVER_INIT_ANSWERED,		/* the kernel took the reply to the kept INIT */
	HANDOVER_OPEN_MODE,		/* enum handover_open_mode */
	HANDOVER_FIELD_COUNT = 16
};

/*
 * Whether the kernel still sends OPEN on this connection. Once a server
 * answers an OPEN with ENOSYS (no-open mode) the kernel never sends one
 * again, to any server: a server that must see every open (audit=, the
 * caller checks of a /dev/fd/N mount) cannot take such a connection over.
 */
enum handover_open_mode {
	HANDOVER_OPENS_UNKNOWN = 0,	/* left by a server that did not record it */
	HANDOVER_OPENS_REACH_SERVER,	/* every server so far saw the opens */
	HANDOVER_OPENS_GIVEN_TO_KERNEL,	/* a server answered OPEN with ENOSYS */
};

#define HANDOVER_HALF_DEFAULT	(32u << 20)
#define HANDOVER_HALF_MIN	4096u		/* and a multiple of it */
#define HANDOVER_HALF_MAX	(1u << 30)
#define HANDOVER_INIT_MAX	512
#define HANDOVER_TYPE_MAX	0xffffu
#define HANDOVER_TYPE_ERASED	0u		/* not a type: see handover_erase() */
#define HANDOVER_SLOTS_MAX	255u

/*
 * A new sealed memfd ("connectorfs-state", close-on-exec) of a header and
 * two halves of half_size bytes each, mapped. 0, or -1 with a one-line msg.
 */
int handover_create(size_t half_size, struct handover **out, char *msg, size_t msgsz);

/*
 * Map a memfd made by handover_create() in another process, after checking
 * its seals, magic, version, sizes and active half. On success the handover
 * owns fd; on failure the caller still does. 0, or -1 with msg.
 */
int handover_attach(int fd, struct handover **out, char *msg, size_t msgsz);

int handover_fd(const struct handover *h);

/* 1 when the mapping is locked in memory (mlock2 succeeded), else 0. */
int handover_locked(const struct handover *h);

/* Unmap and close; the contents stay for the next process. NULL is fine. */
void handover_close(struct handover **h);

/*
 * Zero every byte written (the log first, so that a crash half way leaves
 * an empty log rather than a torn one) and give the pages back; the header
 * is left empty and valid. Ignored when called from a rewrite's fill().
 */
void handover_wipe(struct handover *h);

/* Fields live in the header, independent of the log; 0 for a bad f. */
uint64_t handover_field(const struct handover *h, enum handover_field f);
void handover_set_field(struct handover *h, enum handover_field f, uint64_t v);

/* Keep the INIT request; -1 (errno EINVAL) when len > HANDOVER_INIT_MAX. */
int handover_set_init(struct handover *h, const void *req, size_t len);
/* Copy the INIT request into buf; its length, or 0 when none or buf is short. */
size_t handover_init(const struct handover *h, void *buf, size_t bufsz);

/* A record's slots: nonzero, valid until the next handover_rewrite(). */
typedef size_t handover_ref;

/*
 * Append a record of type (<= HANDOVER_TYPE_MAX) with nslots zeroed slots
 * (<= HANDOVER_SLOTS_MAX) and len bytes of body; *ref (ref may be NULL)
 * names its slots. -1 with errno ENOSPC when the half is full, EINVAL for a
 * bad type or size, EIO when the log holds an inconsistent record (after
 * handover_next() said -1: rewrite or wipe it first).
 */
int handover_append(struct handover *h, unsigned type, unsigned nslots, const void *body,
    size_t len, handover_ref *ref);

/*
 * The record stops being one (handover_next() skips it) and its slots and
 * body are zeroed: for what must not outlive its use, a replaced token.
 * Its space comes back at the next rewrite. A bad ref is ignored.
 */
void handover_erase(struct handover *h, handover_ref ref);

/* A bad ref or slot is ignored (set) or reads 0 (get). */
void handover_slot_set(struct handover *h, handover_ref ref, unsigned slot, uint64_t v);
uint64_t handover_slot_get(const struct handover *h, handover_ref ref, unsigned slot);

/*
 * Compaction. The inactive half is zeroed, then fill() re-appends every
 * live record: its handover_append() calls go to that half, and the refs
 * they give stay valid afterwards. When fill returns 0 and none of its
 * appends failed, one release store makes that half the active one and the
 * old one is wiped; otherwise the new half is wiped and the old stays. A
 * crash at any point leaves one of the two logs whole. Returns fill's
 * result, or -1 with errno ENOSPC when an append inside failed though fill
 * returned 0, EBUSY when called from fill.
 */
int handover_rewrite(struct handover *h, int (*fill)(struct handover *h, void *arg),
    void *arg);

struct handover_record {
	unsigned type;
	unsigned nslots;
	handover_ref ref;
	const void *body;	/* into the mapping; 8-byte aligned */
	size_t len;
};

/*
 * The records of the active half in order, *cursor starting at 0: 1 with
 * *rec, 0 at the end, -1 at a header that does not fit (a length past the
 * half, a bad mark): nothing out of bounds is ever read.
 */
int handover_next(const struct handover *h, size_t *cursor, struct handover_record *rec);

/* Bytes used in the active half, and the size of a half (for status). */
size_t handover_used(const struct handover *h);
size_t handover_half_size(const struct handover *h);

#endif
