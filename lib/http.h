/*
 * http.h: HTTP GET over libcurl with a pool of reused easy handles, so each
 * request finds a warm keep-alive connection, and a capped body. The only
 * file that includes curl; the curl-code to enum cfs_err table lives here.
 */
#ifndef CFS_HTTP_H
#define CFS_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

struct http_client;

struct http_options {
	unsigned timeout_ms;	/* bounds the whole request, connect included */
	size_t body_max;	/* larger bodies fail with CFS_ERR_TOO_BIG */
	const char *cacert;	/* extra CA file, or NULL */
	int verbose;		/* log curl's connection info (never headers) */
	/*
	 * For https:// URLs only: the proxy (NULL: the environment's, which
	 * http_client_new() reads as libcurl would, see http_proxy_env()), and
	 * its Basic credentials (NULL: none; else they win over any in the
	 * environment's URL). Copied; the user and password into secret memory.
	 */
	const char *proxy;
	const char *proxy_user;
	const char *proxy_password;
};

struct http_response {
	long status;		/* 0 when no response arrived */
	struct buf body;	/* secret memory */
	long retry_after;	/* seconds from Retry-After, -1 when absent */
	char connector_error[1024];	/* X-Base44-Connector-Error, or "" */
	char error_detail[160];	/* curl's message for transport failures, with
				   the proxy password and any URL's userinfo
				   redacted */
};

/* Call once before any thread starts (wraps curl_global_init). */
enum cfs_err http_global_init(void);
void http_global_cleanup(void);

enum cfs_err http_client_new(const struct http_options *opts, struct http_client **out);
void http_client_free(struct http_client **client);

/*
 * GET url with the given header lines (NULL-terminated). The lines may hold
 * secrets: they are wiped from curl's copies after the request. resp must be
 * released with http_response_reset(). Returns CFS_OK when any HTTP response
 * arrived (check resp->status), or the transport error.
 */
enum cfs_err http_get(struct http_client *client, const char *url,
    const char *const *headers, struct http_response *resp);

void http_response_init(struct http_response *resp);
void http_response_reset(struct http_response *resp);

/*
 * End every request in flight at once (CFS_ERR_ABORTED) and refuse new
 * ones: shutting down must not wait for a hung server. Any thread.
 */
void http_client_abort(struct http_client *client);

/* Number of new TCP connections made so far (for the keep-alive test). */
long http_client_connects(struct http_client *client);

/*
 * 1 when a request to url may go through a proxy, proxy= or the
 * environment's (https:// only, always in a CONNECT tunnel), 0 when it must
 * go direct: a plain http:// request carries the service token in clear, so
 * it never reaches a proxy.
 */
int http_url_may_use_proxy(const char *url);

/*
 * The environment's proxy for an https:// request, where libcurl would find
 * it: https_proxy, HTTPS_PROXY, all_proxy, ALL_PROXY, the first one set and
 * not empty (NULL when none is). NO_PROXY/no_proxy is libcurl's to apply.
 * *name, when name is not NULL, gets the variable's name: messages name the
 * variable, never its value, which may hold a password.
 */
const char *http_proxy_env(const char **name);

/*
 * Take the userinfo ("USER[:PASSWORD]@" after "SCHEME://", or at the start
 * when there is no scheme) out of a proxy URL. *bare gets the URL without
 * it (malloc'd); *user and *password get its parts percent-decoded, as
 * libcurl decodes a proxy URL's, in secret memory: both NULL when there is
 * no userinfo, the password "" when only a user is given. The userinfo ends
 * at the last '@', so a password may hold '@', '/' or ':' unencoded.
 * CFS_ERR_INVALID (all three NULL) when a part decodes to a control
 * character or NUL, which libcurl refuses too; CFS_ERR_NO_MEMORY.
 */
enum cfs_err http_proxy_split(const char *url, char **bare, char **user, char **password);

#endif
