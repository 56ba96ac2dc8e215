/*
 * keeper.c: the mount outlives the process that serves it.
 *
 * The process started from the shell (or by systemd) is the keeper. It
 * mounts, holds the /dev/fuse connection and the handover state (a memfd:
 * see lib/handover.h), and runs one server at a time: a child exec'ed from
 * the binary now at connectorfs's path, which finds the connection, the
 * state and a control socket as descriptors 3, 4 and 5. The keeper never
 * reads the connection itself; it is small and does one thing, so that
 * what crashes is a server, and the kernel mount stays.
 *
 * A server that dies (kill -9, a crash) is replaced at once: the new one
 * restores the tree and the cache from the state, replays the INIT the
 * kernel sent the first one and asks the kernel to resend what the dead
 * one had taken (kernel_io.c). Readers wait meanwhile; none fails.
 * SIGUSR2 (`connectorfs upgrade`) starts a new server while the old one
 * serves; once the new one has loaded everything it can before touching
 * the state, the old one is told to stop and the new one goes on.
 *
 * Giving up: when no server has served for timeout= seconds (the binary is
 * gone, every new server crashes), the keeper unmounts and exits, and
 * readers get errors instead of waiting. A server whose keeper is gone
 * stops at once (it sees its control socket close), so killing the keeper
 * ends the mount as auto_unmount always did, unless systemd keeps the
 * connection in its descriptor store: then systemd starts a new keeper,
 * which takes the connection and the state back (LISTEN_FDS) and carries on.
 */
#define _GNU_SOURCE	/* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "audit.h"
#include "clock.h"
#include "handover.h"
#include "keeper.h"
#include "log.h"
#include "mountpoint.h"
#include "pack.h"
#include "sdnotify.h"
#include "secret.h"

/* Names of the descriptors in systemd's store. */
#define KEEPER_STORE_FUSE	"fuse"
#define KEEPER_STORE_STATE	"state"
/* A new server has this long to load before it is given up on. */
#define KEEPER_START_MS		10000
/* An old server told to stop for an upgrade has this long before SIGKILL. */
#define KEEPER_QUIT_MS		2000
/* Stopping: servers have this long to end before SIGKILL. */
#define KEEPER_STOP_MS		10000
/*
 * A server counts as having taken over once it has served this long: one
 * that crashes sooner (on something in the state, say) is a failed start,
 * so a crash loop meets the timeout= bound instead of going on for ever.
 */
#define KEEPER_STABLE_MS	2000
/* Restarts after failed starts back off from 50 ms up to this. */
#define KEEPER_BACKOFF_MAX_MS	1000

enum keeper_phase {
	SERVER_NONE,
	SERVER_STARTING,	/* exec'ed, loading */
	SERVER_STANDBY,		/* loaded, waiting for GO */
	SERVER_GOING,		/* told GO, restoring */
	SERVER_SERVING,
	SERVER_QUITTING,	/* told QUIT for an upgrade */
};

struct keeper_server {
	pid_t pid;
	int ctl;			/* our end of its control socket, or -1 */
	enum keeper_phase phase;
	long long since_ms;		/* entered this phase (monotonic) */
};

struct keeper {
	struct options *opts;
	char **argv;
	char exe[PATH_MAX];		/* the binary's path, read at start */
	int exe_fd;			/* the running binary, pinned (keeper_pin_exe()), or -1 */
	int cwd;			/* servers start where we were started */
	struct fuse_session *se;	/* mounted by this process, or NULL */
	int fuse_fd;
	int watchdog;			/* auto_unmount's socket to fusermount3, or -1 */
	struct handover *state;
	int sigfd;
	int in_store;			/* systemd keeps fuse_fd and the state */
	struct keeper_server cur;	/* serving (or quitting for an upgrade) */
	struct keeper_server next;	/* starting: an upgrade or a replacement */
	long long down_since_ms;	/* nobody serving since; 0 when someone is */
	long long respawn_at_ms;	/* a replacement is due; 0 when none */
	unsigned failures;		/* starts in a row that never served */
	long long stop_at_ms;		/* stopping: SIGKILL what is left then */
	int stopping;
	int ready_sent;
	int upgrade_again;		/* SIGUSR2 during an upgrade: one more after it */
	int hup_pending;		/* SIGHUP with no server serving: for the next */
	int status;			/* exit status */
};

static void
keeper_server_clear(struct keeper_server *s)
{
	if (s->ctl >= 0)
		close(s->ctl);
	s->pid = 0;
	s->ctl = -1;
	s->phase = SERVER_NONE;
	s->since_ms = 0;
}

static void
keeper_server_phase(struct keeper_server *s, enum keeper_phase phase)
{
	s->phase = phase;
	s->since_ms = clock_mono_ms();
}

/*
 * One message to a server. A server still busy starting (upgrades asked
 * for back to back) may not have drained its end yet: EAGAIN is waited out
 * for up to a second rather than taken for a dead server.
 */
static int
keeper_send(struct keeper_server *s, char msg)
{
	struct pollfd p;
	int tries;

	for (tries = 0; s->ctl >= 0 && tries < 100; tries++) {
		if (send(s->ctl, &msg, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
			return 0;
		if (errno != EAGAIN && errno != EINTR)
			break;
		p.fd = s->ctl;
		p.events = POLLOUT;
		p.revents = 0;
		(void)poll(&p, 1, 10);
	}
	log_warn("server %ld: control socket", (long)s->pid);
	return -1;
}

/* The child side of a spawn: descriptors 3, 4, 5 and the environment. */
static void
keeper_exec_server(struct keeper *k, int ctl)
{
	const struct config *cfg = &k->opts->cfg;
	sigset_t none;
	int fuse, state, watchdog = -1, exe = -1, i;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* First: the descriptor of where we were started is closed below. */
	if (fchdir(k->cwd) != 0 && chdir("/") != 0)
		_exit(126);
	/* Out of the way of 3..5 first, so no dup2 overwrites another source. */
	fuse = fcntl(k->fuse_fd, F_DUPFD, 10);
	state = fcntl(handover_fd(k->state), F_DUPFD, 10);
	ctl = fcntl(ctl, F_DUPFD, 10);
	if (k->watchdog >= 0)
		watchdog = fcntl(k->watchdog, F_DUPFD, 10);
	if (k->exe_fd >= 0)
		exe = fcntl(k->exe_fd, F_DUPFD, 10);
	if (fuse < 0 || state < 0 || ctl < 0 || (k->watchdog >= 0 && watchdog < 0) ||
	    (k->exe_fd >= 0 && exe < 0) ||
	    dup2(fuse, KEEPER_FD_FUSE) < 0 || dup2(state, KEEPER_FD_STATE) < 0 ||
	    dup2(ctl, KEEPER_FD_CTL) < 0 ||
	    (watchdog >= 0 && dup2(watchdog, KEEPER_FD_WATCHDOG) < 0) ||
	    (exe >= 0 && dup3(exe, KEEPER_FD_EXE, O_CLOEXEC) < 0))
		_exit(126);
	/* Nothing else we hold or inherited reaches the server, however high. */
	if (watchdog < 0)
		(void)close(KEEPER_FD_WATCHDOG);
	(void)close(KEEPER_FD_SECRETS);
	if (exe < 0)
		(void)close(KEEPER_FD_EXE);
	if (close_range(KEEPER_FD_EXE + 1, ~0U, 0) != 0) {
		long max = sysconf(_SC_OPEN_MAX);

		for (i = KEEPER_FD_EXE + 1; i < (max > 0 ? max : 65536); i++)
			(void)close(i);
	}
	if (setenv(KEEPER_ENV_SERVER, "1", 1) != 0 ||
	    setenv(KEEPER_ENV_MOUNTPOINT, k->opts->mountpoint, 1) != 0 ||
	    (!k->opts->foreground && setenv(KEEPER_ENV_SYSLOG, "1", 1) != 0) ||
	    (k->in_store && setenv(KEEPER_ENV_STORE, "1", 1) != 0))
		_exit(126);
	/* The server is not systemd's main process: its notifications are ours. */
	unsetenv("NOTIFY_SOCKET");
	/*
	 * Secrets the environment gave the keeper (it scrubbed them from its
	 * own) reach the server in a memfd, never in its environment, which
	 * /proc shows; a file option is read again instead, so an upgrade
	 * picks up a rotated service token.
	 */
	if ((cfg->token_file == NULL && cfg->service_token != NULL) ||
	    (cfg->api_key_file == NULL && cfg->api_key != NULL)) {
		struct pack p;
		int fd = memfd_create("connectorfs-secrets", MFD_CLOEXEC);

		pack_init(&p);
		pack_str(&p, cfg->token_file == NULL ? cfg->service_token : NULL);
		pack_str(&p, cfg->api_key_file == NULL ? cfg->api_key : NULL);
		/* dup2 onto itself (fd may already be 7) keeps close-on-exec: clear it. */
		if (fd < 0 || p.failed || write(fd, p.buf, p.len) != (ssize_t)p.len ||
		    dup2(fd, KEEPER_FD_SECRETS) < 0 || fcntl(KEEPER_FD_SECRETS, F_SETFD, 0) != 0)
			_exit(126);
		pack_release(&p);
	}
	if (exe >= 0)
		fexecve(KEEPER_FD_EXE, k->argv, environ);
	else
		execv(k->exe, k->argv);
	_exit(127);
}

/*
 * The path connectorfs was started as, made absolute but not resolved: a
 * symlink switched to a new release (current -> r2) is followed at the next
 * exec. A bare name is looked up in $PATH, as the shell did (mount(8) runs
 * it that way). 0, or -1 (the caller falls back to /proc/self/exe).
 */
static int
keeper_find_exe(const char *argv0, char *out, size_t outsz)
{
	const char *path = getenv("PATH");
	char cwd[PATH_MAX];

	if (argv0 == NULL || argv0[0] == '\0')
		return -1;
	if (argv0[0] == '/')
		return snprintf(out, outsz, "%s", argv0) < (int)outsz ? 0 : -1;
	if (strchr(argv0, '/') != NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -1;
		return snprintf(out, outsz, "%s/%s", cwd, argv0) < (int)outsz ? 0 : -1;
	}
	if (path == NULL)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");

		if (n > 0 && path[0] == '/' &&
		    snprintf(out, outsz, "%.*s/%s", (int)n, path, argv0) < (int)outsz &&
		    access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	return -1;
}

/*
 * In a user namespace (unshare -Urm) a file whose owner is not mapped into
 * it, root's /usr/local/bin/connectorfs among them, shows the overflow uid
 * (nobody). The kernel does not say who that owner is; it is no process of
 * this namespace, which is what matters for a file no one else may write.
 * A real user of that number mapped into the namespace is not this case.
 */
static int
keeper_owner_unmapped(uid_t uid)
{
	unsigned long inside, outside, count, overflow = 65534;
	int mapped = 0, identity = 0;
	FILE *f;

	f = fopen("/proc/sys/kernel/overflowuid", "re");
	if (f != NULL) {
		if (fscanf(f, "%lu", &overflow) != 1)
			overflow = 65534;
		fclose(f);
	}
	if (uid != (uid_t)overflow)
		return 0;
	f = fopen("/proc/self/uid_map", "re");
	if (f == NULL)
		return 0;
	while (fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
		if (inside == 0 && outside == 0 && count == 4294967295UL)
			identity = 1;	/* the initial namespace */
		if (overflow >= inside && overflow - inside < count)
			mapped = 1;
	}
	fclose(f);
	return !identity && !mapped;
}

/*
 * Owned by root or by us, and writable by nobody else. An owner outside our
 * user namespace counts only when unmapped_ok: who it is, the kernel does
 * not say (root, or any other user of the host).
 */
static int
keeper_trusted(const struct stat *st, int unmapped_ok)
{
	return (st->st_uid == 0 || st->st_uid == geteuid() ||
	    (unmapped_ok && keeper_owner_unmapped(st->st_uid))) &&
	    (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

/*
 * Every crash and upgrade runs what is at the path now, with our
 * privileges: a binary (or folder holding it) another user could replace
 * would hand them those privileges. NULL when trusted, else why not.
 */
static const char *
keeper_exe_untrusted(const struct keeper *k, int unmapped_ok, char *buf, size_t bufsz)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	/* A pinned binary is run as it was at start, whatever the path holds now. */
	if (k->exe_fd >= 0)
		return NULL;

	snprintf(dir, sizeof(dir), "%s", k->exe);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(k->exe, &st) != 0)
		return NULL;	/* gone: the exec fails and says so */
	if (!S_ISREG(st.st_mode) || !keeper_trusted(&st, unmapped_ok)) {
		snprintf(buf, bufsz, "%s: the binary must be a file owned by root (or the user "
		    "mounting) and writable by no one else", k->exe);
		return buf;
	}
	/* A sticky folder (/tmp) lets no one else rename or remove our file. */
	if (stat(dir, &st) != 0 || (!keeper_trusted(&st, unmapped_ok) && !(st.st_mode & S_ISVTX))) {
		snprintf(buf, bufsz, "%s: the folder holding the binary must be writable by no "
		    "one else (or sticky)", dir);
		return buf;
	}
	return NULL;
}

/*
 * Inside a user namespace the binary (or its folder) may be trusted only
 * because its owner is not mapped here, and that owner may be any user of
 * the host, who could put another program at the path for our next
 * restart. So restarts and upgrades run the binary this process runs,
 * opened now: no one can write to it while we execute it (ETXTBSY), and
 * a later rename at the path does not reach it. Upgrading to a new release
 * then means starting the mount again (README "Running without root").
 */
static int
keeper_pin_exe(struct keeper *k)
{
	k->exe_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (k->exe_fd < 0)
		return -1;
	log_info("%s: its owner is outside this user namespace; restarts and upgrades run "
	    "this same binary, not what the path holds later", k->exe);
	return 0;
}

static int
keeper_spawn(struct keeper *k, struct keeper_server *s)
{
	int sp[2];
	pid_t pid;

	char why[PATH_MAX + 128];

	if (keeper_exe_untrusted(k, 0, why, sizeof(why)) != NULL) {
		log_warnx("%s; no server is started from it", why);
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		log_warn("socketpair");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		close(sp[0]);
		close(sp[1]);
		return -1;
	}
	if (pid == 0) {
		close(sp[0]);
		keeper_exec_server(k, sp[1]);
	}
	close(sp[1]);
	s->pid = pid;
	s->ctl = sp[0];
	keeper_server_phase(s, SERVER_STARTING);
	log_debug("server %ld started from %s", (long)pid, k->exe);
	return 0;
}

static const char *
keeper_describe(int status, char *buf, size_t bufsz)
{
	if (WIFSIGNALED(status))
		snprintf(buf, bufsz, "was killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) == 127)
		snprintf(buf, bufsz, "could not be started (exec failed)");
	else
		snprintf(buf, bufsz, "exited with status %d", WEXITSTATUS(status));
	return buf;
}

/*
 * The first few replacements in a row start at once (an operator's
 * kill -9s, one after another, each get the shortest pause); after that
 * 50 ms, doubling up to a second, so a crash loop does not spin.
 */
#define KEEPER_BACKOFF_FREE	3

static long long
keeper_backoff_ms(unsigned failures)
{
	long long ms = 50;

	if (failures <= KEEPER_BACKOFF_FREE)
		return 0;
	failures -= KEEPER_BACKOFF_FREE;
	while (failures-- > 1 && ms < KEEPER_BACKOFF_MAX_MS)
		ms *= 2;
	return ms < KEEPER_BACKOFF_MAX_MS ? ms : KEEPER_BACKOFF_MAX_MS;
}

/* Nobody serves: the next server (starting or standing by) takes over. */
static void
keeper_need_server(struct keeper *k, long long now)
{
	if (k->down_since_ms == 0)
		k->down_since_ms = now;
	if (k->next.phase == SERVER_STANDBY) {
		if (keeper_send(&k->next, KEEPER_MSG_GO) == 0)
			keeper_server_phase(&k->next, SERVER_GOING);
	} else if (k->next.phase == SERVER_NONE && k->respawn_at_ms == 0) {
		k->respawn_at_ms = now + keeper_backoff_ms(k->failures);
	}
}

static void
keeper_reaped(struct keeper *k, pid_t pid, int status)
{
	long long now = clock_mono_ms();
	struct keeper_server *s;
	enum keeper_phase was;
	char how[64];

	if (pid == k->cur.pid)
		s = &k->cur;
	else if (pid == k->next.pid)
		s = &k->next;
	else
		return;		/* fusermount3, for one */
	was = s->phase;
	keeper_server_clear(s);
	(void)keeper_describe(status, how, sizeof(how));
	if (k->stopping)
		return;
	if (s == &k->cur) {
		if (was == SERVER_QUITTING) {
			log_debug("server %ld stopped for the upgrade", (long)pid);
		} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			/* It saw the mount go (umount from outside): so do we. */
			log_debug("server %ld ended: the mount is gone", (long)pid);
			k->stopping = 1;
			return;
		} else {
			log_warnx("server %ld %s; starting another to take over", (long)pid, how);
			/* Dead before it was stable: a failed start (keeper_on_time()). */
			if (k->down_since_ms != 0)
				k->failures++;
		}
		keeper_need_server(k, now);
		return;
	}
	/* A server that never got to serve. */
	if (k->cur.phase != SERVER_NONE) {
		log_warnx("upgrade failed: the new server %ld %s; the old one goes on",
		    (long)pid, how);
		(void)sdnotify_send("READY=1\nSTATUS=Upgrade failed; still serving");
		return;
	}
	k->failures++;
	log_warnx("server %ld %s before serving (%u in a row)", (long)pid, how, k->failures);
	keeper_need_server(k, now);
}

static void
keeper_reap_all(struct keeper *k)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		keeper_reaped(k, pid, status);
}

static void keeper_upgrade(struct keeper *k);

static void
keeper_on_message(struct keeper *k, struct keeper_server *s, char msg)
{
	char state[320];

	switch (msg) {
	case KEEPER_MSG_STANDBY:
		if (s != &k->next || s->phase != SERVER_STARTING || k->stopping)
			break;
		keeper_server_phase(s, SERVER_STANDBY);
		if (k->cur.phase == SERVER_NONE) {
			keeper_need_server(k, clock_mono_ms());
		} else if (k->cur.phase == SERVER_SERVING) {
			/* Upgrade: the old server lets go of the state, then GO. */
			if (keeper_send(&k->cur, KEEPER_MSG_QUIT) == 0)
				keeper_server_phase(&k->cur, SERVER_QUITTING);
			else
				kill(k->cur.pid, SIGKILL);
		}
		break;
	case KEEPER_MSG_SERVING:
		if (s != &k->next || s->phase != SERVER_GOING)
			break;
		if (k->cur.pid != 0)
			kill(k->cur.pid, SIGKILL);	/* cannot be: it was told to quit */
		k->cur = k->next;
		k->next.pid = 0;
		k->next.ctl = -1;
		keeper_server_clear(&k->next);
		keeper_server_phase(&k->cur, SERVER_SERVING);
		snprintf(state, sizeof(state), "READY=1\nMAINPID=%ld\nSTATUS=Mounted on %.100s, "
		    "server %ld", (long)getpid(), k->opts->mountpoint, (long)k->cur.pid);
		(void)sdnotify_send(state);
		if (!k->ready_sent)
			log_info("mounted %s (app %s, api %s, ttl %us)", k->opts->mountpoint,
			    k->opts->cfg.app_id, k->opts->cfg.api_url, k->opts->cfg.ttl);
		else
			log_info("server %ld took over %s", (long)k->cur.pid, k->opts->mountpoint);
		k->ready_sent = 1;
		if (k->hup_pending) {
			k->hup_pending = 0;
			kill(k->cur.pid, SIGHUP);
		}
		if (k->upgrade_again) {
			k->upgrade_again = 0;
			keeper_upgrade(k);
		}
		break;
	default:
		log_warnx("server %ld: unexpected control message", (long)s->pid);
	}
}

static void
keeper_read_ctl(struct keeper *k, struct keeper_server *s)
{
	char msg;
	ssize_t n = recv(s->ctl, &msg, 1, MSG_DONTWAIT);

	if (n == 1) {
		keeper_on_message(k, s, msg);
	} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* It is going away; SIGCHLD will tell how. */
		close(s->ctl);
		s->ctl = -1;
	}
}

static void
keeper_upgrade(struct keeper *k)
{
	if (k->stopping)
		return;
	if (k->next.phase != SERVER_NONE || k->cur.phase != SERVER_SERVING) {
		/*
		 * One at a time; whoever asked meanwhile may have installed a
		 * newer binary still, so one more follows this one.
		 */
		k->upgrade_again = 1;
		return;
	}
	log_info("SIGUSR2: handing %s to a new server from %s", k->opts->mountpoint, k->exe);
	(void)sdnotify_send("RELOADING=1");
	if (keeper_spawn(k, &k->next) != 0)
		(void)sdnotify_send("READY=1");
}

static void
keeper_stop(struct keeper *k, const char *why)
{
	if (k->stopping)
		return;
	log_info("%s: stopping", why);
	k->stopping = 1;
	k->stop_at_ms = clock_mono_ms() + KEEPER_STOP_MS;
	if (k->cur.pid != 0)
		kill(k->cur.pid, SIGTERM);
	/* Not serving yet, it holds nothing a reader waits for (and blocks SIGTERM). */
	if (k->next.pid != 0)
		kill(k->next.pid, SIGKILL);
}

static void
keeper_on_signal(struct keeper *k)
{
	struct signalfd_siginfo si;

	while (read(k->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			keeper_reap_all(k);
			break;
		case SIGTERM:
			keeper_stop(k, "SIGTERM");
			break;
		case SIGINT:
			keeper_stop(k, "SIGINT");
			break;
		case SIGHUP:
			/* Reload is the server's business: it holds the cache. */
			(void)sdnotify_send("RELOADING=1");
			if (k->cur.phase == SERVER_SERVING)
				kill(k->cur.pid, SIGHUP);
			else
				k->hup_pending = 1;	/* for the server about to serve */
			(void)sdnotify_send("READY=1");
			break;
		case SIGUSR2:
			keeper_upgrade(k);
			break;
		}
	}
	/* A SIGCHLD merged with another may hide behind it: look again. */
	keeper_reap_all(k);
}

/* Deadlines: replacements due, servers too slow, the give-up bound. */
static void
keeper_on_time(struct keeper *k, long long now)
{
	long long bound = (long long)k->opts->cfg.timeout * 1000;

	if (k->stopping) {
		if (now >= k->stop_at_ms) {
			if (k->cur.pid != 0)
				kill(k->cur.pid, SIGKILL);
			if (k->next.pid != 0)
				kill(k->next.pid, SIGKILL);
		}
		return;
	}
	if (k->cur.phase == SERVER_SERVING && k->down_since_ms != 0 &&
	    now - k->cur.since_ms >= KEEPER_STABLE_MS) {
		k->down_since_ms = 0;
		k->failures = 0;
	}
	if (k->respawn_at_ms != 0 && now >= k->respawn_at_ms) {
		k->respawn_at_ms = 0;
		if (k->next.phase == SERVER_NONE && keeper_spawn(k, &k->next) != 0) {
			k->failures++;
			k->respawn_at_ms = now + keeper_backoff_ms(k->failures);
		}
	}
	if (k->next.phase != SERVER_NONE && k->next.phase != SERVER_STANDBY &&
	    now - k->next.since_ms > KEEPER_START_MS) {
		log_warnx("server %ld: no answer after %d s; killing it", (long)k->next.pid,
		    KEEPER_START_MS / 1000);
		kill(k->next.pid, SIGKILL);
	}
	if (k->cur.phase == SERVER_QUITTING && now - k->cur.since_ms > KEEPER_QUIT_MS)
		kill(k->cur.pid, SIGKILL);
	/* Counted only while nobody serves: a server up and answering is not given up on. */
	if (k->down_since_ms != 0 && k->cur.phase != SERVER_SERVING &&
	    now - k->down_since_ms >= bound) {
		log_warnx("no server has answered %s for %u s: giving up the mount "
		    "(readers now get errors)", k->opts->mountpoint, k->opts->cfg.timeout);
		k->status = 1;
		keeper_stop(k, "give up");
	}
}

static int
keeper_poll_timeout(const struct keeper *k, long long now)
{
	long long t = 1000;

	if (k->respawn_at_ms != 0 && k->respawn_at_ms - now < t)
		t = k->respawn_at_ms - now;
	if (k->next.phase != SERVER_NONE || k->cur.phase == SERVER_QUITTING ||
	    k->down_since_ms != 0 || k->stopping)
		t = t < 50 ? t : 50;
	return t < 0 ? 0 : (int)t;
}

static void
keeper_loop(struct keeper *k)
{
	while (!(k->stopping && k->cur.pid == 0 && k->next.pid == 0)) {
		struct pollfd pfd[3];
		long long now = clock_mono_ms();
		nfds_t n = 0;

		pfd[n++] = (struct pollfd){ .fd = k->sigfd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = k->cur.ctl, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = k->next.ctl, .events = POLLIN };
		if (poll(pfd, n, keeper_poll_timeout(k, now)) < 0 && errno != EINTR) {
			log_warn("poll");
			break;
		}
		if (pfd[0].revents)
			keeper_on_signal(k);
		if (pfd[1].revents && k->cur.ctl >= 0)
			keeper_read_ctl(k, &k->cur);
		if (pfd[2].revents && k->next.ctl >= 0)
			keeper_read_ctl(k, &k->next);
		keeper_on_time(k, clock_mono_ms());
	}
}

/* The connection from systemd's store, when a previous keeper left it there. */
static int
keeper_adopt(struct keeper *k, char *msg, size_t msgsz)
{
	int fuse = sdnotify_listen_fd(KEEPER_STORE_FUSE);
	int state = sdnotify_listen_fd(KEEPER_STORE_STATE);
	struct stat st;

	sdnotify_listen_done();
	if (fuse < 0 || state < 0) {
		if (fuse >= 0)
			close(fuse);
		if (state >= 0)
			close(state);
		return 0;
	}
	if (fstat(fuse, &st) != 0 || !S_ISCHR(st.st_mode) ||
	    major(st.st_rdev) != 10 || minor(st.st_rdev) != 229) {
		snprintf(msg, msgsz, "descriptor \"%s\" from systemd is not /dev/fuse",
		    KEEPER_STORE_FUSE);
		close(fuse);
		close(state);
		return -1;
	}
	if (handover_attach(state, &k->state, msg, msgsz) != 0) {
		close(fuse);
		close(state);
		return -1;
	}
	k->fuse_fd = fuse;
	log_info("took %s back from systemd's descriptor store", k->opts->mountpoint_arg);
	/* The mount was made before: what comes next is a takeover. */
	k->ready_sent = 1;
	return 1;
}

#define KEEPER_FDS_SCANNED	1024

/* Which of descriptors 0..KEEPER_FDS_SCANNED-1 are sockets now. */
static void
keeper_note_sockets(unsigned char is_sock[KEEPER_FDS_SCANNED])
{
	struct stat st;
	int fd;

	for (fd = 0; fd < KEEPER_FDS_SCANNED; fd++)
		is_sock[fd] = fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * libfuse keeps auto_unmount's socket to fusermount3 open and does not say
 * which descriptor it is: it is the socket the mount added to those we had
 * before (sockets we inherited are not it). Servers hold it too:
 * fusermount3 unmounts only a connection that no longer answers, so the
 * socket must close after the last server, not with the keeper while a
 * server still answers.
 */
static int
keeper_find_watchdog(const struct keeper *k, const unsigned char before[KEEPER_FDS_SCANNED])
{
	unsigned char now[KEEPER_FDS_SCANNED];
	int fd;

	keeper_note_sockets(now);
	for (fd = 3; fd < KEEPER_FDS_SCANNED; fd++)
		if (fd != k->fuse_fd && fd != k->cwd && now[fd] && !before[fd])
			return fd;
	return -1;
}

static int
keeper_mount(struct keeper *k, char *msg, size_t msgsz)
{
	static const struct fuse_lowlevel_ops none;
	unsigned char sockets_before[KEEPER_FDS_SCANNED];
	int auto_unmount = !k->in_store && mountpoint_fuse_fd(k->opts->mountpoint_arg) < 0;

	/*
	 * auto_unmount (fusermount3 stays behind as a watchdog) ends the mount
	 * when this process dies. Under systemd the store keeps the connection
	 * for the next keeper instead, and a clean stop unmounts; a /dev/fd/N
	 * mount is the helper's to end.
	 */
	if (auto_unmount && fuse_opt_add_arg(&k->opts->fuse_args, "-oauto_unmount") != 0)
		return -1;
	k->se = fuse_session_new(&k->opts->fuse_args, &none, sizeof(none), NULL);
	if (k->se == NULL)
		return 2;	/* libfuse said which option it refused */
	if (mountpoint_prepare(k->opts->mountpoint_arg, &k->opts->mountpoint, msg, msgsz) != 0)
		return 2;
	keeper_note_sockets(sockets_before);
	if (fuse_session_mount(k->se, k->opts->mountpoint) != 0) {
		snprintf(msg, msgsz, "cannot mount %s", k->opts->mountpoint);
		return -1;
	}
	k->fuse_fd = fuse_session_fd(k->se);
	/* Only auto_unmount leaves a watchdog; any other socket is someone else's. */
	k->watchdog = auto_unmount ? keeper_find_watchdog(k, sockets_before) : -1;
	if (handover_create(HANDOVER_HALF_DEFAULT, &k->state, msg, msgsz) != 0)
		return -1;
	handover_set_field(k->state, HANDOVER_MOUNT_WALL_MS, (uint64_t)clock_wall_ms());
	return 0;
}

static void
keeper_unmount(struct keeper *k)
{
	/* Nothing for systemd to hand a next keeper: then the last word. */
	if (k->in_store) {
		(void)sdnotify_send("FDSTOREREMOVE=1\nFDNAME=" KEEPER_STORE_FUSE);
		(void)sdnotify_send("FDSTOREREMOVE=1\nFDNAME=" KEEPER_STORE_STATE);
	}
	(void)sdnotify_send("STOPPING=1");
	if (k->se != NULL) {
		fuse_session_unmount(k->se);
	} else if (k->opts->mountpoint != NULL && mountpoint_fuse_fd(k->opts->mountpoint) < 0 &&
	    umount2(k->opts->mountpoint, MNT_DETACH) != 0) {
		log_warn("unmount %s", k->opts->mountpoint);
	}
}

static int
keeper_signals(struct keeper *k)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR2);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	k->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return k->sigfd < 0 ? -1 : 0;
}

int
keeper_main(struct options *opts, int argc, char *argv[])
{
	struct keeper k;
	char msg[512] = "";
	ssize_t len;
	int rc;

	(void)argc;
	memset(&k, 0, sizeof(k));
	k.opts = opts;
	k.argv = argv;
	k.fuse_fd = -1;
	k.watchdog = -1;
	k.exe_fd = -1;
	k.sigfd = -1;
	k.cur.ctl = k.next.ctl = -1;
	if (keeper_find_exe(argv[0], k.exe, sizeof(k.exe)) != 0) {
		len = readlink("/proc/self/exe", k.exe, sizeof(k.exe) - 1);
		if (len <= 0 || (size_t)len >= sizeof(k.exe) - 1) {
			fprintf(stderr, "connectorfs: cannot tell where the binary is: %s\n",
			    strerror(errno));
			return 1;
		}
		k.exe[len] = '\0';
	}
	/* O_PATH: a folder we may search but not read is still one to start in. */
	k.cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	/* Said before anything is mounted: the servers would all be refused. */
	if (keeper_exe_untrusted(&k, 1, msg, sizeof(msg)) != NULL) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		if (k.cwd >= 0)
			close(k.cwd);
		return 2;
	}
	if (keeper_exe_untrusted(&k, 0, msg, sizeof(msg)) != NULL && keeper_pin_exe(&k) != 0) {
		fprintf(stderr, "connectorfs: %s: cannot open the running binary to keep it: %s\n",
		    k.exe, strerror(errno));
		if (k.cwd >= 0)
			close(k.cwd);
		return 2;
	}
	if (secret_harden_process() != 0)
		log_warn("cannot disable core dumps");
	/* What a server would stop at, said before anything is mounted. */
	if (opts->cfg.audit != NULL) {
		struct audit *audit = NULL;

		if (audit_open(opts->cfg.audit, &audit, msg, sizeof(msg)) != CFS_OK) {
			fprintf(stderr, "connectorfs: %s\n", msg);
			k.status = 2;
			goto out;
		}
		audit_close(&audit);
	}
	k.in_store = sdnotify_present();
	rc = k.in_store ? keeper_adopt(&k, msg, sizeof(msg)) : 0;
	if (rc == 0)
		rc = keeper_mount(&k, msg, sizeof(msg));
	else if (rc == 1) {
		opts->mountpoint = strdup(opts->mountpoint_arg);
		rc = opts->mountpoint != NULL ? 0 : -1;
	}
	if (rc != 0) {
		if (msg[0] != '\0')
			fprintf(stderr, "connectorfs: %s\n", msg);
		k.status = rc == 2 ? 2 : 1;
		goto out;
	}
	if (k.in_store && (sdnotify_store_fd(KEEPER_STORE_FUSE, k.fuse_fd) <= 0 ||
	    sdnotify_store_fd(KEEPER_STORE_STATE, handover_fd(k.state)) <= 0))
		log_warnx("systemd did not take the connection into its store: a crash of "
		    "this process will end the mount");
	if (fuse_daemonize(opts->foreground) != 0) {
		k.status = 1;
		goto out_unmount;
	}
	if (!opts->foreground)
		log_init("connectorfs", 1, opts->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	if (keeper_signals(&k) != 0 || keeper_spawn(&k, &k.next) != 0) {
		log_warn("cannot start");
		k.status = 1;
		goto out_unmount;
	}
	keeper_loop(&k);
	log_info("unmounting %s", opts->mountpoint);
out_unmount:
	keeper_unmount(&k);
	/* Nobody takes over any more: the tokens in the state go. */
	if (k.state != NULL)
		handover_wipe(k.state);
out:
	handover_close(&k.state);
	if (k.se != NULL)
		fuse_session_destroy(k.se);
	else if (k.fuse_fd >= 0)
		close(k.fuse_fd);
	if (k.sigfd >= 0)
		close(k.sigfd);
	if (k.cwd >= 0)
		close(k.cwd);
	if (k.exe_fd >= 0)
		close(k.exe_fd);
	return k.status;
}
