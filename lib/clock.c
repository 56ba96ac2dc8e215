/*
 * clock.c: the two clocks in milliseconds. Code that must be tested
 * without waiting takes its clock as a hook instead (cache.h).
 */
#include "clock.h"

static long long
clock_ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
clock_mono_ms(void)
{
	return clock_ms_of(CLOCK_MONOTONIC);
}

long long
clock_wall_ms(void)
{
	return clock_ms_of(CLOCK_REALTIME);
}

struct timespec
clock_timespec(long long ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	return ts;
}

int
clock_parse_seconds(const char *text, long long max_ms, long long *ms)
{
	long long whole = 0, frac = 0, scale = 100;
	const char *p = text;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		whole = whole * 10 + (*p - '0');
		if (whole > max_ms / 1000 + 1)
			return -1;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			frac += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (*p != '\0' || whole * 1000 + frac > max_ms)
		return -1;
	*ms = whole * 1000 + frac;
	return 0;
}
