/*
 * config.h: every setting of the daemon, validated. Values come from the
 * environment (BASE44_API_URL, BASE44_APP_ID, BASE44_SERVICE_TOKEN,
 * BASE44_API_KEY, as the SDK names them) and then from -o options, which win.
 * No FUSE here: fs/ hands each key=value to config_set().
 */
#ifndef CFS_CONFIG_H
#define CFS_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "err.h"
#include "names.h"

#define CONFIG_DEFAULT_API_URL		"https://base44.app"
#define CONFIG_DEFAULT_TTL		60
#define CONFIG_DEFAULT_MAX_STALE	300
#define CONFIG_DEFAULT_NEGATIVE_TTL	10
#define CONFIG_DEFAULT_TIMEOUT		10
#define CONFIG_DEFAULT_MODE		0400
#define CONFIG_DEFAULT_DIR_MODE		0500
#define CONFIG_BODY_MAX			(64 * 1024)
/* The systemd credential read from $CREDENTIALS_DIRECTORY (LoadCredential=). */
#define CONFIG_CREDENTIAL_NAME		"base44-service-token"
#define CONFIG_API_KEY_CREDENTIAL	"base44-api-key"

/* What the configuration is finished for. */
enum config_use {
	CONFIG_FOR_MOUNT,	/* needs the service token */
	CONFIG_FOR_LISTING,	/* --list, --list-available: needs the management credential */
};

/* access=CONNECTOR:USER[:GROUP[:MODE]]: one connector's owner and mode. */
struct config_access {
	char connector[NAME_CONNECTION_MAX + 1];
	uid_t uid;
	gid_t gid;
	mode_t mode;
	int has_gid, has_mode;	/* else the mount's gid= and mode= */
};

struct config {
	char *api_url;		/* no trailing '/' */
	char *app_id;
	char *token_file;
	char *service_token;	/* secret memory; never from argv */
	char *api_key_file;
	char *api_key;		/* management credential; secret memory */
	char **connectors;	/* names from connectors= */
	size_t nconnectors;
	unsigned ttl;
	unsigned max_stale;
	unsigned negative_ttl;
	unsigned timeout;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	mode_t dir_mode;
	struct config_access *access;	/* from access=, in the order given */
	size_t naccess;
	char *cacert;
	char *audit;
	char *proxy;		/* proxy=: http(s)://HOST[:PORT], never with credentials */
	char *proxy_auth_file;
	char *proxy_user;	/* from proxy_auth_file=; secret memory */
	char *proxy_password;	/* from proxy_auth_file=; secret memory */
};

/*
 * The owner, group and modes of a connector's files and folders: its access=
 * rule, else the mount's uid=, gid=, mode= and dir_mode=. A folder's mode is
 * its files' mode with x wherever r is (0440 gives 0550); with no rule, dir_mode=.
 */
void config_access_of(const struct config *cfg, const char *connector, uid_t *uid, gid_t *gid,
    mode_t *mode, mode_t *dir_mode);

/* Defaults, with uid/gid of the calling user. */
void config_init(struct config *cfg);

/* Take BASE44_API_URL, BASE44_APP_ID and BASE44_SERVICE_TOKEN from env. */
enum cfs_err config_from_env(struct config *cfg, char *msg, size_t msgsz);

/*
 * Remove BASE44_SERVICE_TOKEN and BASE44_API_KEY from the environment once read: zeroed in
 * place (so /proc/PID/environ no longer shows it) and unset (so no child,
 * such as libfuse's fusermount3, inherits it).
 */
void config_scrub_env(void);

/*
 * 1 when key is one of ours (a setting, or a secret key config_set() refuses
 * with a pointer to the safe way); 0 when it is not, so the caller can hand it
 * on to libfuse. Asked before config_set(), which has no "not ours" answer.
 */
int config_is_option(const char *key);

/*
 * Set one option. CFS_ERR_INVALID with a one-line reason in msg for a bad
 * value, a secret offered on the command line, or a key that
 * config_is_option() does not know; CFS_ERR_NO_MEMORY when out of memory.
 */
enum cfs_err config_set(struct config *cfg, const char *key, const char *value,
    char *msg, size_t msgsz);

/* Append one name to connectors= (fstab's "connectors=a,b" arrives split). */
enum cfs_err config_add_connector(struct config *cfg, const char *name,
    char *msg, size_t msgsz);

/*
 * Check that everything needed is there and consistent, reading the token
 * file and the proxy_auth_file= when named. CFS_ERR_INVALID with a reason
 * in msg otherwise.
 */
enum cfs_err config_finish(struct config *cfg, enum config_use use, char *msg,
    size_t msgsz);

/* Read a token file into secret memory (trailing whitespace dropped). */
enum cfs_err config_read_token_file(const char *path, char **token,
    char *msg, size_t msgsz);

/* 1 when url is https://, or http:// to a loopback host. */
int config_url_allowed(const char *url);

/*
 * 1 when url is a proxy URL proxy= accepts: http:// or https://, a host, an
 * optional port, nothing else (no user name or password: argv is public).
 */
int config_proxy_url_allowed(const char *url);

void config_free(struct config *cfg);

#endif
