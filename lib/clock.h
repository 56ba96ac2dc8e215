/*
 * clock.h: milliseconds, the one unit of time in the tree (after curl's
 * Curl_now()): monotonic for deadlines and ages, wall for what a user sees
 * (st_mtime, status.json). One place turns a timespec into milliseconds
 * and back.
 */
#ifndef CFS_CLOCK_H
#define CFS_CLOCK_H

#include <time.h>

/* CLOCK_MONOTONIC in milliseconds: deadlines, ages, backoff. */
long long clock_mono_ms(void);

/* Unix time in milliseconds. */
long long clock_wall_ms(void);

/* ms of either clock as a timespec (st_mtim, pthread_cond_timedwait()). */
struct timespec clock_timespec(long long ms);

/*
 * "SECONDS" as a user writes it on a command line ("30", "0.25"): digits
 * with an optional fraction, nothing else (no sign, exponent or unit), at
 * most max_ms. 0 with *ms set (fractions below a millisecond dropped), or -1.
 */
int clock_parse_seconds(const char *text, long long max_ms, long long *ms);

#endif
