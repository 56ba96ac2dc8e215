/*
 * names.h: which names may become paths. A connector name or config key that
 * fails these checks never reaches the network or the tree, so nothing the
 * server or a caller sends can name a path outside its folder.
 */
#ifndef CFS_NAMES_H
#define CFS_NAMES_H

#include <stddef.h>

#define NAME_CONNECTOR_MAX	64
#define NAME_KEY_MAX		128

/*
 * Workspace connectors live under MOUNT/connectors/ID/ and are known inside
 * the daemon (cache, tree, state, status) by the name "connectors/ID", which
 * no app connector can have ('/' is not in their alphabet). That reserves the
 * app connector name "connectors".
 */
#define NAME_WORKSPACE_DIR	"connectors"
#define NAME_WORKSPACE_PREFIX	"connectors/"
#define NAME_WORKSPACE_ID_MAX	128
/* The longest name a connector of either kind has inside the daemon. */
#define NAME_CONNECTION_MAX	(sizeof(NAME_WORKSPACE_PREFIX) - 1 + NAME_WORKSPACE_ID_MAX)

/* ^[a-z0-9_-]{1,64}$ but not "connectors": an integration type we may look up. */
int name_is_connector(const char *name);

/* ^[A-Za-z0-9_-]{1,128}$: a workspace connector id we may look up. */
int name_is_workspace_id(const char *id);

/* An app connector's name, or "connectors/" and a workspace connector id. */
int name_is_connection(const char *name);

/* The id of a "connectors/ID" name, or NULL for an app connector's. */
const char *name_workspace_id(const char *name);

/* ^[A-Za-z0-9._-]{1,128}$ and not "." or "..": a config key we may show. */
int name_is_config_key(const char *key, size_t len);

/*
 * The env variable prefix of a type: upper-cased, every non-alphanumeric
 * turned into '_' ("share_point" -> "SHARE_POINT"). out must hold
 * strlen(name) + 1 bytes.
 */
void name_env_prefix(const char *name, char *out);

/* The hash of a name for the daemon's tables (djb2: short names, no attacker control
 * over which bucket a name lands in matters here, as names are validated first). */
unsigned long name_hash(const char *name);

#endif
