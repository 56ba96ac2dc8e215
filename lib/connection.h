/*
 * connection.h: one connector's connection as fetched, and every file the
 * tree shows for it, rendered once when it arrives. A connection is immutable
 * once published and shared by reference count, so a reader holding one sees
 * one value from start to end while a newer one replaces it in the cache.
 * All value bytes live in secret memory (secret.h).
 */
#ifndef CFS_CONNECTION_H
#define CFS_CONNECTION_H

#include <stddef.h>

struct connection_key {
	char *name;		/* as received; plain memory, keys are not secret */
	size_t name_len;
	int safe;		/* passes name_is_config_key(): may be a file */
	char *value;		/* file bytes: string as is, others as JSON text */
	size_t value_len;
	char *json;		/* compact JSON of the value, for connection.json */
	size_t json_len;
};

struct connection {
	int refs;		/* atomic; see connection_ref() */
	char *token;		/* access_token bytes, NUL-terminated */
	size_t token_len;
	int config_null;	/* connection_config was null or absent */
	size_t nkeys;
	struct connection_key *keys;
	char *json_doc;		/* connection.json */
	size_t json_doc_len;
	char *env_doc;		/* env */
	size_t env_doc_len;
	long long token_exp;	/* JWT exp (Unix seconds), 0 when unknown */
};

/* A zeroed connection holding one reference; NULL when out of memory. */
struct connection *connection_new(void);

/* Take one more reference (any thread). */
struct connection *connection_ref(struct connection *c);

/* Drop the caller's reference and NULL it; the last one zeroes and frees. */
void connection_unref(struct connection **c);

/*
 * Build json_doc and env_doc for a connection of the given type. Returns
 * 0, or -1 when out of memory.
 */
int connection_render(struct connection *c, const char *type);

/* The safe key called name, or NULL. */
const struct connection_key *connection_key_find(const struct connection *c,
    const char *name);

/* Same token, config and rendering: nothing a reader could tell apart. */
int connection_same(const struct connection *a, const struct connection *b);

/* 1 when value can go into an env file unquoted. */
int connection_env_bare(const char *value, size_t len);

#endif
