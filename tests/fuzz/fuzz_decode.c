/*
 * fuzz_decode.c: libFuzzer target for everything a server's bytes reach:
 * decode_connection (with connection.json and env rendering), decode_error_body,
 * decode_integrations and decode_jwt_exp. Besides "no crash, no leak", it checks what the rest of
 * the daemon relies on: connection.json parses back to the same token, env is
 * one NAME=value line per variable with no name twice and no value that a
 * shell would read differently, and error text holds no control character.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "connection.h"
#include "decode.h"
#include "log.h"
#include "names.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_decode: check failed: %s (%s:%d)\n",	\
		    #cond, __FILE__, __LINE__);				\
		abort();						\
	}								\
} while (0)

/* Types a connection may be rendered for; the last is the longest allowed. */
static const char *const fuzz_types[] = {
	"share_point", "slack", "google-calendar", "x",
	"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234",
};

static void
fuzz_log_discard(enum log_level level, const char *line, void *arg)
{
	(void)level;
	(void)line;
	(void)arg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_sink(fuzz_log_discard, NULL);
	return 0;
}

/* Is every byte of value one that env writes unquoted? */
static int
fuzz_env_is_bare(const char *v, size_t n)
{
	size_t i;

	/* Bytes sh would treat specially, '~' (tilde expansion) included. */
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f ||
		    strchr("'\"\\$` ;&|<>()*?[]#{}!~", v[i]) != NULL)
			return 0;
	return 1;
}

/* One variable of env as sh reads it back. */
struct fuzz_env_var {
	char name[NAME_CONNECTOR_MAX + NAME_KEY_MAX + 4];
	char *value;
	size_t len;
};

#define FUZZ_ENV_VARS	512

/*
 * Read env_doc as sh would: NAME=value lines where value is bare or
 * single-quoted with '\'' for a quote. Returns the number of variables read
 * into vars, or -1 when the document is not of that form or names a
 * variable twice.
 */
static int
fuzz_env_read(const char *doc, size_t len, const char *prefix,
    struct fuzz_env_var *vars)
{
	size_t p = 0, plen = strlen(prefix);
	int count = 0, j;

	while (p < len) {
		struct fuzz_env_var *v = &vars[count];
		size_t start = p, nlen;

		if (count >= FUZZ_ENV_VARS)
			return -1;
		if (len - p < plen || memcmp(doc + p, prefix, plen) != 0)
			return -1;
		while (p < len && doc[p] != '=') {
			char c = doc[p];

			if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
				return -1;
			p++;
		}
		nlen = p - start;
		if (p == len || nlen == plen || nlen >= sizeof(v->name))
			return -1;
		memcpy(v->name, doc + start, nlen);
		v->name[nlen] = '\0';
		for (j = 0; j < count; j++)
			if (strcmp(vars[j].name, v->name) == 0)
				return -1;
		v->value = malloc(len - p + 1);
		FUZZ_CHECK(v->value != NULL);
		v->len = 0;
		count++;
		p++;	/* '=' */
		if (p < len && doc[p] == '\'') {
			for (;;) {
				const char *q;
				size_t run;

				p++;
				q = memchr(doc + p, '\'', len - p);
				if (q == NULL)
					return -1;
				run = (size_t)(q - doc) - p;
				memcpy(v->value + v->len, doc + p, run);
				v->len += run;
				p += run + 1;
				/* '\'' is a quote: the value goes on after it. */
				if (len - p >= 3 && memcmp(doc + p, "\\''", 3) == 0) {
					v->value[v->len++] = '\'';
					p += 2;
					continue;
				}
				break;
			}
			if (p >= len || doc[p] != '\n')
				return -1;
			p++;
		} else {
			const char *nl = memchr(doc + p, '\n', len - p);
			size_t run;

			if (nl == NULL)
				return -1;
			run = (size_t)(nl - doc) - p;
			if (!fuzz_env_is_bare(doc + p, run))
				return -1;
			memcpy(v->value, doc + p, run);
			v->len = run;
			p += run + 1;
		}
	}
	return count;
}

static const struct fuzz_env_var *
fuzz_env_find(const struct fuzz_env_var *vars, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(vars[i].name, name) == 0)
			return &vars[i];
	return NULL;
}

/*
 * Every variable env promises is there with the exact value: the token
 * (unless it holds a NUL), and each safe key whose value holds no NUL and
 * whose name no earlier variable took. Nothing else is there.
 */
static void
fuzz_check_env(const struct connection *c, const char *type)
{
	static struct fuzz_env_var vars[FUZZ_ENV_VARS];
	char prefix[NAME_CONNECTOR_MAX + 2], name[sizeof(vars[0].name)];
	const struct fuzz_env_var *v;
	int n, expected = 0, i;
	size_t k, plen;

	name_env_prefix(type, prefix);
	strcat(prefix, "_");
	plen = strlen(prefix);
	n = fuzz_env_read(c->env_doc, c->env_doc_len, prefix, vars);
	FUZZ_CHECK(n >= 0);

	snprintf(name, sizeof(name), "%sACCESS_TOKEN", prefix);
	v = fuzz_env_find(vars, n, name);
	if (memchr(c->token, '\0', c->token_len) == NULL) {
		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK(v->len == c->token_len && memcmp(v->value, c->token, v->len) == 0);
		expected++;
	} else {
		FUZZ_CHECK(v == NULL);
	}
	for (k = 0; k < c->nkeys; k++) {
		const struct connection_key *key = &c->keys[k];
		size_t j;
		int taken = 0;

		if (!key->safe || memchr(key->value, '\0', key->value_len) != NULL)
			continue;
		memcpy(name, prefix, plen);
		name_env_prefix(key->name, name + plen);
		if (strcmp(name + plen, "ACCESS_TOKEN") == 0)
			continue;
		for (j = 0; j < k && !taken; j++) {
			char other[NAME_KEY_MAX + 1];

			if (!c->keys[j].safe ||
			    memchr(c->keys[j].value, '\0', c->keys[j].value_len) != NULL)
				continue;
			name_env_prefix(c->keys[j].name, other);
			taken = strcmp(other, name + plen) == 0;
		}
		if (taken)
			continue;
		v = fuzz_env_find(vars, n, name);
		FUZZ_CHECK(v != NULL);
		FUZZ_CHECK(v->len == key->value_len &&
		    memcmp(v->value, key->value, v->len) == 0);
		expected++;
	}
	FUZZ_CHECK(n == expected);
	for (i = 0; i < n; i++)
		free(vars[i].value);
}

static void
fuzz_check_connection(struct connection *c, const char *type)
{
	struct json_object *doc, *tok = NULL, *cfg = NULL;
	size_t i;

	FUZZ_CHECK(c->refs == 1);
	FUZZ_CHECK(c->token != NULL && c->token[c->token_len] == '\0');
	FUZZ_CHECK(c->token_exp >= 0);
	FUZZ_CHECK(c->json_doc != NULL && c->env_doc != NULL);
	FUZZ_CHECK(strlen(c->json_doc) == c->json_doc_len);
	FUZZ_CHECK(strlen(c->env_doc) == c->env_doc_len);
	FUZZ_CHECK(!c->config_null || c->nkeys == 0);

	for (i = 0; i < c->nkeys; i++) {
		const struct connection_key *k = &c->keys[i];

		FUZZ_CHECK(k->name != NULL && strlen(k->name) == k->name_len);
		FUZZ_CHECK(k->value != NULL && k->value[k->value_len] == '\0');
		FUZZ_CHECK(k->json != NULL && strlen(k->json) == k->json_len);
		FUZZ_CHECK(k->safe == name_is_config_key(k->name, k->name_len));
		if (k->safe) {
			FUZZ_CHECK(strchr(k->name, '/') == NULL);
			FUZZ_CHECK(connection_key_find(c, k->name) != NULL);
		} else {
			FUZZ_CHECK(connection_key_find(c, k->name) == NULL);
		}
	}

	/* connection.json is JSON and holds the token as received. */
	doc = json_tokener_parse(c->json_doc);
	FUZZ_CHECK(doc != NULL);
	FUZZ_CHECK(json_object_object_get_ex(doc, "accessToken", &tok));
	FUZZ_CHECK(json_object_is_type(tok, json_type_string));
	FUZZ_CHECK((size_t)json_object_get_string_len(tok) == c->token_len);
	FUZZ_CHECK(memcmp(json_object_get_string(tok), c->token, c->token_len) == 0);
	FUZZ_CHECK(json_object_object_get_ex(doc, "connectionConfig", &cfg));
	if (c->config_null) {
		FUZZ_CHECK(cfg == NULL);
	} else {
		size_t marked = 0;

#ifdef DECODE_NUL_MARK
		for (i = 0; i < c->nkeys; i++)
			marked += memchr(c->keys[i].name, DECODE_NUL_MARK, c->keys[i].name_len) != NULL;
#endif
		FUZZ_CHECK(json_object_is_type(cfg, json_type_object));
		/* json-c cuts keys at a NUL, so "a\u0000b" may merge with "a" here. */
		if (marked == 0)
			FUZZ_CHECK((size_t)json_object_object_length(cfg) == c->nkeys);
		else
			FUZZ_CHECK((size_t)json_object_object_length(cfg) <= c->nkeys);
	}
	json_object_put(doc);
#ifdef DECODE_NUL_MARK
	/*
	 * The body was UTF-8 (decode_connection refuses anything else), and the
	 * NUL mark is a byte UTF-8 never has: neither may reach a file.
	 */
	FUZZ_CHECK(memchr(c->json_doc, DECODE_NUL_MARK, c->json_doc_len) == NULL);
	FUZZ_CHECK(memchr(c->env_doc, DECODE_NUL_MARK, c->env_doc_len) == NULL);
	for (i = 0; i < c->nkeys; i++) {
		FUZZ_CHECK(memchr(c->keys[i].value, DECODE_NUL_MARK, c->keys[i].value_len) == NULL);
		FUZZ_CHECK(memchr(c->keys[i].json, DECODE_NUL_MARK, c->keys[i].json_len) == NULL);
	}
#endif

	fuzz_check_env(c, type);

	/* Rendering is a function of the connection: doing it again changes nothing. */
	{
		size_t jlen = c->json_doc_len, elen = c->env_doc_len;
		char *json = malloc(jlen + 1), *env = malloc(elen + 1);

		FUZZ_CHECK(json != NULL && env != NULL);
		memcpy(json, c->json_doc, jlen + 1);
		memcpy(env, c->env_doc, elen + 1);
		FUZZ_CHECK(connection_render(c, type) == 0);
		FUZZ_CHECK(c->json_doc_len == jlen && memcmp(c->json_doc, json, jlen) == 0);
		FUZZ_CHECK(c->env_doc_len == elen && memcmp(c->env_doc, env, elen) == 0);
		free(json);
		free(env);
	}
	FUZZ_CHECK(connection_same(c, c));
}

static void
fuzz_check_printable(const char *s, size_t sz)
{
	size_t n = strnlen(s, sz);

	FUZZ_CHECK(n < sz);
	for (; *s != '\0'; s++)
		FUZZ_CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

/* decode_connection on exactly len bytes, and every check on what it built. */
static void
fuzz_decode_body(const char *data, size_t len, const char *type)
{
	/* An exact-size heap copy, so ASan sees a read one byte too far. */
	char *body = malloc(len ? len : 1);
	struct connection *c = NULL, *again = NULL;
	char why[160];
	enum cfs_err err;

	FUZZ_CHECK(body != NULL);
	if (len > 0)
		memcpy(body, data, len);
	err = decode_connection(body, len, type, &c, why, sizeof(why));
	if (err == CFS_OK) {
		FUZZ_CHECK(c != NULL);
		fuzz_check_connection(c, type);
		/* Same body, same files: connection_same() sees no change. */
		FUZZ_CHECK(decode_connection(body, len, type, &again, why,
		    sizeof(why)) == CFS_OK);
		FUZZ_CHECK(connection_same(c, again));
		connection_unref(&again);
		again = connection_ref(c);
		FUZZ_CHECK(again == c && c->refs == 2);
		connection_unref(&again);
		FUZZ_CHECK(again == NULL && c->refs == 1);
		connection_unref(&c);
		FUZZ_CHECK(c == NULL);
	} else {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(err == CFS_ERR_MALFORMED || err == CFS_ERR_NO_MEMORY);
		FUZZ_CHECK(strnlen(why, sizeof(why)) < sizeof(why));
	}
	free(body);
}

/* The input spliced into a body between head and tail. */
static void
fuzz_decode_wrapped(const uint8_t *data, size_t size, const char *head,
    const char *tail, const char *type)
{
	size_t hl = strlen(head), tl = strlen(tail);
	char *body = malloc(hl + size + tl);

	FUZZ_CHECK(body != NULL);
	memcpy(body, head, hl);
	if (size > 0)
		memcpy(body + hl, data, size);
	memcpy(body + hl + size, tail, tl);
	fuzz_decode_body(body, hl + size + tl, type);
	free(body);
}

#define FUZZ_FIELD_OK(row, f) fuzz_check_printable((row)->f, sizeof((row)->f))

/* decode_integrations: every field a printable string within its array. */
static void
fuzz_decode_list(const char *data, size_t len)
{
	static struct integration untouched;
	char *body = malloc(len ? len : 1);
	struct integration *rows = &untouched;	/* must be set, even on failure */
	size_t n = 1, i;
	enum cfs_err err;

	FUZZ_CHECK(body != NULL);
	if (len > 0)
		memcpy(body, data, len);
	err = decode_integrations(body, len, &rows, &n);
	if (err == CFS_OK) {
		FUZZ_CHECK(rows != NULL);
		for (i = 0; i < n; i++) {
			FUZZ_FIELD_OK(&rows[i], type);
			FUZZ_CHECK(rows[i].type[0] != '\0');
			FUZZ_FIELD_OK(&rows[i], status);
			FUZZ_FIELD_OK(&rows[i], display_name);
			FUZZ_FIELD_OK(&rows[i], description);
			FUZZ_FIELD_OK(&rows[i], user_email);
			FUZZ_FIELD_OK(&rows[i], scopes);
		}
	} else {
		FUZZ_CHECK(err == CFS_ERR_MALFORMED || err == CFS_ERR_NO_MEMORY);
		FUZZ_CHECK(rows == NULL && n == 0);
	}
	free(rows);
	free(body);
}

/*
 * The input is a whole body, and also (since json-c is not instrumented, so
 * the fuzzer cannot feel its way into nesting) connection_config itself and
 * one config value, so that every mutation of a small JSON value is tried
 * where the decoder and the renderers work hardest.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *type = fuzz_types[size % (sizeof(fuzz_types) / sizeof(fuzz_types[0]))];
	char *body = malloc(size ? size : 1), msg[200], code[96], tiny[2];
	long long exp;

	FUZZ_CHECK(body != NULL);
	if (size > 0)
		memcpy(body, data, size);

	fuzz_decode_body(body, size, type);
	fuzz_decode_wrapped(data, size, "{\"access_token\":\"t\",\"connection_config\":",
	    "}", type);
	fuzz_decode_wrapped(data, size, "{\"connection_config\":{\"k\":",
	    "},\"access_token\":\"t\"}", type);

	fuzz_decode_list(body, size);
	{
		static const char head[] = "{\"integrations\":[", tail[] = "]}";
		char *list = malloc(sizeof(head) - 1 + size + sizeof(tail) - 1);

		FUZZ_CHECK(list != NULL);
		memcpy(list, head, sizeof(head) - 1);
		if (size > 0)
			memcpy(list + sizeof(head) - 1, data, size);
		memcpy(list + sizeof(head) - 1 + size, tail, sizeof(tail) - 1);
		fuzz_decode_list(list, sizeof(head) - 1 + size + sizeof(tail) - 1);
		free(list);
	}

	decode_error_body(body, size, msg, sizeof(msg), code, sizeof(code));
	fuzz_check_printable(msg, sizeof(msg));
	fuzz_check_printable(code, sizeof(code));
	decode_error_body(body, size, tiny, sizeof(tiny), tiny, 1);
	fuzz_check_printable(tiny, sizeof(tiny));

	exp = decode_jwt_exp(body, size);
	FUZZ_CHECK(exp >= 0 && exp <= 253402300799LL);

	free(body);
	return 0;
}
