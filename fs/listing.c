/*
 * listing.c: the list endpoint is documented at 60 requests a minute, so
 * the root's copy is cached (at least min_age_s) and fetched by one reader
 * at a time; the others wait on the same mutex and use its result.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "listing.h"
#include "log.h"
#include "names.h"
#include "secret.h"

struct listing {
	struct base44_client *api;
	char *api_key;			/* secret memory */
	unsigned min_age_s;
	pthread_mutex_t lock;
	struct integration *rows;
	size_t nrows;
	long long fetched_ms;		/* monotonic; 0 never */
	int failing;			/* logged once per outage */
};


static size_t
listing_width(const struct integration *rows, size_t n, size_t off, const char *title)
{
	size_t w = strlen(title), i;

	for (i = 0; i < n; i++) {
		size_t l = strlen((const char *)&rows[i] + off);

		if (l > w)
			w = l;
	}
	return w;
}

/* One table row, without the blanks that padding leaves when the last column is empty. */
static void listing_row(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
listing_row(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == ' ')
		line[--n] = '\0';
	puts(line);
}

int
listing_print(struct base44_client *api, const char *api_key, enum base44_list_kind kind)
{
	struct base44_result res;
	struct integration *rows;
	size_t n, i, w1, w2, w3;

	if (base44_list(api, api_key, kind, &rows, &n, &res) != CFS_OK) {
		fprintf(stderr, "connectorfs: %s: %s (HTTP %ld)%s%s\n",
		    kind == BASE44_LIST_CONNECTED ? "--list" : "--list-available",
		    err_str(res.err), res.status, res.message[0] ? ": " : "", res.message);
		return 1;
	}
	w1 = listing_width(rows, n, offsetof(struct integration, type), "TYPE");
	if (kind == BASE44_LIST_CONNECTED) {
		w2 = listing_width(rows, n, offsetof(struct integration, status), "STATUS");
		w3 = listing_width(rows, n, offsetof(struct integration, user_email), "ACCOUNT");
		printf("%-*s  %-*s  %-*s  %s\n", (int)w1, "TYPE", (int)w2, "STATUS", (int)w3,
		    "ACCOUNT", "SCOPES");
		for (i = 0; i < n; i++)
			listing_row("%-*s  %-*s  %-*s  %s", (int)w1, rows[i].type, (int)w2,
			    rows[i].status, (int)w3, rows[i].user_email, rows[i].scopes);
	} else {
		w2 = listing_width(rows, n, offsetof(struct integration, display_name), "NAME");
		printf("%-*s  %-*s  %s\n", (int)w1, "TYPE", (int)w2, "NAME", "DESCRIPTION");
		for (i = 0; i < n; i++)
			listing_row("%-*s  %-*s  %s", (int)w1, rows[i].type, (int)w2,
			    rows[i].display_name, rows[i].description);
	}
	free(rows);
	return 0;
}

struct listing *
listing_new(struct base44_client *api, const char *api_key, unsigned min_age_s)
{
	struct listing *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->api_key = secret_strdup(api_key);
	/* Every error of the client, token fetches too, is redacted of the key. */
	if (l->api_key == NULL || base44_set_api_key(api, api_key) != CFS_OK) {
		secret_free(l->api_key);
		free(l);
		return NULL;
	}
	l->api = api;
	l->min_age_s = min_age_s;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void
listing_free(struct listing **lp)
{
	if (lp == NULL || *lp == NULL)
		return;
	secret_free((*lp)->api_key);
	free((*lp)->rows);
	pthread_mutex_destroy(&(*lp)->lock);
	free(*lp);
	*lp = NULL;
}

void
listing_foreach_active(struct listing *l, void (*fn)(const char *, void *), void *arg)
{
	struct base44_result res;
	struct integration *rows;
	long long now = clock_mono_ms();
	size_t n, i;

	pthread_mutex_lock(&l->lock);
	if (l->fetched_ms == 0 || now - l->fetched_ms >= (long long)l->min_age_s * 1000) {
		/* Failures wait min_age_s too: an outage costs one request per period. */
		l->fetched_ms = now;
		if (base44_list(l->api, l->api_key, BASE44_LIST_CONNECTED, &rows, &n,
		    &res) == CFS_OK) {
			free(l->rows);
			l->rows = rows;
			l->nrows = n;
			l->failing = 0;
		} else if (!l->failing) {
			l->failing = 1;
			log_warnx("connector list: %s (HTTP %ld)%s%s; the root shows the last "
			    "list", err_str(res.err), res.status, res.message[0] ? ": " : "",
			    res.message);
		}
	}
	for (i = 0; i < l->nrows; i++)
		if (strcmp(l->rows[i].status, "active") == 0 && name_is_connector(l->rows[i].type))
			fn(l->rows[i].type, arg);
	pthread_mutex_unlock(&l->lock);
}
