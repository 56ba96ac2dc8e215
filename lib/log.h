/*
 * log.h: the daemon's small logging vocabulary (after OpenBSD's log.c).
 * Lines go to stderr in the foreground and to syslog once daemonized.
 * Callers must never pass a token or an Authorization header: nothing here
 * can tell a secret from other text.
 */
#ifndef CFS_LOG_H
#define CFS_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Set the destination and verbosity; safe to call again (after daemonizing). */
void log_init(const char *progname, int use_syslog, enum log_level level);

/* Capture log lines instead of printing them (unit tests); NULL restores. */
typedef void (*log_sink_fn)(enum log_level level, const char *line, void *arg);
void log_set_sink(log_sink_fn sink, void *arg);

int log_debug_enabled(void);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));	/* appends strerror(errno) */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
