/*
 * log.c: one line per event, to stderr or syslog. Kept tiny on purpose: the
 * only state is where lines go and how verbose to be, set once at start-up
 * (and again after daemonizing), before any other thread exists.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *log_progname = "connectorfs";
static int log_to_syslog;
static enum log_level log_verbosity = LOG_LEVEL_INFO;
static log_sink_fn log_sink;
static void *log_sink_arg;

void
log_init(const char *progname, int use_syslog, enum log_level level)
{
	if (progname != NULL)
		log_progname = progname;
	log_verbosity = level;
	if (use_syslog && !log_to_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_to_syslog = use_syslog;
}

void
log_set_sink(log_sink_fn sink, void *arg)
{
	log_sink = sink;
	log_sink_arg = arg;
}

int
log_debug_enabled(void)
{
	return log_verbosity >= LOG_LEVEL_DEBUG;
}

static void
log_vemit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (level > log_verbosity)
		return;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (suffix != NULL && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", suffix);
	if (log_sink != NULL) {
		log_sink(level, line, log_sink_arg);
		return;
	}
	if (log_to_syslog) {
		static const int prio[] = { LOG_WARNING, LOG_INFO, LOG_DEBUG };
		syslog(prio[level], "%s", line);
	} else {
		fprintf(stderr, "%s: %s\n", log_progname, line);
	}
}

void
log_warn(const char *fmt, ...)
{
	char errbuf[128];
	const char *e;
	int saved = errno;
	va_list ap;

	e = strerror_r(saved, errbuf, sizeof(errbuf)) == 0 ? errbuf : "unknown error";
	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, e, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_WARN, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
