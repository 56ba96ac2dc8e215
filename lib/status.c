/*
 * status.c: renderers for the status files. They read the cache through
 * cache_foreach(), which holds the cache lock, so they only format.
 * Connectors are listed sorted by name so the files diff well.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"
#include "names.h"
#include "status.h"

struct status_rows {
	struct cache_stat *rows;
	char (*names)[NAME_CONNECTION_MAX + 1];
	char (*messages)[200];
	size_t n, cap;
	int oom;
};

static void
status_collect(const struct cache_stat *st, void *arg)
{
	struct status_rows *r = arg;

	if (r->oom)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		void *a = realloc(r->rows, cap * sizeof(*r->rows));
		void *b = a ? realloc(r->names, cap * sizeof(*r->names)) : NULL;
		void *c = b ? realloc(r->messages, cap * sizeof(*r->messages)) : NULL;

		if (a) r->rows = a;
		if (b) r->names = b;
		if (c) r->messages = c;
		if (a == NULL || b == NULL || c == NULL) {
			r->oom = 1;
			return;
		}
		r->cap = cap;
	}
	/* Copy strings out: st's pointers are valid only under the cache lock. */
	r->rows[r->n] = *st;
	snprintf(r->names[r->n], sizeof(r->names[0]), "%s", st->name);
	snprintf(r->messages[r->n], sizeof(r->messages[0]), "%s",
	    st->last_message ? st->last_message : "");
	r->n++;
}

static int
status_row_cmp(const void *a, const void *b)
{
	const struct cache_stat *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static enum cfs_err
status_rows_get(struct cache *cache, struct status_rows *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	cache_foreach(cache, status_collect, r);
	if (r->oom)
		return CFS_ERR_NO_MEMORY;
	for (i = 0; i < r->n; i++) {
		r->rows[i].name = r->names[i];
		r->rows[i].last_message = r->messages[i];
	}
	/* Sorting moves rows, whose name pointers stay on their own strings. */
	if (r->n > 1)
		qsort(r->rows, r->n, sizeof(*r->rows), status_row_cmp);
	return CFS_OK;
}

static void
status_rows_free(struct status_rows *r)
{
	free(r->rows);
	free(r->names);
	free(r->messages);
}

static enum cfs_err
status_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static enum cfs_err
status_appendf(struct buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return CFS_ERR_INVALID;
	return buf_append(b, line, (size_t)n);
}

enum cfs_err
status_render_json(struct cache *cache, const struct status_process *proc,
    long long now_ms, struct buf *out)
{
	struct status_rows r;
	enum cfs_err err;
	size_t i;

	err = status_rows_get(cache, &r);
	if (err == CFS_OK)
		err = status_appendf(out, "{\"version\":\"%s\",\"uptime_seconds\":%lld,"
		    "\"pid\":%ld,\"supervisor_pid\":%ld,\"takeovers\":%llu,"
		    "\"process_started_at\":", CFS_VERSION,
		    (now_ms - proc->mount_wall_ms) / 1000, proc->pid, proc->supervisor_pid,
		    proc->takeovers);
	if (err == CFS_OK)
		err = jsonw_time(out, proc->started_wall_ms);
	if (err == CFS_OK)
		err = buf_append_str(out, ",\"connectors\":{");
	for (i = 0; i < r.n && err == CFS_OK; i++) {
		const struct cache_stat *s = &r.rows[i];

		err = status_appendf(out, "%s", i ? "," : "");
		if (err == CFS_OK)
			err = jsonw_string(out, s->name, strlen(s->name));
		if (err == CFS_OK)
			err = status_appendf(out, ":{\"state\":\"%s\",\"fetched_at\":",
			    cache_state_name(s->state));
		if (err == CFS_OK)
			err = jsonw_time(out, s->fetched_at_ms);
		if (err == CFS_OK)
			err = buf_append_str(out, ",\"changed_at\":");
		if (err == CFS_OK)
			err = jsonw_time(out, s->changed_at_ms);
		if (err == CFS_OK)
			err = status_appendf(out, ",\"generation\":%llu,\"requests\":%llu,"
			    "\"failures\":%llu,\"cache_hits\":%llu,\"backoff_seconds\":%.3f,"
			    "\"token_expires_at\":",
			    s->generation, s->requests, s->failures, s->hits,
			    (double)s->backoff_left_ms / 1000.0);
		if (err == CFS_OK)
			err = jsonw_time(out, s->token_exp * 1000);
		if (err == CFS_OK)
			err = buf_append_str(out, ",\"last_error\":");
		if (err != CFS_OK)
			break;
		if (s->last_err == CFS_OK) {
			err = buf_append_str(out, "null}");
			continue;
		}
		err = status_appendf(out, "{\"error\":\"%s\",\"errno\":%d,\"http_status\":%ld,"
		    "\"message\":", err_name(s->last_err), err_to_errno(s->last_err),
		    s->last_status);
		if (err == CFS_OK)
			err = jsonw_string(out, s->last_message, strlen(s->last_message));
		if (err == CFS_OK)
			err = buf_append_str(out, ",\"at\":");
		if (err == CFS_OK)
			err = jsonw_time(out, s->last_error_at_ms);
		if (err == CFS_OK)
			err = buf_append_str(out, "}}");
	}
	if (err == CFS_OK) {
		struct cache_unknown_stat u;

		/* Names probed but never found: counted, never listed by name. */
		cache_unknown_stats(cache, &u);
		err = status_appendf(out, "},\"unknown_names\":{\"requests\":%llu,"
		    "\"refused\":%llu,\"evicted\":%llu,\"remembered\":%zu}}\n",
		    u.requests, u.refused, u.evicted, u.remembered);
	}
	status_rows_free(&r);
	return err;
}

struct status_metric {
	const char *name;
	const char *type;
	const char *help;
};

static const struct status_metric status_metrics[] = {
	{ "connectorfs_requests_total", "counter", "Upstream requests made for a connector." },
	{ "connectorfs_failures_total", "counter",
	    "Upstream requests that failed, by kind (the error names of status.json)." },
	{ "connectorfs_cache_hits_total", "counter",
	    "Lookups answered from the daemon's cache (kernel-cached reads are not seen)." },
	{ "connectorfs_generation", "gauge", "Times the connector's value has changed." },
	{ "connectorfs_seconds_since_success", "gauge",
	    "Seconds since the last successful fetch (-1 when never)." },
	{ "connectorfs_up", "gauge", "1 when the connector's value is servable." },
};

/* One line per kind of failure seen (none: one line with kind="none", 0). */
static enum cfs_err
status_failure_lines(struct buf *out, const char *metric, const struct cache_stat *s)
{
	enum cfs_err err = CFS_OK;
	int k, any = 0;

	for (k = 1; k < CFS_ERR_COUNT && err == CFS_OK; k++) {
		if (s->failures_by[k] == 0)
			continue;
		any = 1;
		err = status_appendf(out, "%s{connector=\"%s\",kind=\"%s\"} %llu\n", metric,
		    s->name, err_name((enum cfs_err)k), s->failures_by[k]);
	}
	if (!any && err == CFS_OK)
		err = status_appendf(out, "%s{connector=\"%s\",kind=\"none\"} 0\n", metric,
		    s->name);
	return err;
}

enum cfs_err
status_render_metrics(struct cache *cache, const struct status_process *proc,
    long long now_ms, struct buf *out)
{
	struct status_rows r;
	enum cfs_err err;
	size_t m, i;

	err = status_rows_get(cache, &r);
	if (err == CFS_OK)
		err = status_appendf(out, "# HELP connectorfs_uptime_seconds Seconds since mount.\n"
		    "# TYPE connectorfs_uptime_seconds gauge\nconnectorfs_uptime_seconds %.3f\n"
		    "# HELP connectorfs_connectors Connectors the daemon knows.\n"
		    "# TYPE connectorfs_connectors gauge\nconnectorfs_connectors %zu\n",
		    (double)(now_ms - proc->mount_wall_ms) / 1000.0, r.n);
	if (err == CFS_OK)
		err = status_appendf(out,
		    "# HELP connectorfs_process_id The process serving FUSE requests.\n"
		    "# TYPE connectorfs_process_id gauge\nconnectorfs_process_id %ld\n"
		    "# HELP connectorfs_process_start_time_seconds When that process started.\n"
		    "# TYPE connectorfs_process_start_time_seconds gauge\n"
		    "connectorfs_process_start_time_seconds %.3f\n", proc->pid,
		    (double)proc->started_wall_ms / 1000.0);
	if (err == CFS_OK)
		err = status_appendf(out,
		    "# HELP connectorfs_takeovers_total Servers that took over this mount.\n"
		    "# TYPE connectorfs_takeovers_total counter\nconnectorfs_takeovers_total %llu\n",
		    proc->takeovers);
	for (m = 0; m < sizeof(status_metrics) / sizeof(status_metrics[0]) && err == CFS_OK; m++) {
		const struct status_metric *sm = &status_metrics[m];

		err = status_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", sm->name, sm->help,
		    sm->name, sm->type);
		for (i = 0; i < r.n && err == CFS_OK; i++) {
			const struct cache_stat *s = &r.rows[i];
			double v = 0;

			if (m == 1) {
				err = status_failure_lines(out, sm->name, s);
				continue;
			}
			switch (m) {
			case 0: v = (double)s->requests; break;
			case 1: v = (double)s->failures; break;
			case 2: v = (double)s->hits; break;
			case 3: v = (double)s->generation; break;
			case 4: v = s->fetched_at_ms ? (double)(now_ms - s->fetched_at_ms) / 1000.0 : -1; break;
			default: v = (s->state == CACHE_FRESH || s->state == CACHE_STALE); break;
			}
			/* Connector names are [a-z0-9_-]: safe inside a label as is. */
			err = status_appendf(out, "%s{connector=\"%s\"} %.15g\n", sm->name, s->name, v);
		}
	}
	if (err == CFS_OK) {
		struct cache_unknown_stat u;

		cache_unknown_stats(cache, &u);
		err = status_appendf(out,
		    "# HELP connectorfs_unknown_name_requests_total Requests for names not "
		    "known to exist.\n# TYPE connectorfs_unknown_name_requests_total counter\n"
		    "connectorfs_unknown_name_requests_total %llu\n", u.requests);
		if (err == CFS_OK)
			err = status_appendf(out, "# HELP connectorfs_unknown_name_refused_total "
			    "Lookups of unknown names refused by the budget.\n"
			    "# TYPE connectorfs_unknown_name_refused_total counter\n"
			    "connectorfs_unknown_name_refused_total %llu\n", u.refused);
		if (err == CFS_OK)
			err = status_appendf(out, "# HELP connectorfs_unknown_names_remembered "
			    "Unknown names remembered now.\n"
			    "# TYPE connectorfs_unknown_names_remembered gauge\n"
			    "connectorfs_unknown_names_remembered %zu\n", u.remembered);
	}
	status_rows_free(&r);
	return err;
}
