/*
 * server.c: start-up and teardown of a server, in stages that unwind in
 * reverse (after libfuse's hello_ll.c): options, hardening, API client,
 * session, cache, threads; then, once the keeper says the state is ours,
 * restore, take the connection, loop. The server never mounts or
 * unmounts: the keeper does (keeper.c).
 *
 * Exit status: 0 when the mount ended (stopped, or unmounted from outside)
 * or the keeper is gone; anything else (a crash included) makes the keeper
 * start another server.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "clock.h"
#include "audit.h"
#include "base44.h"
#include "cache.h"
#include "control.h"
#include "dir.h"
#include "ctx.h"
#include "http.h"
#include "handover.h"
#include "keeper.h"
#include "kernel_io.h"
#include "listing.h"
#include "log.h"
#include "mountpoint.h"
#include "notify.h"
#include "ops.h"
#include "options.h"
#include "pack.h"
#include "secret.h"
#include "server.h"

#define SERVER_REFRESH_THREADS 2
/*
 * FUSE worker threads at most. Each request waiting on the API holds one;
 * unknown names may hold at most CACHE_UNKNOWN_IN_FLIGHT of them, so at
 * least as many again stay free for connectors that exist.
 */
#define SERVER_MAX_THREADS 96


static enum cfs_err
server_fetch(void *arg, const char *name, struct connection **out, struct base44_result *res)
{
	struct cfs_ctx *ctx = arg;

	return base44_fetch(ctx->api, name, out, res);
}

static void
server_changed(void *arg, const char *name)
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
struct server_signals {
	pthread_t thread;
	pthread_t loop_thread;		/* runs the FUSE loop; woken with SIGUSR1 */
	struct cfs_ctx *ctx;
	const struct config *cfg;
	int stop;
	int stopping;
	int in_store;		/* systemd keeps the connection for the next keeper */
};

static void
server_reload(struct server_signals *s)
{
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
}

/*
 * Stop at once, even with reads in flight: end the requests (a hung server
 * must not hold up the exit), answer every waiting reader, then make the
 * FUSE loop return. Its workers are in our handlers with cancellation off,
 * and they now return promptly.
 */
static void
server_stop(struct server_signals *s, const char *why)
{
	/* The signal thread and the control thread may both get here. */
	if (__atomic_exchange_n(&s->stopping, 1, __ATOMIC_ACQ_REL))
		return;
	log_info("%s: stopping", why);
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
server_signal_thread(void *arg)
{
	struct server_signals *s = arg;
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
			server_reload(s);
		else if (sig == SIGTERM || sig == SIGINT)
			server_stop(s, sig == SIGINT ? "SIGINT" : "SIGTERM");
		else if (sig < 0 && fuse_session_exited(s->ctx->se))
			pthread_kill(s->loop_thread, SIGUSR1);
	}
	return NULL;
}

static void
server_wake(int sig)
{
	(void)sig;	/* only interrupts the loop's blocking call */
}

/* SIGPIPE ignored (a peer closing a socket is an error return, not death). */
static int
server_install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	/* SIGUSR2 asks the keeper for an upgrade; sent here by mistake, it is no death. */
	if (sigaction(SIGUSR2, &sa, NULL) != 0)
		return -1;
	sa.sa_handler = server_wake;	/* no SA_RESTART: blocking calls return EINTR */
	return sigaction(SIGUSR1, &sa, NULL);
}

/*
 * The cache's current value of a connector, written to the handover state
 * before anyone can be served it (called under the cache's lock).
 */
static void
server_kept(void *arg, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms)
{
	struct cfs_ctx *ctx = arg;

	tree_note_current(ctx->tree, name, value, generation, changed_ms, fetched_wall_ms);
}

static void
server_restored(void *arg, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms)
{
	struct cfs_ctx *ctx = arg;

	if (cache_restore(ctx->cache, name, value, generation, changed_ms,
	    fetched_wall_ms) != CFS_OK)
		log_warnx("%s: cannot restore its cached value", name);
}

void
server_take_secrets(void)
{
	static const char *const names[] = { "BASE44_SERVICE_TOKEN", "BASE44_API_KEY" };
	struct unpack u;
	struct stat st;
	char *buf, path[64], link[64];
	ssize_t n;
	size_t i;

	/* Only the keeper's memfd: anything else at 7 is not ours to read. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", KEEPER_FD_SECRETS);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0 || fstat(KEEPER_FD_SECRETS, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || st.st_size > 1 << 20)
		return;
	link[n] = '\0';
	if (strncmp(link, "/memfd:connectorfs-secrets", 26) != 0)
		return;
	buf = secret_alloc((size_t)st.st_size);
	if (buf != NULL && pread(KEEPER_FD_SECRETS, buf, (size_t)st.st_size, 0) == st.st_size) {
		unpack_init(&u, buf, (size_t)st.st_size);
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *v = unpack_str_dup(&u, 1);

			/* options_parse() takes them from here and scrubs them. */
			if (v != NULL && !u.failed)
				(void)setenv(names[i], v, 1);
			secret_free(v);
		}
	}
	secret_free(buf);
	close(KEEPER_FD_SECRETS);
}

/* Descriptors 3..5 from the keeper, checked: a stray variable gives no access. */
static int
server_take_fds(struct cfs_ctx *ctx, char *msg, size_t msgsz)
{
	struct stat st;

	if (fstat(KEEPER_FD_FUSE, &st) != 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != 10 || minor(st.st_rdev) != 229) {
		snprintf(msg, msgsz, "descriptor %d is not /dev/fuse (start connectorfs "
		    "without %s in the environment)", KEEPER_FD_FUSE, KEEPER_ENV_SERVER);
		return -1;
	}
	if (fstat(KEEPER_FD_CTL, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		snprintf(msg, msgsz, "descriptor %d is not the keeper's socket", KEEPER_FD_CTL);
		return -1;
	}
	(void)fcntl(KEEPER_FD_FUSE, F_SETFD, FD_CLOEXEC);
	(void)fcntl(KEEPER_FD_CTL, F_SETFD, FD_CLOEXEC);
	/* Held, never used: see keeper_find_watchdog(). */
	if (fstat(KEEPER_FD_WATCHDOG, &st) == 0 && S_ISSOCK(st.st_mode))
		(void)fcntl(KEEPER_FD_WATCHDOG, F_SETFD, FD_CLOEXEC);
	if (handover_attach(KEEPER_FD_STATE, &ctx->state, msg, msgsz) != 0)
		return -1;
	(void)fcntl(KEEPER_FD_STATE, F_SETFD, FD_CLOEXEC);
	return 0;
}

static int
server_tell(char msg)
{
	return send(KEEPER_FD_CTL, &msg, 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* Wait for GO; 0, or -1 when the keeper went away instead. */
static int
server_wait_go(void)
{
	char msg;
	ssize_t n;

	do {
		n = recv(KEEPER_FD_CTL, &msg, 1, 0);
	} while (n < 0 && errno == EINTR);
	return n == 1 && msg == KEEPER_MSG_GO ? 0 : -1;
}

/*
 * The control socket after GO: QUIT (a new server takes over) freezes the
 * state and ends this process at once: what it had read and not answered
 * is resent to the new one. End of file: see below.
 */
static void *
server_ctl_thread(void *arg)
{
	struct server_signals *s = arg;
	char msg;
	ssize_t n;

	for (;;) {
		n = recv(KEEPER_FD_CTL, &msg, 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 1 && msg == KEEPER_MSG_QUIT) {
			log_info("handing the mount over to the new server");
			tree_freeze(s->ctx->tree);
			_exit(0);
		}
		if (n == 1)
			continue;
		break;
	}
	/*
	 * The keeper is gone. Under systemd its store keeps the connection
	 * for the keeper it restarts, whose server takes over what this one
	 * had taken. Otherwise the mount ends, and this process unmounts it
	 * itself: auto_unmount's watchdog unmounts only a connection it finds
	 * dead, and whether it looks before or after this process has let go
	 * of the connection is a race it sometimes lost (a dead mount left
	 * behind). Then letting go at once fails every reader (ENOTCONN).
	 */
	if (n == 0 && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		log_info("the keeper is gone; %s", s->in_store ?
		    "systemd keeps the mount for the next one" : "ending the mount");
		if (!s->in_store && s->ctx->mountpoint != NULL &&
		    mountpoint_fuse_fd(s->ctx->mountpoint) < 0 &&
		    mountpoint_detach(s->ctx->mountpoint) != 0)
			log_warn("unmount %s", s->ctx->mountpoint);
		tree_freeze(s->ctx->tree);
		_exit(0);
	}
	return NULL;
}

/* Restore what the previous server left, then keep the state from now on. */
static int
server_restore(struct cfs_ctx *ctx)
{
	char msg[256];

	ctx->takeover = handover_field(ctx->state, HANDOVER_SERVED) != 0;
	if (ctx->takeover) {
		if (tree_restore(ctx->tree, ctx->state, server_restored, ctx, msg,
		    sizeof(msg)) != 0)
			log_warnx("restoring the previous server's state: %s", msg);
		handover_set_field(ctx->state, HANDOVER_TAKEOVERS,
		    handover_field(ctx->state, HANDOVER_TAKEOVERS) + 1);
	}
	handover_set_field(ctx->state, HANDOVER_SERVED, 1);
	if (!handover_locked(ctx->state))
		log_warnx("the handover state is not locked in memory (RLIMIT_MEMLOCK; give "
		    "CAP_IPC_LOCK or LimitMEMLOCK=64M): the tokens in it could reach swap");
	if (tree_keep_state(ctx->tree, ctx->state) != 0) {
		log_warnx("cannot write the handover state: a crash now would lose it");
		return -1;
	}
	return 0;
}

/*
 * A server that must see every open (audit=, or the caller checks of a
 * /dev/fd/N mount) cannot take over a connection whose opens a previous
 * server gave to the kernel: the kernel would never ask it, and audit
 * lines or, worse, the checks would silently stop. A server that did not
 * record the mode (an older release) gave them away unless audit=
 * was on, and the options do not change across a takeover. 1 when lost.
 */
static int
server_opens_lost(const struct cfs_ctx *ctx)
{
	uint64_t mode;

	if (handover_field(ctx->state, HANDOVER_SERVED) == 0 ||
	    (ctx->audit == NULL && !ctx->check_callers))
		return 0;
	mode = handover_field(ctx->state, HANDOVER_OPEN_MODE);
	if (mode == HANDOVER_OPENS_UNKNOWN)
		return ctx->audit == NULL;
	return mode != HANDOVER_OPENS_REACH_SERVER;
}

/* The API client the options describe (libcurl initialised). */
static enum cfs_err
server_api_new(const struct options *opts, struct base44_client **out)
{
	struct base44_options bopts = {
		.api_url = opts->cfg.api_url,
		.app_id = opts->cfg.app_id,
		.service_token = opts->cfg.service_token,
		.timeout_s = opts->cfg.timeout,
		.body_max = CONFIG_BODY_MAX,
		.cacert = opts->cfg.cacert,
		.verbose = opts->debug,
		.proxy = opts->cfg.proxy,
		.proxy_user = opts->cfg.proxy_user,
		.proxy_password = opts->cfg.proxy_password,
	};

	return base44_client_new(&bopts, out);
}

int
server_list(struct options *opts)
{
	struct base44_client *api = NULL;
	int ret = 1;

	if (http_global_init() != CFS_OK) {
		log_warnx("cannot initialise libcurl");
		return 1;
	}
	if (server_api_new(opts, &api) != CFS_OK) {
		log_warnx("cannot create the API client");
	} else {
		ret = listing_print(api, opts->cfg.api_key, opts->list == 1 ?
		    BASE44_LIST_CONNECTED : BASE44_LIST_AVAILABLE);
	}
	base44_client_free(&api);
	http_global_cleanup();
	return ret;
}

int
server_main(struct options *opts)
{
	struct cfs_ctx ctx;
	struct cache_settings cset;
	struct cache_hooks hooks;
	struct server_signals sigs;
	struct fuse_loop_config *loop_cfg;
	pthread_t ctl_thread;
	sigset_t hup;
	const char *mp = getenv(KEEPER_ENV_MOUNTPOINT);
	int in_store = getenv(KEEPER_ENV_STORE) != NULL;
	char msg[256];
	int ret = 1, sig_started = 0, ctl_started = 0;

	memset(&ctx, 0, sizeof(ctx));
	memset(&sigs, 0, sizeof(sigs));
	log_init("connectorfs", getenv(KEEPER_ENV_SYSLOG) != NULL,
	    opts->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	unsetenv(KEEPER_ENV_SERVER);
	unsetenv(KEEPER_ENV_SYSLOG);
	unsetenv(KEEPER_ENV_MOUNTPOINT);
	unsetenv(KEEPER_ENV_STORE);
	ctx.process_wall_ms = clock_wall_ms();
	ctx.supervisor_pid = (long)getppid();
	if (secret_harden_process() != 0)
		log_warn("cannot disable core dumps");
	if (opts->debug && fuse_opt_add_arg(&opts->fuse_args, "-odebug") != 0)
		return 1;
	opts->mountpoint = strdup(mp != NULL ? mp : opts->mountpoint_arg);
	if (opts->mountpoint == NULL)
		return 1;
	if (server_take_fds(&ctx, msg, sizeof(msg)) != 0) {
		log_warnx("%s", msg);
		return 2;
	}
	if (opts->cfg.audit != NULL &&
	    audit_open(opts->cfg.audit, &ctx.audit, msg, sizeof(msg)) != CFS_OK) {
		log_warnx("%s", msg);
		goto out_state;
	}
	if (http_global_init() != CFS_OK) {
		log_warnx("cannot initialise libcurl");
		goto out_state;
	}
	if (server_api_new(opts, &ctx.api) != CFS_OK) {
		log_warnx("cannot create the API client");
		goto out_curl;
	}
	if (opts->cfg.api_key != NULL) {
		/* At most one list request per ttl, and never more than 6 a minute. */
		ctx.listing = listing_new(ctx.api, opts->cfg.api_key,
		    opts->cfg.ttl > 10 ? opts->cfg.ttl : 10);
		if (ctx.listing == NULL)
			goto out_api;
	}
	ctx.cfg = &opts->cfg;
	ctx.mountpoint = opts->mountpoint;
	ctx.check_callers = mountpoint_fuse_fd(opts->mountpoint) >= 0;
	ctx.mount_wall_ms = (long long)handover_field(ctx.state, HANDOVER_MOUNT_WALL_MS);
	if (ctx.mount_wall_ms == 0)
		ctx.mount_wall_ms = ctx.process_wall_ms;
	ctx.attr_timeout_max = (double)opts->cfg.ttl / 16.0;
	ctx.tree = tree_new();
	if (ctx.tree == NULL)
		goto out_api;

	ctx.se = fuse_session_new(&opts->fuse_args, &ops_table, sizeof(ops_table), &ctx);
	if (ctx.se == NULL) {
		/* libfuse printed which option it refused. */
		ret = 2;
		goto out_tree;
	}
	if (server_install_signals() != 0)
		goto out_session;

	/* Threads start now; all of them inherit these blocked. */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigaddset(&hup, SIGTERM);
	sigaddset(&hup, SIGINT);
	pthread_sigmask(SIG_BLOCK, &hup, NULL);
	ctx.notifier = notifier_start(&ctx);
	if (ctx.notifier == NULL)
		goto out_session;
	cset = (struct cache_settings){
		.ttl_s = opts->cfg.ttl,
		.max_stale_s = opts->cfg.max_stale,
		.negative_ttl_s = opts->cfg.negative_ttl,
		.timeout_s = opts->cfg.timeout,
		.refresh_threads = SERVER_REFRESH_THREADS,
		.fetch_detached = 1,
	};
	hooks = (struct cache_hooks){
		.fetch = server_fetch,
		.changed = server_changed,
		.kept = server_kept,
		.arg = &ctx,
	};
	if (cache_new(&cset, &hooks, &ctx.cache) != CFS_OK) {
		log_warnx("cannot create the cache");
		goto out_notifier;
	}
	{
		size_t i;

		/*
		 * Expected connectors are never held to the unknown-name budget:
		 * those of connectors= and of access= rules (else a stranger's
		 * made-up names could make a tenant's first read EAGAIN).
		 */
		for (i = 0; i < opts->cfg.nconnectors; i++)
			(void)cache_declare(ctx.cache, opts->cfg.connectors[i]);
		for (i = 0; i < opts->cfg.naccess; i++)
			(void)cache_declare(ctx.cache, opts->cfg.access[i].connector);
	}
	ctx.control = control_new(&ctx);
	if (ctx.control == NULL)
		goto out_cache;

	if (server_opens_lost(&ctx)) {
		/* Said before STANDBY: an upgrade fails and the old server goes on. */
		log_warnx("cannot take this mount over: a previous server let the kernel open "
		    "files without asking, which no server can undo, and this one must see "
		    "every open (%s); unmount and mount again", ctx.audit != NULL ? "audit=" :
		    "a /dev/fd/N mount checks each caller");
		ret = 2;
		goto out_cache;
	}
	/*
	 * Everything that does not touch the state is ready: the keeper now
	 * stops the previous server (an upgrade) and says GO, so the pause
	 * readers see is only the restore below.
	 */
	if (server_tell(KEEPER_MSG_STANDBY) != 0 || server_wait_go() != 0) {
		ret = 0;	/* the keeper is gone: nothing to serve for */
		goto out_cache;
	}
	if (server_restore(&ctx) != 0)
		goto out_cache;
	/* One epoch per server of the mount: folder handles never outlive theirs. */
	ctx.dirs = dir_handles_new((uint32_t)handover_field(ctx.state, HANDOVER_TAKEOVERS) + 1);
	if (ctx.dirs == NULL)
		goto out_cache;
	if (kernel_io_install(&ctx, KEEPER_FD_FUSE, ctx.state, ctx.takeover) != 0) {
		log_warnx("cannot take the /dev/fuse connection");
		goto out_cache;
	}
	sigs.ctx = &ctx;
	sigs.cfg = &opts->cfg;
	sigs.in_store = in_store;
	sigs.loop_thread = pthread_self();
	if (pthread_create(&sigs.thread, NULL, server_signal_thread, &sigs) != 0)
		goto out_cache;
	sig_started = 1;
	if (pthread_create(&ctl_thread, NULL, server_ctl_thread, &sigs) != 0)
		goto out_threads;
	ctl_started = 1;
	if (server_tell(KEEPER_MSG_SERVING) != 0)
		log_warn("cannot tell the keeper");

	if (opts->single_thread) {
		ret = fuse_session_loop(ctx.se);
	} else {
		loop_cfg = fuse_loop_cfg_create();
		if (loop_cfg == NULL) {
			ret = -ENOMEM;
		} else {
			fuse_loop_cfg_set_idle_threads(loop_cfg, 10);
			fuse_loop_cfg_set_max_threads(loop_cfg, SERVER_MAX_THREADS);
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
	/* Nobody is served any more: end requests in flight rather than wait them out. */
	base44_client_abort(ctx.api);
	cache_abort(ctx.cache);
out_threads:
	if (sig_started) {
		/*
		 * Wake it now rather than at its next tick: the keeper unmounts
		 * only once this process is gone, and requests queued meanwhile
		 * wait for that. As stopping is set, the SIGTERM is no news to it.
		 */
		__atomic_store_n(&sigs.stopping, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&sigs.stop, 1, __ATOMIC_RELEASE);
		pthread_kill(sigs.thread, SIGTERM);
		pthread_join(sigs.thread, NULL);
	}
	if (ctl_started) {
		/* It is blocked in recv(): end that by ending our side. */
		shutdown(KEEPER_FD_CTL, SHUT_RDWR);
		pthread_join(ctl_thread, NULL);
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
out_session:
	fuse_session_destroy(ctx.se);
	kernel_io_free(&ctx.kio);
	dir_handles_free(&ctx.dirs);
out_tree:
	tree_free(&ctx.tree);
out_api:
	listing_free(&ctx.listing);
	base44_client_free(&ctx.api);
out_curl:
	http_global_cleanup();
out_state:
	handover_close(&ctx.state);
	audit_close(&ctx.audit);
	return ret;
}
