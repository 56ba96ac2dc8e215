/*
 * jsonw.c: JSON string escaping and timestamps, shared by every renderer.
 */
#include <stdio.h>
#include <time.h>

#include "jsonw.h"

enum cfs_err
jsonw_string(struct buf *b, const char *s, size_t n)
{
	enum cfs_err err = buf_append(b, "\"", 1);
	size_t i, run = 0;

	for (i = 0; i < n && err == CFS_OK; i++) {
		unsigned char ch = (unsigned char)s[i];
		char esc[8];

		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		err = buf_append(b, s + run, i - run);
		run = i + 1;
		if (err != CFS_OK)
			break;
		switch (ch) {
		case '"': err = buf_append(b, "\\\"", 2); break;
		case '\\': err = buf_append(b, "\\\\", 2); break;
		case '\n': err = buf_append(b, "\\n", 2); break;
		case '\r': err = buf_append(b, "\\r", 2); break;
		case '\t': err = buf_append(b, "\\t", 2); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			err = buf_append(b, esc, 6);
		}
	}
	if (err == CFS_OK)
		err = buf_append(b, s + run, n - run);
	if (err == CFS_OK)
		err = buf_append(b, "\"", 1);
	return err;
}

enum cfs_err
jsonw_time(struct buf *b, long long unix_ms)
{
	char out[96];
	struct tm tm;
	time_t t;

	if (unix_ms <= 0)
		return buf_append_str(b, "null");
	t = (time_t)(unix_ms / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		return buf_append_str(b, "null");
	snprintf(out, sizeof(out), "\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(unix_ms % 1000));
	return buf_append_str(b, out);
}
