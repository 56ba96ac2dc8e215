/*
 * cache.c: per-connector state machine behind one lock. A fetch runs with
 * the lock released; whoever arrives meanwhile waits on the condition
 * variable and takes that fetch's outcome, so one connector never has two
 * requests in flight. Values are swapped whole (reference counted), and the
 * changed() hook runs after the swap with no lock held.
 *
 * Names nobody declared are what a stranger controls: each costs a request
 * from a token bucket, and what is remembered about them lives in a table
 * of bounded size (least recently used out), so a flood of random names
 * grows neither the request rate nor the daemon.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "namelist.h"
#include "redact.h"
#include "table.h"
#include "clock.h"
#include "cache.h"
#include "log.h"
#include "names.h"
#include "secret.h"

#define CACHE_BACKOFF_BASE_MS	1000
#define CACHE_BACKOFF_MAX_MS	60000
#define CACHE_RETRY_AFTER_MAX_MS (3600 * 1000LL)
/* Refresh-ahead starts in the last eighth of the TTL (see fs/ attr timeouts). */
#define CACHE_AHEAD_DIVISOR	8
/* A forced refresh shares a request that started at most this long before it. */
#define CACHE_REFRESH_JOIN_MS	100
/* Shorter tokens are not cut out of messages: they would cut ordinary words. */
#define CACHE_REDACT_MIN	8

struct cache_entry {
	struct table_link link;		/* in cache->entries, by name */
	struct cache_entry *queue_next;	/* refresh queue */
	struct cache_entry *lru_prev, *lru_next;	/* unknown names only */
	char name[NAME_CONNECTION_MAX + 1];
	struct connection *value;
	int servable;		/* value may be served (not ended by 4xx/SIGHUP) */
	int ever_fetched;
	int known;		/* declared, or fetched with success once */
	int users;		/* callers holding the entry across an unlock */
	int fetching;
	int fetch_unknown;	/* the fetch in flight counts as an unknown one */
	int queued;
	int exp_announced;	/* changed() already told that the JWT expired */
	long long fetch_started_mono;	/* of the request in flight */
	long long fetched_mono;
	long long fetched_wall;
	long long changed_wall;
	unsigned long long generation;
	unsigned long long completions;
	enum cfs_err last_err;
	long last_status;
	char last_message[200];
	long long last_error_wall;
	long long negative_until;
	long long backoff_until;
	unsigned fail_streak;
	unsigned long long requests, failures, hits;
	unsigned long long failures_by[CFS_ERR_COUNT];
};

struct cache {
	struct cache_settings set;
	struct cache_hooks hooks;
	pthread_mutex_t lock;
	pthread_cond_t done;		/* a fetch completed */
	pthread_cond_t work;		/* the refresh queue grew, or stopping */
	struct table entries;		/* struct cache_entry by name */
	struct cache_entry *queue_head, *queue_tail;
	/* Unknown names: most recently used first; the bucket's tokens. */
	struct cache_entry *lru_head, *lru_tail;
	size_t nunknown;
	unsigned unknown_in_flight;
	double tokens;
	long long tokens_mono;
	struct cache_unknown_stat unknown_stat;
	long long refused_logged_mono;
	unsigned long long refused_logged;
	unsigned detached;		/* detached fetch threads running */
	pthread_cond_t idle;		/* the last detached fetch ended */
	int stopped;
	int stopping;
	int aborted;		/* cache_abort(): answer everyone at once */
	pthread_t sweeper;		/* JWT expiry watch: see cache_sweeper() */
	int sweeper_started;
	pthread_cond_t sweep;		/* a value with an exp arrived, or stopping */
	pthread_t *threads;
	unsigned nthreads;
	unsigned int seed;
};

static long long
cache_default_mono_ms(void *arg)
{
	(void)arg;
	return clock_mono_ms();
}

static long long
cache_default_wall_ms(void *arg)
{
	(void)arg;
	return clock_wall_ms();
}

/* Wait on cv until a CLOCK_MONOTONIC deadline (ms); c->lock is held. */
static void
cache_wait_until(struct cache *c, pthread_cond_t *cv, long long deadline_ms)
{
	struct timespec ts = clock_timespec(deadline_ms);

	(void)pthread_cond_timedwait(cv, &c->lock, &ts);
}

/* Every entry, e: for (e = cache_first(c, &i); e; e = cache_next(c, e, &i)). */
static struct cache_entry *
cache_first(const struct cache *c, size_t *cursor)
{
	struct table_link *l = table_first(&c->entries, cursor);

	return l != NULL ? table_entry(l, struct cache_entry, link) : NULL;
}

static struct cache_entry *
cache_next(const struct cache *c, const struct cache_entry *e, size_t *cursor)
{
	struct table_link *l = table_next(&c->entries, &e->link, cursor);

	return l != NULL ? table_entry(l, struct cache_entry, link) : NULL;
}

static struct cache_entry *
cache_find(struct cache *c, const char *name)
{
	uint64_t hash = name_hash(name);
	struct table_link *l;

	for (l = table_chain(&c->entries, hash); l != NULL; l = l->next) {
		struct cache_entry *e = table_entry(l, struct cache_entry, link);

		if (l->hash == hash && strcmp(e->name, name) == 0)
			return e;
	}
	return NULL;
}

static void
cache_lru_unlink(struct cache *c, struct cache_entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
cache_lru_push_front(struct cache *c, struct cache_entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

/* An unknown name was used: it is the last to be evicted now. */
static void
cache_lru_touch(struct cache *c, struct cache_entry *e)
{
	if (e->known || c->lru_head == e)
		return;
	cache_lru_unlink(c, e);
	cache_lru_push_front(c, e);
}

/* The name turned out to exist (or was declared): it leaves the LRU for good. */
static void
cache_make_known(struct cache *c, struct cache_entry *e)
{
	if (e->known)
		return;
	cache_lru_unlink(c, e);
	c->nunknown--;
	e->known = 1;
}

static void
cache_remove_locked(struct cache *c, struct cache_entry *e)
{
	table_del(&c->entries, &e->link);
	if (!e->known) {
		cache_lru_unlink(c, e);
		c->nunknown--;
	}
	connection_unref(&e->value);
	free(e);
}

/*
 * Shown in status.json and metrics: a known connector, or an unknown name
 * whose last answer was a failure that does not say "no such connector"
 * (the API is down, say): the operator must see that, and the LRU bounds
 * how many there can be. A stranger's 404s are never shown.
 */
static int
cache_reportable(const struct cache_entry *e)
{
	return e->known || (e->requests > 0 && e->last_err != CFS_OK &&
	    e->last_err != CFS_ERR_NOT_FOUND);
}

/* Nobody is using it and nothing is pending on it. */
static int
cache_evictable(const struct cache_entry *e)
{
	return !e->known && !e->fetching && !e->queued && e->users == 0;
}

/* Make room for one more unknown name; 0 when every one is in use. */
static int
cache_evict_one_locked(struct cache *c)
{
	struct cache_entry *e;

	for (e = c->lru_tail; e != NULL; e = e->lru_prev) {
		if (cache_evictable(e)) {
			cache_remove_locked(c, e);
			c->unknown_stat.evicted++;
			return 1;
		}
	}
	return 0;
}

static enum cfs_err
cache_add_locked(struct cache *c, const char *name, int known, struct cache_entry **out)
{
	struct cache_entry *e;

	*out = NULL;
	if (!known && c->nunknown >= c->set.unknown.remembered &&
	    !cache_evict_one_locked(c))
		return CFS_ERR_BUSY;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return CFS_ERR_NO_MEMORY;
	strcpy(e->name, name);	/* checked by name_is_connection(): fits */
	table_add(&c->entries, &e->link, name_hash(name));
	e->known = known;
	if (!known) {
		cache_lru_push_front(c, e);
		c->nunknown++;
	}
	*out = e;
	return CFS_OK;
}

/*
 * The entry of a name a reader asked for, made on first use (CFS_ERR_BUSY,
 * counted as a refusal, when every remembered unknown name is in use).
 */
static enum cfs_err
cache_entry_for(struct cache *c, const char *name, struct cache_entry **out)
{
	struct cache_entry *e = cache_find(c, name);
	enum cfs_err err;

	if (e == NULL) {
		err = cache_add_locked(c, name, 0, out);
		if (err == CFS_ERR_BUSY)
			c->unknown_stat.refused++;
		return err;
	}
	cache_lru_touch(c, e);
	*out = e;
	return CFS_OK;
}

/*
 * Take one request from the unknown-name budget, or say no (and count the
 * refusal, with a log line at most once a minute so a flood cannot fill
 * the log either).
 */
static int
cache_unknown_admit_locked(struct cache *c, long long now)
{
	const struct cache_unknown_budget *b = &c->set.unknown;
	double elapsed = (double)(now - c->tokens_mono) / 1000.0;

	if (elapsed > 0) {
		c->tokens += elapsed * (double)b->rate_per_s;
		if (c->tokens > (double)b->burst)
			c->tokens = (double)b->burst;
		c->tokens_mono = now;
	}
	if (c->tokens >= 1.0 && c->unknown_in_flight < b->in_flight) {
		c->tokens -= 1.0;
		c->unknown_stat.requests++;
		return 1;
	}
	c->unknown_stat.refused++;
	if (c->refused_logged_mono == 0 || now - c->refused_logged_mono >= 60000) {
		log_warnx("unknown names: %llu lookups refused (budget %u requests/s, "
		    "%u in flight); declare expected connectors with connectors=",
		    c->unknown_stat.refused - c->refused_logged, b->rate_per_s, b->in_flight);
		c->refused_logged = c->unknown_stat.refused;
		c->refused_logged_mono = now;
	}
	return 0;
}

static int
cache_jwt_expired(const struct cache_entry *e, long long wall)
{
	return e->value->token_exp > 0 && wall >= e->value->token_exp * 1000;
}

static int
cache_err_transient(enum cfs_err err)
{
	return err != CFS_OK && err != CFS_ERR_NOT_FOUND && err != CFS_ERR_DENIED &&
	    err != CFS_ERR_NO_MEMORY && err != CFS_ERR_INVALID;
}

static long long
cache_ttl_ms(const struct cache *c)
{
	return (long long)c->set.ttl_s * 1000;
}

static int
cache_is_fresh(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall)
{
	return e->value != NULL && e->servable && !cache_jwt_expired(e, wall) &&
	    now < e->fetched_mono + cache_ttl_ms(c);
}

/* Past the TTL, but the refresh failed in a way that allows stale serving. */
static int
cache_is_stale_ok(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall)
{
	return e->value != NULL && e->servable && !cache_jwt_expired(e, wall) &&
	    cache_err_transient(e->last_err) &&
	    now < e->fetched_mono + cache_ttl_ms(c) + (long long)c->set.max_stale_s * 1000;
}

/*
 * The one classification of an entry, for readers, peeks and status: what
 * may be served now and why not. The cache's decisions are a switch on it.
 */
static enum cache_state
cache_classify(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall)
{
	if (cache_is_fresh(c, e, now, wall))
		return CACHE_FRESH;
	if (cache_is_stale_ok(c, e, now, wall))
		return CACHE_STALE;
	if (e->last_err == CFS_ERR_NOT_FOUND)
		return CACHE_NOT_FOUND;
	if (e->last_err != CFS_OK)
		return CACHE_FAILED;
	return e->value != NULL ? CACHE_EXPIRED : CACHE_EMPTY;
}

static void
cache_fill_view(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall, int stale, struct cache_view *view)
{
	long long until = e->fetched_mono + cache_ttl_ms(c);

	if (stale)
		until += (long long)c->set.max_stale_s * 1000;
	view->value = connection_ref(e->value);
	view->generation = e->generation;
	view->changed_ms = e->changed_wall;
	view->stale = stale;
	view->valid_ms = until - now;
	if (e->value->token_exp > 0 && e->value->token_exp * 1000 - wall < view->valid_ms)
		view->valid_ms = e->value->token_exp * 1000 - wall;
	if (view->valid_ms < 0)
		view->valid_ms = 0;
}

static long long
cache_backoff_ms(struct cache *c, unsigned streak, long retry_after)
{
	long long ms = CACHE_BACKOFF_BASE_MS;
	double r;

	while (streak > 1 && ms < CACHE_BACKOFF_MAX_MS) {
		ms *= 2;
		streak--;
	}
	if (ms > CACHE_BACKOFF_MAX_MS)
		ms = CACHE_BACKOFF_MAX_MS;
	/* Jitter in [0.5, 1.5) spreads retries of many daemons and connectors. */
	r = c->hooks.random01 ? c->hooks.random01(c->hooks.arg) :
	    (double)rand_r(&c->seed) / ((double)RAND_MAX + 1.0);
	ms = (long long)((double)ms * (0.5 + r));
	if (retry_after >= 0) {
		long long ra = retry_after > CACHE_RETRY_AFTER_MAX_MS / 1000 ?
		    CACHE_RETRY_AFTER_MAX_MS : (long long)retry_after * 1000;

		if (ra > ms)
			ms = ra;
	}
	return ms;
}

/* Cut every cached access token out of msg (c->lock held). */
static void
cache_redact_tokens_locked(const struct cache *c, char *msg, size_t msgsz)
{
	struct cache_entry *e;
	size_t i;

	for (e = cache_first(c, &i); e != NULL; e = cache_next(c, e, &i))
		if (e->value != NULL && e->value->token_len >= CACHE_REDACT_MIN)
			redact(e->value->token, msg, msgsz);
}

/* kept(): what e serves now, when tell says it moved (c->lock held). */
static void
cache_tell_kept_locked(struct cache *c, struct cache_entry *e, int tell)
{
	if (!tell || c->hooks.kept == NULL)
		return;
	c->hooks.kept(c->hooks.arg, e->name, e->servable ? e->value : NULL, e->generation,
	    e->changed_wall, e->fetched_wall);
}

/* A request for e starts now (single flight: nobody else may start one). */
static void
cache_fetch_begin_locked(struct cache *c, struct cache_entry *e)
{
	e->fetching = 1;
	e->fetch_unknown = !e->known;
	if (e->fetch_unknown)
		c->unknown_in_flight++;
	e->fetch_started_mono = c->hooks.mono_ms(c->hooks.arg);
	e->requests++;
}

/*
 * Run the request cache_fetch_begin_locked() announced. Called and returns
 * with c->lock held; the lock is released during the request. Returns
 * whether the servable value changed.
 */
static int
cache_fetch_run_locked(struct cache *c, struct cache_entry *e)
{
	struct connection *fresh = NULL, *old = NULL;
	struct base44_result res;
	long long now, wall;
	enum cfs_err err;
	int changed = 0;

	pthread_mutex_unlock(&c->lock);
	memset(&res, 0, sizeof(res));
	res.retry_after = -1;
	err = c->hooks.fetch(c->hooks.arg, e->name, &fresh, &res);
	/* The fetch's own frames (and what libraries left in them) are dead now. */
	secret_scrub_stack();
	if (err == CFS_OK && fresh == NULL)
		err = CFS_ERR_MALFORMED;
	pthread_mutex_lock(&c->lock);
	now = c->hooks.mono_ms(c->hooks.arg);
	wall = c->hooks.wall_ms(c->hooks.arg);
	if (err == CFS_OK && fresh->token_exp > 0 && wall >= fresh->token_exp * 1000) {
		err = CFS_ERR_EXPIRED;
		snprintf(res.message, sizeof(res.message), "the API returned a token past its exp");
		connection_unref(&fresh);
	}
	e->fetching = 0;
	if (e->fetch_unknown) {
		c->unknown_in_flight--;
		/*
		 * A name that exists gives its request back: the budget is spent
		 * only by names that turn out not to exist (or while the API
		 * fails), so a script reading a hundred new connectors is never
		 * refused, and a flood of made-up names is.
		 */
		if (err == CFS_OK && c->tokens + 1.0 <= (double)c->set.unknown.burst)
			c->tokens += 1.0;
	}
	e->fetch_unknown = 0;
	e->completions++;
	if (err == CFS_OK) {
		if (e->value == NULL || !connection_same(e->value, fresh)) {
			/* A first value replaces nothing anyone could have cached. */
			changed = e->value != NULL;
			e->generation++;
			/* Strictly increasing, so every change moves st_mtime. */
			e->changed_wall = wall > e->changed_wall ? wall : e->changed_wall + 1;
		}
		old = e->value;
		e->value = fresh;
		e->servable = 1;
		e->exp_announced = 0;
		if (fresh->token_exp > 0)
			pthread_cond_signal(&c->sweep);	/* the sweeper re-plans */
		e->ever_fetched = 1;
		cache_make_known(c, e);
		e->fetched_mono = now;
		e->fetched_wall = wall;
		e->fail_streak = 0;
		e->backoff_until = 0;
		e->negative_until = 0;
		e->last_err = CFS_OK;
	} else if (err == CFS_ERR_ABORTED) {
		/* Shutting down: not a failure of the API, nothing to record. */
	} else {
		/* A server may echo any token it handed out: none reaches a log or status. */
		cache_redact_tokens_locked(c, res.message, sizeof(res.message));
		cache_redact_tokens_locked(c, res.code, sizeof(res.code));
		e->failures++;
		if ((int)err >= 0 && err < CFS_ERR_COUNT)
			e->failures_by[err]++;
		e->last_err = err;
		e->last_status = res.status;
		e->last_error_wall = wall;
		snprintf(e->last_message, sizeof(e->last_message), "%s", res.message);
		if (err == CFS_ERR_NOT_FOUND || err == CFS_ERR_DENIED) {
			/* Not an outage: the connection is gone or refused to us. */
			if (e->value != NULL && e->servable)
				changed = 1;
			e->servable = 0;
			e->fail_streak = 0;
			e->negative_until = now + (long long)c->set.negative_ttl_s * 1000;
		} else if (cache_err_transient(err)) {
			e->fail_streak++;
			e->backoff_until = now + cache_backoff_ms(c, e->fail_streak, res.retry_after);
			if (e->value != NULL && e->servable && !cache_is_stale_ok(c, e, now, wall))
				changed = 1;
		}
		/* A stranger's made-up names get 404s: those would flood the log. */
		(e->known || err != CFS_ERR_NOT_FOUND ? log_warnx : log_debug)("%s: %s (HTTP %ld%s%s)%s%s", e->name,
		    err_str(err), res.status, res.code[0] ? ", " : "", res.code,
		    res.message[0] ? ": " : "", res.message);
	}
	cache_tell_kept_locked(c, e, err == CFS_OK || (changed && !e->servable));
	pthread_cond_broadcast(&c->done);
	if (old != NULL || changed) {
		pthread_mutex_unlock(&c->lock);
		connection_unref(&old);
		if (changed && c->hooks.changed != NULL)
			c->hooks.changed(c->hooks.arg, e->name);
		pthread_mutex_lock(&c->lock);
	}
	return changed;
}

static int
cache_fetch_locked(struct cache *c, struct cache_entry *e)
{
	cache_fetch_begin_locked(c, e);
	return cache_fetch_run_locked(c, e);
}

struct cache_detached {
	struct cache *c;
	struct cache_entry *e;
};

static void *
cache_detached_main(void *arg)
{
	struct cache_detached job = *(struct cache_detached *)arg;
	struct cache *c = job.c;
	struct cache_entry *e = job.e;
	sigset_t all;

	free(arg);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&c->lock);
	(void)cache_fetch_run_locked(c, e);
	e->users--;
	if (--c->detached == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * Start a request for e. With fetch_detached it runs on a thread of its
 * own and the caller waits on c->done like any other reader, so it can
 * stop waiting when interrupted; otherwise (or when no thread can be made)
 * it runs here. Called and returns with c->lock held.
 */
static void
cache_fetch_start_locked(struct cache *c, struct cache_entry *e)
{
	struct cache_detached *job;
	pthread_attr_t attr;
	pthread_t th;
	int rc = -1;

	cache_fetch_begin_locked(c, e);
	if (c->set.fetch_detached && !c->stopping &&
	    (job = malloc(sizeof(*job))) != NULL) {
		job->c = c;
		job->e = e;
		e->users++;
		c->detached++;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&th, &attr, cache_detached_main, job);
		pthread_attr_destroy(&attr);
		if (rc != 0) {
			free(job);
			e->users--;
			c->detached--;
		}
	}
	if (rc != 0)
		(void)cache_fetch_run_locked(c, e);
}

static void
cache_queue_locked(struct cache *c, struct cache_entry *e)
{
	if (e->queued || e->fetching || c->stopping)
		return;
	e->queued = 1;
	e->queue_next = NULL;
	if (c->queue_tail != NULL)
		c->queue_tail->queue_next = e;
	else
		c->queue_head = e;
	c->queue_tail = e;
	pthread_cond_signal(&c->work);
}

static struct cache_entry *
cache_dequeue_locked(struct cache *c)
{
	struct cache_entry *e = c->queue_head;

	if (e != NULL) {
		c->queue_head = e->queue_next;
		if (c->queue_head == NULL)
			c->queue_tail = NULL;
		e->queue_next = NULL;
		e->queued = 0;
	}
	return e;
}

static void
cache_refresh_one_queued(struct cache *c, struct cache_entry *e)
{
	long long now = c->hooks.mono_ms(c->hooks.arg);

	if (!e->fetching && now >= e->backoff_until)
		(void)cache_fetch_locked(c, e);
}

/*
 * Tell changed() about values whose JWT has just expired, so that no cache
 * above this one (the kernel's) keeps serving them. Returns the wall time of
 * the next expiry to wait for, or 0. Called with the lock held.
 */
static long long
cache_expiry_sweep_locked(struct cache *c)
{
	struct name_list expired = NAME_LIST_INIT;
	long long wall = c->hooks.wall_ms(c->hooks.arg), next = 0;
	struct cache_entry *e;
	size_t i;

	for (e = cache_first(c, &i); e != NULL; e = cache_next(c, e, &i)) {
		long long exp;

		if (e->value == NULL || !e->servable || e->value->token_exp <= 0 ||
		    e->exp_announced)
			continue;
		exp = e->value->token_exp * 1000;
		if (exp > wall) {
			if (next == 0 || exp < next)
				next = exp;
			continue;
		}
		e->exp_announced = 1;
		name_list_add(&expired, e->name);
	}
	if (expired.n > 0 && c->hooks.changed != NULL) {
		pthread_mutex_unlock(&c->lock);
		for (i = 0; i < expired.n; i++)
			c->hooks.changed(c->hooks.arg, expired.names[i]);
		pthread_mutex_lock(&c->lock);
	}
	name_list_clear(&expired);
	return next;
}

/* A refresh thread: runs queued refreshes (refresh-ahead, stale retries). */
static void *
cache_refresher(void *arg)
{
	struct cache *c = arg;
	struct cache_entry *e;
	sigset_t all;

	/* Signals belong to the main thread (SIGHUP, SIGTERM). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		e = cache_dequeue_locked(c);
		if (e != NULL)
			cache_refresh_one_queued(c, e);
		else
			pthread_cond_wait(&c->work, &c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/*
 * The expiry sweeper: sleeps until the next JWT exp among the values (at
 * most a minute, and re-plans when a new one arrives), then tells changed()
 * so the kernel stops serving an expired token.
 */
static void *
cache_sweeper(void *arg)
{
	struct cache *c = arg;
	sigset_t all;
	long long next, wait;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&c->lock);
	while (!c->stopping) {
		next = cache_expiry_sweep_locked(c);
		wait = next > 0 ? next - c->hooks.wall_ms(c->hooks.arg) + 5 : 60000;
		cache_wait_until(c, &c->sweep, cache_default_mono_ms(NULL) +
		    (wait < 60000 ? wait : 60000));
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

void
cache_run_pending(struct cache *c)
{
	struct cache_entry *e;

	pthread_mutex_lock(&c->lock);
	while ((e = cache_dequeue_locked(c)) != NULL)
		cache_refresh_one_queued(c, e);
	(void)cache_expiry_sweep_locked(c);
	pthread_mutex_unlock(&c->lock);
}

enum cfs_err
cache_new(const struct cache_settings *set, const struct cache_hooks *hooks,
    struct cache **out)
{
	struct cache *c;
	unsigned i;

	*out = NULL;
	if (hooks->fetch == NULL)
		return CFS_ERR_INVALID;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return CFS_ERR_NO_MEMORY;
	c->set = *set;
	if (c->set.unknown.rate_per_s == 0)
		c->set.unknown.rate_per_s = CACHE_UNKNOWN_RATE;
	if (c->set.unknown.burst == 0)
		c->set.unknown.burst = CACHE_UNKNOWN_BURST;
	if (c->set.unknown.in_flight == 0)
		c->set.unknown.in_flight = CACHE_UNKNOWN_IN_FLIGHT;
	if (c->set.unknown.remembered == 0)
		c->set.unknown.remembered = CACHE_UNKNOWN_REMEMBERED;
	c->hooks = *hooks;
	if (c->hooks.mono_ms == NULL)
		c->hooks.mono_ms = cache_default_mono_ms;
	if (c->hooks.wall_ms == NULL)
		c->hooks.wall_ms = cache_default_wall_ms;
	c->seed = (unsigned int)cache_default_mono_ms(NULL) ^ (unsigned int)getpid();
	c->tokens = (double)c->set.unknown.burst;
	c->tokens_mono = c->hooks.mono_ms(c->hooks.arg);
	pthread_mutex_init(&c->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->done, &ca);
		pthread_cond_init(&c->work, &ca);
		pthread_cond_init(&c->idle, &ca);
		pthread_cond_init(&c->sweep, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (table_init(&c->entries, 64) != 0)
		goto fail;
	if (set->refresh_threads > 0) {
		c->threads = calloc(set->refresh_threads, sizeof(*c->threads));
		if (c->threads == NULL)
			goto fail;
		for (i = 0; i < set->refresh_threads; i++) {
			if (pthread_create(&c->threads[i], NULL, cache_refresher, c) != 0)
				goto fail;
			c->nthreads++;
		}
		if (pthread_create(&c->sweeper, NULL, cache_sweeper, c) != 0)
			goto fail;
		c->sweeper_started = 1;
	}
	*out = c;
	return CFS_OK;
fail:
	cache_free(&c);
	return CFS_ERR_NO_MEMORY;
}

void
cache_abort(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	c->aborted = 1;
	c->stopping = 1;
	pthread_cond_broadcast(&c->done);
	pthread_cond_broadcast(&c->work);
	pthread_cond_broadcast(&c->sweep);
	pthread_mutex_unlock(&c->lock);
}

void
cache_stop(struct cache *c)
{
	size_t i;

	pthread_mutex_lock(&c->lock);
	if (c->stopped) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	c->stopped = 1;
	c->stopping = 1;
	pthread_cond_broadcast(&c->work);
	pthread_cond_broadcast(&c->sweep);
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < c->nthreads; i++)
		pthread_join(c->threads[i], NULL);
	if (c->sweeper_started)
		pthread_join(c->sweeper, NULL);
	/* Detached fetches end within the request timeout (at once if aborted). */
	pthread_mutex_lock(&c->lock);
	while (c->detached > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

void
cache_free(struct cache **cp)
{
	struct cache_entry *e, *next;
	struct cache *c;
	size_t i;

	if (cp == NULL || *cp == NULL)
		return;
	c = *cp;
	*cp = NULL;
	cache_stop(c);
	free(c->threads);
	for (e = cache_first(c, &i); e != NULL; e = next) {
		next = cache_next(c, e, &i);
		connection_unref(&e->value);
		free(e);
	}
	table_release(&c->entries);
	pthread_cond_destroy(&c->done);
	pthread_cond_destroy(&c->work);
	pthread_cond_destroy(&c->idle);
	pthread_cond_destroy(&c->sweep);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* An outcome of our own making, with no request behind it. */
static void
cache_result_plain(enum cfs_err err, struct base44_result *res)
{
	if (res == NULL)
		return;
	memset(res, 0, sizeof(*res));
	res->err = err;
	res->retry_after = -1;
}

static void
cache_result_of(const struct cache_entry *e, struct base44_result *res)
{
	if (res == NULL)
		return;
	memset(res, 0, sizeof(*res));
	res->err = e->last_err;
	res->status = e->last_status;
	res->retry_after = -1;
	snprintf(res->message, sizeof(res->message), "%s", e->last_message);
}

/*
 * A refresh-ahead started within the TTL, still in flight as the TTL ends,
 * replacing a value that was good until then.
 */
static int
cache_ahead_crosses_ttl(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall)
{
	return e->fetching && e->value != NULL && e->servable && e->last_err == CFS_OK &&
	    !cache_jwt_expired(e, wall) &&
	    e->fetch_started_mono < e->fetched_mono + cache_ttl_ms(c) &&
	    now < e->fetched_mono + cache_ttl_ms(c) + (long long)c->set.timeout_s * 1000;
}

/* What a reader gets from the request it waited for (or made). */
static enum cfs_err
cache_outcome_locked(const struct cache *c, const struct cache_entry *e, long long now,
    long long wall, struct cache_view *view)
{
	if (e->last_err == CFS_OK && e->value != NULL && e->servable &&
	    !cache_jwt_expired(e, wall)) {
		/* Just fetched: served even when ttl=0 makes it old at once. */
		cache_fill_view(c, e, now, wall, 0, view);
		return CFS_OK;
	}
	if (cache_is_stale_ok(c, e, now, wall)) {
		cache_fill_view(c, e, now, wall, 1, view);
		return CFS_OK;
	}
	return e->last_err != CFS_OK ? e->last_err : CFS_ERR_NOT_FOUND;
}

static int
cache_cancelled(const int *cancel)
{
	return cancel != NULL && __atomic_load_n(cancel, __ATOMIC_ACQUIRE) != 0;
}

/* An unknown name that was refused before anything was asked costs nothing. */
static void
cache_release_entry_locked(struct cache *c, struct cache_entry *e)
{
	e->users--;
	if (!e->known && e->requests == 0 && cache_evictable(e))
		cache_remove_locked(c, e);
}

/*
 * The end of a reader's call: what res says (the last request's outcome,
 * or only err when the error is our own: the budget, an interrupt, the
 * shutdown, a wait that timed out), the entry given back, the lock released.
 */
static enum cfs_err
cache_finish_locked(struct cache *c, struct cache_entry *e, enum cfs_err err,
    struct base44_result *res)
{
	if (err == CFS_ERR_BUSY || err == CFS_ERR_INTERRUPTED || err == CFS_ERR_ABORTED ||
	    (err == CFS_ERR_TIMEOUT && e->fetching))
		cache_result_plain(err, res);
	else if (err != CFS_OK)
		cache_result_of(e, res);
	cache_release_entry_locked(c, e);
	pthread_mutex_unlock(&c->lock);
	return err;
}

enum cfs_err
cache_get_cancellable(struct cache *c, const char *name, struct cache_view *view,
    struct base44_result *res, const int *cancel)
{
	struct cache_entry *e;
	unsigned long long seen;
	long long now, wall, real_deadline;
	enum cache_state state;
	enum cfs_err err;
	int outcome_ready = 0;

	memset(view, 0, sizeof(*view));
	if (!name_is_connection(name))
		return CFS_ERR_NOT_FOUND;
	pthread_mutex_lock(&c->lock);
	err = cache_entry_for(c, name, &e);
	if (err != CFS_OK) {
		pthread_mutex_unlock(&c->lock);
		return err;
	}
	e->users++;
	/* Waiting uses the real clock: an injected clock does not move by itself. */
	real_deadline = cache_default_mono_ms(NULL) + (long long)c->set.timeout_s * 1000 + 500;
	seen = e->completions;
	for (;;) {
		if (c->aborted) {
			err = CFS_ERR_ABORTED;
			break;
		}
		if (cache_cancelled(cancel)) {
			err = CFS_ERR_INTERRUPTED;
			break;
		}
		now = c->hooks.mono_ms(c->hooks.arg);
		wall = c->hooks.wall_ms(c->hooks.arg);
		state = cache_classify(c, e, now, wall);
		if (state == CACHE_FRESH) {
			if (!outcome_ready)
				e->hits++;	/* served without a request or a wait */
			cache_fill_view(c, e, now, wall, 0, view);
			/* Refresh ahead so a steady reader never waits on a fetch. */
			if (now >= e->fetched_mono + cache_ttl_ms(c) -
			    cache_ttl_ms(c) / CACHE_AHEAD_DIVISOR)
				cache_queue_locked(c, e);
			err = CFS_OK;
			break;
		}
		if (e->fetching) {
			if (!outcome_ready && cache_ahead_crosses_ttl(c, e, now, wall)) {
				/*
				 * A refresh-ahead started within the TTL is still in
				 * flight as the TTL ends: the value it replaces was good
				 * a moment ago, so serve it rather than make a steady
				 * reader wait.
				 */
				cache_fill_view(c, e, now, wall, 1, view);
				err = CFS_OK;
				break;
			}
			if (cache_default_mono_ms(NULL) >= real_deadline) {
				if (state == CACHE_STALE) {
					cache_fill_view(c, e, now, wall, 1, view);
					err = CFS_OK;
				} else {
					err = CFS_ERR_TIMEOUT;
				}
				break;
			}
			cache_wait_until(c, &c->done, real_deadline);
			outcome_ready = 1;
			continue;
		}
		if (outcome_ready && e->completions != seen) {
			/* The request we waited for (or made) is the answer. */
			err = cache_outcome_locked(c, e, now, wall, view);
			break;
		}
		switch (state) {
		case CACHE_STALE:
			/* Refreshes are failing: serve the last value at once, retry behind. */
			cache_fill_view(c, e, now, wall, 1, view);
			if (now >= e->backoff_until)
				cache_queue_locked(c, e);
			err = CFS_OK;
			break;
		case CACHE_NOT_FOUND:
		case CACHE_FAILED:
			/* A remembered 404 (or 401/403), or a backoff: no request yet. */
			err = now < e->negative_until || now < e->backoff_until ?
			    e->last_err : CFS_OK;
			break;
		default:
			err = CFS_OK;
			break;
		}
		if (state == CACHE_STALE || err != CFS_OK)
			break;
		/* Nothing servable and nothing holding us back: ask. */
		if (!e->known && !cache_unknown_admit_locked(c, now)) {
			err = CFS_ERR_BUSY;
			break;
		}
		seen = e->completions;
		outcome_ready = 1;
		cache_fetch_start_locked(c, e);
	}
	return cache_finish_locked(c, e, err, res);
}

enum cfs_err
cache_get(struct cache *c, const char *name, struct cache_view *view,
    struct base44_result *res)
{
	return cache_get_cancellable(c, name, view, res, NULL);
}

void
cache_wake(struct cache *c)
{
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

enum cfs_err
cache_peek(struct cache *c, const char *name, struct cache_view *view)
{
	struct cache_entry *e;
	long long now, wall;
	enum cfs_err err = CFS_ERR_NOT_FOUND;

	memset(view, 0, sizeof(*view));
	pthread_mutex_lock(&c->lock);
	e = cache_find(c, name);
	if (e != NULL) {
		now = c->hooks.mono_ms(c->hooks.arg);
		wall = c->hooks.wall_ms(c->hooks.arg);
		switch (cache_classify(c, e, now, wall)) {
		case CACHE_FRESH:
			cache_fill_view(c, e, now, wall, 0, view);
			err = CFS_OK;
			break;
		case CACHE_STALE:
			cache_fill_view(c, e, now, wall, 1, view);
			err = CFS_OK;
			break;
		default:
			err = e->last_err != CFS_OK ? e->last_err : CFS_ERR_NOT_FOUND;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return err;
}

enum cfs_err
cache_check(struct cache *c, const char *name)
{
	struct cache_entry *e;
	enum cfs_err err = CFS_ERR_NOT_FOUND;

	pthread_mutex_lock(&c->lock);
	e = cache_find(c, name);
	/*
	 * Not cache_classify(): this asks whether serving has ended, whatever
	 * the TTL (kernel caches outlive it by design). Dropped by SIGHUP (no
	 * error since) is not ended either: it is being re-fetched.
	 */
	if (e != NULL && e->value != NULL && (e->servable || e->last_err == CFS_OK))
		err = cache_jwt_expired(e, c->hooks.wall_ms(c->hooks.arg)) ?
		    CFS_ERR_EXPIRED : CFS_OK;
	else if (e != NULL && e->last_err != CFS_OK)
		err = e->last_err;
	pthread_mutex_unlock(&c->lock);
	return err;
}

void
cache_view_release(struct cache_view *view)
{
	if (view != NULL)
		connection_unref(&view->value);
}

/*
 * One forced refresh of e, held by the caller (users). Its answer comes
 * from a request that started with it: one already in flight is joined
 * only if it started at most CACHE_REFRESH_JOIN_MS before (readers of the
 * same connector at the same moment share one request); an older one may
 * predate what the caller wants to see (a rotation it knows of), so it is
 * waited out and a new one made. No request within a backoff or a
 * remembered 404, or past the unknown-name budget.
 */
static enum cfs_err
cache_refresh_entry_locked(struct cache *c, struct cache_entry *e, const int *cancel)
{
	long long real_deadline = cache_default_mono_ms(NULL) +
	    2 * (long long)c->set.timeout_s * 1000 + 500;
	long long asked = c->hooks.mono_ms(c->hooks.arg), now;
	unsigned long long seen = 0;
	int ours = 0;	/* a request that started with this refresh is in flight */

	for (;;) {
		if (c->aborted)
			return CFS_ERR_ABORTED;
		if (ours && e->completions != seen)
			return e->last_err;
		if (cache_cancelled(cancel))
			return CFS_ERR_INTERRUPTED;
		if (!ours && e->fetching &&
		    e->fetch_started_mono + CACHE_REFRESH_JOIN_MS >= asked) {
			seen = e->completions;
			ours = 1;
			continue;
		}
		if (!ours && !e->fetching) {
			now = c->hooks.mono_ms(c->hooks.arg);
			if (now < e->negative_until || now < e->backoff_until)
				return e->last_err != CFS_OK ? e->last_err : CFS_ERR_NOT_FOUND;
			if (!e->known && !cache_unknown_admit_locked(c, now))
				return CFS_ERR_BUSY;
			seen = e->completions;
			ours = 1;
			cache_fetch_start_locked(c, e);
			continue;
		}
		if (cache_default_mono_ms(NULL) >= real_deadline)
			return CFS_ERR_TIMEOUT;
		cache_wait_until(c, &c->done, real_deadline);
	}
}

enum cfs_err
cache_refresh(struct cache *c, const char *name, unsigned long long *generation,
    struct base44_result *res, const int *cancel)
{
	struct cache_entry *e;
	enum cfs_err err;

	cache_result_plain(CFS_OK, res);
	if (generation != NULL)
		*generation = 0;
	if (!name_is_connection(name))
		return CFS_ERR_NOT_FOUND;
	pthread_mutex_lock(&c->lock);
	err = cache_entry_for(c, name, &e);
	if (err != CFS_OK) {
		pthread_mutex_unlock(&c->lock);
		cache_result_plain(err, res);
		return err;
	}
	e->users++;
	err = cache_refresh_entry_locked(c, e, cancel);
	if (err == CFS_OK && generation != NULL)
		*generation = e->generation;
	return cache_finish_locked(c, e, err, res);
}

enum cfs_err
cache_refresh_all(struct cache *c,
    void (*fn)(const char *, enum cfs_err, unsigned long long, const struct base44_result *,
    void *), void *arg, const int *cancel)
{
	struct name_list l = NAME_LIST_INIT;
	struct base44_result res;
	struct cache_entry *e;
	unsigned long long generation;
	enum cfs_err err = CFS_OK, one;
	size_t i;

	/* Copy the names: the lock is dropped during each request. */
	pthread_mutex_lock(&c->lock);
	for (e = cache_first(c, &i); e != NULL; e = cache_next(c, e, &i))
			if (e->ever_fetched)
				name_list_add(&l, e->name);
	pthread_mutex_unlock(&c->lock);
	if (l.oom) {
		name_list_clear(&l);
		return CFS_ERR_NO_MEMORY;
	}
	name_list_sort_unique(&l);
	for (i = 0; i < l.n; i++) {
		one = cache_refresh(c, l.names[i], &generation, &res, cancel);
		if (fn != NULL)
			fn(l.names[i], one, generation, &res, arg);
		if (one != CFS_OK && err == CFS_OK)
			err = one;
		if (one == CFS_ERR_INTERRUPTED || one == CFS_ERR_ABORTED)
			break;
	}
	name_list_clear(&l);
	return err;
}

void
cache_drop_all(struct cache *c)
{
	struct name_list dropped = NAME_LIST_INIT;
	struct cache_entry *e;
	size_t i;

	pthread_mutex_lock(&c->lock);
	for (e = cache_first(c, &i); e != NULL; e = cache_next(c, e, &i)) {
		/*
		 * Keep the old value only to tell whether the next one differs.
		 * A remembered 404 or 401/403 is announced too: the kernel keeps
		 * those names as absent.
		 */
		int served = e->value != NULL && e->servable;

		if (served || e->negative_until != 0)
			name_list_add(&dropped, e->name);
		e->servable = 0;
		cache_tell_kept_locked(c, e, served);
		e->negative_until = 0;
		e->backoff_until = 0;
		e->fail_streak = 0;
	}
	pthread_mutex_unlock(&c->lock);
	for (i = 0; i < dropped.n && c->hooks.changed != NULL; i++)
		c->hooks.changed(c->hooks.arg, dropped.names[i]);
	name_list_clear(&dropped);
}

const char *
cache_state_name(enum cache_state s)
{
	static const char *const names[] = {
		[CACHE_EMPTY] = "empty", [CACHE_FRESH] = "fresh",
		[CACHE_EXPIRED] = "expired", [CACHE_STALE] = "stale",
		[CACHE_FAILED] = "failed", [CACHE_NOT_FOUND] = "not_found",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void
cache_foreach(struct cache *c, void (*fn)(const struct cache_stat *, void *), void *arg)
{
	struct cache_entry *e;
	struct cache_stat st;
	long long now, wall;
	size_t i;

	pthread_mutex_lock(&c->lock);
	now = c->hooks.mono_ms(c->hooks.arg);
	wall = c->hooks.wall_ms(c->hooks.arg);
	for (e = cache_first(c, &i); e != NULL; e = cache_next(c, e, &i)) {
		if (!cache_reportable(e))
			continue;
		memset(&st, 0, sizeof(st));
		st.name = e->name;
		st.state = cache_classify(c, e, now, wall);
		st.ever_fetched = e->ever_fetched;
		st.fetching = e->fetching;
		st.fetched_at_ms = e->ever_fetched ? e->fetched_wall : 0;
		st.changed_at_ms = e->changed_wall;
		st.generation = e->generation;
		st.requests = e->requests;
		st.failures = e->failures;
		memcpy(st.failures_by, e->failures_by, sizeof(st.failures_by));
		st.hits = e->hits;
		st.last_err = e->last_err;
		st.last_status = e->last_status;
		st.last_message = e->last_message;
		st.last_error_at_ms = e->last_error_wall;
		st.backoff_left_ms = e->backoff_until > now ? e->backoff_until - now : 0;
		st.token_exp = e->value != NULL ? e->value->token_exp : 0;
		fn(&st, arg);
	}
	pthread_mutex_unlock(&c->lock);
}

/* The entry of a name now known to exist, made if need be (c->lock held). */
static enum cfs_err
cache_known_entry_locked(struct cache *c, const char *name, struct cache_entry **out)
{
	*out = cache_find(c, name);
	if (*out == NULL)
		return cache_add_locked(c, name, 1, out);
	cache_make_known(c, *out);
	return CFS_OK;
}

enum cfs_err
cache_declare(struct cache *c, const char *name)
{
	struct cache_entry *e;
	enum cfs_err err;

	if (!name_is_connection(name))
		return CFS_ERR_INVALID;
	pthread_mutex_lock(&c->lock);
	err = cache_known_entry_locked(c, name, &e);
	pthread_mutex_unlock(&c->lock);
	return err;
}

enum cfs_err
cache_restore(struct cache *c, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms)
{
	struct cache_entry *e;
	enum cfs_err err;
	long long now, wall, age;

	if (!name_is_connection(name))
		return CFS_ERR_INVALID;
	pthread_mutex_lock(&c->lock);
	err = cache_known_entry_locked(c, name, &e);
	if (err != CFS_OK || e->fetching)
		goto out;
	now = c->hooks.mono_ms(c->hooks.arg);
	wall = c->hooks.wall_ms(c->hooks.arg);
	/* Its age goes on from when it was fetched; a clock set back counts none. */
	age = wall > fetched_wall_ms ? wall - fetched_wall_ms : 0;
	if (age > now)
		age = now;
	e->generation = generation;
	e->changed_wall = changed_ms;
	if (value != NULL) {
		connection_unref(&e->value);
		e->value = connection_ref(value);
		e->servable = 1;
		e->ever_fetched = 1;
		e->fetched_mono = now - age;
		e->fetched_wall = fetched_wall_ms;
		if (value->token_exp > 0)
			pthread_cond_signal(&c->sweep);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return err;
}

void
cache_unknown_stats(struct cache *c, struct cache_unknown_stat *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->unknown_stat;
	out->remembered = c->nunknown;
	pthread_mutex_unlock(&c->lock);
}

int
cache_is_known(struct cache *c, const char *name)
{
	struct cache_entry *e;
	int known;

	pthread_mutex_lock(&c->lock);
	e = cache_find(c, name);
	known = e != NULL && e->known;
	pthread_mutex_unlock(&c->lock);
	return known;
}
