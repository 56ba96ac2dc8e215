/*
 * main.c: start-up and teardown of the daemon, in stages that unwind in
 * reverse (after libfuse's hello_ll.c): options, hardening, API client,
 * session, mount, daemonize, threads, loop. Exit status 2 means the command
 * line or configuration was refused before anything was mounted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "clock.h"
#include "audit.h"
#include "base44.h"
#include "cache.h"
#include "control.h"
#include "ctx.h"
#include "http.h"
#include "kernel_io.h"
#include "listing.h"
#include "log.h"
#include "mountpoint.h"
#include "notify.h"
#include "ops.h"
#include "options.h"
#include "sdnotify.h"
#include "secret.h"

#define MAIN_REFRESH_THREADS 2
/*
 * FUSE worker threads at most. Each request waiting on the API holds one;
 * unknown names may hold at most CACHE_UNKNOWN_IN_FLIGHT of them, so at
 * least as many again stay free for connectors that exist.
 */
#define MAIN_MAX_THREADS 96


static enum cfs_err
main_fetch(void *arg, const char *name, struct connection **out, struct base44_result *res)
{
	struct cfs_ctx *ctx = arg;

	return base44_fetch(ctx->api, name, out, res);
}

static void
main_changed(void *arg, const char *name)
{
	struct cfs_ctx *ctx = arg;

	log_debug("%s: value changed; invalidating kernel caches", name);
	notifier_push(ctx->notifier, name);
}

/*
 * Every signal the daemon acts on is blocked in all threads and taken here
 * with sigwait(), so handlers never run inside libfuse or libcurl:
 * SIGHUP reloads; SIGTERM and SIGINT stop.
 */
struct main_signals {
	pthread_t thread;
	pthread_t loop_thread;		/* runs the FUSE loop; woken with SIGUSR1 */
	struct cfs_ctx *ctx;
	const struct config *cfg;
	int stop;
};

static void
main_reload(struct main_signals *s)
{
	(void)sdnotify_send("RELOADING=1");
	if (s->cfg->token_file != NULL) {
		char msg[512], *token = NULL;

		if (config_read_token_file(s->cfg->token_file, &token, msg,
		    sizeof(msg)) != CFS_OK) {
			log_warnx("SIGHUP: %s; keeping the previous service token", msg);
		} else {
			base44_set_service_token(s->ctx->api, token);
			secret_free(token);
			log_info("SIGHUP: service token re-read from %s", s->cfg->token_file);
		}
	}
	cache_drop_all(s->ctx->cache);
	log_info("SIGHUP: cached connections dropped");
	(void)sdnotify_send("READY=1");
}

/*
 * Stop at once, even with reads in flight: end the requests (a hung server
 * must not hold up the exit), answer every waiting reader, then make the
 * FUSE loop return. Its workers are in our handlers with cancellation off,
 * and they now return promptly.
 */
static void
main_stop(struct main_signals *s, int sig)
{
	log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	base44_client_abort(s->ctx->api);
	cache_abort(s->ctx->cache);
	/*
	 * While the loop still answers: a notification in progress may be
	 * waiting for a folder lock that a queued request holds.
	 */
	notifier_halt(s->ctx->notifier);
	fuse_session_exit(s->ctx->se);
	/* The loop sleeps in sem_wait() or read(); a signal with a handler ends either. */
	pthread_kill(s->loop_thread, SIGUSR1);
}

static void *
main_signal_thread(void *arg)
{
	struct main_signals *s = arg;
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	for (;;) {
		struct timespec tick = { 0, 100 * 1000000L };

		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE))
			break;
		/* Timed, so a stop that raced the loop's sleep is repeated. */
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGHUP)
			main_reload(s);
		else if (sig == SIGTERM || sig == SIGINT)
			main_stop(s, sig);
		else if (sig < 0 && fuse_session_exited(s->ctx->se))
			pthread_kill(s->loop_thread, SIGUSR1);
	}
	return NULL;
}

static void
main_wake(int sig)
{
	(void)sig;	/* only interrupts the loop's blocking call */
}

/* SIGPIPE ignored (a peer closing a socket is an error return, not death). */
static int
main_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = main_wake;	/* no SA_RESTART: blocking calls return EINTR */
	return sigaction(SIGUSR1, &sa, NULL);
}

int
main(int argc, char *argv[])
{
	struct options opts;
	struct cfs_ctx ctx;
	struct base44_options bopts;
	struct cache_settings cset;
	struct cache_hooks hooks;
	struct main_signals sigs;
	struct fuse_loop_config *loop_cfg;
	sigset_t hup;
	char msg[256];
	int ret = 2, sig_started = 0;

	memset(&ctx, 0, sizeof(ctx));
	memset(&sigs, 0, sizeof(sigs));
	log_init("connectorfs", 0, LOG_LEVEL_INFO);
	if (options_parse(argc, argv, &opts) != 0)
		goto out_opts;
	if (opts.show_help) {
		options_print_help(argv[0]);
		printf("\nlibfuse options:\n");
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		printf("connectorfs %s (libfuse %s)\n", CFS_VERSION, fuse_pkgversion());
		ret = 0;
		goto out_opts;
	}
	log_init("connectorfs", 0, opts.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (secret_harden_process() != 0)
		log_warn("cannot disable core dumps");
	if (opts.debug && fuse_opt_add_arg(&opts.fuse_args, "-odebug") != 0)
		goto out_opts;
	/*
	 * auto_unmount: fusermount3 stays behind as a watchdog, so a daemon
	 * killed with -9 leaves no "Transport endpoint is not connected" mount
	 * (and no sandbox keeps reading a dead daemon's cached token).
	 * ro: the kernel itself refuses every write, writable shared mapping,
	 * truncate and the rest, for root too and through any bind mount, so
	 * no reader can change the page another reader is served.
	 */
	if (fuse_opt_add_arg(&opts.fuse_args, "-odefault_permissions,auto_unmount,ro,"
	    "fsname=connectorfs,subtype=connectorfs") != 0)
		goto out_opts;

	if (opts.cfg.audit != NULL &&
	    audit_open(opts.cfg.audit, &ctx.audit, msg, sizeof(msg)) != CFS_OK) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		goto out_opts;
	}
	ret = 1;
	if (http_global_init() != CFS_OK) {
		log_warnx("cannot initialise libcurl");
		goto out_opts;
	}
	bopts = (struct base44_options){
		.api_url = opts.cfg.api_url,
		.app_id = opts.cfg.app_id,
		.service_token = opts.cfg.service_token,
		.timeout_s = opts.cfg.timeout,
		.body_max = CONFIG_BODY_MAX,
		.cacert = opts.cfg.cacert,
		.verbose = opts.debug,
	};
	if (base44_client_new(&bopts, &ctx.api) != CFS_OK) {
		log_warnx("cannot create the API client");
		goto out_curl;
	}
	if (opts.list) {
		ret = listing_print(ctx.api, opts.cfg.api_key, opts.list == 1 ?
		    BASE44_LIST_CONNECTED : BASE44_LIST_AVAILABLE);
		goto out_api;
	}
	if (opts.cfg.api_key != NULL) {
		/* At most one list request per ttl, and never more than 6 a minute. */
		ctx.listing = listing_new(ctx.api, opts.cfg.api_key,
		    opts.cfg.ttl > 10 ? opts.cfg.ttl : 10);
		if (ctx.listing == NULL)
			goto out_api;
	}
	ctx.cfg = &opts.cfg;
	ctx.mount_wall_ms = clock_wall_ms();
	ctx.attr_timeout_max = (double)opts.cfg.ttl / 16.0;
	ctx.tree = tree_new();
	if (ctx.tree == NULL)
		goto out_api;

	ctx.se = fuse_session_new(&opts.fuse_args, &ops_table, sizeof(ops_table), &ctx);
	if (ctx.se == NULL) {
		/* libfuse printed which option it refused. */
		ret = 2;
		goto out_tree;
	}
	/* Last before mounting: it may detach a stale mount there. */
	if (mountpoint_prepare(opts.mountpoint_arg, &opts.mountpoint, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		ret = 2;
		goto out_session;
	}
	if (main_install_signals() != 0)
		goto out_session;
	if (fuse_session_mount(ctx.se, opts.mountpoint) != 0)
		goto out_session;
	if (kernel_io_install(ctx.se) != 0)
		log_warn("cannot hook /dev/fuse I/O: lookups in one folder will wait in line");
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (!opts.foreground)
		log_init("connectorfs", 1, opts.debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	/* Threads start after fork; all of them inherit these blocked. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigaddset(&hup, SIGTERM);
	sigaddset(&hup, SIGINT);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
	ctx.notifier = notifier_start(&ctx);
	if (ctx.notifier == NULL)
		goto out_unmount;
	cset = (struct cache_settings){
		.ttl_s = opts.cfg.ttl,
		.max_stale_s = opts.cfg.max_stale,
		.negative_ttl_s = opts.cfg.negative_ttl,
		.timeout_s = opts.cfg.timeout,
		.refresh_threads = MAIN_REFRESH_THREADS,
		.fetch_detached = 1,
	};
	hooks = (struct cache_hooks){
		.fetch = main_fetch,
		.changed = main_changed,
		.arg = &ctx,
	};
	if (cache_new(&cset, &hooks, &ctx.cache) != CFS_OK) {
		log_warnx("cannot create the cache");
		goto out_notifier;
	}
	{
		size_t i;

		/* Expected connectors are never held to the unknown-name budget. */
		for (i = 0; i < opts.cfg.nconnectors; i++)
			(void)cache_declare(ctx.cache, opts.cfg.connectors[i]);
	}
	ctx.control = control_new(&ctx);
	if (ctx.control == NULL)
		goto out_cache;
	sigs.ctx = &ctx;
	sigs.cfg = &opts.cfg;
	sigs.loop_thread = pthread_self();
	if (pthread_create(&sigs.thread, NULL, main_signal_thread, &sigs) != 0)
		goto out_cache;
	sig_started = 1;
	log_info("mounted %s (app %s, api %s, ttl %us)", opts.mountpoint, opts.cfg.app_id,
	    opts.cfg.api_url, opts.cfg.ttl);
	/* systemd Type=notify: the mount is in place and answering. */
	snprintf(msg, sizeof(msg), "READY=1\nMAINPID=%ld\nSTATUS=Mounted on %.200s",
	    (long)getpid(), opts.mountpoint);
	(void)sdnotify_send(msg);

	if (opts.single_thread) {
		ret = fuse_session_loop(ctx.se);
	} else {
		loop_cfg = fuse_loop_cfg_create();
		if (loop_cfg == NULL) {
			ret = -ENOMEM;
		} else {
			fuse_loop_cfg_set_idle_threads(loop_cfg, 10);
			fuse_loop_cfg_set_max_threads(loop_cfg, MAIN_MAX_THREADS);
			ret = fuse_session_loop_mt(ctx.se, loop_cfg);
			fuse_loop_cfg_destroy(loop_cfg);
		}
	}
	/* SIGTERM/SIGINT or an external unmount end the loop cleanly. */
	if (ret != 0 && !fuse_session_exited(ctx.se)) {
		log_warnx("request loop failed: %s", strerror(ret < 0 ? -ret : ret));
		ret = 1;
	} else {
		ret = 0;
	}
	log_info("unmounting %s", opts.mountpoint);
	(void)sdnotify_send("STOPPING=1");
	/* Nobody is served any more: end requests in flight rather than wait them out. */
	base44_client_abort(ctx.api);
	cache_abort(ctx.cache);

	if (sig_started) {
		__atomic_store_n(&sigs.stop, 1, __ATOMIC_RELEASE);
		pthread_join(sigs.thread, NULL);
	}
out_cache:
	/*
	 * In this order: refreshes in flight end (they wait on the notifier),
	 * then the cache's threads (they queue notifications), then the
	 * notifier (it reads the cache), and only then the cache's memory.
	 */
	control_stop(ctx.control);
	if (ctx.cache != NULL)
		cache_stop(ctx.cache);
	notifier_stop(&ctx.notifier);
	control_free(&ctx.control);
	cache_free(&ctx.cache);
out_notifier:
	notifier_stop(&ctx.notifier);
out_unmount:
	fuse_session_unmount(ctx.se);
out_session:
	fuse_session_destroy(ctx.se);
out_tree:
	tree_free(&ctx.tree);
out_api:
	listing_free(&ctx.listing);
	base44_client_free(&ctx.api);
out_curl:
	http_global_cleanup();
out_opts:
	audit_close(&ctx.audit);
	options_free(&opts);
	return ret;
}
