/*
 * exec.c: a supervisor in the manner of envconsul and Vault Agent's process
 * mode, for programs that take their token from the environment. COMMAND
 * runs with every assignment of each FOLDER/env; when a value changes
 * (watch.h) it is stopped with SIGTERM (SIGKILL after EXEC_STOP_GRACE_MS)
 * and started again with the new values, or sent --signal instead. The new
 * values are read before the old COMMAND is stopped, so a connector that
 * cannot be read just then leaves the running COMMAND alone.
 * COMMAND runs in a process group of its own (given the terminal when exec
 * had it), so a restart stops everything it started, not just its first
 * process, and a terminal's Ctrl-C reaches it once. Signals exec receives
 * go to that group; exec ends when COMMAND does, with its status.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "envfile.h"
#include "exec.h"
#include "secret.h"
#include "watch.h"

#define EXEC_DEBOUNCE_DEFAULT_MS	1000
#define EXEC_DEBOUNCE_MAX_MS		(86400LL * 1000)
#define EXEC_STOP_GRACE_MS		10000	/* SIGTERM, then SIGKILL: docker stop's default */
#define EXEC_RETRY_MS			1000	/* reading the new values again after a failure */
#define EXEC_ENV_MAX			(1024 * 1024)
#define EXEC_FAILED			125

static const struct {
	const char *name;
	int sig;
} exec_signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
	{ "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "WINCH", SIGWINCH },
	{ "CONT", SIGCONT }, { "KILL", SIGKILL },
};

/* The signals exec passes on to COMMAND (a terminal's, a service manager's, kill's). */
static const int exec_forwarded[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM,
};

struct exec_run {
	char **folders;
	size_t nfolders;
	char **command;
	int signal;			/* 0: restart on a change */
	long long debounce_ms;
	struct watch_set *ws;
	int sfd;			/* signalfd */
	sigset_t old_mask;
	struct envfile env;		/* what COMMAND gets */
	pid_t child;
	long long act_at;		/* end of the debounce window; -1: none */
	long long kill_at;		/* SIGKILL of a COMMAND being restarted; -1: none */
	int restarting;
	int stopping;			/* a terminating signal came: no more restarts */
	int complained;			/* a failure is already reported */
	int tty;			/* exec had the terminal: COMMAND gets it */
	pid_t exec_pid;
};

#define EXEC_USAGE	"usage: connectorfs exec [--signal SIG] [--debounce SECONDS] " \
			"FOLDER... -- COMMAND [ARGS...]"

/* One line: what was wrong, and the usage. */
static int
exec_usage(const char *what)
{
	fprintf(stderr, "connectorfs exec: %s; " EXEC_USAGE "\n", what);
	return EXEC_FAILED;
}

/* "HUP", "SIGHUP", "hup" or "1": the signal, or 0. */
static int
exec_parse_signal(const char *text)
{
	size_t i;
	char *end;
	long n;

	if (strncasecmp(text, "SIG", 3) == 0)
		text += 3;
	for (i = 0; i < sizeof(exec_signals) / sizeof(exec_signals[0]); i++)
		if (strcasecmp(text, exec_signals[i].name) == 0)
			return exec_signals[i].sig;
	if (!isdigit((unsigned char)text[0]))
		return 0;
	n = strtol(text, &end, 10);
	return *end == '\0' && n > 0 && n < NSIG ? (int)n : 0;
}

static const char *
exec_signal_name(int sig)
{
	size_t i;

	for (i = 0; i < sizeof(exec_signals) / sizeof(exec_signals[0]); i++)
		if (exec_signals[i].sig == sig)
			return exec_signals[i].name;
	return "signal";
}

/* Append FOLDER/env to ef (secret memory throughout). */
static int
exec_read_folder(const char *folder, struct envfile *ef, char *msg, size_t msgsz)
{
	char path[4096], chunk[4096];
	struct buf b;
	size_t line, len;
	ssize_t got;
	const char *text;
	int fd, rc = -1;
	enum cfs_err err;

	if ((size_t)snprintf(path, sizeof(path), "%s/env", folder) >= sizeof(path)) {
		snprintf(msg, msgsz, "%.400s: path too long", folder);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msgsz, "%.400s: %s", path, strerror(errno));
		return -1;
	}
	buf_init(&b, EXEC_ENV_MAX);
	while ((got = read(fd, chunk, sizeof(chunk))) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(msg, msgsz, "%.400s: %s", path, strerror(errno));
			goto out;
		}
		if (buf_append(&b, chunk, (size_t)got) != CFS_OK) {
			snprintf(msg, msgsz, "%.400s: %s", path, b.too_big ? "larger than 1 MiB" :
			    "out of memory");
			goto out;
		}
	}
	text = b.data != NULL ? b.data : "";
	len = b.len;
	if (memchr(text, '\0', len) != NULL) {
		snprintf(msg, msgsz, "%.400s: holds a NUL byte: not an env file", path);
		goto out;
	}
	err = envfile_parse(ef, text, len, &line);
	if (err == CFS_ERR_MALFORMED)
		snprintf(msg, msgsz, "%.400s: line %zu: not a NAME=value line", path, line);
	else if (err != CFS_OK)
		snprintf(msg, msgsz, "%.400s: out of memory", path);
	else
		rc = 0;
out:
	secret_wipe(chunk, sizeof(chunk));
	buf_reset(&b);
	close(fd);
	return rc;
}

/* Every folder's values, or -1 with msg (and ef empty). */
static int
exec_read_env(struct exec_run *r, struct envfile *ef, char *msg, size_t msgsz)
{
	size_t i;

	for (i = 0; i < r->nfolders; i++) {
		if (exec_read_folder(r->folders[i], ef, msg, msgsz) != 0) {
			envfile_clear(ef);
			return -1;
		}
	}
	return 0;
}

/*
 * Names in an env file that would make the dynamic loader, a shell, an
 * interpreter, a VCS or a TLS or HTTP library do something COMMAND did not
 * ask for. The names come from the connector's type and its config keys (a
 * connector "ld" with a key "preload" renders LD_PRELOAD, "git" with
 * "ssh_command" GIT_SSH_COMMAND), which the API decides. Whole families go
 * by prefix, since each program adds names; a type's own prefix such as
 * GITHUB_ or GOOGLE_ is not one of them.
 */
static int
exec_name_is_risky(const char *assignment, size_t name_len)
{
	static const char *const prefixes[] = {
		"LD_", "DYLD_", "BASH_", "MALLOC_", "GLIBC_", "GCONV_", "LC_", "XDG_", "NIS_",
		"GIT_", "SSH_", "GPG_", "OPENSSL_", "SSL_", "GNUTLS_", "NSS_", "KRB5",
		"CURL_", "HTTP_", "HTTPS_", "ALL_", "NO_", "FTP_", "REQUESTS_",
		"NODE_", "NPM_", "YARN_", "DENO_", "BUN_", "JAVA_", "_JAVA_", "JDK_", "MAVEN_",
		"GRADLE_", "PYTHON", "_PYTHON", "PIP_", "CONDA_", "PERL", "RUBY", "GEM_",
		"BUNDLE_", "DOTNET_", "COMPLUS_", "CORECLR_", "CARGO_", "RUSTC_", "SYSTEMD_",
		"DBUS_", "GCC_", "SUNPRO_", "CGO_", "PKG_CONFIG_", "TF_", "ANSIBLE_", "HELM_",
		"LUA_", "PHP_", "ERL_", "ELIXIR_", "JULIA_", "GUILE_", "R_", "UV_", "POETRY_",
		/* Where a program sends its own credentials, or finds them. */
		"AWS_", "AZURE_", "CLOUDSDK_", "DOCKER_", "KUBE", "VAULT_", "PG", "MYSQL_",
		"GH_", "CONSUL_", "NOMAD_", "TWINE_", "HF_",
	};
	static const char *const names[] = {
		"ENV", "IFS", "CDPATH", "PS4", "PROMPT_COMMAND", "SHELLOPTS",
		"BASHOPTS", "PATH", "HOME", "SHELL", "TMPDIR", "TZ", "TZDIR", "LANG",
		"LANGUAGE", "LOCPATH", "NLSPATH", "GETCONF_DIR", "HOSTALIASES", "LOCALDOMAIN",
		"RES_OPTIONS", "RESOLV_HOST_CONF", "GOFLAGS", "GOPROXY", "GOPATH", "GOROOT",
		"GOPRIVATE", "GONOSUMDB", "GOTOOLCHAIN", "GOENV", "GOINSECURE", "CLASSPATH",
		"RUSTUP_TOOLCHAIN", "RUSTC", "RUSTFLAGS", "GNUPGHOME", "WGETRC", "VIRTUAL_ENV",
		"LESS", "LESSOPEN", "LESSCLOSE", "LESSKEY", "PAGER", "MANPAGER", "EDITOR", "VISUAL",
		"POSIXLY_CORRECT", "DEPENDENCIES_OUTPUT", "LIBRARY_PATH", "COMPILER_PATH",
		"C_INCLUDE_PATH", "CPLUS_INCLUDE_PATH", "OBJC_INCLUDE_PATH",
		"GOOGLE_APPLICATION_CREDENTIALS", "SSLKEYLOGFILE",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strlen(prefixes[i]) <= name_len &&
		    strncmp(assignment, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == name_len && strncmp(assignment, names[i], name_len) == 0)
			return 1;
	return 0;
}

/* Leave out the names exec_name_is_risky() refuses, saying which (never the value). */
static void
exec_drop_risky(struct exec_run *r)
{
	size_t i, kept = 0;

	for (i = 0; i < r->env.n; i++) {
		struct envfile_var *v = &r->env.vars[i];

		if (exec_name_is_risky(v->assignment, v->name_len)) {
			fprintf(stderr, "connectorfs exec: %.*s left out of %s's environment "
			    "(a name the loader, a shell or a library acts on)\n", (int)v->name_len,
			    v->assignment, r->command[0]);
			secret_free(v->assignment);
			continue;
		}
		r->env.vars[kept++] = *v;
	}
	r->env.n = kept;
}

/* The terminal, taken (back) by this process's group or given to COMMAND's. */
static void
exec_give_terminal(pid_t pgid)
{
	void (*old)(int) = signal(SIGTTOU, SIG_IGN);	/* a background group may not */

	(void)tcsetpgrp(STDIN_FILENO, pgid);
	signal(SIGTTOU, old);
}

static int
exec_spawn(struct exec_run *r)
{
	size_t i;
	int e;

	r->child = fork();
	if (r->child < 0) {
		fprintf(stderr, "connectorfs exec: cannot start %s: %s\n", r->command[0],
		    strerror(errno));
		return -1;
	}
	if (r->child > 0) {
		/* Here too: a signal may be sent to the group before the child runs. */
		(void)setpgid(r->child, r->child);
		if (r->tty)
			exec_give_terminal(r->child);
		return 0;
	}
	(void)setpgid(0, 0);
	if (r->tty)
		exec_give_terminal(getpid());
	/* exec killed (SIGKILL, OOM) leaves no COMMAND behind with an old token. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != r->exec_pid)
		_exit(EXEC_FAILED);
	sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
	for (i = 0; i < r->env.n; i++)
		putenv(r->env.vars[i].assignment);	/* this process becomes COMMAND */
	execvp(r->command[0], r->command);
	e = errno;
	fprintf(stderr, "connectorfs exec: %s: %s\n", r->command[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Signal COMMAND and everything it started. */
static void
exec_signal_command(const struct exec_run *r, int sig)
{
	if (kill(-r->child, sig) != 0)
		(void)kill(r->child, sig);	/* not yet in its group */
}

/*
 * COMMAND's status as exec's own: its exit code, or death by the same
 * signal (so that a service manager sees a SIGTERM stop as clean); 128+N
 * for a signal that would dump a core.
 */
static int
exec_status(int status)
{
	int sig;

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (!WIFSIGNALED(status))
		return EXEC_FAILED;
	sig = WTERMSIG(status);
	if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGKILL ||
	    sig == SIGPIPE || sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGALRM) {
		sigset_t one;

		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
	}
	return 128 + sig;
}

/* A value changed and the window is over: signal COMMAND, or stop it to start it anew. */
static void
exec_act(struct exec_run *r, long long now)
{
	struct envfile next = { NULL, 0, 0 };
	char msg[512];

	/* Before reading, so a change made while reading is seen at the next check. */
	watch_set_rearm(r->ws);
	if (r->signal != 0) {
		fprintf(stderr, "connectorfs exec: a value changed; sending SIG%s to %s "
		    "(pid %ld)\n", exec_signal_name(r->signal), r->command[0], (long)r->child);
		exec_signal_command(r, r->signal);
		return;
	}
	if (exec_read_env(r, &next, msg, sizeof(msg)) != 0) {
		if (!r->complained)
			fprintf(stderr, "connectorfs exec: %s; %s keeps the values it has\n", msg,
			    r->command[0]);
		r->complained = 1;
		r->act_at = now + EXEC_RETRY_MS;
		return;
	}
	r->complained = 0;
	envfile_clear(&r->env);
	r->env = next;
	exec_drop_risky(r);
	fprintf(stderr, "connectorfs exec: a value changed; restarting %s (pid %ld)\n",
	    r->command[0], (long)r->child);
	exec_signal_command(r, SIGTERM);
	r->restarting = 1;
	r->kill_at = now + EXEC_STOP_GRACE_MS;
}

/* Handle one signal: 1 when exec is done (*code set), -1 on failure, else 0. */
static int
exec_on_signal(struct exec_run *r, int sig, int *code)
{
	int status;
	pid_t pid;

	if (sig != SIGCHLD) {
		exec_signal_command(r, sig);
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT) {
			r->stopping = 1;
			r->act_at = -1;
		}
		return 0;
	}
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != r->child)
			continue;	/* an orphan COMMAND left behind: not ours to report */
		if (r->tty)
			exec_give_terminal(getpgrp());
		if (!r->restarting || r->stopping) {
			*code = exec_status(status);
			return 1;
		}
		r->restarting = 0;
		r->kill_at = -1;
		if (exec_spawn(r) != 0)
			return -1;
	}
	return 0;
}

static int
exec_loop(struct exec_run *r)
{
	struct pollfd pfd[2];
	struct signalfd_siginfo si;
	long long now, wake;
	char msg[512];
	int code = EXEC_FAILED, rc, n;

	for (;;) {
		now = clock_mono_ms();
		wake = now + WATCH_TICK_MS;
		if (r->act_at >= 0 && r->act_at < wake)
			wake = r->act_at;
		if (r->kill_at >= 0 && r->kill_at < wake)
			wake = r->kill_at;
		pfd[0] = (struct pollfd){ r->sfd, POLLIN, 0 };
		/* Not looked at while restarting or stopping: unread, it would wake us at once. */
		pfd[1] = (struct pollfd){ r->restarting || r->stopping ? -1 : watch_set_fd(r->ws),
		    POLLIN, 0 };
		(void)poll(pfd, 2, wake > now ? (int)(wake - now) : 0);
		while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			rc = exec_on_signal(r, (int)si.ssi_signo, &code);
			if (rc != 0)
				return rc > 0 ? code : EXEC_FAILED;
		}
		now = clock_mono_ms();
		if (!r->stopping && !r->restarting) {
			n = watch_set_check(r->ws, msg, sizeof(msg));
			if (n < 0 && !r->complained) {
				fprintf(stderr, "connectorfs exec: %s; %s goes on with the values "
				    "it has\n", msg, r->command[0]);
				r->complained = 1;
			}
			if (n > 0 && r->act_at < 0)
				r->act_at = now + r->debounce_ms;
		}
		if (r->act_at >= 0 && now >= r->act_at && !r->stopping && !r->restarting) {
			r->act_at = -1;
			exec_act(r, now);
		}
		if (r->kill_at >= 0 && now >= r->kill_at) {
			exec_signal_command(r, SIGKILL);
			r->kill_at = -1;
		}
	}
}

static int
exec_parse(struct exec_run *r, int argc, char *argv[])
{
	int i = 1, first;

	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "--") != 0; i++) {
		const char *opt = argv[i], *value;

		value = strchr(opt, '=');
		if (value != NULL)
			value++;
		else if (i + 1 < argc)
			value = argv[++i];
		else
			return exec_usage("an option without its value");
		if (strncmp(opt, "--signal", 8) == 0 && (opt[8] == '\0' || opt[8] == '=')) {
			r->signal = exec_parse_signal(value);
			if (r->signal == 0) {
				fprintf(stderr, "connectorfs exec: --signal %s: not a signal name "
				    "or number\n", value);
				return EXEC_FAILED;
			}
		} else if (strncmp(opt, "--debounce", 10) == 0 && (opt[10] == '\0' ||
		    opt[10] == '=')) {
			if (clock_parse_seconds(value, EXEC_DEBOUNCE_MAX_MS, &r->debounce_ms) != 0) {
				fprintf(stderr, "connectorfs exec: --debounce %s: not a number of "
				    "seconds up to 86400\n", value);
				return EXEC_FAILED;
			}
		} else {
			fprintf(stderr, "connectorfs exec: unknown option %s; " EXEC_USAGE "\n", opt);
			return EXEC_FAILED;
		}
	}
	first = i;
	while (i < argc && strcmp(argv[i], "--") != 0)
		i++;
	if (i == first || i >= argc - 1)
		return exec_usage(i == first ? "no FOLDER given" : "no -- COMMAND given");
	r->folders = argv + first;
	r->nfolders = (size_t)(i - first);
	r->command = argv + i + 1;
	return 0;
}

int
exec_main(int argc, char *argv[])
{
	struct exec_run r;
	sigset_t mask;
	char msg[512];
	size_t i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.debounce_ms = EXEC_DEBOUNCE_DEFAULT_MS;
	r.act_at = r.kill_at = -1;
	r.sfd = -1;
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf(EXEC_USAGE "\n");
		return 0;
	}
	rc = exec_parse(&r, argc, argv);
	if (rc != 0)
		return rc;
	rc = EXEC_FAILED;
	if (watch_set_new(&r.ws, r.folders, r.nfolders, WATCH_FOLDER, msg, sizeof(msg)) != CFS_OK ||
	    exec_read_env(&r, &r.env, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "connectorfs exec: %s\n", msg);
		goto out;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (i = 0; i < sizeof(exec_forwarded) / sizeof(exec_forwarded[0]); i++)
		sigaddset(&mask, exec_forwarded[i]);
	sigprocmask(SIG_BLOCK, &mask, &r.old_mask);
	r.exec_pid = getpid();
	r.tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	exec_drop_risky(&r);
	r.sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (r.sfd < 0) {
		fprintf(stderr, "connectorfs exec: signalfd: %s\n", strerror(errno));
		goto out;
	}
	if (exec_spawn(&r) != 0)
		goto out;
	rc = exec_loop(&r);
out:
	if (r.sfd >= 0)
		close(r.sfd);
	envfile_clear(&r.env);
	watch_set_free(&r.ws);
	return rc;
}
