/*
 * connection.c: rendering of connection.json and env, and the reference
 * count that lets a value be replaced while readers still hold the old one.
 * Rendering writes straight into secret buffers; json-c is not used here so
 * that no token passes through its heap a second time.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "connection.h"
#include "decode.h"
#include "jsonw.h"
#include "log.h"
#include "names.h"
#include "secret.h"

/* Rendered files are bounded by the body cap; leave room for quoting. */
#define CONNECTION_RENDER_MAX	(1024 * 1024)

struct connection *
connection_new(void)
{
	struct connection *c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->refs = 1;
	return c;
}

struct connection *
connection_ref(struct connection *c)
{
	if (c != NULL)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
connection_unref(struct connection **cp)
{
	struct connection *c;
	size_t i;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	for (i = 0; i < c->nkeys; i++) {
		free(c->keys[i].name);
		secret_free(c->keys[i].value);
		secret_free(c->keys[i].json);
	}
	free(c->keys);
	secret_free(c->token);
	secret_free(c->json_doc);
	secret_free(c->env_doc);
	free(c);
}

const struct connection_key *
connection_key_find(const struct connection *c, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < c->nkeys; i++) {
		const struct connection_key *k = &c->keys[i];

		if (k->safe && k->name_len == n && memcmp(k->name, name, n) == 0)
			return k;
	}
	return NULL;
}

int
connection_same(const struct connection *a, const struct connection *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	/* connection.json holds the token and every key with its JSON value. */
	return a->json_doc_len == b->json_doc_len &&
	    memcmp(a->json_doc, b->json_doc, a->json_doc_len) == 0;
}

int
connection_env_bare(const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = v[i];

		if (c == '\0')
			return 0;	/* strchr() would find the terminator */
		/*
		 * '~' is not bare: sh expands it ("~/x", "a:~") when the file is
		 * sourced, so it is quoted here, which systemd reads alike.
		 */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._+/=:@%-", c) != NULL))
			return 0;
	}
	return 1;
}

/* NAME=value\n, single-quoted for sh and systemd when not bare. */
static enum cfs_err
connection_env_line(struct buf *b, const char *prefix, const char *suffix,
    const char *v, size_t n)
{
	enum cfs_err err;
	size_t i, run = 0;

	err = buf_append_str(b, prefix);
	if (err == CFS_OK)
		err = buf_append_str(b, suffix);
	if (err == CFS_OK)
		err = buf_append(b, "=", 1);
	if (err != CFS_OK)
		return err;
	if (connection_env_bare(v, n)) {
		err = buf_append(b, v, n);
		return err ? err : buf_append(b, "\n", 1);
	}
	err = buf_append(b, "'", 1);
	for (i = 0; i < n && err == CFS_OK; i++) {
		if (v[i] != '\'')
			continue;
		err = buf_append(b, v + run, i - run);
		if (err == CFS_OK)
			err = buf_append(b, "'\\''", 4);
		run = i + 1;
	}
	if (err == CFS_OK)
		err = buf_append(b, v + run, n - run);
	if (err == CFS_OK)
		err = buf_append(b, "'\n", 2);
	return err;
}

/* A key as JSON, with decode.c's NUL mark written back as \u0000. */
static enum cfs_err
connection_json_key(struct buf *b, const char *name, size_t n)
{
	const char *mark = memchr(name, DECODE_NUL_MARK, n);
	enum cfs_err err;
	struct buf tmp;
	size_t i;

	if (mark == NULL)
		return jsonw_string(b, name, n);
	/* Escape the pieces between marks, then splice the marks in. */
	buf_init(&tmp, n * 6 + 16);
	err = jsonw_string(&tmp, name, n);
	for (i = 0; err == CFS_OK && i < tmp.len; i++) {
		if ((unsigned char)tmp.data[i] == DECODE_NUL_MARK)
			err = buf_append(b, "\\u0000", 6);
		else
			err = buf_append(b, tmp.data + i, 1);
	}
	buf_reset(&tmp);
	return err;
}

static enum cfs_err
connection_render_json(const struct connection *c, struct buf *b)
{
	enum cfs_err err;
	size_t i;

	err = buf_append_str(b, "{\"accessToken\":");
	if (err == CFS_OK)
		err = jsonw_string(b, c->token, c->token_len);
	if (err == CFS_OK)
		err = buf_append_str(b, ",\"connectionConfig\":");
	if (err != CFS_OK)
		return err;
	if (c->config_null)
		return buf_append_str(b, "null}\n");
	err = buf_append(b, "{", 1);
	for (i = 0; i < c->nkeys && err == CFS_OK; i++) {
		if (i > 0)
			err = buf_append(b, ",", 1);
		if (err == CFS_OK)
			err = connection_json_key(b, c->keys[i].name, c->keys[i].name_len);
		if (err == CFS_OK)
			err = buf_append(b, ":", 1);
		if (err == CFS_OK)
			err = buf_append(b, c->keys[i].json, c->keys[i].json_len);
	}
	return err ? err : buf_append_str(b, "}}\n");
}

/*
 * Whether key i's env name is ACCESS_TOKEN or the name of an earlier key
 * ("a.b" and "a_b" both give A_B): a later line would silently override the
 * earlier one in sh, systemd and docker.
 */
static int
connection_env_taken(const struct connection *c, size_t i, const char *suffix)
{
	char other[NAME_KEY_MAX + 1];
	size_t j;

	if (strcmp(suffix, "ACCESS_TOKEN") == 0)
		return 1;
	for (j = 0; j < i; j++) {
		if (!c->keys[j].safe || memchr(c->keys[j].value, '\0', c->keys[j].value_len))
			continue;
		name_env_prefix(c->keys[j].name, other);
		if (strcmp(other, suffix) == 0)
			return 1;
	}
	return 0;
}

static enum cfs_err
connection_render_env(const struct connection *c, const char *type, struct buf *b)
{
	char prefix[NAME_CONNECTION_MAX + 2], suffix[NAME_KEY_MAX + 1];
	enum cfs_err err = CFS_OK;
	size_t i;

	if (strlen(type) > NAME_CONNECTION_MAX)
		return CFS_ERR_INVALID;
	name_env_prefix(type, prefix);
	strcat(prefix, "_");
	if (memchr(c->token, '\0', c->token_len) == NULL)
		err = connection_env_line(b, prefix, "ACCESS_TOKEN", c->token, c->token_len);
	else
		log_warnx("%s: access token holds a NUL byte; left out of env", type);
	for (i = 0; i < c->nkeys && err == CFS_OK; i++) {
		const struct connection_key *k = &c->keys[i];

		if (!k->safe)
			continue;
		if (memchr(k->value, '\0', k->value_len) != NULL) {
			log_warnx("%s: config value %s holds a NUL byte; left out of env",
			    type, k->name);
			continue;
		}
		name_env_prefix(k->name, suffix);
		if (connection_env_taken(c, i, suffix)) {
			log_warnx("%s: config key %s maps to an env name already used; "
			    "left out of env", type, k->name);
			continue;
		}
		err = connection_env_line(b, prefix, suffix, k->value, k->value_len);
	}
	return err;
}

int
connection_render(struct connection *c, const char *type)
{
	struct buf json, env;
	int rc = -1;

	buf_init(&json, CONNECTION_RENDER_MAX);
	buf_init(&env, CONNECTION_RENDER_MAX);
	if (connection_render_json(c, &json) != CFS_OK)
		goto out;
	if (connection_render_env(c, type, &env) != CFS_OK)
		goto out;
	secret_free(c->json_doc);
	secret_free(c->env_doc);
	c->json_doc = buf_take(&json, &c->json_doc_len);
	c->env_doc = buf_take(&env, &c->env_doc_len);
	if (c->json_doc != NULL && c->env_doc != NULL)
		rc = 0;
out:
	buf_reset(&json);
	buf_reset(&env);
	return rc;
}
