/*
 * pack.c: the encoding of pack.h, and a connection's fields in it. The
 * writer grows one secret buffer (every growth copies and zeroes the old
 * block, as buf.c does); the reader checks each length against what is left
 * before it looks at a byte, so no claim in the input can make it read past
 * the end or allocate more than the input could describe.
 */
#include <stdlib.h>
#include <string.h>

#include "connection.h"
#include "names.h"
#include "pack.h"
#include "secret.h"

#define PACK_MIN_CAP		256

/* "CFSCONN1": bytes meant for something else are refused at once. */
#define CONNECTION_PACK_TAG	0x314e4e4f43534643ull

/*
 * The fewest bytes a packed key can take (name "", safe, value "", json
 * ""), so that nkeys can be checked against the bytes left before any
 * allocation.
 */
#define CONNECTION_KEY_MIN	(9 + 8 + 9 + 9)

void
pack_init(struct pack *p)
{
	memset(p, 0, sizeof(*p));
}

/* Room for n more bytes; sets failed on overflow or out of memory. */
static int
pack_reserve(struct pack *p, size_t n)
{
	size_t want, cap;
	char *nb;

	if (p->failed)
		return -1;
	if (n > SIZE_MAX - p->len) {
		p->failed = 1;
		return -1;
	}
	want = p->len + n;
	if (want <= p->cap)
		return 0;
	cap = p->cap ? p->cap : PACK_MIN_CAP;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	nb = secret_realloc(p->buf, cap);
	if (nb == NULL) {
		p->failed = 1;
		return -1;
	}
	p->buf = nb;
	p->cap = cap;
	return 0;
}

static void
pack_raw(struct pack *p, const void *b, size_t n)
{
	if (pack_reserve(p, n) != 0)
		return;
	if (n > 0)
		memcpy(p->buf + p->len, b, n);
	p->len += n;
}

void
pack_u64(struct pack *p, uint64_t v)
{
	unsigned char le[8];
	int i;

	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(v >> (8 * i));
	pack_raw(p, le, sizeof(le));
}

void
pack_bytes(struct pack *p, const void *b, size_t n)
{
	/* Reserve the whole field first: a length must never be left alone. */
	if ((n > 0 && b == NULL) || n > SIZE_MAX - 8 || pack_reserve(p, 8 + n) != 0) {
		p->failed = 1;
		return;
	}
	pack_u64(p, n);
	pack_raw(p, b, n);
}

/*
 * s[0..n) and a NUL, as a length n + 1, without reading s[n]; NULL as
 * length 0. A string's NUL is what lets the reader tell "" from absent and
 * check that it was handed the whole value.
 */
static void
pack_counted(struct pack *p, const char *s, size_t n)
{
	if (s == NULL) {
		pack_u64(p, 0);
		return;
	}
	if (n > SIZE_MAX - 9 || pack_reserve(p, 9 + n) != 0) {
		p->failed = 1;
		return;
	}
	pack_u64(p, (uint64_t)n + 1);
	pack_raw(p, s, n);
	pack_raw(p, "", 1);
}

void
pack_str(struct pack *p, const char *s)
{
	pack_counted(p, s, s != NULL ? strlen(s) : 0);
}

void
pack_release(struct pack *p)
{
	secret_free(p->buf);
	memset(p, 0, sizeof(*p));
}

void
unpack_init(struct unpack *u, const void *buf, size_t len)
{
	u->p = buf;
	u->left = buf != NULL ? len : 0;
	u->failed = 0;
}

/* n bytes from the input, or NULL and failed when fewer are left. */
static const unsigned char *
unpack_take(struct unpack *u, size_t n)
{
	const unsigned char *q;

	if (u->failed)
		return NULL;
	if (n > u->left) {
		u->failed = 1;
		return NULL;
	}
	q = u->p;
	u->p += n;
	u->left -= n;
	return q;
}

uint64_t
unpack_u64(struct unpack *u)
{
	const unsigned char *q = unpack_take(u, 8);
	uint64_t v = 0;
	int i;

	if (q == NULL)
		return 0;
	for (i = 7; i >= 0; i--)
		v = (v << 8) | q[i];
	return v;
}

const void *
unpack_bytes(struct unpack *u, size_t *n)
{
	const void *q;
	uint64_t len;

	*n = 0;
	len = unpack_u64(u);
	if (u->failed)
		return NULL;
	if (len > u->left) {
		u->failed = 1;
		return NULL;
	}
	q = unpack_take(u, (size_t)len);
	*n = (size_t)len;
	return q;
}

/*
 * A pack_counted() field: *absent for length 0, else the bytes without
 * their NUL in *n. Fails when the last byte is not a NUL.
 */
static const char *
unpack_counted(struct unpack *u, size_t *n, int *absent)
{
	const char *q;
	size_t len;

	*absent = 0;
	q = unpack_bytes(u, &len);
	*n = 0;
	if (q == NULL)
		return NULL;
	if (len == 0) {
		*absent = 1;
		return NULL;
	}
	if (q[len - 1] != '\0') {
		u->failed = 1;
		return NULL;
	}
	*n = len - 1;
	return q;
}

/*
 * A secret NUL-terminated copy of a counted field that must be there; NULs
 * inside are allowed (a token or a value may hold one).
 */
static char *
unpack_secret_dup(struct unpack *u, size_t *n)
{
	const char *q;
	char *s;
	int absent;

	q = unpack_counted(u, n, &absent);
	if (absent)
		u->failed = 1;
	if (q == NULL)
		return NULL;
	s = secret_strndup(q, *n);
	if (s == NULL)
		u->failed = 1;
	return s;
}

char *
unpack_str_dup(struct unpack *u, int secret)
{
	const char *q;
	size_t n;
	char *s;
	int absent;

	q = unpack_counted(u, &n, &absent);
	if (q == NULL)
		return NULL;
	/* A C string cannot hold a NUL: the copy would silently be cut. */
	if (memchr(q, '\0', n) != NULL) {
		u->failed = 1;
		return NULL;
	}
	if (secret)
		s = secret_strndup(q, n);
	else
		s = malloc(n + 1);
	if (s == NULL) {
		u->failed = 1;
		return NULL;
	}
	if (!secret) {
		memcpy(s, q, n);
		s[n] = '\0';
	}
	return s;
}

static void
connection_pack_key(const struct connection_key *k, struct pack *p)
{
	pack_counted(p, k->name, k->name_len);
	pack_u64(p, k->safe != 0);
	pack_counted(p, k->value, k->value_len);
	pack_counted(p, k->json, k->json_len);
}

/* What connection_unpack() would refuse is refused here, not found later. */
static int
connection_packable(const struct connection *c)
{
	size_t i;

	/* Unrendered, it could not be served as it is: the point of packing it. */
	if (c->token == NULL || c->json_doc == NULL || c->env_doc == NULL)
		return 0;
	if (c->config_null && c->nkeys > 0)
		return 0;
	for (i = 0; i < c->nkeys; i++) {
		const struct connection_key *k = &c->keys[i];

		if (k->name == NULL || k->value == NULL || k->json == NULL ||
		    memchr(k->name, '\0', k->name_len) != NULL ||
		    (k->safe && !name_is_config_key(k->name, k->name_len)))
			return 0;
	}
	return 1;
}

int
connection_pack(const struct connection *c, struct pack *p)
{
	size_t i;

	if (!connection_packable(c)) {
		p->failed = 1;
		return -1;
	}
	pack_u64(p, CONNECTION_PACK_TAG);
	pack_counted(p, c->token, c->token_len);
	pack_u64(p, (uint64_t)c->token_exp);
	pack_u64(p, c->config_null != 0);
	pack_u64(p, c->nkeys);
	for (i = 0; i < c->nkeys; i++)
		connection_pack_key(&c->keys[i], p);
	pack_counted(p, c->json_doc, c->json_doc_len);
	pack_counted(p, c->env_doc, c->env_doc_len);
	return p->failed ? -1 : 0;
}

/* A 0 or 1 word; anything else is malformed. */
static int
unpack_flag(struct unpack *u)
{
	uint64_t v = unpack_u64(u);

	if (v > 1)
		u->failed = 1;
	return v == 1;
}

static int
connection_unpack_key(struct unpack *u, struct connection_key *k)
{
	k->name = unpack_str_dup(u, 0);
	if (k->name == NULL) {
		u->failed = 1;	/* absent: every key has a name */
		return -1;
	}
	k->name_len = strlen(k->name);
	k->safe = unpack_flag(u);
	/*
	 * A safe key becomes a file: never take that on trust. A key that is
	 * safe now but was not when rendered stays out, as the documents say.
	 */
	if (k->safe && !name_is_config_key(k->name, k->name_len))
		u->failed = 1;
	k->value = unpack_secret_dup(u, &k->value_len);
	k->json = unpack_secret_dup(u, &k->json_len);
	return u->failed ? -1 : 0;
}

static int
connection_unpack_keys(struct unpack *u, struct connection *c)
{
	uint64_t n = unpack_u64(u);
	size_t i;

	if (u->failed)
		return -1;
	if ((c->config_null && n > 0) || n > u->left / CONNECTION_KEY_MIN) {
		u->failed = 1;
		return -1;
	}
	if (c->config_null)
		return 0;
	/* As decode.c: a config object always has an array, even for no keys. */
	c->keys = calloc(n ? (size_t)n : 1, sizeof(*c->keys));
	if (c->keys == NULL) {
		u->failed = 1;
		return -1;
	}
	for (i = 0; i < n; i++) {
		/* Counted first, so that connection_unref frees a half-read key. */
		c->nkeys = i + 1;
		if (connection_unpack_key(u, &c->keys[i]) != 0)
			return -1;
	}
	return 0;
}

struct connection *
connection_unpack(struct unpack *u)
{
	struct connection *c;

	if (unpack_u64(u) != CONNECTION_PACK_TAG) {
		u->failed = 1;
		return NULL;
	}
	c = connection_new();
	if (c == NULL) {
		u->failed = 1;
		return NULL;
	}
	c->token = unpack_secret_dup(u, &c->token_len);
	c->token_exp = (long long)unpack_u64(u);
	/* As decode.c bounds it (9999-12-31): times 1000 must not overflow. */
	if (c->token_exp < 0 || c->token_exp > 253402300799LL)
		u->failed = 1;
	c->config_null = unpack_flag(u);
	if (connection_unpack_keys(u, c) == 0) {
		c->json_doc = unpack_secret_dup(u, &c->json_doc_len);
		c->env_doc = unpack_secret_dup(u, &c->env_doc_len);
	}
	if (u->failed)
		connection_unref(&c);
	return c;
}
