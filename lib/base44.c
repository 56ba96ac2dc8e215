/*
 * base44.c: request building and response interpretation for the token
 * endpoint. The Authorization header is assembled in secret memory and the
 * service token is swapped under a lock so SIGHUP can replace it mid-flight.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base44.h"
#include "names.h"
#include "redact.h"
#include "decode.h"
#include "http.h"
#include "log.h"
#include "secret.h"

#define BASE44_URL_MAX 2048

struct base44_client {
	struct http_client *http;
	char *api_url;
	char *app_id;
	pthread_mutex_t token_lock;
	char *service_token;	/* secret memory */
	char *api_key;		/* secret memory; kept only to redact it */
	char *proxy_password;	/* secret memory; kept only to redact it */
};

int
base44_encode_component(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL) {
			if (o + 1 >= outsz)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outsz)
				return -1;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= outsz)
		return -1;
	out[o] = '\0';
	return (int)o;
}

int
base44_token_url(char *out, size_t outsz, const char *api_url, const char *app_id,
    const char *type)
{
	const char *id = name_workspace_id(type);
	char enc[3 * 256 + 1];
	int n;

	/*
	 * A workspace connector ("connectors/ID") is asked for by id, as the
	 * SDK's getWorkspaceConnection(connectorId) does: .../tokens/connectors/ID.
	 */
	if (id != NULL)
		type = id;
	if (strlen(type) > 256 || base44_encode_component(type, enc, sizeof(enc)) < 0)
		return -1;
	n = snprintf(out, outsz, "%s/api/apps/%s/external-auth/tokens/%s%s", api_url,
	    app_id, id != NULL ? NAME_WORKSPACE_PREFIX : "", enc);
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}

enum cfs_err
base44_client_new(const struct base44_options *opts, struct base44_client **out)
{
	struct http_options hopts = {
		.timeout_ms = opts->timeout_s * 1000,
		.body_max = opts->body_max,
		.cacert = opts->cacert,
		.verbose = opts->verbose,
		.proxy = opts->proxy,
		.proxy_user = opts->proxy_user,
		.proxy_password = opts->proxy_password,
	};
	struct base44_client *c;
	enum cfs_err err;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CFS_ERR_NO_MEMORY;
	pthread_mutex_init(&c->token_lock, NULL);
	err = http_client_new(&hopts, &c->http);
	if (err != CFS_OK)
		goto fail;
	err = CFS_ERR_NO_MEMORY;
	c->api_url = strdup(opts->api_url);
	c->app_id = strdup(opts->app_id);
	if (c->api_url == NULL || c->app_id == NULL)
		goto fail;
	if (opts->proxy_password != NULL && opts->proxy_password[0] != '\0' &&
	    (c->proxy_password = secret_strndup(opts->proxy_password,
	    strlen(opts->proxy_password))) == NULL)
		goto fail;
	/* --list needs no service token; every fetch does. */
	if (opts->service_token != NULL) {
		err = base44_set_service_token(c, opts->service_token);
		if (err != CFS_OK)
			goto fail;
	}
	*out = c;
	return CFS_OK;
fail:
	base44_client_free(&c);
	return err;
}

void
base44_client_free(struct base44_client **cp)
{
	struct base44_client *c;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	http_client_free(&c->http);
	free(c->api_url);
	free(c->app_id);
	secret_free(c->service_token);
	secret_free(c->api_key);
	secret_free(c->proxy_password);
	pthread_mutex_destroy(&c->token_lock);
	free(c);
}

enum cfs_err
base44_set_service_token(struct base44_client *c, const char *token)
{
	char *copy, *old;

	if (token == NULL || token[0] == '\0')
		return CFS_ERR_INVALID;
	copy = secret_strndup(token, strlen(token));
	if (copy == NULL)
		return CFS_ERR_NO_MEMORY;
	pthread_mutex_lock(&c->token_lock);
	old = c->service_token;
	c->service_token = copy;
	pthread_mutex_unlock(&c->token_lock);
	secret_free(old);
	return CFS_OK;
}

enum cfs_err
base44_set_api_key(struct base44_client *c, const char *key)
{
	char *copy = NULL, *old;

	if (key != NULL && key[0] != '\0' &&
	    (copy = secret_strndup(key, strlen(key))) == NULL)
		return CFS_ERR_NO_MEMORY;
	pthread_mutex_lock(&c->token_lock);
	old = c->api_key;
	c->api_key = copy;
	pthread_mutex_unlock(&c->token_lock);
	secret_free(old);
	return CFS_OK;
}

void
base44_client_abort(struct base44_client *c)
{
	http_client_abort(c->http);
}

long
base44_client_connects(struct base44_client *c)
{
	return http_client_connects(c->http);
}

/*
 * Redact from msg every secret the client knows (the service token, the
 * management key, the proxy password) and extra (the credential of this
 * request, or NULL), longest first so that a secret inside another cannot
 * leave a part behind.
 */
static void
base44_redact(struct base44_client *c, const char *extra, char *msg, size_t msgsz)
{
	const char *s[4], *t;
	size_t n = 0, i, j;

	pthread_mutex_lock(&c->token_lock);
	if (c->service_token != NULL)
		s[n++] = c->service_token;
	if (c->api_key != NULL)
		s[n++] = c->api_key;
	/* A short one would be spelled out by the marks (redact.h). */
	if (c->proxy_password != NULL && strlen(c->proxy_password) >= REDACT_PASSWORD_MIN)
		s[n++] = c->proxy_password;
	if (extra != NULL)
		s[n++] = extra;
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strlen(s[j]) > strlen(s[j - 1]); j--) {
			t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	for (i = 0; i < n; i++)
		redact(s[i], msg, msgsz);
	pthread_mutex_unlock(&c->token_lock);
}

/* Copy src into dst, cut to fit (messages are for one log line). */
static void
base44_copy_cut(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (dstsz == 0)
		return;
	if (n >= dstsz)
		n = dstsz - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/*
 * The server's message and code, with any echo of a secret redacted.
 * Decoded at full length first, so that a token cut off by the caller's
 * smaller buffer cannot leave its prefix behind.
 */
static void
base44_error_message(struct base44_client *c, const char *extra,
    const struct http_response *resp, char *msg, size_t msgsz, char *code, size_t codesz)
{
	char full[1024], fullcode[256];

	decode_error_body(resp->body.data, resp->body.len, full, sizeof(full), fullcode,
	    sizeof(fullcode));
	base44_redact(c, extra, full, sizeof(full));
	base44_redact(c, extra, fullcode, sizeof(fullcode));
	base44_copy_cut(msg, msgsz, full);
	base44_copy_cut(code, codesz, fullcode);
}

/* "Authorization: Bearer TOKEN" in secret memory. */
static char *
base44_auth_header(struct base44_client *c)
{
	static const char prefix[] = "Authorization: Bearer ";
	char *h;
	size_t n;

	pthread_mutex_lock(&c->token_lock);
	n = c->service_token != NULL ? strlen(c->service_token) : 0;
	h = n > 0 ? secret_alloc(sizeof(prefix) + n) : NULL;
	if (h != NULL) {
		memcpy(h, prefix, sizeof(prefix) - 1);
		memcpy(h + sizeof(prefix) - 1, c->service_token, n + 1);
	}
	pthread_mutex_unlock(&c->token_lock);
	return h;
}

static void
base44_result_clear(struct base44_result *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

/*
 * One GET with the SDK's headers and the given Authorization/api_key line.
 * CFS_OK leaves a 2xx body in resp; otherwise res says what happened (the
 * server's message decoded as the SDK would show it). Everything res takes
 * from the response, X-Base44-Connector-Error included, is redacted of the
 * client's secrets and of cred (this request's credential, or NULL).
 */
static enum cfs_err
base44_request(struct base44_client *c, const char *url, const char *auth,
    const char *cred, struct http_response *resp, struct base44_result *res)
{
	char appid_hdr[BASE44_URL_MAX];
	const char *headers[4];
	char code[sizeof(res->code)];
	enum cfs_err err;

	snprintf(appid_hdr, sizeof(appid_hdr), "X-App-Id: %s", c->app_id);
	headers[0] = auth;
	headers[1] = appid_hdr;
	headers[2] = "Accept: application/json";
	headers[3] = NULL;
	err = http_get(c->http, url, headers, resp);
	res->status = resp->status;
	res->retry_after = resp->retry_after;
	/* Redacted at its full length first, like the body's message. */
	base44_redact(c, cred, resp->connector_error, sizeof(resp->connector_error));
	base44_copy_cut(res->code, sizeof(res->code), resp->connector_error);
	if (err != CFS_OK) {
		base44_redact(c, cred, resp->error_detail, sizeof(resp->error_detail));
		base44_copy_cut(res->message, sizeof(res->message), resp->error_detail);
		return err;
	}
	err = err_from_http_status(resp->status);
	if (err != CFS_OK) {
		base44_error_message(c, cred, resp, res->message, sizeof(res->message), code,
		    sizeof(code));
		/* The SDK prefers the body's code over the header's. */
		if (code[0] != '\0')
			snprintf(res->code, sizeof(res->code), "%s", code);
	}
	return err;
}

enum cfs_err
base44_list(struct base44_client *c, const char *api_key, enum base44_list_kind kind,
    struct integration **rows, size_t *n, struct base44_result *res)
{
	char url[BASE44_URL_MAX];
	struct http_response resp;
	size_t klen = strlen(api_key);
	enum cfs_err err;
	char *auth;

	*rows = NULL;
	*n = 0;
	base44_result_clear(res);
	http_response_init(&resp);
	snprintf(url, sizeof(url), "%s/api/apps/%s/external-auth/%s", c->api_url, c->app_id,
	    kind == BASE44_LIST_CONNECTED ? "list" : "available-integrations");
	auth = secret_alloc(klen + 32);
	if (auth == NULL)
		return res->err = CFS_ERR_NO_MEMORY;
	/* An app API key (b44k_...) goes in its own api_key header, a PAT as a Bearer. */
	snprintf(auth, klen + 32, "%s%s", strncmp(api_key, "b44k_", 5) == 0 ? "api_key: " :
	    "Authorization: Bearer ", api_key);
	err = base44_request(c, url, auth, api_key, &resp, res);
	secret_free(auth);
	if (err == CFS_OK) {
		err = decode_integrations(resp.body.data, resp.body.len, rows, n);
		if (err == CFS_ERR_MALFORMED)
			snprintf(res->message, sizeof(res->message), "not an integrations list");
	}
	http_response_reset(&resp);
	secret_scrub_stack();
	return res->err = err;
}

enum cfs_err
base44_fetch(struct base44_client *c, const char *type, struct connection **out,
    struct base44_result *res)
{
	char url[BASE44_URL_MAX];
	struct http_response resp;
	char why[160];
	char *auth;
	enum cfs_err err;

	*out = NULL;
	base44_result_clear(res);
	http_response_init(&resp);
	if (base44_token_url(url, sizeof(url), c->api_url, c->app_id, type) < 0) {
		snprintf(res->message, sizeof(res->message), "request URL too long");
		return res->err = CFS_ERR_INVALID;
	}
	auth = base44_auth_header(c);
	if (auth == NULL)
		return res->err = CFS_ERR_NO_MEMORY;
	err = base44_request(c, url, auth, NULL, &resp, res);
	secret_free(auth);
	if (err == CFS_OK) {
		err = decode_connection(resp.body.data, resp.body.len, type, out, why,
		    sizeof(why));
		if (err == CFS_ERR_MALFORMED)
			snprintf(res->message, sizeof(res->message), "%s", why);
	}
	http_response_reset(&resp);
	/* Copies of the body and headers left in libcurl's and json-c's frames. */
	secret_scrub_stack();
	return res->err = err;
}
