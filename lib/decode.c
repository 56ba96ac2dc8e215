/*
 * decode.c: json-c parsing with a depth limit on bodies that the HTTP client
 * has already capped in size. Token strings are copied into secret memory and
 * wiped inside json-c's objects before they are released.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include <json-c/json.h>

#include "buf.h"
#include "decode.h"
#include "log.h"
#include "names.h"
#include "secret.h"

#define DECODE_JWT_EXP_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */

static struct json_object *
decode_parse(const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj = NULL;

	if (len == 0 || len > (size_t)INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(DECODE_MAX_DEPTH);
	if (tok == NULL)
		return NULL;
	/* Only JSON: no comments, trailing commas or other extensions. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	/* Trailing bytes after one value, or a value cut short, are malformed. */
	if (obj != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len)) {
		size_t end = json_tokener_get_parse_end(tok);

		while (end < len && strchr(" \t\r\n", body[end]) != NULL)
			end++;
		if (json_tokener_get_error(tok) != json_tokener_success || end != len) {
			json_object_put(obj);
			obj = NULL;
		}
	}
	/* The tokener assembled every string (the token too) in its buffer. */
	if (tok->pb != NULL && tok->pb->buf != NULL && tok->pb->size > 0)
		secret_wipe(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return obj;
}

/* Zero a json-c string in place so the token does not outlive its use. */
static void
decode_wipe_string(struct json_object *s)
{
	if (s != NULL && json_object_is_type(s, json_type_string))
		secret_wipe((void *)(uintptr_t)json_object_get_string(s),
		    (size_t)json_object_get_string_len(s));
}

/*
 * NaN and Infinity are not JSON, though json-c reads them even when strict;
 * integers beyond 64 bits cannot be shown as the text that was sent.
 */
static int
decode_all_finite(struct json_object *v, int depth)
{
	size_t i, n;

	if (v == NULL || depth > DECODE_MAX_DEPTH)
		return v == NULL;
	switch (json_object_get_type(v)) {
	case json_type_double:
		return isfinite(json_object_get_double(v));
	case json_type_int:
		/*
		 * json-c saturates integers it cannot hold; the limits
		 * themselves are taken as "out of range" rather than
		 * silently showing a different number.
		 */
		if (json_object_get_int64(v) == INT64_MIN)
			return 0;
		return json_object_get_int64(v) != INT64_MAX ||
		    json_object_get_uint64(v) != UINT64_MAX;
	case json_type_array:
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			if (!decode_all_finite(json_object_array_get_idx(v, i), depth + 1))
				return 0;
		return 1;
	case json_type_object: {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!decode_all_finite(val, depth + 1))
				return 0;
		}
		return 1;
	}
	default:
		return 1;
	}
}

/*
 * Compact JSON from json-c, with decode_mark_nul_keys()'s marks in nested
 * keys written back as \u0000 (the text that was sent). Secret memory.
 */
static char *
decode_unmark_json(const char *text, size_t *len)
{
	struct buf b;
	const char *p;
	char *out;

	if (strchr(text, (char)DECODE_NUL_MARK) == NULL) {
		*len = strlen(text);
		return secret_strndup(text, *len);
	}
	buf_init(&b, strlen(text) * 6 + 1);
	for (p = text; *p != '\0'; p++) {
		if (*p == (char)DECODE_NUL_MARK ? buf_append(&b, "\\u0000", 6) != CFS_OK :
		    buf_append(&b, p, 1) != CFS_OK) {
			buf_reset(&b);
			return NULL;
		}
	}
	out = buf_take(&b, len);
	return out;
}

static int
decode_key(struct connection_key *k, const char *name, struct json_object *v)
{
	const char *text;
	size_t n;

	k->name_len = strlen(name);
	k->name = strdup(name);
	if (k->name == NULL)
		return -1;
	k->safe = name_is_config_key(name, k->name_len);
	text = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		return -1;
	k->json = decode_unmark_json(text, &k->json_len);
	if (k->json == NULL)
		return -1;
	if (v == NULL) {
		k->value = secret_strndup("", 0);
		k->value_len = 0;
	} else if (json_object_is_type(v, json_type_string)) {
		n = (size_t)json_object_get_string_len(v);
		k->value = secret_strndup(json_object_get_string(v), n);
		k->value_len = n;
	} else {
		k->value = secret_strndup(k->json, k->json_len);	/* nested: JSON text */
		k->value_len = k->json_len;
	}
	return k->value == NULL ? -1 : 0;
}

/*
 * json-c cuts object keys at a NUL, so "subdomain\u0000evil" would silently
 * become (and replace) "subdomain". Before parsing, each \u0000 inside a key
 * is replaced with the byte DECODE_NUL_MARK, which valid UTF-8 (checked
 * first, on the body as received) never contains: the key keeps its identity, stays out of the
 * tree as an unsafe name, and connection.json writes it back as \u0000.
 * Values are left alone (json-c keeps their length). Rewrites a private copy
 * of the body and returns its new length.
 */
/* Well-formed UTF-8 (RFC 3629): no overlongs, surrogates or bytes 0xF5-0xFF. */
static int
decode_utf8_valid(const unsigned char *p, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (k = 1; k <= n; k++) {
			if (i + k >= len || (p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static size_t
decode_mark_nul_keys(char *p, size_t len)
{
	size_t i = 0, out = 0, start, j, k;

	while (i < len) {
		if (p[i] != '"') {
			p[out++] = p[i++];
			continue;
		}
		start = i + 1;
		j = start;
		while (j < len && p[j] != '"')
			j += (p[j] == '\\') ? 2 : 1;
		if (j >= len) {
			memmove(p + out, p + i, len - i);	/* unterminated: the parser says so */
			return out + (len - i);
		}
		k = j + 1;
		while (k < len && strchr(" \t\r\n", p[k]) != NULL)
			k++;
		p[out++] = '"';
		for (i = start; i < j; i++) {
			if (k < len && p[k] == ':' && i + 6 <= j && p[i] == '\\' &&
			    p[i + 1] == 'u' && memcmp(p + i + 2, "0000", 4) == 0) {
				p[out++] = (char)DECODE_NUL_MARK;
				i += 5;
			} else if (p[i] == '\\' && i + 1 < j) {
				p[out++] = p[i++];
				p[out++] = p[i];
			} else {
				p[out++] = p[i];
			}
		}
		p[out++] = '"';
		i = j + 1;
	}
	return out;
}

enum cfs_err
decode_connection(const char *body, size_t len, const char *type,
    struct connection **out, char *why, size_t whysz)
{
	struct json_object *root, *tok = NULL, *cfg = NULL;
	struct connection *c = NULL;
	char *copy = NULL;
	enum cfs_err err = CFS_ERR_MALFORMED;
	size_t n;

	*out = NULL;
	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (!decode_utf8_valid((const unsigned char *)body, len)) {
		snprintf(why, whysz, "body is not valid UTF-8");
		return CFS_ERR_MALFORMED;
	}
	if (len > 0 && memchr(body, '\\', len) != NULL) {
		copy = secret_strndup(body, len);
		if (copy == NULL)
			return CFS_ERR_NO_MEMORY;
		len = decode_mark_nul_keys(copy, len);
		body = copy;
	}
	root = decode_parse(body, len);
	if (root == NULL) {
		snprintf(why, whysz, "body is not valid JSON");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object)) {
		snprintf(why, whysz, "body is not a JSON object");
		goto out;
	}
	if (!json_object_object_get_ex(root, "access_token", &tok)) {
		snprintf(why, whysz, "access_token is missing");
		goto out;
	}
	if (!json_object_is_type(tok, json_type_string)) {
		snprintf(why, whysz, "access_token is not a string");
		goto out;
	}
	if (json_object_object_get_ex(root, "connection_config", &cfg) && cfg != NULL &&
	    !json_object_is_type(cfg, json_type_object)) {
		snprintf(why, whysz, "connection_config is neither an object nor null");
		goto out;
	}
	if (cfg != NULL && !decode_all_finite(cfg, 0)) {
		snprintf(why, whysz, "connection_config holds NaN, Infinity or an "
		    "integer beyond 64 bits");
		goto out;
	}
	err = CFS_ERR_NO_MEMORY;
	c = connection_new();
	if (c == NULL)
		goto out;
	n = (size_t)json_object_get_string_len(tok);
	c->token = secret_strndup(json_object_get_string(tok), n);
	if (c->token == NULL)
		goto out;
	c->token_len = n;
	c->token_exp = decode_jwt_exp(c->token, c->token_len);
	c->config_null = (cfg == NULL);
	if (cfg != NULL) {
		size_t count = (size_t)json_object_object_length(cfg), i = 0;

		c->keys = calloc(count ? count : 1, sizeof(*c->keys));
		if (c->keys == NULL)
			goto out;
		json_object_object_foreach(cfg, key, val) {
			if (i >= count)
				break;
			c->nkeys = i + 1;
			if (decode_key(&c->keys[i], key, val) != 0)
				goto out;
			if (!c->keys[i].safe)
				log_warnx("%s: config key that is not a safe file name "
				    "left out of connectionConfig/", type);
			decode_wipe_string(val);
			i++;
		}
	}
	if (connection_render(c, type) != 0)
		goto out;
	*out = c;
	c = NULL;
	err = CFS_OK;
out:
	decode_wipe_string(tok);
	connection_unref(&c);
	json_object_put(root);
	secret_free(copy);
	return err;
}

/* Copy s into out, turning control characters into spaces. */
static void
decode_copy_printable(char *out, size_t outsz, const char *s)
{
	size_t i;

	if (outsz == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < outsz; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
	out[i] = '\0';
}

static const char *
decode_string_field(struct json_object *obj, const char *name)
{
	struct json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

void
decode_error_body(const char *body, size_t len, char *msg, size_t msgsz,
    char *code, size_t codesz)
{
	struct json_object *root, *error = NULL;
	const char *m, *c;

	if (msgsz > 0)
		msg[0] = '\0';
	if (codesz > 0)
		code[0] = '\0';
	root = decode_parse(body, len);
	if (root == NULL)
		return;
	(void)json_object_object_get_ex(root, "error", &error);
	m = decode_string_field(error, "message");
	if (m == NULL)
		m = decode_string_field(root, "message");
	if (m == NULL)
		m = decode_string_field(root, "detail");
	c = decode_string_field(error, "code");
	if (c == NULL)
		c = decode_string_field(root, "code");
	if (m != NULL)
		decode_copy_printable(msg, msgsz, m);
	if (c != NULL)
		decode_copy_printable(code, codesz, c);
	json_object_put(root);
}

static void
decode_field(struct json_object *o, const char *name, char *out, size_t outsz)
{
	const char *v = decode_string_field(o, name);

	decode_copy_printable(out, outsz, v != NULL ? v : "");
}

enum cfs_err
decode_integrations(const char *body, size_t len, struct integration **out, size_t *n)
{
	struct json_object *root, *arr;
	enum cfs_err err = CFS_ERR_MALFORMED;
	size_t i, count;

	*out = NULL;
	*n = 0;
	root = decode_parse(body, len);
	if (root == NULL || !json_object_object_get_ex(root, "integrations", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		goto out;
	count = json_object_array_length(arr);
	*out = calloc(count ? count : 1, sizeof(**out));
	if (*out == NULL) {
		err = CFS_ERR_NO_MEMORY;
		goto out;
	}
	for (i = 0; i < count; i++) {
		struct json_object *it = json_object_array_get_idx(arr, i), *scopes;
		struct integration *row = &(*out)[*n];
		size_t k, used = 0;

		if (!json_object_is_type(it, json_type_object))
			continue;
		decode_field(it, "integration_type", row->type, sizeof(row->type));
		if (row->type[0] == '\0')
			continue;
		decode_field(it, "status", row->status, sizeof(row->status));
		decode_field(it, "display_name", row->display_name, sizeof(row->display_name));
		decode_field(it, "description", row->description, sizeof(row->description));
		decode_field(it, "user_email", row->user_email, sizeof(row->user_email));
		if (json_object_object_get_ex(it, "scopes", &scopes) &&
		    json_object_is_type(scopes, json_type_array)) {
			for (k = 0; k < json_object_array_length(scopes); k++) {
				struct json_object *sc = json_object_array_get_idx(scopes, k);
				int w;

				if (!json_object_is_type(sc, json_type_string))
					continue;
				w = snprintf(row->scopes + used, sizeof(row->scopes) - used, "%s%s",
				    used ? "," : "", json_object_get_string(sc));
				if (w < 0 || (size_t)w >= sizeof(row->scopes) - used)
					break;
				used += (size_t)w;
			}
			decode_copy_printable(row->scopes, sizeof(row->scopes), row->scopes);
		}
		(*n)++;
	}
	err = CFS_OK;
out:
	if (err != CFS_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	json_object_put(root);
	return err;
}

static int
decode_b64url_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-' || ch == '+')
		return 62;
	if (ch == '_' || ch == '/')
		return 63;
	return -1;
}

long long
decode_jwt_exp(const char *token, size_t len)
{
	const char *p1, *p2;
	struct json_object *claims = NULL, *exp;
	char *payload;
	size_t n, i, out = 0;
	unsigned acc = 0;
	int bits = 0;
	long long result = 0;

	p1 = memchr(token, '.', len);
	if (p1 == NULL)
		return 0;
	p1++;
	p2 = memchr(p1, '.', len - (size_t)(p1 - token));
	if (p2 == NULL)
		return 0;
	n = (size_t)(p2 - p1);
	if (n == 0 || n > 8192)
		return 0;
	payload = secret_alloc(n);
	if (payload == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		int v = decode_b64url_value(p1[i]);

		if (p1[i] == '=')
			break;
		if (v < 0)
			goto out;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			payload[out++] = (char)((acc >> bits) & 0xff);
		}
	}
	claims = decode_parse(payload, out);
	if (claims != NULL && json_object_is_type(claims, json_type_object) &&
	    json_object_object_get_ex(claims, "exp", &exp)) {
		if (json_object_is_type(exp, json_type_int)) {
			result = (long long)json_object_get_int64(exp);
		} else if (json_object_is_type(exp, json_type_double)) {
			/* Converted here: json-c's own cast of NaN or 1e300 is undefined. */
			double d = json_object_get_double(exp);

			result = !isfinite(d) || d <= 0 ? 0 :
			    d >= (double)DECODE_JWT_EXP_MAX ? DECODE_JWT_EXP_MAX : (long long)d;
		}
	}
	if (result < 0)
		result = 0;
	/* Year 9999 is "never" here, and keeps exp * 1000 far from overflow. */
	if (result > DECODE_JWT_EXP_MAX)
		result = DECODE_JWT_EXP_MAX;
out:
	json_object_put(claims);
	secret_free(payload);
	return result;
}
