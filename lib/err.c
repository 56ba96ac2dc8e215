/*
 * err.c: the tables from HTTP status to enum cfs_err and from enum cfs_err
 * to errno. The curl-code mapping lives in http.c, the only file that may
 * include curl; everything else about errors lives here.
 */
#include <errno.h>

#include "err.h"

static const struct {
	int errnum;
	const char *name;
	const char *text;
} err_table[CFS_ERR_COUNT] = {
	[CFS_OK] = { 0, "ok", "success" },
	[CFS_ERR_NOT_FOUND] = { ENOENT, "not_found", "connector not connected" },
	[CFS_ERR_DENIED] = { EACCES, "denied", "access denied by the API" },
	[CFS_ERR_TIMEOUT] = { ETIMEDOUT, "timeout", "request timed out" },
	[CFS_ERR_REFUSED] = { ECONNREFUSED, "refused", "connection refused" },
	[CFS_ERR_UNREACHABLE] = { EHOSTUNREACH, "unreachable", "host unreachable or unknown" },
	[CFS_ERR_TLS] = { EPROTO, "tls", "TLS handshake or certificate verification failed" },
	[CFS_ERR_RATE_LIMITED] = { EAGAIN, "rate_limited", "rate limited by the API" },
	[CFS_ERR_SERVER] = { EIO, "server_error", "server error" },
	[CFS_ERR_MALFORMED] = { EIO, "malformed", "malformed response body" },
	[CFS_ERR_TOO_BIG] = { EIO, "too_big", "response body too large" },
	[CFS_ERR_TRANSPORT] = { EIO, "transport", "connection failed mid-transfer" },
	[CFS_ERR_EXPIRED] = { EKEYEXPIRED, "expired", "token already expired" },
	[CFS_ERR_ABORTED] = { EINTR, "aborted", "shutting down" },
	[CFS_ERR_NO_MEMORY] = { ENOMEM, "no_memory", "out of memory" },
	[CFS_ERR_INVALID] = { EINVAL, "invalid", "invalid argument" },
	[CFS_ERR_BUSY] = { EAGAIN, "busy", "too many unknown names looked up; try again" },
	[CFS_ERR_INTERRUPTED] = { EINTR, "interrupted", "interrupted" },
};

static int
err_valid(enum cfs_err err)
{
	return (int)err >= 0 && err < CFS_ERR_COUNT;
}

int
err_to_errno(enum cfs_err err)
{
	return err_valid(err) ? err_table[err].errnum : EIO;
}

const char *
err_name(enum cfs_err err)
{
	return err_valid(err) ? err_table[err].name : "unknown";
}

const char *
err_str(enum cfs_err err)
{
	return err_valid(err) ? err_table[err].text : "unknown error";
}

enum cfs_err
err_from_http_status(long status)
{
	if (status >= 200 && status < 300)
		return CFS_OK;
	switch (status) {
	case 404:
		return CFS_ERR_NOT_FOUND;
	case 401:
	case 403:
		return CFS_ERR_DENIED;
	case 408:
		return CFS_ERR_TIMEOUT;
	case 429:
		return CFS_ERR_RATE_LIMITED;
	default:
		return CFS_ERR_SERVER;
	}
}
