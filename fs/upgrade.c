/*
 * upgrade.c: reads MOUNTPOINT/.connectorfs/status.json for the keeper's pid
 * (supervisor_pid), sends it SIGUSR2, and waits until status.json names a
 * new serving pid with one more takeover. Only the mount's owner and root
 * may signal the keeper, as with kill(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "upgrade.h"

#define UPGRADE_TIMEOUT_S	30
#define UPGRADE_POLL_MS		50
#define UPGRADE_STATUS_TRIES	40	/* 2 s of UPGRADE_POLL_MS */

struct upgrade_status {
	long pid;
	long supervisor_pid;
	long long takeovers;
	long long started_ms;		/* process_started_at */
};

/* "key":number in status.json (our own format: flat numbers at the top). */
static int
upgrade_number(const char *json, const char *key, long long *out)
{
	char pat[64];
	const char *p;
	char *end;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (p == NULL)
		return -1;
	errno = 0;
	*out = strtoll(p + strlen(pat), &end, 10);
	return errno == 0 && end != p + strlen(pat) ? 0 : -1;
}

/* "key":"2026-11-30T18:01:24.151Z" in status.json, as Unix ms. */
static int
upgrade_time(const char *json, const char *key, long long *out)
{
	char pat[64];
	const char *p;
	struct tm tm;
	int ms = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(json, pat);
	if (p == NULL)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (sscanf(p + strlen(pat), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (long long)timegm(&tm) * 1000 + ms;
	return 0;
}

static int
upgrade_read_status_once(const char *mountpoint, struct upgrade_status *st, char *msg,
    size_t msgsz)
{
	char path[PATH_MAX], buf[8192];
	long long v;
	ssize_t n = 0;
	size_t len = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/.connectorfs/status.json", mountpoint);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msgsz, "%s: %s (is it a connectorfs mount?)", path, strerror(errno));
		return -1;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0) {
		snprintf(msg, msgsz, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	buf[len] = '\0';
	if (upgrade_number(buf, "pid", &v) != 0) {
		snprintf(msg, msgsz, "%s: no pid (a connectorfs older than 0.2 cannot upgrade "
		    "in place)", path);
		return -1;
	}
	st->pid = (long)v;
	if (upgrade_number(buf, "supervisor_pid", &v) != 0 || v <= 1) {
		snprintf(msg, msgsz, "%s: no supervisor_pid", path);
		return -1;
	}
	st->supervisor_pid = (long)v;
	if (upgrade_number(buf, "takeovers", &st->takeovers) != 0) {
		snprintf(msg, msgsz, "%s: no takeovers count", path);
		return -1;
	}
	if (upgrade_time(buf, "process_started_at", &st->started_ms) != 0) {
		snprintf(msg, msgsz, "%s: no process_started_at", path);
		return -1;
	}
	return 0;
}

/*
 * status.json, tried again for a while: a render opened while another
 * upgrade's takeover is under way reads ESTALE (the new server does not
 * carry .connectorfs looks), which says nothing about this mount.
 */
static int
upgrade_read_status(const char *mountpoint, struct upgrade_status *st, char *msg, size_t msgsz)
{
	struct timespec pause = { 0, UPGRADE_POLL_MS * 1000000L };
	int i;

	for (i = 0; i < UPGRADE_STATUS_TRIES; i++) {
		if (upgrade_read_status_once(mountpoint, st, msg, msgsz) == 0)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -1;
}

/* A /proc/PID field line ("PPid:\t123"), or -1. */
static long
upgrade_proc_field(long pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* mountinfo writes a space as \040 (and tab, newline, backslash alike). */
static void
upgrade_unescape(char *s)
{
	char *out = s;

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * The mount at mountpoint is a connectorfs mount made by us or by root
 * (mountinfo's user_id=): anyone may make a FUSE mount with that subtype
 * and write what they like in its status.json, naming any pid.
 */
static int
upgrade_mount_is_ours(const char *mountpoint)
{
	char *real = realpath(mountpoint, NULL), line[4096];
	long owner = -1;
	int found = 0;
	FILE *f;

	if (real == NULL)
		return 0;
	f = fopen("/proc/self/mountinfo", "re");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		char mnt[4096], fstype[64], *sep = strstr(line, " - "), *uid;

		if (sep == NULL || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1)
			continue;
		upgrade_unescape(mnt);
		if (strcmp(mnt, real) != 0)
			continue;
		/* The last mount at the path is the one a lookup sees. */
		found = strcmp(fstype, "fuse.connectorfs") == 0;
		uid = strstr(sep, "user_id=");
		owner = uid != NULL ? strtol(uid + 8, NULL, 10) : -1;
	}
	if (f != NULL)
		fclose(f);
	free(real);
	return found && (owner == 0 || owner == (long)geteuid());
}

/* The status names a keeper and its server: the server is the keeper's child. */
static int
upgrade_is_keeper(const struct upgrade_status *st)
{
	return st->pid > 1 && upgrade_proc_field(st->pid, "PPid") == st->supervisor_pid;
}

static void
upgrade_timed_out(int sig)
{
	static const char msg[] = "connectorfs upgrade: the mount did not answer in time "
	    "(the old server goes on, or none is left; see the log)\n";

	(void)sig;
	(void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(1);
}

static void
upgrade_usage(void)
{
	fprintf(stderr, "usage: connectorfs upgrade [--timeout SECONDS] MOUNTPOINT\n");
}

int
upgrade_main(int argc, char *argv[])
{
	struct upgrade_status before, now;
	const char *mountpoint = NULL;
	long timeout_s = UPGRADE_TIMEOUT_S;
	long long start, deadline, sent_wall;
	char msg[PATH_MAX + 128];
	int i;

	for (i = 1; i < argc; i++) {
		char *end;

		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			timeout_s = strtol(argv[++i], &end, 10);
			if (*end != '\0' || timeout_s <= 0 || timeout_s > 3600) {
				fprintf(stderr, "connectorfs upgrade: --timeout %s: not a number "
				    "of seconds from 1 to 3600\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			upgrade_usage();
			return 0;
		} else if (argv[i][0] == '-' || mountpoint != NULL) {
			upgrade_usage();
			return 2;
		} else {
			mountpoint = argv[i];
		}
	}
	if (mountpoint == NULL) {
		upgrade_usage();
		return 2;
	}
	/* A mount that does not answer blocks open() itself: the timeout covers that too. */
	signal(SIGALRM, upgrade_timed_out);
	alarm((unsigned)timeout_s + 1);
	if (!upgrade_mount_is_ours(mountpoint)) {
		fprintf(stderr, "connectorfs upgrade: %s: not a connectorfs mount made by root or "
		    "by this user\n", mountpoint);
		return 1;
	}
	if (upgrade_read_status(mountpoint, &before, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "connectorfs upgrade: %s\n", msg);
		return 1;
	}
	/* A server that just handed over (another upgrade) is gone: ask the status again. */
	for (i = 0; i < 40 && !upgrade_is_keeper(&before) && kill((pid_t)before.pid, 0) != 0 &&
	    errno == ESRCH; i++) {
		struct timespec pause = { 0, UPGRADE_POLL_MS * 1000000L };

		nanosleep(&pause, NULL);
		if (upgrade_read_status(mountpoint, &before, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "connectorfs upgrade: %s\n", msg);
			return 1;
		}
	}
	if (!upgrade_is_keeper(&before)) {
		fprintf(stderr, "connectorfs upgrade: %s: process %ld is not the keeper of server "
		    "%ld (is the status stale, or the mount another user's?)\n", mountpoint,
		    before.supervisor_pid, before.pid);
		return 1;
	}
	start = clock_mono_ms();
	sent_wall = clock_wall_ms();
	if (kill((pid_t)before.supervisor_pid, SIGUSR2) != 0) {
		fprintf(stderr, "connectorfs upgrade: %s: cannot signal process %ld: %s\n",
		    mountpoint, before.supervisor_pid, strerror(errno));
		return 1;
	}
	deadline = start + timeout_s * 1000;
	while (clock_mono_ms() < deadline) {
		struct timespec pause = { 0, UPGRADE_POLL_MS * 1000000L };

		nanosleep(&pause, NULL);
		if (upgrade_read_status(mountpoint, &now, msg, sizeof(msg)) != 0)
			continue;	/* a read during the handover may fail: ask again */
		/*
		 * A server that started after the request ran the binary now at
		 * the path (an upgrade asked for meanwhile by someone else is
		 * followed by one more: see keeper_upgrade()).
		 */
		if (now.pid != before.pid && now.started_ms >= sent_wall - 1) {
			printf("%s: server %ld handed over to %ld (%lld ms)\n", mountpoint,
			    before.pid, now.pid, clock_mono_ms() - start);
			return 0;
		}
	}
	fprintf(stderr, "connectorfs upgrade: %s: no new server after %ld s "
	    "(the old one goes on; see the log)\n", mountpoint, timeout_s);
	return 1;
}
