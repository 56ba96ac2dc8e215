/*
 * envfile.c: reads back what connection.c renders as `env`. Values are
 * tokens, so every byte of one lives in secret memory and is wiped when
 * dropped. The parser accepts exactly the quoting the renderer produces
 * (plus plain shell single-quote concatenation), so a file it cannot read
 * is reported rather than half-applied.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "connection.h"
#include "envfile.h"
#include "secret.h"

#define ENVFILE_LINE_MAX	(1024 * 1024)

/*
 * A name may start with a digit: the renderer makes a connector type such
 * as "1password" 1PASSWORD_ACCESS_TOKEN, which sh cannot source but a
 * program reads from its environment like any other.
 */
static int
envfile_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
	    (c >= '0' && c <= '9');
}

/* One line starting at text[*pos]: "NAME=" then the value into b. */
static enum cfs_err
envfile_line(const char *text, size_t len, size_t *pos, struct buf *b, size_t *name_len,
    size_t *lines)
{
	size_t i = *pos, start;
	enum cfs_err err;

	while (i < len && envfile_name_char(text[i]))
		i++;
	if (i == *pos || i >= len || text[i] != '=')
		return CFS_ERR_MALFORMED;
	*name_len = i - *pos;
	err = buf_append(b, text + *pos, i + 1 - *pos);
	i++;
	while (err == CFS_OK && i < len && text[i] != '\n') {
		if (text[i] == '\'') {
			start = ++i;
			while (i < len && text[i] != '\'') {
				if (text[i] == '\0')
					return CFS_ERR_MALFORMED;	/* never in an env value */
				if (text[i] == '\n')
					(*lines)++;	/* a quoted newline belongs to the value */
				i++;
			}
			if (i >= len)
				return CFS_ERR_MALFORMED;	/* unterminated quote */
			err = buf_append(b, text + start, i - start);
			i++;
		} else if (text[i] == '\\' && i + 1 < len && text[i + 1] == '\'') {
			err = buf_append(b, "'", 1);
			i += 2;
		} else if (!connection_env_bare(text + i, 1)) {
			return CFS_ERR_MALFORMED;	/* the renderer quotes it: not ours */
		} else {
			err = buf_append(b, text + i, 1);
			i++;
		}
	}
	if (err == CFS_OK && i < len)
		i++;	/* the newline */
	*pos = i;
	return err;
}

static void
envfile_var_free(struct envfile_var *v)
{
	secret_free(v->assignment);
	v->assignment = NULL;
}

/* Room for more assignments in ef, so that putting them cannot fail. */
static enum cfs_err
envfile_reserve(struct envfile *ef, size_t more)
{
	struct envfile_var *grown;

	if (ef->n + more <= ef->cap)
		return CFS_OK;
	grown = realloc(ef->vars, (ef->n + more) * sizeof(*grown));
	if (grown == NULL)
		return CFS_ERR_NO_MEMORY;
	ef->vars = grown;
	ef->cap = ef->n + more;
	return CFS_OK;
}

/* Put v in ef, replacing an assignment of the same name. */
static enum cfs_err
envfile_put(struct envfile *ef, struct envfile_var *v)
{
	enum cfs_err err;
	size_t i;

	for (i = 0; i < ef->n; i++) {
		if (ef->vars[i].name_len == v->name_len &&
		    memcmp(ef->vars[i].assignment, v->assignment, v->name_len) == 0) {
			envfile_var_free(&ef->vars[i]);
			ef->vars[i] = *v;
			return CFS_OK;
		}
	}
	err = envfile_reserve(ef, ef->n < ef->cap ? 0 : ef->n + 1);
	if (err != CFS_OK)
		return err;
	ef->vars[ef->n++] = *v;
	return CFS_OK;
}

enum cfs_err
envfile_parse(struct envfile *ef, const char *text, size_t len, size_t *bad_line)
{
	struct envfile parsed = { NULL, 0, 0 };
	struct envfile_var v;
	size_t pos = 0, line = 1, i;
	enum cfs_err err = CFS_OK;
	struct buf b;
	size_t extra;

	*bad_line = 0;
	buf_init(&b, ENVFILE_LINE_MAX);
	while (pos < len) {
		if (text[pos] == '\n') {	/* blank line */
			pos++;
			line++;
			continue;
		}
		extra = 0;
		err = envfile_line(text, len, &pos, &b, &v.name_len, &extra);
		if (err == CFS_OK) {
			v.assignment = buf_take(&b, &i);
			err = v.assignment != NULL ? envfile_put(&parsed, &v) : CFS_ERR_NO_MEMORY;
			if (err != CFS_OK)
				envfile_var_free(&v);
		}
		if (err != CFS_OK) {
			if (err == CFS_ERR_MALFORMED || err == CFS_ERR_TOO_BIG) {
				err = CFS_ERR_MALFORMED;
				*bad_line = line;
			}
			goto out;
		}
		line += 1 + extra;
	}
	/* All or nothing: only a whole file reaches ef, and with room reserved it cannot fail. */
	err = envfile_reserve(ef, parsed.n);
	if (err != CFS_OK)
		goto out;
	for (i = 0; i < parsed.n; i++) {
		(void)envfile_put(ef, &parsed.vars[i]);
		parsed.vars[i].assignment = NULL;	/* ef owns it now */
	}
out:
	buf_reset(&b);
	envfile_clear(&parsed);
	return err;
}

const char *
envfile_get(const struct envfile *ef, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < ef->n; i++)
		if (ef->vars[i].name_len == n && memcmp(ef->vars[i].assignment, name, n) == 0)
			return ef->vars[i].assignment + n + 1;
	return NULL;
}

void
envfile_clear(struct envfile *ef)
{
	size_t i;

	for (i = 0; i < ef->n; i++)
		envfile_var_free(&ef->vars[i]);
	free(ef->vars);
	ef->vars = NULL;
	ef->n = 0;
	ef->cap = 0;
}
