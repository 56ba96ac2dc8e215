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
	/*
	 * The value a connector is served from now (after every successful
	 * fetch), or NULL once serving ended (404, 401/403, SIGHUP): for the
	 * handover state. Called under the cache's lock, in order; may be NULL.
	 */
	void (*kept)(void *arg, const char *name, struct connection *value,
	    unsigned long long generation, long long changed_ms, long long fetched_wall_ms);
	long long (*mono_ms)(void *arg);	/* monotonic clock, ms */
	long long (*wall_ms)(void *arg);	/* Unix time, ms */
	double (*random01)(void *arg);		/* jitter in [0, 1); NULL: rand_r */
	void *arg;
};

/*
 * What names nobody declared may cost. A name is known once it is declared
 * (connectors=, the management listing) or fetched with success; any other
 * name costs a request from this budget, and what is remembered about it
 * (a 404 for negative_ttl) sits in a table of at most `remembered` names,
 * least recently used first out. Zero fields take the CACHE_UNKNOWN_*
 * defaults.
 */
struct cache_unknown_budget {
	unsigned rate_per_s;		/* requests a second, sustained */
	unsigned burst;			/* requests at once after a quiet spell */
	unsigned in_flight;		/* requests for unknown names at one time */
	unsigned remembered;		/* unknown names kept */
};

#define CACHE_UNKNOWN_RATE		20
#define CACHE_UNKNOWN_BURST		40
#define CACHE_UNKNOWN_IN_FLIGHT		32
#define CACHE_UNKNOWN_REMEMBERED	1024

struct cache_settings {
	unsigned ttl_s;
	unsigned max_stale_s;
	unsigned negative_ttl_s;
	unsigned timeout_s;		/* longest a reader waits for a fetch */
	unsigned refresh_threads;	/* background refreshers; 0: none (tests) */
	/*
	 * Run each fetch a reader starts on a thread of its own, so that the
	 * reader can stop waiting (an interrupted request) while the fetch
	 * goes on; otherwise the first reader fetches in its own thread.
	 */
	int fetch_detached;
	struct cache_unknown_budget unknown;
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

/*
 * Stops and joins the refresh threads and waits for detached fetches: no
 * hook is called after it returns. The cache still answers peeks.
 */
void cache_stop(struct cache *cache);

/* cache_stop(), then drops every value. NULL accepted. */
void cache_free(struct cache **cache);

/*
 * The name is a connector the operator expects (connectors=, a listing):
 * never refused by the unknown-name budget, never evicted, always reported.
 */
enum cfs_err cache_declare(struct cache *cache, const char *name);

/* Counters of names not known to exist, for status.json and metrics. */
struct cache_unknown_stat {
	unsigned long long requests;	/* requests made for unknown names */
	unsigned long long refused;	/* lookups refused by the budget (EAGAIN) */
	unsigned long long evicted;	/* remembered names dropped for room */
	size_t remembered;		/* unknown names remembered now */
};
void cache_unknown_stats(struct cache *cache, struct cache_unknown_stat *out);

/* Declared, or fetched with success at least once. */
int cache_is_known(struct cache *cache, const char *name);

/*
 * The connector's current value, fetching it when needed (single-flight,
 * bounded by timeout_s). On error view->value is NULL and res (when not
 * NULL) says what the last request ended with.
 */
enum cfs_err cache_get(struct cache *cache, const char *name, struct cache_view *view,
    struct base44_result *res);

/*
 * cache_get() that stops waiting with CFS_ERR_INTERRUPTED once *cancel is
 * set (read atomically); whoever sets it then calls cache_wake(). A fetch
 * already started goes on and its result is kept for the next reader.
 */
enum cfs_err cache_get_cancellable(struct cache *cache, const char *name,
    struct cache_view *view, struct base44_result *res, const int *cancel);

/* Wake every waiting reader to look at its cancel flag again. */
void cache_wake(struct cache *cache);

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
 * Fetch now and wait for the result; *generation (when not NULL) is the
 * value's generation after it. A request in flight for the name that
 * started with this refresh (within 100 ms before it) is joined, so
 * concurrent refreshes make one request; an older one is waited out and a
 * new one made, so the answer never predates the call. The rate
 * controls hold: within a backoff (Retry-After included) or a remembered
 * 404 the last error is returned without a request, and an unknown name
 * spends the unknown-name budget. cancel as in cache_get_cancellable().
 */
enum cfs_err cache_refresh(struct cache *cache, const char *name,
    unsigned long long *generation, struct base44_result *res, const int *cancel);

/*
 * cache_refresh() of every connector fetched with success since the start
 * (never an unknown name), one after another in name order; fn (may be NULL) is told each
 * outcome, without the cache lock. Returns the first error, or CFS_OK.
 */
enum cfs_err cache_refresh_all(struct cache *cache,
    void (*fn)(const char *name, enum cfs_err err, unsigned long long generation,
    const struct base44_result *res, void *arg), void *arg, const int *cancel);

/*
 * A value a previous server fetched (its kept() hook), taken as fetched at
 * fetched_wall_ms: the TTL, max_stale and JWT rules apply from then. The
 * name becomes known. Only before the first reader.
 */
enum cfs_err cache_restore(struct cache *cache, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms);

/* Forget every value and negative entry (SIGHUP); changed() is called for each. */
void cache_drop_all(struct cache *cache);

/* Run queued background refreshes in the caller's thread (tests). */
void cache_run_pending(struct cache *cache);

/*
 * Call fn for each known connector (declared or fetched with success at
 * least once) and each unknown name whose last answer was a failure other
 * than 404 (at most the unknown names remembered), under the cache's lock:
 * fn must not call back. A name answered 404 and never known is not shown.
 */
void cache_foreach(struct cache *cache, void (*fn)(const struct cache_stat *st, void *arg),
    void *arg);

const char *cache_state_name(enum cache_state state);

#endif
