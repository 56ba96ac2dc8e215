/*
 * helpers.c: what several suites need: a log sink that keeps lines for
 * assertions (and keeps Check's output clean), connections built through the
 * real decoder, and JWTs built by hand. No test logic lives here.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "unit.h"

static struct {
	pthread_mutex_t lock;
	int count;
	char lines[UNIT_LOG_LINES][UNIT_LOG_WIDTH];
} unit_log = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
unit_log_sink(enum log_level level, const char *line, void *arg)
{
	(void)level;
	(void)arg;
	pthread_mutex_lock(&unit_log.lock);
	if (unit_log.count < UNIT_LOG_LINES)
		snprintf(unit_log.lines[unit_log.count], UNIT_LOG_WIDTH, "%s", line);
	unit_log.count++;
	pthread_mutex_unlock(&unit_log.lock);
}

void
unit_log_install(void)
{
	log_set_sink(unit_log_sink, NULL);
}

void
unit_log_reset(void)
{
	pthread_mutex_lock(&unit_log.lock);
	unit_log.count = 0;
	memset(unit_log.lines, 0, sizeof(unit_log.lines));
	pthread_mutex_unlock(&unit_log.lock);
}

int
unit_log_count(void)
{
	int n;

	pthread_mutex_lock(&unit_log.lock);
	n = unit_log.count;
	pthread_mutex_unlock(&unit_log.lock);
	return n;
}

const char *
unit_log_line(int i)
{
	const char *line = "";

	pthread_mutex_lock(&unit_log.lock);
	if (i >= 0 && i < unit_log.count && i < UNIT_LOG_LINES)
		line = unit_log.lines[i];
	pthread_mutex_unlock(&unit_log.lock);
	return line;
}

int
unit_log_contains(const char *needle)
{
	int i, found = 0;

	pthread_mutex_lock(&unit_log.lock);
	for (i = 0; i < unit_log.count && i < UNIT_LOG_LINES && !found; i++)
		found = strstr(unit_log.lines[i], needle) != NULL;
	pthread_mutex_unlock(&unit_log.lock);
	return found;
}

struct connection *
unit_connection(const char *type, const char *body)
{
	struct connection *c = NULL;
	char why[160];
	enum cfs_err err;

	err = decode_connection(body, strlen(body), type, &c, why, sizeof(why));
	ck_assert_msg(err == CFS_OK, "test body does not decode (%s): %s", why, body);
	ck_assert_ptr_nonnull(c);
	return c;
}

int
unit_jwt(char *out, size_t outsz, const char *claims_json)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	/* {"alg":"none"} */
	static const char header[] = "eyJhbGciOiJub25lIn0.";
	const unsigned char *in = (const unsigned char *)claims_json;
	size_t n = strlen(claims_json), i, o;
	unsigned acc = 0;
	int bits = 0;

	if (outsz < sizeof(header) + (n * 4 + 2) / 3 + 5)
		return -1;
	memcpy(out, header, sizeof(header) - 1);
	o = sizeof(header) - 1;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = b64[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = b64[(acc << (6 - bits)) & 63];
	memcpy(out + o, ".sig", 5);
	return (int)(o + 4);
}
