/*
 * cache.h: the connection cache and its refresh rules (README "Caching and
 * refreshing"): lazy fetch, single-flight, TTL, refresh-ahead,
 * stale-on-error within max_stale, negative cache, backoff with jitter and
 * Retry-After, JWT exp as a hard cap. Time and fetching are injected, so the
 * rules are tested without sleeping and without a network.
 */
#ifndef CFS_CACHE_H
#define CFS_CACHE_H

#include <stddef.h>

#include "base44.h"
#include "connection.h"
#include "err.h"

struct cache;

struct cache_hooks {
	/* Fetch one connection (may block up to the request timeout). */
	enum cfs_err (*fetch)(void *arg, const char *name, struct connection **out,
	    struct base44_result *res);
	/*
	 * A connector's value changed or stopped being servable. Called with
	 * no lock held, after the new state is visible in the cache.
	 */
	void (*changed)(void *arg, const char *name);
	long long (*mono_ms)(void *arg);	/* monotonic clock, ms */
	long long (*wall_ms)(void *arg);	/* Unix time, ms */
	double (*random01)(void *arg);		/* jitter in [0, 1); NULL: rand_r */
	void *arg;
};

struct cache_settings {
	unsigned ttl_s;
	unsigned max_stale_s;
	unsigned negative_ttl_s;
	unsigned timeout_s;		/* longest a reader waits for a fetch */
	unsigned refresh_threads;	/* background refreshers; 0: none (tests) */
};

/* What a reader gets: one value and how long it may be served as is. */
struct cache_view {
	struct connection *value;	/* a reference; NULL on error */
	unsigned long long generation;	/* bumps at each change */
	long long changed_ms;		/* wall ms of the last change (st_mtime) */
	long long valid_ms;		/* how long before this must be asked again */
	int stale;			/* served past its TTL after a failure */
};

enum cache_state {
	CACHE_EMPTY,		/* never fetched */
	CACHE_FRESH,		/* within TTL */
	CACHE_EXPIRED,		/* past TTL, will refetch on next use */
	CACHE_STALE,		/* refresh failing, last value still served */
	CACHE_FAILED,		/* nothing servable */
	CACHE_NOT_FOUND,	/* 404 remembered */
};

/* One connector's state for status.json and listings (no value bytes). */
struct cache_stat {
	const char *name;
	enum cache_state state;
	int ever_fetched;
	int fetching;
	long long fetched_at_ms;	/* wall; 0 when never */
	long long changed_at_ms;	/* wall; 0 when never */
	unsigned long long generation;
	unsigned long long requests;
	unsigned long long failures;
	unsigned long long failures_by[CFS_ERR_COUNT];	/* by enum cfs_err */
	unsigned long long hits;
	enum cfs_err last_err;
	long last_status;
	const char *last_message;
	long long last_error_at_ms;	/* wall; 0 when never */
	long long backoff_left_ms;
	long long token_exp;		/* JWT exp, Unix seconds, 0 if none */
};

enum cfs_err cache_new(const struct cache_settings *settings,
    const struct cache_hooks *hooks, struct cache **out);

/*
 * Shutting down: every reader waiting for a request, and every later one,
 * gets CFS_ERR_ABORTED at once. The fetch hook must be aborted separately.
 */
void cache_abort(struct cache *cache);

/* Stops and joins the refresh threads, drops every value. NULL accepted. */
void cache_free(struct cache **cache);

/*
 * The connector's current value, fetching it when needed (single-flight,
 * bounded by timeout_s). On error view->value is NULL and res (when not
 * NULL) says what the last request ended with.
 */
enum cfs_err cache_get(struct cache *cache, const char *name, struct cache_view *view,
    struct base44_result *res);

/* The value a reader may still be served, without any request. */
enum cfs_err cache_peek(struct cache *cache, const char *name, struct cache_view *view);

/*
 * Whether a value fetched earlier may still be shown at all: CFS_OK unless
 * serving has ended (404/401/403) or its JWT has expired. A value dropped
 * by SIGHUP has not ended: it is re-fetched on the next lookup. Makes no
 * request and ignores the TTL (kernel caches outlive it by design).
 */
enum cfs_err cache_check(struct cache *cache, const char *name);

/* Release what a view holds. */
void cache_view_release(struct cache_view *view);

/*
 * Fetch now, after any request already in flight, and wait for the result.
 * name "all" refreshes every known connector.
 */
enum cfs_err cache_refresh(struct cache *cache, const char *name,
    struct base44_result *res);

/* Forget every value and negative entry (SIGHUP); changed() is called for each. */
void cache_drop_all(struct cache *cache);

/* Run queued background refreshes in the caller's thread (tests). */
void cache_run_pending(struct cache *cache);

/* Call fn for each connector the cache knows, under the cache's lock: fn must not call back. */
void cache_foreach(struct cache *cache, void (*fn)(const struct cache_stat *st, void *arg),
    void *arg);

const char *cache_state_name(enum cache_state state);

#endif
