/*
 * http.c: libcurl behind a small API. Easy handles are kept in a pool and
 * reused, each keeping its connection alive, so steady traffic does not pay a
 * TCP or TLS handshake per request; a share handle spreads DNS and TLS
 * sessions across them. A handle is used by one thread at a time.
 * Also the one place that knows libcurl runs on OpenSSL (its allocator).
 * Never enables CURLOPT_VERBOSE: curl would print the Authorization header
 * (and the Proxy-Authorization one). Never lets libcurl read a proxy URL
 * from the environment either: curl names the proxy URL, password and all,
 * in some error messages, so the URL is resolved here and curl only ever
 * sees it without its userinfo.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "http.h"
#include "log.h"
#include "redact.h"
#include "secret.h"

#define HTTP_POOL_MAX 8
#define HTTP_BODY_MAX_DEFAULT (64 * 1024)

/*
 * One pooled transfer slot: a multi handle, which keeps the slot's
 * connections alive between requests and whose curl_multi_wakeup() lets
 * http_client_abort() end a request at once, and the easy handle of the
 * request in flight (NULL while idle).
 */
struct http_slot {
	CURLM *multi;
	CURL *easy;
	struct http_slot *next;		/* in the idle pool or the busy list */
};

struct http_client {
	struct http_options opts;
	char *cacert;
	char *proxy;			/* never with a userinfo; NULL: none */
	char *proxy_user;		/* secret memory */
	char *proxy_password;		/* secret memory; redacted from messages */
	char *curl_proxy_user;		/* the two as libcurl takes them (secret) */
	char *curl_proxy_password;
	char proxy_error[160];		/* "" or why no request may use the proxy */
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t pool_lock;
	struct http_slot *idle;		/* at most HTTP_POOL_MAX */
	size_t nidle;
	struct http_slot *busy;		/* requests in flight */
	int aborted;
	long connects;
};

/*
 * libcurl and OpenSSL keep request text (with the Authorization header),
 * TLS plaintext and response bodies in their own heap buffers. Giving both
 * the secret heap puts those copies in locked, undumpable memory that is
 * zeroed when freed, like the daemon's own.
 */
static void *
http_crypto_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return secret_alloc(n);
}

static void *
http_crypto_realloc(void *p, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return secret_realloc(p, n);
}

static void
http_crypto_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	secret_free(p);
}

enum cfs_err
http_global_init(void)
{
	/* Refused when OpenSSL already allocated (it must come first): then warn. */
	if (CRYPTO_set_mem_functions(http_crypto_malloc, http_crypto_realloc,
	    http_crypto_free) != 1)
		log_warnx("OpenSSL allocated memory before start-up; its buffers are "
		    "not in locked memory");
	if (curl_global_init_mem(CURL_GLOBAL_DEFAULT, secret_alloc, secret_free,
	    secret_realloc, secret_strdup, secret_calloc) != CURLE_OK)
		return CFS_ERR_NO_MEMORY;
	return CFS_OK;
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

/*
 * curl's code to ours: the one place this mapping lives. connect_code is
 * the proxy's answer to CONNECT (0 when there was none): a proxy that
 * refuses the tunnel (407 for missing or wrong credentials, 403, 502...)
 * refused the connection; curl only says it could not receive.
 */
static enum cfs_err
http_err_of_curl(CURLcode rc, int body_too_big, long connect_code)
{
	if (body_too_big)
		return CFS_ERR_TOO_BIG;
	if (rc != CURLE_OK && rc != CURLE_ABORTED_BY_CALLBACK &&
	    rc != CURLE_OPERATION_TIMEDOUT && connect_code != 0 &&
	    (connect_code < 200 || connect_code > 299))
		return CFS_ERR_REFUSED;
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
	case CURLE_ABORTED_BY_CALLBACK:
		return CFS_ERR_ABORTED;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return CFS_ERR_INVALID;
	default:
		return CFS_ERR_TRANSPORT;
	}
}

const char *
http_proxy_env(const char **name)
{
	/* libcurl's order for an https:// URL (url.c, detect_proxy()). */
	static const char *const vars[] = {
		"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"
	};
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		v = getenv(vars[i]);
		/* curl_getenv() counts an empty value as unset. */
		if (v != NULL && *v != '\0') {
			if (name != NULL)
				*name = vars[i];
			return v;
		}
	}
	return NULL;
}

static int
http_hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * n bytes of s percent-decoded into secret memory. A '%' not followed by
 * two hex digits stays as it is (as in libcurl). NULL with *bad set when a
 * byte comes out below 0x20, a control character (libcurl's REJECT_CTRL
 * refuses those too, and a NUL could not be passed on), else NULL only when
 * out of memory.
 */
static char *
http_percent_decode(const char *s, size_t n, int *bad)
{
	char *out = secret_alloc(n + 1);
	size_t i, j = 0;
	int hi, lo;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '%' && i + 2 < n && (hi = http_hex_value(s[i + 1])) >= 0 &&
		    (lo = http_hex_value(s[i + 2])) >= 0) {
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (ch < 0x20) {
			*bad = 1;
			secret_free(out);
			return NULL;
		}
		out[j++] = (char)ch;
	}
	out[j] = '\0';
	return out;
}

enum cfs_err
http_proxy_split(const char *url, char **bare, char **user, char **password)
{
	const char *host = url, *at, *colon;
	size_t scheme, prefix;
	int bad = 0;

	*bare = *user = *password = NULL;
	scheme = strspn(url, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+.-");
	if (scheme > 0 && isalpha((unsigned char)url[0]) &&
	    strncmp(url + scheme, "://", 3) == 0)
		host = url + scheme + 3;
	/*
	 * The last '@', not the first, and not only within the host part:
	 * a password with an unencoded '@', '/' or '#' still comes out whole
	 * instead of being left in the URL (a proxy URL's path means nothing).
	 */
	at = strrchr(host, '@');
	if (at == NULL) {
		*bare = strdup(url);
		return *bare != NULL ? CFS_OK : CFS_ERR_NO_MEMORY;
	}
	colon = memchr(host, ':', (size_t)(at - host));
	*user = http_percent_decode(host, (size_t)((colon != NULL ? colon : at) - host), &bad);
	if (*user != NULL)
		*password = colon != NULL ?
		    http_percent_decode(colon + 1, (size_t)(at - colon - 1), &bad) :
		    secret_strndup("", 0);
	prefix = (size_t)(host - url);
	*bare = malloc(prefix + strlen(at + 1) + 1);
	if (*user == NULL || *password == NULL || *bare == NULL) {
		secret_free(*user);
		secret_free(*password);
		free(*bare);
		*bare = *user = *password = NULL;
		return bad ? CFS_ERR_INVALID : CFS_ERR_NO_MEMORY;
	}
	memcpy(*bare, url, prefix);
	strcpy(*bare + prefix, at + 1);
	return CFS_OK;
}

/*
 * What CURLOPT_PROXYUSERNAME or CURLOPT_PROXYPASSWORD must be given for the
 * proxy to receive s: libcurl before 8.8.0 percent-decodes both (curl issue
 * 13265), so there each '%' goes as "%25", or "a%41" would reach the proxy
 * as "aA" (and "a%00" fail every request). Secret memory; NULL when out of
 * memory.
 */
static char *
http_curl_credential(const char *s)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	int decodes = v == NULL || v->version_num < 0x080800;
	size_t n = strlen(s), i, j = 0;
	char *out = secret_alloc(3 * n + 1);

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		out[j++] = s[i];
		if (s[i] == '%' && decodes) {
			out[j++] = '2';
			out[j++] = '5';
		}
	}
	out[j] = '\0';
	return out;
}

/*
 * The proxy and its credentials: proxy= as given; else the environment's,
 * with any USER:PASSWORD@ moved out of the URL into secret memory. Then
 * proxy_auth_file='s credentials, which win over the URL's.
 *
 * Credentials in the environment's URL are accepted, not refused: they
 * worked before (libcurl read them itself), refusing them would stop a
 * mount that a profile's https_proxy made work, and the leak was in the
 * messages, which this closes. But the environment is readable in
 * /proc/PID/environ and inherited by every child, so one warning names
 * proxy_auth_file=, the one place the README documents for them.
 * A URL whose userinfo cannot be decoded leaves no usable proxy: each
 * request that would use one fails with proxy_error, as each failed in
 * libcurl, now without the URL in the message.
 */
static enum cfs_err
http_client_proxy(struct http_client *c, const struct http_options *opts)
{
	const char *env, *name = "";
	char *user = NULL, *password = NULL;
	enum cfs_err err;

	if (opts->proxy != NULL) {
		if ((c->proxy = strdup(opts->proxy)) == NULL)
			return CFS_ERR_NO_MEMORY;
	} else if ((env = http_proxy_env(&name)) != NULL) {
		err = http_proxy_split(env, &c->proxy, &user, &password);
		if (err == CFS_ERR_NO_MEMORY)
			return err;
		if (err != CFS_OK) {
			snprintf(c->proxy_error, sizeof(c->proxy_error), "%s: the user name or "
			    "password in the proxy URL decodes to a control character", name);
			log_warnx("%s; every request through the proxy fails (put USER:PASSWORD "
			    "in a file and use proxy_auth_file=FILE)", c->proxy_error);
			return CFS_OK;
		}
	}
	if (opts->proxy_user != NULL && opts->proxy_password != NULL) {
		if (user != NULL)
			log_warnx("%s: the user name and password in the proxy URL are ignored: "
			    "proxy_auth_file= gives them", name);
		secret_free(user);
		secret_free(password);
		user = secret_strndup(opts->proxy_user, strlen(opts->proxy_user));
		password = secret_strndup(opts->proxy_password, strlen(opts->proxy_password));
	} else if (user != NULL) {
		log_warnx("%s holds the proxy's user name and password: they are used, but "
		    "the environment can be read in /proc/PID/environ; put USER:PASSWORD in a "
		    "file and use proxy_auth_file=FILE", name);
	}
	c->proxy_user = user;
	c->proxy_password = password;
	if (user == NULL && password == NULL)
		return CFS_OK;
	if (user == NULL || password == NULL)
		return CFS_ERR_NO_MEMORY;
	c->curl_proxy_user = http_curl_credential(user);
	c->curl_proxy_password = http_curl_credential(password);
	if (c->curl_proxy_user == NULL || c->curl_proxy_password == NULL)
		return CFS_ERR_NO_MEMORY;
	return CFS_OK;
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
	/* First: http_client_free() destroys them whatever failed after. */
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->pool_lock, NULL);
	c->opts = *opts;
	if (opts->cacert != NULL && (c->cacert = strdup(opts->cacert)) == NULL)
		goto fail;
	c->opts.cacert = c->cacert;
	/* The client's own copies are c->proxy and the rest; these are the caller's. */
	c->opts.proxy = c->opts.proxy_user = c->opts.proxy_password = NULL;
	if (http_client_proxy(c, opts) != CFS_OK)
		goto fail;
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

static void
http_slot_free(struct http_slot *slot)
{
	if (slot == NULL)
		return;
	if (slot->multi != NULL && slot->easy != NULL)
		curl_multi_remove_handle(slot->multi, slot->easy);
	if (slot->easy != NULL)
		curl_easy_cleanup(slot->easy);
	if (slot->multi != NULL)
		curl_multi_cleanup(slot->multi);
	free(slot);
}

void
http_client_free(struct http_client **cp)
{
	struct http_client *c;
	struct http_slot *slot;
	int i;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	while ((slot = c->idle) != NULL) {
		c->idle = slot->next;
		http_slot_free(slot);
	}
	if (c->share != NULL)
		curl_share_cleanup(c->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->pool_lock);
	free(c->cacert);
	free(c->proxy);
	secret_free(c->proxy_user);
	secret_free(c->proxy_password);
	secret_free(c->curl_proxy_user);
	secret_free(c->curl_proxy_password);
	free(c);
}

void
http_client_abort(struct http_client *c)
{
	struct http_slot *slot;

	pthread_mutex_lock(&c->pool_lock);
	c->aborted = 1;
	for (slot = c->busy; slot != NULL; slot = slot->next)
		curl_multi_wakeup(slot->multi);
	pthread_mutex_unlock(&c->pool_lock);
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

/* An idle slot (or a new one), moved to the busy list; NULL when aborted. */
static struct http_slot *
http_slot_take(struct http_client *c)
{
	struct http_slot *slot = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->aborted) {
		pthread_mutex_unlock(&c->pool_lock);
		return NULL;
	}
	if (c->idle != NULL) {
		slot = c->idle;
		c->idle = slot->next;
		c->nidle--;
	}
	pthread_mutex_unlock(&c->pool_lock);
	if (slot == NULL) {
		slot = calloc(1, sizeof(*slot));
		if (slot == NULL)
			return NULL;
		slot->multi = curl_multi_init();
		if (slot->multi == NULL) {
			http_slot_free(slot);
			return NULL;
		}
	}
	/*
	 * A fresh easy handle per request: its receive buffer held the last
	 * body (a token), and a reused handle would keep that tail until a
	 * longer body overwrote it. Freeing it zeroes it (secret heap). The
	 * connections, and so keep-alive, belong to the pooled multi handle.
	 */
	slot->easy = curl_easy_init();
	if (slot->easy == NULL) {
		http_slot_free(slot);
		return NULL;
	}
	curl_easy_setopt(slot->easy, CURLOPT_SHARE, c->share);
	pthread_mutex_lock(&c->pool_lock);
	slot->next = c->busy;
	c->busy = slot;
	pthread_mutex_unlock(&c->pool_lock);
	return slot;
}

static void
http_slot_give_back(struct http_client *c, struct http_slot *slot, long new_connects)
{
	struct http_slot **pp;

	pthread_mutex_lock(&c->pool_lock);
	c->connects += new_connects;
	for (pp = &c->busy; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == slot) {
			*pp = slot->next;
			break;
		}
	}
	slot->next = NULL;
	curl_easy_cleanup(slot->easy);
	slot->easy = NULL;
	if (c->nidle < HTTP_POOL_MAX && !c->aborted) {
		slot->next = c->idle;
		c->idle = slot;
		c->nidle++;
		slot = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	http_slot_free(slot);
}

static int
http_is_aborted(struct http_client *c)
{
	int a;

	pthread_mutex_lock(&c->pool_lock);
	a = c->aborted;
	pthread_mutex_unlock(&c->pool_lock);
	return a;
}

/* Drive one transfer to its end; CURLE_ABORTED_BY_CALLBACK when aborted. */
static CURLcode
http_run(struct http_client *c, struct http_slot *slot)
{
	CURLcode rc = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;

	if (curl_multi_add_handle(slot->multi, slot->easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	while (running) {
		if (curl_multi_perform(slot->multi, &running) != CURLM_OK) {
			rc = CURLE_SEND_ERROR;
			break;
		}
		if (!running)
			break;
		if (http_is_aborted(c)) {
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		/* CURLOPT_TIMEOUT_MS bounds the transfer; this only paces the loop. */
		if (curl_multi_poll(slot->multi, NULL, 0, 1000, NULL) != CURLM_OK) {
			rc = CURLE_RECV_ERROR;
			break;
		}
	}
	while ((msg = curl_multi_info_read(slot->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == slot->easy)
			rc = msg->data.result;
	if (running && rc == CURLE_OK)
		rc = CURLE_ABORTED_BY_CALLBACK;
	curl_multi_remove_handle(slot->multi, slot->easy);
	return rc;
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

int
http_url_may_use_proxy(const char *url)
{
	return url != NULL && strncasecmp(url, "https://", 8) == 0;
}

/*
 * curl's message into resp->error_detail, which reaches the log and
 * status.json: the proxy password redacted by value and any URL's userinfo
 * cut, both at full length, before the cut to fit.
 */
static void
http_error_detail(struct http_client *c, const char *curl_msg, struct http_response *resp)
{
	char full[CURL_ERROR_SIZE + 64];

	snprintf(full, sizeof(full), "%s", curl_msg);
	if (c->proxy_password != NULL)
		redact_password(c->proxy_password, full, sizeof(full));
	redact_userinfo(full, sizeof(full));
	snprintf(resp->error_detail, sizeof(resp->error_detail), "%.150s", full);
	secret_wipe(full, sizeof(full));
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
	long connects = 0, connect_code = 0;
	struct http_slot *slot;
	CURLcode rc;
	CURL *h;
	size_t i;

	http_response_reset(resp);
	resp->body.max = c->opts.body_max;
	if (http_url_may_use_proxy(url) && c->proxy_error[0] != '\0') {
		/* As libcurl would fail it, minus the URL (see http_client_proxy()). */
		snprintf(resp->error_detail, sizeof(resp->error_detail), "%s", c->proxy_error);
		return CFS_ERR_UNREACHABLE;
	}
	slot = http_slot_take(c);
	if (slot == NULL)
		return http_is_aborted(c) ? CFS_ERR_ABORTED : CFS_ERR_NO_MEMORY;
	h = slot->easy;
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
	/*
	 * "" turns every proxy off, the environment's too. Plain http is
	 * allowed only to loopback, and a proxy would see the Bearer header in
	 * clear.
	 */
	if (!http_url_may_use_proxy(url)) {
		curl_easy_setopt(h, CURLOPT_PROXY, "");
	} else {
		/*
		 * proxy=, else the environment's proxy as http_client_proxy()
		 * resolved it: set here, so libcurl never reads one (with its
		 * password) from the environment itself. NO_PROXY/no_proxy still
		 * applies: libcurl checks it for CURLOPT_PROXY too while
		 * CURLOPT_NOPROXY stays unset. Always a CONNECT tunnel with TLS to
		 * the API inside, verified below as without a proxy: the proxy relays
		 * bytes it cannot read and never sees a header, let alone a token.
		 * An https:// proxy's own certificate is checked against the
		 * system's CAs (cacert= is the API's).
		 */
		curl_easy_setopt(h, CURLOPT_PROXY, c->proxy != NULL ? c->proxy : "");
		curl_easy_setopt(h, CURLOPT_HTTPPROXYTUNNEL, 1L);
		curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
		if (c->curl_proxy_user != NULL) {
			/* Basic, sent with the first CONNECT: no round trip to learn it. */
			curl_easy_setopt(h, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
			curl_easy_setopt(h, CURLOPT_PROXYUSERNAME, c->curl_proxy_user);
			curl_easy_setopt(h, CURLOPT_PROXYPASSWORD, c->curl_proxy_password);
		}
	}
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

	rc = http_run(c, slot);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	err = http_err_of_curl(rc, resp->body.too_big, connect_code);
	if (err == CFS_ERR_TRANSPORT && rc == CURLE_WRITE_ERROR && !resp->body.too_big)
		err = CFS_ERR_NO_MEMORY;
	if (err != CFS_OK) {
		http_error_detail(c, errbuf[0] ? errbuf : curl_easy_strerror(rc), resp);
		if (err != CFS_ERR_TOO_BIG)
			resp->status = 0;
	}
	if (c->opts.verbose)
		log_debug("http: GET %s -> %ld (%s), %ld new connection(s)", url,
		    resp->status, curl_easy_strerror(rc), connects);
	/* Drop our pointers into this request before the handle is reused. */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	secret_wipe(errbuf, sizeof(errbuf));
out:
	http_wipe_headers(list);
	curl_slist_free_all(list);
	http_slot_give_back(c, slot, connects);
	return err;
}
