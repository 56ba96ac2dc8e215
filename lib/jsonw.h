/*
 * jsonw.h: writing JSON text into a buf, for the files the daemon renders
 * (connection.json, status.json). Writing needs no parser, and keeping
 * json-c out of it keeps tokens out of json-c's heap.
 */
#ifndef CFS_JSONW_H
#define CFS_JSONW_H

#include <stddef.h>

#include "buf.h"

/* A JSON string literal of n bytes of s (quotes, escapes, \u00XX controls). */
enum cfs_err jsonw_string(struct buf *b, const char *s, size_t n);

/* ISO 8601 UTC time of a Unix ms timestamp, as a JSON string; null for 0. */
enum cfs_err jsonw_time(struct buf *b, long long unix_ms);

#endif
