/*
 * decode.h: the API's JSON bodies into C values. Tolerant of
 * what the protocol allows (absent or null connection_config, unknown fields),
 * strict about types: anything else is CFS_ERR_MALFORMED, never a crash.
 * The only file that includes json-c.
 */
#ifndef CFS_DECODE_H
#define CFS_DECODE_H

#include <stddef.h>

#include "connection.h"
#include "err.h"

/* A \u0000 in a config key reaches connection.c as this byte (see decode.c). */
#define DECODE_NUL_MARK 0xff

/* Deepest nesting accepted in a body; deeper is malformed. */
#define DECODE_MAX_DEPTH 32

/*
 * A 200 body into a new connection (rendered for type). On
 * CFS_ERR_MALFORMED, why says what was wrong (never a value).
 */
enum cfs_err decode_connection(const char *body, size_t len, const char *type,
    struct connection **out, char *why, size_t whysz);

/*
 * The server's message from an error body, as the SDK takes it:
 * error.message, else message, else detail; and the code: error.code, else
 * code. Empty strings when absent or not JSON. Control characters are
 * replaced so that the message is safe on one log line.
 */
void decode_error_body(const char *body, size_t len, char *msg, size_t msgsz,
    char *code, size_t codesz);

/* One row of the management API's lists (external-auth/list, available-integrations). */
struct integration {
	char type[65];
	char status[24];		/* list: active, disconnected, expired */
	char display_name[80];		/* catalog */
	char description[160];		/* catalog */
	char user_email[120];		/* list */
	char scopes[160];		/* list: comma-separated */
};

/*
 * {"integrations":[...]} into a malloc'ed array (free()); fields that are
 * absent or not strings are left empty, longer ones cut, control characters
 * replaced. CFS_ERR_MALFORMED when the shape is wrong.
 */
enum cfs_err decode_integrations(const char *body, size_t len, struct integration **out,
    size_t *n);

/* The `exp` claim of a JWT (Unix seconds), or 0 when it is not a JWT with one. */
long long decode_jwt_exp(const char *token, size_t len);

#endif
