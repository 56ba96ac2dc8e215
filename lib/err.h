/*
 * err.h: the one error vocabulary of lib/ and its one table to errno.
 * Every lib/ function that can fail returns an enum cfs_err (0 is success);
 * fs/ turns it into an errno with err_to_errno() and nothing else.
 */
#ifndef CFS_ERR_H
#define CFS_ERR_H

enum cfs_err {
	CFS_OK = 0,
	CFS_ERR_NOT_FOUND,	/* 404: not connected */
	CFS_ERR_DENIED,		/* 401 or 403 */
	CFS_ERR_TIMEOUT,	/* request took longer than timeout= */
	CFS_ERR_REFUSED,	/* connection refused */
	CFS_ERR_UNREACHABLE,	/* DNS failure, no route */
	CFS_ERR_TLS,		/* TLS handshake or verification failure */
	CFS_ERR_RATE_LIMITED,	/* 429 */
	CFS_ERR_SERVER,		/* 5xx or any other unexpected status */
	CFS_ERR_MALFORMED,	/* body is not the JSON shape the API documents */
	CFS_ERR_TOO_BIG,	/* body over the cap */
	CFS_ERR_TRANSPORT,	/* connection reset, truncated body, other I/O */
	CFS_ERR_EXPIRED,	/* the API handed out a JWT already past its exp */
	CFS_ERR_ABORTED,	/* the daemon is shutting down */
	CFS_ERR_NO_MEMORY,
	CFS_ERR_INVALID,	/* bad argument or configuration value */
	CFS_ERR_BUSY,		/* the budget for names not known to exist is spent */
	CFS_ERR_INTERRUPTED,	/* the reader's request was interrupted (Ctrl-C) */
	CFS_ERR_COUNT
};

/* The errno a reader sees for this error (README "Errors a reader sees"). */
int err_to_errno(enum cfs_err err);

/* A short stable name for logs and status.json ("timeout", "not_found"...). */
const char *err_name(enum cfs_err err);

/* Human text for one-line messages. */
const char *err_str(enum cfs_err err);

/* The error an HTTP status means; CFS_OK for 2xx. */
enum cfs_err err_from_http_status(long status);

#endif
