/*
 * options.c: argv into struct options. Every error is one line on stderr
 * naming the option, and the program stops before mounting with status 2.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "options.h"

enum {
	KEY_HELP,
	KEY_VERSION,
	KEY_FOREGROUND,
	KEY_DEBUG,
	KEY_SINGLE,
	KEY_LIST,
	KEY_LIST_AVAILABLE,
};

static const struct fuse_opt options_table[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("-f", KEY_FOREGROUND),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-s", KEY_SINGLE),
	FUSE_OPT_KEY("--list", KEY_LIST),
	FUSE_OPT_KEY("--list-available", KEY_LIST_AVAILABLE),
	FUSE_OPT_END
};

/* mount(8) and fstab words with no meaning here: accepted and ignored. */
static const char *const options_generic[] = {
	"rw", "dev", "nodev", "suid", "nosuid", "exec", "noexec", "auto", "noauto",
	"_netdev", "nofail", "user", "users", "nouser", "owner", "group", "defaults",
	"async", "sync", "atime", "noatime", "relatime", "norelatime", "strictatime",
	"nodiratime", "diratime", "lazytime", "nolazytime", "loud", "silent", NULL
};

static const char *const options_generic_prefixes[] = {
	"x-systemd.", "x-", "comment=", "_netdev", NULL
};

/*
 * Words libfuse itself takes without a value: never read as connector names
 * when they follow connectors= (see options_proc()).
 */
static const char *const options_fuse_words[] = {
	"allow_other", "allow_root", "auto_unmount", "default_permissions", "ro",
	"dirsync", "blkdev", "nonempty", "clone_fd", "debug", NULL
};

struct options_state {
	struct options *opts;
	int in_connectors;	/* the last -o word was connectors=... */
	const char *nonopts[3];
	int nnonopts;
	int failed;
};

static int
options_is_generic(const char *arg)
{
	size_t i;

	for (i = 0; options_generic[i] != NULL; i++)
		if (strcmp(arg, options_generic[i]) == 0)
			return 1;
	for (i = 0; options_generic_prefixes[i] != NULL; i++)
		if (strncmp(arg, options_generic_prefixes[i],
		    strlen(options_generic_prefixes[i])) == 0)
			return 1;
	return 0;
}

static int
options_is_fuse_word(const char *arg)
{
	size_t i;

	for (i = 0; options_fuse_words[i] != NULL; i++)
		if (strcmp(arg, options_fuse_words[i]) == 0)
			return 1;
	return 0;
}

static int
options_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options_state *st = data;
	struct options *o = st->opts;
	char msg[512] = "", keybuf[64];
	const char *eq, *value;
	size_t klen;

	(void)outargs;
	switch (key) {
	case KEY_HELP:
		o->show_help = 1;
		return 0;
	case KEY_VERSION:
		o->show_version = 1;
		return 0;
	case KEY_FOREGROUND:
		o->foreground = 1;
		return 0;
	case KEY_DEBUG:
		o->debug = 1;
		o->foreground = 1;
		return 0;
	case KEY_SINGLE:
		o->single_thread = 1;
		return 0;
	case KEY_LIST:
		o->list = 1;
		return 0;
	case KEY_LIST_AVAILABLE:
		o->list = 2;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (st->nnonopts >= 2) {
			fprintf(stderr, "connectorfs: unexpected argument '%s' "
			    "(usage: connectorfs [options] MOUNTPOINT)\n", arg);
			st->failed = 1;
			return -1;
		}
		st->nonopts[st->nnonopts++] = arg;
		return 0;
	case FUSE_OPT_KEY_OPT:
		break;
	default:
		return 1;
	}
	if (arg[0] == '-') {
		fprintf(stderr, "connectorfs: unknown option '%s' (see connectorfs --help)\n", arg);
		st->failed = 1;
		return -1;
	}
	eq = strchr(arg, '=');
	/*
	 * connectors= takes a comma list, but -o and fstab split on
	 * commas: "connectors=slack,github" arrives as "connectors=slack" and
	 * "github". A bare connector-like word right after it continues it.
	 */
	if (eq == NULL && st->in_connectors && name_is_connector(arg) &&
	    !options_is_generic(arg) && !options_is_fuse_word(arg)) {
		if (config_add_connector(&o->cfg, arg, msg, sizeof(msg)) != CFS_OK) {
			fprintf(stderr, "connectorfs: %s\n", msg);
			st->failed = 1;
			return -1;
		}
		return 0;
	}
	st->in_connectors = eq != NULL && strncmp(arg, "connectors=", 11) == 0;
	if (options_is_generic(arg))
		return 0;
	klen = eq ? (size_t)(eq - arg) : strlen(arg);
	value = eq ? eq + 1 : NULL;
	if (klen >= sizeof(keybuf))
		return 1;	/* not ours; libfuse will judge it */
	memcpy(keybuf, arg, klen);
	keybuf[klen] = '\0';
	if (!config_is_option(keybuf))
		return 1;	/* libfuse's, or nobody's: it judges */
	if (config_set(&o->cfg, keybuf, value, msg, sizeof(msg)) != CFS_OK) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		st->failed = 1;
		return -1;
	}
	return 0;
}

int
options_parse(int argc, char *argv[], struct options *o)
{
	struct options_state st;
	char msg[512] = "";

	memset(o, 0, sizeof(*o));
	memset(&st, 0, sizeof(st));
	st.opts = o;
	config_init(&o->cfg);
	if (config_from_env(&o->cfg, msg, sizeof(msg)) != CFS_OK) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		return -1;
	}
	config_scrub_env();
	o->fuse_args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	if (fuse_opt_add_arg(&o->fuse_args, argv[0]) != 0)
		return -1;
	{
		struct fuse_args in = FUSE_ARGS_INIT(argc, argv);

		if (fuse_opt_parse(&in, &st, options_table, options_proc) != 0) {
			if (!st.failed)
				fprintf(stderr, "connectorfs: cannot parse the command line\n");
			fuse_opt_free_args(&in);
			return -1;
		}
		/* Keep only what libfuse must see: its own -o options. */
		for (int i = 1; i < in.argc; i++)
			if (fuse_opt_add_arg(&o->fuse_args, in.argv[i]) != 0)
				return -1;
		fuse_opt_free_args(&in);
	}
	if (o->show_help || o->show_version)
		return 0;
	if (o->list) {
		/* Listing needs the management credential and no mountpoint. */
		if (config_finish(&o->cfg, CONFIG_FOR_LISTING, msg, sizeof(msg)) != CFS_OK) {
			fprintf(stderr, "connectorfs: %s\n", msg);
			return -1;
		}
		return 0;
	}
	if (st.nnonopts == 0) {
		fprintf(stderr, "connectorfs: no mountpoint given "
		    "(usage: connectorfs [options] MOUNTPOINT)\n");
		return -1;
	}
	if (config_finish(&o->cfg, CONFIG_FOR_MOUNT, msg, sizeof(msg)) != CFS_OK) {
		fprintf(stderr, "connectorfs: %s\n", msg);
		return -1;
	}
	/* mount(8) form: SOURCE MOUNTPOINT; the source names nothing here. */
	o->mountpoint_arg = strdup(st.nonopts[st.nnonopts - 1]);
	if (o->mountpoint_arg == NULL) {
		fprintf(stderr, "connectorfs: out of memory\n");
		return -1;
	}
	return 0;
}

void
options_print_help(const char *progname)
{
	printf("usage: %s [options] MOUNTPOINT|/dev/fd/N\n"
	    "       %s SOURCE MOUNTPOINT -o OPTIONS   (as mount(8) runs it)\n"
	    "       %s upgrade [--timeout SECONDS] MOUNTPOINT\n"
	    "                           hand a running mount to the binary now installed\n"
	    "       %s wait [--timeout SECONDS] PATH...\n"
	    "                           exit 0 when the value behind a PATH changes\n"
	    "       %s exec [--signal SIG] [--debounce SECONDS] FOLDER... -- COMMAND\n"
	    "                           run COMMAND with FOLDER/env's values; restart it\n"
	    "                           (or send SIG) when one changes\n"
	    "\n"
	    "Mounts a Base44 app's connector connections as files. A crashed server is\n"
	    "replaced in the same mount; after timeout= seconds with none, it unmounts.\n"
	    "Workspace connectors are at MOUNTPOINT/connectors/ID/. /dev/fd/N is a\n"
	    "/dev/fuse descriptor a privileged helper mounted (mount -o fd=N): the\n"
	    "daemon then needs no privilege, and checks every open itself.\n"
	    "\n"
	    "environment:\n"
	    "    BASE44_APP_ID          app id (or -o app_id=)\n"
	    "    BASE44_SERVICE_TOKEN   service token (or -o token_file=)\n"
	    "    BASE44_API_URL         API base URL (default %s)\n"
	    "    BASE44_API_KEY         management credential (or -o api_key_file=)\n"
	    "    https_proxy, NO_PROXY  proxy for an https:// API (or -o proxy=), and the\n"
	    "                           hosts reached without it, as curl reads them; a\n"
	    "                           user:password@ in https_proxy is used but warned\n"
	    "                           about: prefer proxy_auth_file=\n"
	    "\n"
	    "general options:\n"
	    "    -h, --help             print this help and exit\n"
	    "    -V, --version          print the version and exit\n"
	    "    -f                     stay in the foreground, log to stderr\n"
	    "    -d, -o debug           debug log (implies -f); never prints tokens\n"
	    "    -s                     single-threaded request loop\n"
	    "    --list                 print the app's connected connectors and exit\n"
	    "    --list-available       print the catalog of connector types and exit\n"
	    "                           (both need BASE44_API_KEY or -o api_key_file=)\n"
	    "\n"
	    "connectorfs options (-o key=value,...):\n"
	    "    app_id=ID              Base44 app id\n"
	    "    api_url=URL            API base URL (https://, or http:// to loopback only)\n"
	    "    token_file=FILE        file holding the service token\n"
	    "    api_key_file=FILE      file holding a management credential (a personal\n"
	    "                           access token or b44k_ api key): the root then lists\n"
	    "                           the app's active connectors\n"
	    "    connectors=a,b,...     connectors the root lists before first use, never\n"
	    "                           held to the unknown-name budget (',' or ':')\n"
	    "    ttl=SECONDS            cache lifetime of a connection (default %d)\n"
	    "    max_stale=SECONDS      serve the last value this long past ttl while\n"
	    "                           refreshes fail (default %d)\n"
	    "    negative_ttl=SECONDS   remember a 404 (and 401/403) this long (default %d)\n"
	    "    timeout=SECONDS        bound on every request, and on a mount left with\n"
	    "                           no server (default %d)\n"
	    "    uid=USER, gid=GROUP    owner of every file (default: the mounting user)\n"
	    "    mode=OCTAL             file mode, no write bit (default %04o)\n"
	    "    dir_mode=OCTAL         folder mode, no write bit (default %04o)\n"
	    "    access=CONNECTOR:USER[:GROUP[:MODE]]\n"
	    "                           one connector's owner, group and mode (repeatable)\n"
	    "    cacert=FILE            CA bundle for a private CA\n"
	    "    proxy=URL              proxy for an https:// API: http://HOST[:PORT] or\n"
	    "                           https://HOST[:PORT], no credentials in it; wins over\n"
	    "                           https_proxy (NO_PROXY still applies); always a\n"
	    "                           CONNECT tunnel, TLS to the API verified inside it\n"
	    "    proxy_auth_file=FILE   file holding the proxy's USER:PASSWORD (one line)\n"
	    "    audit=FILE             append a JSON line per open of a connector file\n"
	    "                           (opens then reach the daemon: slower warm reads)\n"
	    "    allow_other            let other users in (the modes still apply)\n"
	    "\n"
	    "A service token or a proxy password is never accepted as an option (argv is\n"
	    "public in /proc).\n"
	    "The mount is always read-only; mount(8) words such as rw, dev, suid, noauto,\n"
	    "_netdev are accepted and ignored. Re-fetch a connector now with\n"
	    "cat MOUNTPOINT/.connectorfs/refresh/NAME (or refresh/all).\n",
	    progname, progname, progname, progname, progname, CONFIG_DEFAULT_API_URL, CONFIG_DEFAULT_TTL,
	    CONFIG_DEFAULT_MAX_STALE, CONFIG_DEFAULT_NEGATIVE_TTL, CONFIG_DEFAULT_TIMEOUT,
	    CONFIG_DEFAULT_MODE, CONFIG_DEFAULT_DIR_MODE);
}

void
options_free(struct options *o)
{
	config_free(&o->cfg);
	free(o->mountpoint_arg);
	free(o->mountpoint);
	fuse_opt_free_args(&o->fuse_args);
}
