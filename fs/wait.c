/*
 * wait.c: blocks until the value behind a path changes (watch.h), prints
 * that path and exits 0; 1 when --timeout passes first; 2 with one line on
 * anything it cannot do. It needs only the files, so it runs as well in a
 * container that has one connector folder bind-mounted.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "wait.h"
#include "watch.h"

#define WAIT_TIMEOUT_MAX_MS	(100LL * 365 * 86400 * 1000)
#define WAIT_TIMER_SLACK_MS	100	/* the loop's own deadline comes first */

static int
wait_usage(void)
{
	fprintf(stderr, "usage: connectorfs wait [--timeout SECONDS] PATH...\n");
	return 2;
}

static void
wait_timed_out(int sig)
{
	(void)sig;
	_exit(1);
}

/*
 * --timeout holds even while a look at a path waits on a daemon that is
 * slow (a fetch up to timeout=) or does not answer at all: a timer ends
 * the process, whatever it is blocked in.
 */
static void
wait_arm_timer(long long ms)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = (time_t)(ms / 1000);
	it.it_value.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (ms == 0)
		it.it_value.tv_usec = 1;	/* 0 would disarm it */
	signal(SIGALRM, wait_timed_out);
	(void)setitimer(ITIMER_REAL, &it, NULL);
}

static void
wait_disarm_timer(void)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	(void)setitimer(ITIMER_REAL, &it, NULL);
}

/* Sleep until inotify says something, the next tick, or the deadline (-1: none). */
static void
wait_idle(struct watch_set *ws, long long deadline)
{
	struct pollfd pfd = { watch_set_fd(ws), POLLIN, 0 };
	long long ms = WATCH_TICK_MS;

	if (deadline >= 0 && deadline - clock_mono_ms() < ms)
		ms = deadline - clock_mono_ms();
	if (ms < 0)
		ms = 0;
	(void)poll(&pfd, 1, (int)ms);	/* fd -1 is ignored: a plain sleep */
}

int
wait_main(int argc, char *argv[])
{
	struct watch_set *ws = NULL;
	long long timeout_ms = -1, deadline = -1;
	char msg[512];
	int i = 1, n;
	size_t k;

	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		const char *value = NULL;

		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			value = argv[++i];
		else if (strncmp(argv[i], "--timeout=", 10) == 0)
			value = argv[i] + 10;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: connectorfs wait [--timeout SECONDS] PATH...\n");
			return 0;
		} else
			return wait_usage();
		if (clock_parse_seconds(value, WAIT_TIMEOUT_MAX_MS, &timeout_ms) != 0) {
			fprintf(stderr, "connectorfs wait: --timeout %s: not a number of seconds "
			    "from 0 to 3153600000\n", value);
			return 2;
		}
	}
	if (i >= argc)
		return wait_usage();
	if (watch_set_new(&ws, argv + i, (size_t)(argc - i), WATCH_VALUE_OR_FOLDER, msg,
	    sizeof(msg)) != CFS_OK) {
		fprintf(stderr, "connectorfs wait: %s\n", msg);
		return 2;
	}
	if (timeout_ms >= 0) {
		deadline = clock_mono_ms() + timeout_ms;
		wait_arm_timer(timeout_ms + WAIT_TIMER_SLACK_MS);
	}
	for (;;) {
		n = watch_set_check(ws, msg, sizeof(msg));
		if (n < 0) {
			fprintf(stderr, "connectorfs wait: %s\n", msg);
			watch_set_free(&ws);
			return 2;
		}
		if (n > 0)
			break;
		if (deadline >= 0 && clock_mono_ms() >= deadline) {
			watch_set_free(&ws);
			return 1;
		}
		wait_idle(ws, deadline);
	}
	wait_disarm_timer();
	for (k = 0; k < watch_set_count(ws); k++)
		if (watch_set_changed(ws, k))
			printf("%s\n", watch_set_path(ws, k));
	/* Before the free: closing an inotify instance waits for an RCU grace period (ms). */
	n = fflush(stdout) == 0 ? 0 : 2;
	watch_set_free(&ws);
	return n;
}
