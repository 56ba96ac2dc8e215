/*
 * names.c: the name rules of README "The tree", written out by hand rather
 * than with regcomp so that they cost nothing on the lookup path.
 */
#include <string.h>

#include "names.h"

int
name_is_connector(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= NAME_CONNECTOR_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	/* The workspace connectors' folder (names.h). */
	return i > 0 && strcmp(name, NAME_WORKSPACE_DIR) != 0;
}

int
name_is_workspace_id(const char *id)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		char c = id[i];

		if (i >= NAME_WORKSPACE_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

const char *
name_workspace_id(const char *name)
{
	size_t n = sizeof(NAME_WORKSPACE_PREFIX) - 1;

	if (name == NULL || strncmp(name, NAME_WORKSPACE_PREFIX, n) != 0)
		return NULL;
	return name + n;
}

int
name_is_connection(const char *name)
{
	const char *id = name_workspace_id(name);

	return id != NULL ? name_is_workspace_id(id) : name_is_connector(name);
}

int
name_is_config_key(const char *key, size_t len)
{
	size_t i;

	if (key == NULL || len == 0 || len > NAME_KEY_MAX)
		return 0;
	if ((len == 1 && key[0] == '.') || (len == 2 && key[0] == '.' && key[1] == '.'))
		return 0;
	for (i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
	}
	return 1;
}

void
name_env_prefix(const char *name, char *out)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (c >= 'a' && c <= 'z')
			out[i] = (char)(c - 'a' + 'A');
		else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			out[i] = c;
		else
			out[i] = '_';
	}
	out[i] = '\0';
}

unsigned long
name_hash(const char *s)
{
	unsigned long h = 5381;

	while (*s != '\0')
		h = h * 33 + (unsigned char)*s++;
	return h;
}
