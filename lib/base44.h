/*
 * base44.h: the Base44 connectors API as the official SDK (@base44/sdk)
 * speaks it: one GET per connection, the SDK's headers, the SDK's way of
 * reading error bodies. Knows URLs and headers; HTTP itself is http.c's.
 */
#ifndef CFS_BASE44_H
#define CFS_BASE44_H

#include <stddef.h>

#include "connection.h"
#include "decode.h"
#include "err.h"

struct base44_client;

struct base44_options {
	const char *api_url;		/* no trailing '/' */
	const char *app_id;
	const char *service_token;	/* copied into secret memory */
	unsigned timeout_s;
	size_t body_max;
	const char *cacert;
	int verbose;
	const char *proxy;		/* see struct http_options */
	const char *proxy_user;
	const char *proxy_password;	/* also redacted from every message */
};

/* What one request ended with, for logs and status.json (never a token). */
struct base44_result {
	enum cfs_err err;
	long status;		/* HTTP status, 0 when none arrived */
	long retry_after;	/* seconds, -1 when absent */
	char message[200];	/* server's error message, or transport detail */
	char code[96];		/* error.code / code / X-Base44-Connector-Error */
};

enum cfs_err base44_client_new(const struct base44_options *opts,
    struct base44_client **out);
void base44_client_free(struct base44_client **client);

/* Replace the service token (SIGHUP re-reads the token file). */
enum cfs_err base44_set_service_token(struct base44_client *client, const char *token);

/*
 * The management credential, kept (in secret memory) only so that every
 * error of every request is redacted of it too, as of the service token.
 * NULL or "" forgets it. base44_list() always redacts the key it is given.
 */
enum cfs_err base44_set_api_key(struct base44_client *client, const char *key);

/*
 * Fetch one connection. On CFS_OK *out holds a new reference; otherwise
 * res says what happened. res is always filled.
 */
enum cfs_err base44_fetch(struct base44_client *client, const char *type,
    struct connection **out, struct base44_result *res);

/*
 * {api_url}/api/apps/{app_id}/external-auth/tokens/{type} with type
 * percent-encoded like encodeURIComponent. Returns the length, or -1 when
 * out is too small.
 */
int base44_token_url(char *out, size_t outsz, const char *api_url,
    const char *app_id, const char *type);

/* encodeURIComponent into out; returns the length or -1 when too small. */
int base44_encode_component(const char *in, char *out, size_t outsz);

enum base44_list_kind {
	BASE44_LIST_CONNECTED,	/* GET .../external-auth/list */
	BASE44_LIST_AVAILABLE,	/* GET .../external-auth/available-integrations */
};

/*
 * The management API's lists, with a management credential (a personal
 * access token, sent as a Bearer, or an api key "b44k_...", sent as the
 * api_key header; a service token is not accepted). *rows is malloc'ed
 * (free()).
 */
enum cfs_err base44_list(struct base44_client *client, const char *api_key,
    enum base44_list_kind kind, struct integration **rows, size_t *n,
    struct base44_result *res);

/* End requests in flight and refuse new ones (shutdown). */
void base44_client_abort(struct base44_client *client);

/* New TCP connections the client has made (keep-alive check). */
long base44_client_connects(struct base44_client *client);

#endif
