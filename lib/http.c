/*
 * http.c: libcurl behind a small API. Easy handles are kept in a pool and
 * reused, each keeping its connection alive, so steady traffic does not pay a
 * TCP or TLS handshake per request; a share handle spreads DNS and TLS
 * sessions across them. A handle is used by one thread at a time.
 * Never enables CURLOPT_VERBOSE: curl would print the Authorization header.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "log.h"
#include "secret.h"

#define HTTP_POOL_MAX 8
#define HTTP_BODY_MAX_DEFAULT (64 * 1024)

struct http_client {
	struct http_options opts;
	char *cacert;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	CURL *pool[HTTP_POOL_MAX];
	size_t npool;
	long connects;
};

enum cfs_err
http_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? CFS_OK : CFS_ERR_NO_MEMORY;
}

void
http_global_cleanup(void)
{
	curl_global_cleanup();
}

static void
http_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
	struct http_client *c = arg;

	(void)h;
	(void)access;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void
http_share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct http_client *c = arg;

	(void)h;
	pthread_mutex_unlock(&c->share_locks[data]);
}

/* curl's code to ours: the one place this mapping lives. */
static enum cfs_err
http_err_of_curl(CURLcode rc, int body_too_big)
{
	if (body_too_big)
		return CFS_ERR_TOO_BIG;
	switch (rc) {
	case CURLE_OK:
		return CFS_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return CFS_ERR_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		return CFS_ERR_REFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return CFS_ERR_UNREACHABLE;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return CFS_ERR_TLS;
	case CURLE_OUT_OF_MEMORY:
		return CFS_ERR_NO_MEMORY;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return CFS_ERR_INVALID;
	default:
		return CFS_ERR_TRANSPORT;
	}
}

enum cfs_err
http_client_new(const struct http_options *opts, struct http_client **out)
{
	struct http_client *c;
	int i;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CFS_ERR_NO_MEMORY;
	c->opts = *opts;
	if (opts->cacert != NULL && (c->cacert = strdup(opts->cacert)) == NULL)
		goto fail;
	c->opts.cacert = c->cacert;
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	c->share = curl_share_init();
	if (c->share == NULL)
		goto fail;
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, http_share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, http_share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	*out = c;
	return CFS_OK;
fail:
	http_client_free(&c);
	return CFS_ERR_NO_MEMORY;
}

void
http_client_free(struct http_client **cp)
{
	struct http_client *c;
	int i;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	while (c->npool > 0)
		curl_easy_cleanup(c->pool[--c->npool]);
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	free(c->cacert);
	free(c);
}

long
http_client_connects(struct http_client *c)
{
	long n;

	pthread_mutex_lock(&c->pool_lock);
	n = c->connects;
	pthread_mutex_unlock(&c->pool_lock);
	return n;
}

static CURL *
http_handle_take(struct http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->npool > 0)
		h = c->pool[--c->npool];
	pthread_mutex_unlock(&c->pool_lock);
	if (h == NULL) {
		h = curl_easy_init();
		if (h != NULL)
			curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	}
	return h;
}

static void
http_handle_give_back(struct http_client *c, CURL *h, long new_connects)
{
	pthread_mutex_lock(&c->pool_lock);
	c->connects += new_connects;
	if (c->npool < HTTP_POOL_MAX) {
		c->pool[c->npool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

static size_t
http_on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_response *resp = arg;
	size_t n = size * nmemb;

	if (buf_append(&resp->body, data, n) != CFS_OK)
		return 0;	/* makes curl stop with CURLE_WRITE_ERROR */
	return n;
}

/* Copy a header's value, trimmed, into out (truncated to fit). */
static void
http_header_value(const char *line, size_t n, size_t namelen, char *out, size_t outsz)
{
	size_t i = namelen + 1, j = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	while (n > i && isspace((unsigned char)line[n - 1]))
		n--;
	for (; i < n && j + 1 < outsz; i++)
		out[j++] = isprint((unsigned char)line[i]) ? line[i] : ' ';
	out[j] = '\0';
}

static size_t
http_on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct http_response *resp = arg;
	size_t n = size * nmemb;
	static const char retry[] = "retry-after:";
	static const char cerr[] = "x-base44-connector-error:";
	char val[32];

	/* A new status line (after a 100 Continue) starts a new header set. */
	if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
		resp->retry_after = -1;
		resp->connector_error[0] = '\0';
	} else if (n > sizeof(retry) - 1 && strncasecmp(line, retry, sizeof(retry) - 1) == 0) {
		char *end;
		long v;

		http_header_value(line, n, sizeof(retry) - 2, val, sizeof(val));
		v = strtol(val, &end, 10);
		/* An HTTP date is allowed too; treat it as "not usable". */
		resp->retry_after = (end != val && *end == '\0' && v >= 0) ? v : -1;
	} else if (n > sizeof(cerr) - 1 && strncasecmp(line, cerr, sizeof(cerr) - 1) == 0) {
		http_header_value(line, n, sizeof(cerr) - 2, resp->connector_error,
		    sizeof(resp->connector_error));
	}
	return n;
}

void
http_response_init(struct http_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, HTTP_BODY_MAX_DEFAULT);
	resp->retry_after = -1;
}

void
http_response_reset(struct http_response *resp)
{
	buf_reset(&resp->body);
	resp->status = 0;
	resp->retry_after = -1;
	resp->connector_error[0] = '\0';
	resp->error_detail[0] = '\0';
}

static void
http_wipe_headers(struct curl_slist *list)
{
	for (; list != NULL; list = list->next)
		secret_wipe(list->data, strlen(list->data));
}

enum cfs_err
http_get(struct http_client *c, const char *url, const char *const *headers,
    struct http_response *resp)
{
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *list = NULL, *grown;
	enum cfs_err err = CFS_ERR_NO_MEMORY;
	long connects = 0;
	CURLcode rc;
	CURL *h;
	size_t i;

	http_response_reset(resp);
	resp->body.max = c->opts.body_max;
	h = http_handle_take(c);
	if (h == NULL)
		return CFS_ERR_NO_MEMORY;
	for (i = 0; headers != NULL && headers[i] != NULL; i++) {
		grown = curl_slist_append(list, headers[i]);
		if (grown == NULL)
			goto out;
		list = grown;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->opts.timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opts.timeout_ms);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->opts.cacert != NULL)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->opts.cacert);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "connectorfs/" CFS_VERSION);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);

	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	err = http_err_of_curl(rc, resp->body.too_big);
	if (err == CFS_ERR_TRANSPORT && rc == CURLE_WRITE_ERROR && !resp->body.too_big)
		err = CFS_ERR_NO_MEMORY;
	if (err != CFS_OK) {
		snprintf(resp->error_detail, sizeof(resp->error_detail), "%.150s",
		    errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (err != CFS_ERR_TOO_BIG)
			resp->status = 0;
	}
	if (c->opts.verbose)
		log_debug("http: GET %s -> %ld (%s), %ld new connection(s)", url,
		    resp->status, curl_easy_strerror(rc), connects);
	/* Drop our pointers into this request before the handle is reused. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
out:
	http_wipe_headers(list);
	curl_slist_free_all(list);
	http_handle_give_back(c, h, connects);
	return err;
}
