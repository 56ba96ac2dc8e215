/*
 * pack.h: a small bounded serialisation for state that one server process
 * hands to the next (handover.h). Writing goes to secret memory, because
 * what is packed holds tokens; reading never goes past the bytes it was
 * given, whatever they claim, because they come from a process that may
 * have died half way through, or from an older or newer build.
 *
 * Both sides are sticky: once failed is set every later call is a no-op
 * (unpack calls return 0 or NULL), so a caller packs or unpacks a whole
 * record and checks failed once at the end.
 *
 * Encoding, all little-endian:
 *	u64	8 bytes
 *	bytes	u64 length n, then n bytes
 *	str	bytes of the string with its NUL (length strlen + 1); an absent
 *		string (NULL) is length 0, so "" and NULL stay apart
 */
#ifndef CFS_PACK_H
#define CFS_PACK_H

#include <stddef.h>
#include <stdint.h>

struct connection;

struct pack {
	char *buf;	/* secret memory (secret_alloc/secret_realloc) */
	size_t len;
	size_t cap;
	int failed;	/* out of memory, or a length that overflows */
};

void pack_init(struct pack *p);
void pack_u64(struct pack *p, uint64_t v);
void pack_bytes(struct pack *p, const void *b, size_t n);
void pack_str(struct pack *p, const char *s);
/* Zero and free the buffer; the pack can be used again after pack_init(). */
void pack_release(struct pack *p);

struct unpack {
	const unsigned char *p;
	size_t left;
	int failed;	/* short input, a bad length, or out of memory */
};

void unpack_init(struct unpack *u, const void *buf, size_t len);
/* 0 and failed set when fewer than 8 bytes are left. */
uint64_t unpack_u64(struct unpack *u);
/* A pointer into the buffer and its length in *n; NULL and failed when short. */
const void *unpack_bytes(struct unpack *u, size_t *n);
/*
 * A NUL-terminated copy (secret_strndup when secret, else malloc): free it
 * with secret_free or free to match. NULL both for an absent string and on
 * failure (a short buffer, a string without its NUL or with one inside, out
 * of memory): check u->failed to tell them apart.
 */
char *unpack_str_dup(struct unpack *u, int secret);

/*
 * Every field of c, the rendered documents included, so that the receiver
 * need not render again (and cannot render differently). 0, or -1 when the
 * pack failed or c is something connection_unpack() would refuse (not
 * rendered, keys under a null config, a key without its value).
 */
int connection_pack(const struct connection *c, struct pack *p);

/*
 * A new connection (refs 1) from connection_pack() bytes, with its secret
 * fields in secret memory as decode.c allocates them. NULL, with u->failed
 * set, when the bytes are malformed (short, lengths that do not fit, a
 * missing NUL, a missing token or document, keys that contradict
 * themselves) or memory runs out.
 */
struct connection *connection_unpack(struct unpack *u);

#endif
