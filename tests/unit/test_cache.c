/*
 * test_cache.c: the refresh rules of README "Caching and refreshing"
 * (cache.h), driven through struct cache_hooks: a fake clock that moves
 * only when a test says so, and a fake fetch that answers what the test
 * scripted and counts calls. Nothing sleeps; the single-flight tests use
 * real threads and wait on conditions, bounded by a few seconds.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "decode.h"
#include "err.h"
#include "names.h"
#include "unit.h"

#define T0	1000000LL		/* fake monotonic start, ms */
#define WALL0	1800000000000LL		/* fake Unix time, ms (2027) */
#define TTL_MS	60000LL
#define STALE_MS 300000LL
#define NEG_MS	10000LL

struct fake {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long long mono, wall;
	double rnd;
	/* The answer the next fetch gives. */
	enum cfs_err err;
	long status, retry_after;
	char token[512];
	char config[256];	/* JSON object, or "" for null */
	char message[200];
	int no_value;		/* CFS_OK with *out left NULL */
	/* What happened. */
	int fetches;
	char fetched_name[NAME_CONNECTOR_MAX + 1];
	int changed;
	char changed_name[NAME_CONNECTOR_MAX + 1];
	/* kept(): how often, and the last value (its token; "" for none). */
	int kept;
	char kept_token[512];
	unsigned long long kept_generation;
	long long kept_fetched;
	/* Single flight: a blocking fetch and the threads that saw it. */
	int block;
	int count_threads;
	int threads_seen;
	int want_threads;
	int threads_at_release;
	int in_fetch;
	int release;
};

static struct fake F;
static struct cache *C;
static _Thread_local int fake_thread_counted;

static enum cfs_err
fake_fetch(void *arg, const char *name, struct connection **out, struct base44_result *res)
{
	struct fake *f = arg;
	char body[1024], why[160];
	enum cfs_err err;
	int no_value;
	struct timespec deadline;

	pthread_mutex_lock(&f->lock);
	f->fetches++;
	snprintf(f->fetched_name, sizeof(f->fetched_name), "%s", name);
	f->in_fetch = 1;
	pthread_cond_broadcast(&f->cond);
	if (f->block) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 5;
		while (f->threads_seen < f->want_threads && !f->release &&
		    pthread_cond_timedwait(&f->cond, &f->lock, &deadline) == 0)
			continue;
		f->threads_at_release = f->threads_seen;
	}
	f->in_fetch = 0;
	err = f->err;
	no_value = f->no_value;
	res->status = f->status;
	res->retry_after = f->retry_after;
	snprintf(res->message, sizeof(res->message), "%s", f->message);
	snprintf(body, sizeof(body), "{\"access_token\":\"%s\",\"connection_config\":%s}",
	    f->token, f->config[0] ? f->config : "null");
	pthread_mutex_unlock(&f->lock);
	if (err != CFS_OK || no_value)
		return err;
	return decode_connection(body, strlen(body), name, out, why, sizeof(why));
}

static void
fake_changed(void *arg, const char *name)
{
	struct fake *f = arg;

	pthread_mutex_lock(&f->lock);
	f->changed++;
	snprintf(f->changed_name, sizeof(f->changed_name), "%s", name);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

static void
fake_kept(void *arg, const char *name, struct connection *value,
    unsigned long long generation, long long changed_ms, long long fetched_wall_ms)
{
	struct fake *f = arg;

	(void)name;
	(void)changed_ms;
	pthread_mutex_lock(&f->lock);
	f->kept++;
	snprintf(f->kept_token, sizeof(f->kept_token), "%s", value != NULL ? value->token : "");
	f->kept_generation = generation;
	f->kept_fetched = fetched_wall_ms;
	pthread_mutex_unlock(&f->lock);
}

static long long
fake_mono(void *arg)
{
	struct fake *f = arg;
	long long v;

	pthread_mutex_lock(&f->lock);
	/* Every reader looks at the clock before it decides to wait or fetch. */
	if (f->count_threads && !fake_thread_counted) {
		fake_thread_counted = 1;
		f->threads_seen++;
		pthread_cond_broadcast(&f->cond);
	}
	v = f->mono;
	pthread_mutex_unlock(&f->lock);
	return v;
}

static long long
fake_wall(void *arg)
{
	struct fake *f = arg;
	long long v;

	pthread_mutex_lock(&f->lock);
	v = f->wall;
	pthread_mutex_unlock(&f->lock);
	return v;
}

static double
fake_random01(void *arg)
{
	struct fake *f = arg;
	double v;

	pthread_mutex_lock(&f->lock);
	v = f->rnd;
	pthread_mutex_unlock(&f->lock);
	return v;
}

static void
answer_ok(const char *token, const char *config)
{
	pthread_mutex_lock(&F.lock);
	F.err = CFS_OK;
	F.status = 200;
	F.retry_after = -1;
	F.no_value = 0;
	snprintf(F.token, sizeof(F.token), "%s", token);
	snprintf(F.config, sizeof(F.config), "%s", config ? config : "");
	F.message[0] = '\0';
	pthread_mutex_unlock(&F.lock);
}

static void
answer_err(enum cfs_err err, long status, long retry_after, const char *message)
{
	pthread_mutex_lock(&F.lock);
	F.err = err;
	F.status = status;
	F.retry_after = retry_after;
	snprintf(F.message, sizeof(F.message), "%s", message);
	pthread_mutex_unlock(&F.lock);
}

/* Next fetch answers a JWT access token whose exp claim is exp_s. */
static void
answer_jwt(long long exp_s)
{
	char claims[64], jwt[256];

	snprintf(claims, sizeof(claims), "{\"sub\":\"u\",\"exp\":%lld}", exp_s);
	ck_assert_int_gt(unit_jwt(jwt, sizeof(jwt), claims), 0);
	answer_ok(jwt, NULL);
}

static void
advance(long long ms)
{
	pthread_mutex_lock(&F.lock);
	F.mono += ms;
	F.wall += ms;
	pthread_mutex_unlock(&F.lock);
}

static int
fetches(void)
{
	int n;

	pthread_mutex_lock(&F.lock);
	n = F.fetches;
	pthread_mutex_unlock(&F.lock);
	return n;
}

static int
changes(void)
{
	int n;

	pthread_mutex_lock(&F.lock);
	n = F.changed;
	pthread_mutex_unlock(&F.lock);
	return n;
}

static struct cache_settings
default_settings(void)
{
	struct cache_settings s = {
		.ttl_s = 60,
		.max_stale_s = 300,
		.negative_ttl_s = 10,
		.timeout_s = 5,
		.refresh_threads = 0,
		/* No budget to speak of: the budget has tests of its own. */
		.unknown = { 1000000, 1000000, 1000000, 1000000 },
	};

	return s;
}

static void
cache_start(const struct cache_settings *set)
{
	struct cache_hooks hooks = {
		.fetch = fake_fetch,
		.changed = fake_changed,
		.kept = fake_kept,
		.mono_ms = fake_mono,
		.wall_ms = fake_wall,
		.random01 = fake_random01,
		.arg = &F,
	};

	cache_free(&C);
	ck_assert_int_eq(cache_new(set, &hooks, &C), CFS_OK);
	ck_assert_ptr_nonnull(C);
}

static void
cache_setup(void)
{
	struct cache_settings set = default_settings();

	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.lock, NULL);
	pthread_cond_init(&F.cond, NULL);
	F.mono = T0;
	F.wall = WALL0;
	F.rnd = 0.0;	/* jitter factor 0.5: the first backoff is 500 ms */
	answer_ok("tok-1", NULL);
	C = NULL;
	cache_start(&set);
	unit_log_reset();
}

static void
cache_teardown(void)
{
	cache_free(&C);
	ck_assert_ptr_null(C);
	pthread_cond_destroy(&F.cond);
	pthread_mutex_destroy(&F.lock);
}

/* cache_get with the invariants every call must keep. */
static enum cfs_err
get(const char *name, struct cache_view *view, struct base44_result *res)
{
	enum cfs_err err = cache_get(C, name, view, res);

	if (err == CFS_OK)
		ck_assert_msg(view->value != NULL, "%s: CFS_OK without a value", name);
	else
		ck_assert_msg(view->value == NULL, "%s: %s with a value", name, err_name(err));
	ck_assert_int_ge(view->valid_ms, 0);
	return err;
}

/* The token of a successful get, released at once. */
static void
assert_get_token(const char *name, const char *token)
{
	struct cache_view v;
	enum cfs_err err = get(name, &v, NULL);

	ck_assert_msg(err == CFS_OK, "%s: %s", name, err_name(err));
	ck_assert_str_eq(v.value->token, token);
	cache_view_release(&v);
}

static enum cfs_err
get_err(const char *name)
{
	struct cache_view v;
	enum cfs_err err = get(name, &v, NULL);

	cache_view_release(&v);
	return err;
}

/* Basic serving and TTL */

START_TEST(test_cache_first_get_fetches_once)
{
	struct cache_view v;

	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_str_eq(F.fetched_name, "slack");
	ck_assert_str_eq(v.value->token, "tok-1");
	ck_assert_uint_eq(v.generation, 1);
	ck_assert_int_eq(v.stale, 0);
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	ck_assert_int_eq(v.changed_ms, WALL0);
	/* A first value replaces nothing a kernel could have cached. */
	ck_assert_int_eq(changes(), 0);
	ck_assert_str_eq(F.changed_name, "");
	cache_view_release(&v);
	ck_assert_ptr_null(v.value);
}
END_TEST

START_TEST(test_cache_serves_second_read_without_request)
{
	struct cache_view a, b;

	ck_assert_int_eq(get("slack", &a, NULL), CFS_OK);
	advance(30000);
	ck_assert_int_eq(get("slack", &b, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_ptr_eq(a.value, b.value);
	ck_assert_int_eq(b.valid_ms, TTL_MS - 30000);
	cache_view_release(&b);
	advance(TTL_MS - 30000 - 1);
	ck_assert_int_eq(get("slack", &b, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_int_eq(b.valid_ms, 1);
	cache_view_release(&b);
	cache_view_release(&a);
}
END_TEST

START_TEST(test_cache_fetches_again_once_ttl_has_passed)
{
	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	answer_ok("tok-2", NULL);
	assert_get_token("slack", "tok-2");
	ck_assert_int_eq(fetches(), 2);
	assert_get_token("slack", "tok-2");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_connectors_are_cached_separately)
{
	assert_get_token("slack", "tok-1");
	answer_ok("tok-gh", NULL);
	assert_get_token("github", "tok-gh");
	ck_assert_int_eq(fetches(), 2);
	ck_assert_str_eq(F.fetched_name, "github");
	assert_get_token("slack", "tok-1");
	assert_get_token("github", "tok-gh");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_view_outlives_replacement)
{
	struct cache_view old;

	ck_assert_int_eq(get("slack", &old, NULL), CFS_OK);
	advance(TTL_MS);
	answer_ok("tok-2", NULL);
	assert_get_token("slack", "tok-2");
	/* The reader holding the old value still reads it whole (ASan watches). */
	ck_assert_str_eq(old.value->token, "tok-1");
	ck_assert_str_eq(old.value->json_doc,
	    "{\"accessToken\":\"tok-1\",\"connectionConfig\":null}\n");
	cache_view_release(&old);
}
END_TEST

/* Changes */

START_TEST(test_cache_changed_token_bumps_generation_and_calls_changed)
{
	struct cache_view v;

	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(changes(), 0);
	advance(TTL_MS);
	answer_ok("tok-2", NULL);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_uint_eq(v.generation, 2);
	ck_assert_int_eq(v.changed_ms, WALL0 + TTL_MS);
	ck_assert_int_eq(changes(), 1);
	ck_assert_str_eq(F.changed_name, "slack");
	cache_view_release(&v);
}
END_TEST

START_TEST(test_cache_changed_config_bumps_generation)
{
	struct cache_view v;

	answer_ok("t", "{\"subdomain\":\"contoso\"}");
	assert_get_token("share_point", "t");
	advance(TTL_MS);
	answer_ok("t", "{\"subdomain\":\"fabrikam\"}");
	ck_assert_int_eq(get("share_point", &v, NULL), CFS_OK);
	ck_assert_uint_eq(v.generation, 2);
	ck_assert_int_eq(changes(), 1);
	cache_view_release(&v);
}
END_TEST

START_TEST(test_cache_same_token_keeps_generation_and_mtime)
{
	struct cache_view v;

	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 2);
	ck_assert_uint_eq(v.generation, 1);
	ck_assert_int_eq(v.changed_ms, WALL0);
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	ck_assert_int_eq(changes(), 0);
	cache_view_release(&v);
}
END_TEST

START_TEST(test_cache_changed_ms_moves_even_when_wall_clock_does_not)
{
	struct cache_view v;

	assert_get_token("slack", "tok-1");
	/* Only the monotonic clock moves; then the wall clock steps back. */
	F.mono += TTL_MS;
	answer_ok("tok-2", NULL);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.changed_ms, WALL0 + 1);
	cache_view_release(&v);
	F.mono += TTL_MS;
	F.wall -= 5000;
	answer_ok("tok-3", NULL);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.changed_ms, WALL0 + 2);
	ck_assert_uint_eq(v.generation, 3);
	cache_view_release(&v);
}
END_TEST

/* Negative cache, 401/403 */

START_TEST(test_cache_remembers_404_for_negative_ttl)
{
	struct cache_view v;
	struct base44_result res;

	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "Connector connection not found");
	ck_assert_int_eq(get("notion", &v, &res), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(res.err, CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(res.status, 404);
	ck_assert_str_eq(res.message, "Connector connection not found");
	ck_assert_int_eq(fetches(), 1);
	advance(NEG_MS - 1);
	ck_assert_int_eq(get("notion", &v, &res), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(res.status, 404);
	ck_assert_int_eq(fetches(), 1);
	advance(1);
	answer_ok("tok-n", NULL);
	assert_get_token("notion", "tok-n");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_negative_ttl_zero_asks_every_time)
{
	struct cache_settings set = default_settings();

	set.negative_ttl_s = 0;
	cache_start(&set);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_denied_ends_serving_cached_value_at_once)
{
	struct cache_view v;
	struct base44_result res;

	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(changes(), 0);
	answer_err(CFS_ERR_DENIED, 403, -1, "This endpoint is only accessible to service tokens");
	ck_assert_int_eq(cache_refresh(C, "slack", NULL, &res, NULL), CFS_ERR_DENIED);
	ck_assert_int_eq(res.status, 403);
	ck_assert_int_eq(changes(), 1);
	/* Still inside the TTL, but no longer served, and no new request. */
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_DENIED);
	ck_assert_int_eq(res.status, 403);
	ck_assert_int_eq(fetches(), 2);
	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_ERR_DENIED);
	ck_assert_ptr_null(v.value);
}
END_TEST

START_TEST(test_cache_4xx_after_ttl_is_not_served_stale)
{
	static const struct {
		enum cfs_err err;
		long status;
	} cases[] = {
		{ CFS_ERR_DENIED, 401 },
		{ CFS_ERR_DENIED, 403 },
		{ CFS_ERR_NOT_FOUND, 404 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "conn%zu", i);
		answer_ok("tok-1", NULL);
		assert_get_token(name, "tok-1");
		advance(TTL_MS);
		answer_err(cases[i].err, cases[i].status, -1, "");
		ck_assert_msg(get_err(name) == cases[i].err, "HTTP %ld", cases[i].status);
	}
}
END_TEST

START_TEST(test_cache_denied_then_allowed_serves_again)
{
	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	answer_err(CFS_ERR_DENIED, 401, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_DENIED);
	advance(NEG_MS);
	answer_ok("tok-1", NULL);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

/* Stale on error, backoff, Retry-After */

START_TEST(test_cache_serves_stale_value_on_transient_error_within_max_stale)
{
	static const struct {
		enum cfs_err err;
		long status;
	} cases[] = {
		{ CFS_ERR_SERVER, 503 },
		{ CFS_ERR_SERVER, 500 },
		{ CFS_ERR_RATE_LIMITED, 429 },
		{ CFS_ERR_TIMEOUT, 0 },
		{ CFS_ERR_REFUSED, 0 },
		{ CFS_ERR_UNREACHABLE, 0 },
		{ CFS_ERR_TLS, 0 },
		{ CFS_ERR_TRANSPORT, 0 },
		{ CFS_ERR_MALFORMED, 200 },
		{ CFS_ERR_TOO_BIG, 200 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cache_view v;
		char name[16];
		int before;

		snprintf(name, sizeof(name), "conn%zu", i);
		answer_ok("tok-1", NULL);
		assert_get_token(name, "tok-1");
		advance(TTL_MS);
		answer_err(cases[i].err, cases[i].status, -1, "upstream trouble");
		before = fetches();
		ck_assert_msg(get(name, &v, NULL) == CFS_OK, "%s: not served stale",
		    err_name(cases[i].err));
		ck_assert_int_eq(fetches(), before + 1);
		ck_assert_int_eq(v.stale, 1);
		ck_assert_str_eq(v.value->token, "tok-1");
		ck_assert_uint_eq(v.generation, 1);
		ck_assert_int_eq(v.valid_ms, STALE_MS);
		cache_view_release(&v);
		/* During the backoff the stale value is served with no request. */
		ck_assert_int_eq(get(name, &v, NULL), CFS_OK);
		ck_assert_int_eq(v.stale, 1);
		ck_assert_int_eq(fetches(), before + 1);
		cache_view_release(&v);
	}
}
END_TEST

START_TEST(test_cache_fails_after_ttl_plus_max_stale)
{
	struct cache_view v;
	struct base44_result res;

	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 503, -1, "upstream down");
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 1);
	cache_view_release(&v);
	/* The last millisecond of max_stale: still served, the retry runs behind. */
	advance(STALE_MS - 1);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 1);
	ck_assert_int_eq(v.valid_ms, 1);
	cache_view_release(&v);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 3);
	/* ttl + max_stale reached: the error, without hammering the API. */
	advance(1);
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_SERVER);
	ck_assert_int_eq(res.status, 503);
	ck_assert_str_eq(res.message, "upstream down");
	ck_assert_int_eq(fetches(), 3);
	advance(1000);
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_SERVER);
	ck_assert_int_eq(fetches(), 4);
}
END_TEST

START_TEST(test_cache_stale_value_is_served_at_once_while_retry_runs_behind)
{
	struct cache_view v;

	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 503, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(fetches(), 2);
	advance(500);	/* backoff over */
	answer_ok("tok-2", NULL);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 1);
	ck_assert_str_eq(v.value->token, "tok-1");
	cache_view_release(&v);
	ck_assert_int_eq(fetches(), 2);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 3);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 0);
	ck_assert_str_eq(v.value->token, "tok-2");
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	cache_view_release(&v);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

START_TEST(test_cache_backs_off_after_server_error_with_nothing_cached)
{
	struct cache_view v;
	struct base44_result res;

	answer_err(CFS_ERR_SERVER, 503, -1, "upstream down");
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_SERVER);
	ck_assert_int_eq(res.status, 503);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_SERVER);
	ck_assert_int_eq(res.status, 503);
	ck_assert_str_eq(res.message, "upstream down");
	ck_assert_int_eq(fetches(), 1);
	advance(499);
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
	ck_assert_int_eq(fetches(), 1);
	advance(1);
	answer_ok("tok-1", NULL);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_backoff_doubles_up_to_a_cap)
{
	/* Base 1 s doubling to 60 s, times the jitter factor 0.5 (random01 = 0). */
	static const long long waits[] = { 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000 };
	size_t i;

	answer_err(CFS_ERR_SERVER, 502, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
	for (i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		int before = fetches();

		advance(waits[i] - 1);
		ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
		ck_assert_msg(fetches() == before, "failure %zu: asked again before %lld ms",
		    i + 1, waits[i]);
		advance(1);
		ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
		ck_assert_msg(fetches() == before + 1, "failure %zu: not asked after %lld ms",
		    i + 1, waits[i]);
	}
}
END_TEST

START_TEST(test_cache_backoff_jitter_is_half_to_one_and_a_half)
{
	static const struct {
		double rnd;
		long long wait;
	} cases[] = {
		{ 0.0, 500 },
		{ 0.5, 1000 },
		{ 0.75, 1250 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[16];
		int before;

		snprintf(name, sizeof(name), "conn%zu", i);
		F.rnd = cases[i].rnd;
		answer_err(CFS_ERR_SERVER, 500, -1, "");
		ck_assert_int_eq(get_err(name), CFS_ERR_SERVER);
		before = fetches();
		advance(cases[i].wait - 1);
		ck_assert_int_eq(get_err(name), CFS_ERR_SERVER);
		ck_assert_msg(fetches() == before, "random01 %g: asked too early", cases[i].rnd);
		advance(1);
		ck_assert_int_eq(get_err(name), CFS_ERR_SERVER);
		ck_assert_msg(fetches() == before + 1, "random01 %g: not asked", cases[i].rnd);
	}
}
END_TEST

START_TEST(test_cache_honours_retry_after)
{
	struct base44_result res;
	struct cache_view v;

	answer_err(CFS_ERR_RATE_LIMITED, 429, 30, "slow down");
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(res.status, 429);
	advance(29999);
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(fetches(), 1);
	advance(1);
	answer_ok("tok-1", NULL);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_retry_after_is_capped_at_an_hour)
{
	answer_err(CFS_ERR_RATE_LIMITED, 429, 10 * 86400, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_RATE_LIMITED);
	advance(3600 * 1000LL - 1);
	ck_assert_int_eq(get_err("slack"), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(fetches(), 1);
	advance(1);
	ck_assert_int_eq(get_err("slack"), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_success_resets_backoff)
{
	answer_err(CFS_ERR_SERVER, 500, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
	advance(500);
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);	/* streak 2: 1 s */
	advance(1000);
	answer_ok("tok-1", NULL);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 3);
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 500, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_OK);	/* stale, streak 1 again */
	ck_assert_int_eq(fetches(), 4);
	/* 500 ms, not 2 s: no retry queued before, one after. */
	advance(499);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 4);
	advance(1);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 5);
}
END_TEST

START_TEST(test_cache_failed_fetch_logs_one_line_naming_connector_without_token)
{
	const char *line;

	answer_ok("xoxb-SECRET-TOKEN-42", NULL);
	assert_get_token("slack", "xoxb-SECRET-TOKEN-42");
	ck_assert_int_eq(unit_log_count(), 0);
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 503, -1, "upstream down");
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(unit_log_count(), 1);
	line = unit_log_line(0);
	ck_assert_msg(strstr(line, "slack") != NULL, "log line: %s", line);
	ck_assert_msg(strstr(line, "503") != NULL, "log line: %s", line);
	ck_assert_msg(strstr(line, "upstream down") != NULL, "log line: %s", line);
	ck_assert_msg(strstr(line, "SECRET") == NULL, "log line shows the token: %s", line);
	/* Reads served from the backoff window log nothing more. */
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(unit_log_count(), 1);
	/* A 404 is one line too, however often it is read back from the cache. */
	ck_assert_int_eq(cache_declare(C, "github"), CFS_OK);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "Connector connection not found");
	ck_assert_int_eq(get_err("github"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(get_err("github"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(unit_log_count(), 2);
	ck_assert_ptr_nonnull(strstr(unit_log_line(1), "github"));
	ck_assert_ptr_nonnull(strstr(unit_log_line(1), "404"));
}
END_TEST

/* JWT exp */

START_TEST(test_cache_never_serves_expired_jwt)
{
	struct cache_view v;
	struct base44_result res;

	answer_jwt(1700000000);	/* before WALL0 */
	ck_assert_int_eq(get("slack", &v, &res), CFS_ERR_EXPIRED);
	ck_assert_int_eq(res.err, CFS_ERR_EXPIRED);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_ERR_EXPIRED);
	ck_assert_ptr_null(v.value);
}
END_TEST

START_TEST(test_cache_jwt_exp_caps_valid_ms)
{
	struct cache_view v;

	answer_jwt(WALL0 / 1000 + 30);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.valid_ms, 30000);
	cache_view_release(&v);
	advance(10000);
	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_OK);
	ck_assert_int_eq(v.valid_ms, 20000);
	cache_view_release(&v);
	/* A far exp does not lengthen the TTL. */
	answer_jwt(WALL0 / 1000 + 86400);
	ck_assert_int_eq(get("github", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	cache_view_release(&v);
}
END_TEST

START_TEST(test_cache_refetches_when_cached_jwt_expires_within_ttl)
{
	answer_jwt(WALL0 / 1000 + 30);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	advance(30000);
	/* Still within the TTL, but the token is now expired: ask again. */
	ck_assert_int_eq(get_err("slack"), CFS_ERR_EXPIRED);
	ck_assert_int_eq(fetches(), 2);
	advance(500);
	answer_jwt(WALL0 / 1000 + 3600);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

START_TEST(test_cache_jwt_exp_caps_stale_window)
{
	struct cache_view v;

	answer_jwt(WALL0 / 1000 + 100);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 503, -1, "");
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 1);
	ck_assert_int_eq(v.valid_ms, 40000);
	cache_view_release(&v);
	advance(40000);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_ERR_SERVER);
	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_ERR_SERVER);
}
END_TEST

START_TEST(test_cache_announces_jwt_expiry_once)
{
	answer_jwt(WALL0 / 1000 + 30);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(changes(), 0);
	cache_run_pending(C);
	ck_assert_int_eq(changes(), 0);
	advance(30000);
	cache_run_pending(C);
	ck_assert_int_eq(changes(), 1);
	ck_assert_str_eq(F.changed_name, "slack");
	cache_run_pending(C);
	ck_assert_int_eq(changes(), 1);
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

/* Refresh-ahead, forced refresh, drop */

START_TEST(test_cache_refresh_ahead_in_last_eighth_of_ttl)
{
	struct cache_view v;
	long long ahead = TTL_MS - TTL_MS / 8;

	assert_get_token("slack", "tok-1");
	advance(ahead - 1);
	assert_get_token("slack", "tok-1");
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 1);
	advance(1);
	/* Served at once from the cache; the refresh is only queued. */
	assert_get_token("slack", "tok-1");
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 1);
	answer_ok("tok-2", NULL);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 2);
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 2);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_str_eq(v.value->token, "tok-2");
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	ck_assert_uint_eq(v.generation, 2);
	cache_view_release(&v);
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_failed_refresh_ahead_keeps_serving_until_ttl)
{
	struct cache_view v;

	assert_get_token("slack", "tok-1");
	advance(TTL_MS - 1000);
	assert_get_token("slack", "tok-1");
	answer_err(CFS_ERR_SERVER, 503, -1, "");
	cache_run_pending(C);
	ck_assert_int_eq(fetches(), 2);
	ck_assert_int_eq(get("slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 0);
	ck_assert_int_eq(v.valid_ms, 1000);
	cache_view_release(&v);
}
END_TEST

START_TEST(test_cache_background_threads_perform_refresh_ahead)
{
	struct cache_settings set = default_settings();
	struct timespec deadline;

	set.refresh_threads = 2;
	cache_start(&set);
	assert_get_token("slack", "tok-1");
	advance(TTL_MS - 1);
	answer_ok("tok-2", NULL);
	assert_get_token("slack", "tok-1");
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&F.lock);
	while (F.fetches < 2 && pthread_cond_timedwait(&F.cond, &F.lock, &deadline) == 0)
		continue;
	pthread_mutex_unlock(&F.lock);
	ck_assert_int_eq(fetches(), 2);
	/* Wait for the swap (changed() runs after it), then read without a request. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&F.lock);
	while (F.changed < 2 && pthread_cond_timedwait(&F.cond, &F.lock, &deadline) == 0)
		continue;
	pthread_mutex_unlock(&F.lock);
	assert_get_token("slack", "tok-2");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_refresh_forces_request_within_ttl)
{
	struct base44_result res;
	unsigned long long gen = 0;

	assert_get_token("slack", "tok-1");
	answer_ok("tok-2", NULL);
	ck_assert_int_eq(cache_refresh(C, "slack", &gen, &res, NULL), CFS_OK);
	ck_assert_uint_eq(gen, 2);
	ck_assert_int_eq(fetches(), 2);
	assert_get_token("slack", "tok-2");
	ck_assert_int_eq(fetches(), 2);
	answer_err(CFS_ERR_SERVER, 500, -1, "");
	ck_assert_int_eq(cache_refresh(C, "slack", NULL, &res, NULL), CFS_ERR_SERVER);
	ck_assert_int_eq(res.status, 500);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

START_TEST(test_cache_refresh_obeys_backoff_and_retry_after)
{
	struct base44_result res;

	assert_get_token("slack", "tok-1");
	answer_err(CFS_ERR_RATE_LIMITED, 429, 30, "slow down");
	ck_assert_int_eq(cache_refresh(C, "slack", NULL, &res, NULL), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(fetches(), 2);
	/* Inside Retry-After: the last error again, no request. */
	answer_ok("tok-2", NULL);
	advance(29000);
	ck_assert_int_eq(cache_refresh(C, "slack", NULL, &res, NULL), CFS_ERR_RATE_LIMITED);
	ck_assert_int_eq(res.status, 429);
	ck_assert_int_eq(fetches(), 2);
	advance(1000);
	ck_assert_int_eq(cache_refresh(C, "slack", NULL, &res, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

START_TEST(test_cache_refresh_obeys_the_negative_cache)
{
	struct base44_result res;

	assert_get_token("notion", "tok-1");
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "gone");
	ck_assert_int_eq(cache_refresh(C, "notion", NULL, &res, NULL), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(cache_refresh(C, "notion", NULL, &res, NULL), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(fetches(), 2);
	advance(NEG_MS);
	answer_ok("tok-2", NULL);
	ck_assert_int_eq(cache_refresh(C, "notion", NULL, &res, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

struct refresher {
	pthread_t th;
	const char *name;
	enum cfs_err err;
};

static void *
refresher_main(void *arg)
{
	struct refresher *r = arg;

	r->err = cache_refresh(C, r->name, NULL, NULL, NULL);
	return NULL;
}

START_TEST(test_cache_concurrent_refreshes_share_one_request)
{
	struct refresher r[8];
	int i;

	assert_get_token("slack", "tok-1");
	pthread_mutex_lock(&F.lock);
	F.block = 1;
	F.count_threads = 1;
	F.want_threads = 8;	/* every refresher has looked before the one fetch ends */
	pthread_mutex_unlock(&F.lock);
	for (i = 0; i < 8; i++) {
		r[i].name = "slack";
		ck_assert_int_eq(pthread_create(&r[i].th, NULL, refresher_main, &r[i]), 0);
	}
	for (i = 0; i < 8; i++)
		pthread_join(r[i].th, NULL);
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(r[i].err, CFS_OK);
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

static void *
getter_main(void *arg)
{
	struct refresher *r = arg;

	r->err = get_err(r->name);
	return NULL;
}

START_TEST(test_cache_refresh_never_takes_the_answer_of_an_older_request)
{
	struct refresher a = { .name = "slack" }, b = { .name = "slack" };

	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	pthread_mutex_lock(&F.lock);
	F.block = 1;
	F.want_threads = 1000;	/* held until released */
	pthread_mutex_unlock(&F.lock);
	ck_assert_int_eq(pthread_create(&a.th, NULL, getter_main, &a), 0);
	pthread_mutex_lock(&F.lock);
	while (!F.in_fetch)
		pthread_cond_wait(&F.cond, &F.lock);
	pthread_mutex_unlock(&F.lock);
	/* The upstream value rotates after that request started; then a refresh comes. */
	advance(200);
	ck_assert_int_eq(pthread_create(&b.th, NULL, refresher_main, &b), 0);
	pthread_mutex_lock(&F.lock);
	F.release = 1;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
	pthread_join(a.th, NULL);
	pthread_join(b.th, NULL);
	ck_assert_int_eq(a.err, CFS_OK);
	ck_assert_int_eq(b.err, CFS_OK);
	ck_assert_int_eq(fetches(), 3);
}
END_TEST

struct outcomes {
	int n;
	char names[8][NAME_CONNECTOR_MAX + 1];
	enum cfs_err errs[8];
};

static void
outcome_collect(const char *name, enum cfs_err err, unsigned long long generation,
    const struct base44_result *res, void *arg)
{
	struct outcomes *o = arg;

	(void)generation;
	(void)res;
	if (o->n < 8) {
		snprintf(o->names[o->n], sizeof(o->names[0]), "%s", name);
		o->errs[o->n++] = err;
	}
}

START_TEST(test_cache_refresh_all_refetches_every_fetched_connector)
{
	struct outcomes o;

	assert_get_token("slack", "tok-1");
	assert_get_token("github", "tok-1");
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(fetches(), 3);
	answer_ok("tok-2", NULL);
	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(cache_refresh_all(C, outcome_collect, &o, NULL), CFS_OK);
	ck_assert_int_eq(o.n, 2);	/* never the name only probed */
	ck_assert_int_eq(fetches(), 5);
	assert_get_token("slack", "tok-2");
	assert_get_token("github", "tok-2");
	ck_assert_int_eq(fetches(), 5);
	answer_err(CFS_ERR_SERVER, 502, -1, "bad gateway");
	ck_assert_int_eq(cache_refresh_all(C, NULL, NULL, NULL), CFS_ERR_SERVER);
	ck_assert_int_eq(fetches(), 7);
}
END_TEST

START_TEST(test_cache_refresh_all_of_empty_cache_makes_no_request)
{
	ck_assert_int_eq(cache_refresh_all(C, NULL, NULL, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 0);
}
END_TEST

START_TEST(test_cache_drop_all_makes_next_get_fetch)
{
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(changes(), 0);
	cache_drop_all(C);
	ck_assert_int_eq(changes(), 1);
	ck_assert_int_eq(fetches(), 1);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 2);
}
END_TEST

START_TEST(test_cache_drop_all_forgets_negative_and_backoff)
{
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	answer_err(CFS_ERR_SERVER, 500, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
	cache_drop_all(C);
	answer_ok("tok-1", NULL);
	assert_get_token("notion", "tok-1");
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(fetches(), 4);
}
END_TEST

START_TEST(test_cache_dropped_value_is_not_served_stale)
{
	assert_get_token("slack", "tok-1");
	cache_drop_all(C);
	answer_err(CFS_ERR_SERVER, 503, -1, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_SERVER);
}
END_TEST

/* Names, peek, foreach, odd fetch results */

START_TEST(test_cache_invalid_names_are_not_found_without_request)
{
	static const char *const names[] = { ".git", "Desktop.ini", "", "Slack", "a/b", "..",
		".", "x y", "slack\n",
		"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct cache_view v;
		struct base44_result res;

		ck_assert_msg(get(names[i], &v, NULL) == CFS_ERR_NOT_FOUND, "'%s'", names[i]);
		ck_assert_msg(cache_refresh(C, names[i], NULL, &res, NULL) == CFS_ERR_NOT_FOUND, "'%s'",
		    names[i]);
	}
	ck_assert_int_eq(fetches(), 0);
}
END_TEST

START_TEST(test_cache_peek_never_fetches)
{
	struct cache_view v;

	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_ERR_NOT_FOUND);
	ck_assert_ptr_null(v.value);
	assert_get_token("slack", "tok-1");
	ck_assert_int_eq(cache_peek(C, "slack", &v), CFS_OK);
	ck_assert_str_eq(v.value->token, "tok-1");
	ck_assert_int_eq(v.valid_ms, TTL_MS);
	cache_view_release(&v);
	advance(TTL_MS);
	ck_assert_int_ne(cache_peek(C, "slack", &v), CFS_OK);
	ck_assert_ptr_null(v.value);
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

START_TEST(test_cache_fetch_ok_without_value_is_malformed)
{
	F.no_value = 1;
	ck_assert_int_eq(get_err("slack"), CFS_ERR_MALFORMED);
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

#define STATS_MAX 8

struct stats {
	int n;
	struct {
		char name[NAME_CONNECTOR_MAX + 1];
		struct cache_stat st;
		char message[200];
	} e[STATS_MAX];
};

static void
stats_collect(const struct cache_stat *st, void *arg)
{
	struct stats *s = arg;

	if (s->n >= STATS_MAX)
		return;
	snprintf(s->e[s->n].name, sizeof(s->e[s->n].name), "%s", st->name);
	s->e[s->n].st = *st;
	snprintf(s->e[s->n].message, sizeof(s->e[s->n].message), "%s",
	    st->last_message ? st->last_message : "");
	s->e[s->n].st.name = NULL;
	s->e[s->n].st.last_message = NULL;
	s->n++;
}

static const struct cache_stat *
stats_find(const struct stats *s, const char *name)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, name) == 0)
			return &s->e[i].st;
	ck_abort_msg("no stat for %s", name);
	return NULL;
}

START_TEST(test_cache_foreach_reports_counts_and_states)
{
	struct stats s;
	const struct cache_stat *st;

	/* Declared (connectors=): reported even though they fail. */
	ck_assert_int_eq(cache_declare(C, "notion"), CFS_OK);
	ck_assert_int_eq(cache_declare(C, "github"), CFS_OK);
	answer_jwt(WALL0 / 1000 + 3600);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "Connector connection not found");
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	answer_err(CFS_ERR_SERVER, 503, -1, "down");
	ck_assert_int_eq(get_err("github"), CFS_ERR_SERVER);
	answer_ok("tok-1", NULL);
	ck_assert_int_eq(get_err("linear"), CFS_OK);

	memset(&s, 0, sizeof(s));
	cache_foreach(C, stats_collect, &s);
	ck_assert_int_eq(s.n, 4);
	st = stats_find(&s, "slack");
	ck_assert_int_eq(st->state, CACHE_FRESH);
	ck_assert_uint_eq(st->requests, 1);
	ck_assert_uint_eq(st->failures, 0);
	ck_assert_uint_ge(st->hits, 1);
	ck_assert_uint_eq(st->generation, 1);
	ck_assert_int_eq(st->ever_fetched, 1);
	ck_assert_int_eq(st->fetched_at_ms, WALL0);
	ck_assert_int_eq(st->changed_at_ms, WALL0);
	ck_assert_int_eq(st->token_exp, WALL0 / 1000 + 3600);
	ck_assert_int_eq(st->last_err, CFS_OK);

	st = stats_find(&s, "notion");
	ck_assert_int_eq(st->state, CACHE_NOT_FOUND);
	ck_assert_uint_eq(st->requests, 1);
	ck_assert_uint_eq(st->failures, 1);
	ck_assert_int_eq(st->last_err, CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(st->last_status, 404);
	ck_assert_int_eq(st->last_error_at_ms, WALL0);
	ck_assert_int_eq(st->ever_fetched, 0);
	ck_assert_int_eq(st->fetched_at_ms, 0);

	st = stats_find(&s, "github");
	ck_assert_int_eq(st->state, CACHE_FAILED);
	ck_assert_int_eq(st->last_status, 503);
	ck_assert_int_eq(st->backoff_left_ms, 500);

	/* Past the TTL: linear expired, slack stale after a failed refresh. */
	advance(TTL_MS);
	answer_err(CFS_ERR_SERVER, 503, -1, "down");
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	memset(&s, 0, sizeof(s));
	cache_foreach(C, stats_collect, &s);
	ck_assert_int_eq(stats_find(&s, "linear")->state, CACHE_EXPIRED);
	st = stats_find(&s, "slack");
	ck_assert_int_eq(st->state, CACHE_STALE);
	ck_assert_uint_eq(st->requests, 2);
	ck_assert_uint_eq(st->failures, 1);
	ck_assert_int_eq(st->fetched_at_ms, WALL0);
}
END_TEST

START_TEST(test_cache_foreach_message_is_the_servers)
{
	struct stats s;
	int i;

	ck_assert_int_eq(cache_declare(C, "notion"), CFS_OK);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "Connector connection not found");
	ck_assert_int_eq(get_err("notion"), CFS_ERR_NOT_FOUND);
	memset(&s, 0, sizeof(s));
	cache_foreach(C, stats_collect, &s);
	ck_assert_int_eq(s.n, 1);
	for (i = 0; i < s.n; i++)
		ck_assert_str_eq(s.e[i].message, "Connector connection not found");
}
END_TEST

START_TEST(test_cache_state_names)
{
	static const struct {
		enum cache_state st;
		const char *name;
	} cases[] = {
		{ CACHE_EMPTY, "empty" }, { CACHE_FRESH, "fresh" }, { CACHE_EXPIRED, "expired" },
		{ CACHE_STALE, "stale" }, { CACHE_FAILED, "failed" },
		{ CACHE_NOT_FOUND, "not_found" }, { (enum cache_state)99, "unknown" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ck_assert_str_eq(cache_state_name(cases[i].st), cases[i].name);
}
END_TEST

START_TEST(test_cache_new_requires_fetch_hook)
{
	struct cache_settings set = default_settings();
	struct cache_hooks hooks;
	struct cache *c = (struct cache *)&hooks;

	memset(&hooks, 0, sizeof(hooks));
	ck_assert_int_eq(cache_new(&set, &hooks, &c), CFS_ERR_INVALID);
	ck_assert_ptr_null(c);
	cache_free(&c);
	cache_free(NULL);
}
END_TEST

START_TEST(test_cache_many_connectors_survive_table_growth)
{
	char name[16];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		answer_ok(name, NULL);
		assert_get_token(name, name);
	}
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		assert_get_token(name, name);
	}
	ck_assert_int_eq(fetches(), 200);
}
END_TEST

START_TEST(test_cache_an_access_token_echoed_in_an_error_is_redacted)
{
	struct stats st;
	int i;

	answer_ok("xoxb-slack-secret-token-123", NULL);
	assert_get_token("slack", "xoxb-slack-secret-token-123");
	ck_assert_int_eq(cache_declare(C, "github"), CFS_OK);
	unit_log_reset();
	answer_err(CFS_ERR_SERVER, 500, -1, "bad token xoxb-slack-secret-token-123 for you");
	ck_assert_int_eq(get_err("github"), CFS_ERR_SERVER);
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert_ptr_null(strstr(unit_log_line(0), "xoxb-slack-secret"));
	ck_assert_ptr_nonnull(strstr(unit_log_line(0), "[redacted]"));
	memset(&st, 0, sizeof(st));
	cache_foreach(C, stats_collect, &st);
	for (i = 0; i < st.n; i++)
		ck_assert_ptr_null(strstr(st.e[i].message, "xoxb-slack-secret"));
}
END_TEST

START_TEST(test_cache_a_token_cut_off_at_the_end_of_an_error_is_redacted_too)
{
	char msg[200];
	struct stats st;
	int i;

	answer_ok("xoxb-slack-secret-token-123", NULL);
	assert_get_token("slack", "xoxb-slack-secret-token-123");
	ck_assert_int_eq(cache_declare(C, "github"), CFS_OK);
	unit_log_reset();
	/* A message cut to its 199 bytes inside the echoed token. */
	memset(msg, 'x', 190);
	memcpy(msg + 190, "xoxb-slac", 9);
	msg[199] = '\0';
	answer_err(CFS_ERR_SERVER, 500, -1, msg);
	ck_assert_int_eq(get_err("github"), CFS_ERR_SERVER);
	ck_assert_ptr_null(strstr(unit_log_line(0), "xoxb-slac"));
	memset(&st, 0, sizeof(st));
	cache_foreach(C, stats_collect, &st);
	for (i = 0; i < st.n; i++)
		ck_assert_ptr_null(strstr(st.e[i].message, "xoxb-slac"));
}
END_TEST

/* Names nobody declared: the unknown-name budget */

static void
budget_start(unsigned rate, unsigned burst, unsigned in_flight, unsigned remembered)
{
	struct cache_settings set = default_settings();

	set.unknown = (struct cache_unknown_budget){ rate, burst, in_flight, remembered };
	cache_start(&set);
}

START_TEST(test_cache_unknown_names_beyond_the_burst_are_refused_without_request)
{
	char name[16];
	int i, refused = 0;

	budget_start(20, 40, 32, 1024);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "rnd%d", i);
		refused += get_err(name) == CFS_ERR_BUSY;
	}
	ck_assert_int_eq(fetches(), 40);
	ck_assert_int_eq(refused, 60);
	ck_assert_int_eq(err_to_errno(CFS_ERR_BUSY), EAGAIN);
}
END_TEST

START_TEST(test_cache_unknown_budget_refills_at_its_rate)
{
	char name[16];
	int i;

	budget_start(20, 40, 32, 1024);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "a%d", i);
		ck_assert_int_eq(get_err(name), CFS_ERR_NOT_FOUND);
	}
	ck_assert_int_eq(get_err("b0"), CFS_ERR_BUSY);
	advance(500);		/* 10 more at 20 a second */
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		(void)get_err(name);
	}
	ck_assert_int_eq(fetches(), 50);
}
END_TEST

START_TEST(test_cache_declared_and_fetched_names_bypass_the_budget)
{
	char name[16];
	int i;

	budget_start(1, 1, 1, 16);
	assert_get_token("slack", "tok-1");	/* and now slack is known */
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	ck_assert_int_eq(get_err("other"), CFS_ERR_NOT_FOUND);	/* spends the one token */
	ck_assert_int_eq(get_err("another"), CFS_ERR_BUSY);
	answer_ok("tok-1", NULL);
	ck_assert_int_eq(cache_declare(C, "github"), CFS_OK);
	assert_get_token("github", "tok-1");
	for (i = 0; i < 5; i++) {
		advance(TTL_MS);
		assert_get_token("slack", "tok-1");
		assert_get_token("github", "tok-1");
		snprintf(name, sizeof(name), "x%d", i);
	}
	ck_assert_int_eq(fetches(), 13);
	ck_assert_int_eq(cache_is_known(C, "slack"), 1);
	ck_assert_int_eq(cache_is_known(C, "other"), 0);
}
END_TEST

START_TEST(test_cache_names_that_exist_give_their_request_back)
{
	char name[16];
	int i;

	budget_start(1, 2, 32, 1024);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "real%d", i);
		answer_ok(name, NULL);
		assert_get_token(name, name);
	}
	ck_assert_int_eq(fetches(), 100);
	/* Made-up names still spend it. */
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	ck_assert_int_eq(get_err("fake1"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(get_err("fake2"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(get_err("fake3"), CFS_ERR_BUSY);
}
END_TEST

START_TEST(test_cache_remembered_unknown_names_are_capped_least_recent_out)
{
	struct cache_unknown_stat st;
	char name[16];
	int i;

	budget_start(1000000, 1000000, 1000, 8);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		ck_assert_int_eq(get_err(name), CFS_ERR_NOT_FOUND);
	}
	ck_assert_int_eq(get_err("n0"), CFS_ERR_NOT_FOUND);	/* n0 used again: n1 is oldest */
	ck_assert_int_eq(fetches(), 8);
	ck_assert_int_eq(get_err("n8"), CFS_ERR_NOT_FOUND);	/* evicts n1 */
	ck_assert_int_eq(get_err("n0"), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(fetches(), 9);
	ck_assert_int_eq(get_err("n1"), CFS_ERR_NOT_FOUND);	/* forgotten: asked again */
	ck_assert_int_eq(fetches(), 10);
	for (i = 100; i < 1100; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		(void)get_err(name);
	}
	cache_unknown_stats(C, &st);
	ck_assert_uint_eq(st.remembered, 8);
	ck_assert_uint_eq(st.requests, 1010);
	ck_assert_uint_ge(st.evicted, 1000);
}
END_TEST

static void
count_stats(const struct cache_stat *st, void *arg)
{
	(void)st;
	++*(int *)arg;
}

START_TEST(test_cache_unknown_names_found_missing_are_never_reported_or_logged)
{
	int n = 0;

	budget_start(100, 100, 100, 100);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "gone");
	ck_assert_int_eq(get_err("probe1"), CFS_ERR_NOT_FOUND);
	answer_ok("tok-1", NULL);
	assert_get_token("slack", "tok-1");
	cache_foreach(C, count_stats, &n);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(unit_log_count(), 0);
	/* An outage is another matter: the operator must see it. */
	answer_err(CFS_ERR_SERVER, 503, -1, "down");
	ck_assert_int_eq(get_err("linear"), CFS_ERR_SERVER);
	n = 0;
	cache_foreach(C, count_stats, &n);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(unit_log_count(), 1);
}
END_TEST

START_TEST(test_cache_refused_names_cost_no_memory)
{
	struct cache_unknown_stat st;
	char name[16];
	int i;

	budget_start(1, 1, 1, 1024);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "");
	for (i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		(void)get_err(name);
	}
	cache_unknown_stats(C, &st);
	ck_assert_uint_eq(st.remembered, 1);
	ck_assert_uint_eq(st.refused, 499);
	/* One warning line for the lot, not one per name. */
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert_ptr_nonnull(strstr(unit_log_line(0), "refused"));
}
END_TEST

/* Single flight */

#define READERS 32

struct reader {
	pthread_t th;
	const char *name;
	enum cfs_err err;
	char token[64];
};

static void *
reader_main(void *arg)
{
	struct reader *r = arg;
	struct cache_view v;

	r->err = cache_get(C, r->name, &v, NULL);
	if (r->err == CFS_OK)
		snprintf(r->token, sizeof(r->token), "%s", v.value->token);
	cache_view_release(&v);
	return NULL;
}

/* READERS threads read name at once; the fetch holds until all have arrived. */
static void
run_readers(struct reader *r, const char *name)
{
	int i;

	pthread_mutex_lock(&F.lock);
	F.block = 1;
	F.count_threads = 1;
	F.want_threads = READERS;
	pthread_mutex_unlock(&F.lock);
	for (i = 0; i < READERS; i++) {
		r[i].name = name;
		ck_assert_int_eq(pthread_create(&r[i].th, NULL, reader_main, &r[i]), 0);
	}
	for (i = 0; i < READERS; i++)
		pthread_join(r[i].th, NULL);
	pthread_mutex_lock(&F.lock);
	F.block = 0;
	F.count_threads = 0;
	pthread_mutex_unlock(&F.lock);
}

START_TEST(test_cache_single_flight_one_request_for_32_readers)
{
	struct reader r[READERS];
	int i;

	memset(r, 0, sizeof(r));
	answer_ok("tok-shared", NULL);
	run_readers(r, "slack");
	ck_assert_int_eq(fetches(), 1);
	/* Every reader was inside cache_get while the one request was in flight. */
	ck_assert_int_eq(F.threads_at_release, READERS);
	for (i = 0; i < READERS; i++) {
		ck_assert_msg(r[i].err == CFS_OK, "reader %d: %s", i, err_name(r[i].err));
		ck_assert_str_eq(r[i].token, "tok-shared");
	}
}
END_TEST

START_TEST(test_cache_single_flight_shares_a_failure)
{
	struct reader r[READERS];
	int i;

	memset(r, 0, sizeof(r));
	ck_assert_int_eq(cache_declare(C, "slack"), CFS_OK);
	answer_err(CFS_ERR_SERVER, 503, -1, "down");
	run_readers(r, "slack");
	ck_assert_int_eq(fetches(), 1);
	ck_assert_int_eq(F.threads_at_release, READERS);
	for (i = 0; i < READERS; i++)
		ck_assert_msg(r[i].err == CFS_ERR_SERVER, "reader %d: %s", i, err_name(r[i].err));
	ck_assert_int_eq(unit_log_count(), 1);
}
END_TEST

START_TEST(test_cache_single_flight_after_ttl_one_refetch)
{
	struct reader r[READERS];
	int i;

	memset(r, 0, sizeof(r));
	assert_get_token("slack", "tok-1");
	advance(TTL_MS);
	answer_ok("tok-2", NULL);
	run_readers(r, "slack");
	ck_assert_int_eq(fetches(), 2);
	for (i = 0; i < READERS; i++) {
		ck_assert_int_eq(r[i].err, CFS_OK);
		ck_assert_str_eq(r[i].token, "tok-2");
	}
}
END_TEST

static void *
blocked_fetcher_main(void *arg)
{
	struct reader *r = arg;

	reader_main(r);
	return NULL;
}

START_TEST(test_cache_waiter_gives_up_after_timeout)
{
	struct cache_settings set = default_settings();
	struct reader fetcher;
	struct timespec deadline;
	struct cache_view v;
	struct base44_result res;

	/* timeout_s = 0: a waiter waits the 500 ms grace only. */
	set.timeout_s = 0;
	cache_start(&set);
	memset(&fetcher, 0, sizeof(fetcher));
	fetcher.name = "slack";
	pthread_mutex_lock(&F.lock);
	F.block = 1;
	F.want_threads = 1000;	/* never reached: held until release */
	pthread_mutex_unlock(&F.lock);
	ck_assert_int_eq(pthread_create(&fetcher.th, NULL, blocked_fetcher_main, &fetcher), 0);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&F.lock);
	while (!F.in_fetch && pthread_cond_timedwait(&F.cond, &F.lock, &deadline) == 0)
		continue;
	ck_assert_int_eq(F.in_fetch, 1);
	pthread_mutex_unlock(&F.lock);
	ck_assert_int_eq(cache_get(C, "slack", &v, &res), CFS_ERR_TIMEOUT);
	ck_assert_ptr_null(v.value);
	pthread_mutex_lock(&F.lock);
	F.release = 1;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
	pthread_join(fetcher.th, NULL);
	ck_assert_int_eq(fetcher.err, CFS_OK);
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

/*
 * Regression (lib/cache.c cache_get): with ttl=0 (accepted by config.c) a
 * successful fetch is never fresh, and the "outcome of the request we made"
 * branch only serves stale values, so the reader gets CFS_ERR_NOT_FOUND
 * (ENOENT) although the fetch succeeded.
 */
START_TEST(test_cache_ttl_zero_serves_the_value_it_just_fetched)
{
	struct cache_settings set = default_settings();
	struct cache_view v;
	enum cfs_err err;

	set.ttl_s = 0;
	cache_start(&set);
	err = get("slack", &v, NULL);
	ck_assert_msg(err == CFS_OK, "ttl=0 read gives %s after a good fetch",
	    err_name(err));
	ck_assert_str_eq(v.value->token, "tok-1");
	cache_view_release(&v);
	ck_assert_int_eq(fetches(), 1);
}
END_TEST

/*
 * Regression (lib/cache.c cache_jwt_expired, cache_fill_view,
 * cache_fetch_locked, cache_expiry_sweep_locked; lib/status.c
 * status_render_json): token_exp * 1000 overflows long long for a large exp
 * claim (signed overflow, undefined; it wraps negative in practice), so a
 * token that never expires is "expired" and never served, and UBSan aborts.
 */
START_TEST(test_cache_serves_jwt_with_far_future_exp)
{
	static const long long exps[] = { 9223372036854775807LL, 100000000000000000LL };
	size_t i;

	for (i = 0; i < sizeof(exps) / sizeof(exps[0]); i++) {
		char name[16];
		struct cache_view v;
		enum cfs_err err;

		snprintf(name, sizeof(name), "conn%zu", i);
		answer_jwt(exps[i]);
		err = get(name, &v, NULL);
		ck_assert_msg(err == CFS_OK, "exp %lld gives %s", exps[i],
		    err_name(err));
		ck_assert_int_eq(v.valid_ms, TTL_MS);
		cache_view_release(&v);
	}
}
END_TEST

/*
 * Regression (lib/cache.c cache_backoff_ms): retry_after * 1000 is computed
 * before the one-hour cap, so a huge Retry-After (http.c passes any value
 * strtol accepts, up to LONG_MAX) overflows: undefined behaviour, and in
 * practice a negative delay, so the server's Retry-After is ignored.
 */
START_TEST(test_cache_huge_retry_after_is_capped_not_ignored)
{
	answer_err(CFS_ERR_RATE_LIMITED, 429, LONG_MAX, "");
	ck_assert_int_eq(get_err("slack"), CFS_ERR_RATE_LIMITED);
	advance(3600 * 1000LL - 1);
	ck_assert_int_eq(get_err("slack"), CFS_ERR_RATE_LIMITED);
	ck_assert_msg(fetches() == 1, "Retry-After LONG_MAX ignored, asked again "
	    "within the hour");
}
END_TEST

/*
 * Regression (lib/cache.c cache_get): hits counts every read served from the
 * cache including the one that just made the request, so
 * connectorfs_cache_hits_total counts a miss as a hit.
 */
START_TEST(test_cache_hits_count_only_reads_served_without_request)
{
	struct stats s;

	ck_assert_int_eq(get_err("slack"), CFS_OK);
	ck_assert_int_eq(get_err("slack"), CFS_OK);
	memset(&s, 0, sizeof(s));
	cache_foreach(C, stats_collect, &s);
	ck_assert_uint_eq(stats_find(&s, "slack")->requests, 1);
	ck_assert_msg(stats_find(&s, "slack")->hits == 1,
	    "1 request + 1 cached read counted as %llu hits",
	    stats_find(&s, "slack")->hits);
}
END_TEST

/* ---- carrying values to the next server (kept() and cache_restore()) ---- */

START_TEST(test_cache_kept_hears_every_fetch_and_the_end_of_serving)
{
	struct cache_view v;

	answer_ok("tok-1", NULL);
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	cache_view_release(&v);
	ck_assert_int_eq(F.kept, 1);
	ck_assert_str_eq(F.kept_token, "tok-1");
	ck_assert_uint_eq(F.kept_generation, 1);
	ck_assert_int_eq(F.kept_fetched, WALL0);
	/* The same value again: told again, so its fetch time moves. */
	advance(TTL_MS + 1);
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	cache_view_release(&v);
	ck_assert_int_eq(F.kept, 2);
	ck_assert_int_eq(F.kept_fetched, WALL0 + TTL_MS + 1);
	/* A 404 ends serving: told with no value. */
	advance(TTL_MS + 1);
	answer_err(CFS_ERR_NOT_FOUND, 404, -1, "gone");
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_ERR_NOT_FOUND);
	ck_assert_int_eq(F.kept, 3);
	ck_assert_str_eq(F.kept_token, "");
}
END_TEST

START_TEST(test_cache_kept_is_told_of_a_sighup_drop)
{
	struct cache_view v;

	answer_ok("tok-1", NULL);
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	cache_view_release(&v);
	cache_drop_all(C);
	ck_assert_int_eq(F.kept, 2);
	ck_assert_str_eq(F.kept_token, "");
}
END_TEST

START_TEST(test_cache_kept_is_not_told_of_a_failure_it_serves_through)
{
	struct cache_view v;

	answer_ok("tok-1", NULL);
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	cache_view_release(&v);
	advance(TTL_MS + 1);
	answer_err(CFS_ERR_SERVER, 503, -1, "down");
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(v.stale, 1);
	cache_view_release(&v);
	ck_assert_int_eq(F.kept, 1);
}
END_TEST

static struct connection *
restored_value(const char *token)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"access_token\":\"%s\",\"connection_config\":null}",
	    token);
	return unit_connection("slack", body);
}

START_TEST(test_cache_restored_value_is_served_without_a_request)
{
	struct connection *c = restored_value("tok-restored");
	struct cache_view v;

	ck_assert_int_eq(cache_restore(C, "slack", c, 7, WALL0 - 5000, WALL0 - 1000), CFS_OK);
	connection_unref(&c);
	answer_err(CFS_ERR_SERVER, 503, -1, "the API is down");
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	ck_assert_str_eq(v.value->token, "tok-restored");
	ck_assert_uint_eq(v.generation, 7);
	ck_assert_int_eq(v.changed_ms, WALL0 - 5000);
	ck_assert_int_eq(v.stale, 0);
	/* Its TTL runs from when it was fetched, not from the restore. */
	ck_assert_int_eq(v.valid_ms, TTL_MS - 1000);
	cache_view_release(&v);
	ck_assert_int_eq(fetches(), 0);
	ck_assert_int_eq(cache_is_known(C, "slack"), 1);
}
END_TEST

START_TEST(test_cache_restored_value_past_its_ttl_is_fetched_and_served_stale_on_failure)
{
	struct connection *c = restored_value("tok-old");
	struct cache_view v;

	ck_assert_int_eq(cache_restore(C, "slack", c, 3, WALL0 - TTL_MS - 1000,
	    WALL0 - TTL_MS - 1000), CFS_OK);
	connection_unref(&c);
	answer_err(CFS_ERR_SERVER, 503, -1, "the API is down");
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	ck_assert_int_eq(fetches(), 1);
	ck_assert_str_eq(v.value->token, "tok-old");
	ck_assert_int_eq(v.stale, 1);
	cache_view_release(&v);
	/* Past max_stale as counted from the first fetch: nothing to serve. */
	advance(STALE_MS);
	ck_assert_int_ne(cache_get(C, "slack", &v, NULL), CFS_OK);
}
END_TEST

START_TEST(test_cache_restored_generation_goes_on_counting)
{
	struct connection *c = restored_value("tok-3");
	struct cache_view v;

	ck_assert_int_eq(cache_restore(C, "slack", c, 3, WALL0, WALL0 - TTL_MS - 1), CFS_OK);
	connection_unref(&c);
	answer_ok("tok-4", NULL);
	ck_assert_int_eq(cache_get(C, "slack", &v, NULL), CFS_OK);
	ck_assert_str_eq(v.value->token, "tok-4");
	ck_assert_uint_eq(v.generation, 4);
	ck_assert_int_gt(v.changed_ms, WALL0);
	cache_view_release(&v);
	ck_assert_int_eq(changes(), 1);
}
END_TEST

START_TEST(test_cache_restore_refuses_a_bad_name)
{
	struct connection *c = restored_value("tok");

	ck_assert_int_eq(cache_restore(C, "../etc", c, 1, WALL0, WALL0), CFS_ERR_INVALID);
	connection_unref(&c);
}
END_TEST

Suite *
cache_suite(void)
{
	Suite *s = suite_create("cache");
	TCase *ttl = tcase_create("ttl");
	TCase *fail = tcase_create("failures");
	TCase *jwt = tcase_create("jwt");
	TCase *refresh = tcase_create("refresh");
	TCase *misc = tcase_create("misc");
	TCase *flight = tcase_create("single_flight");
	TCase *bugs = tcase_create("regressions");

	tcase_add_checked_fixture(ttl, cache_setup, cache_teardown);
	tcase_add_test(ttl, test_cache_first_get_fetches_once);
	tcase_add_test(ttl, test_cache_serves_second_read_without_request);
	tcase_add_test(ttl, test_cache_fetches_again_once_ttl_has_passed);
	tcase_add_test(ttl, test_cache_connectors_are_cached_separately);
	tcase_add_test(ttl, test_cache_view_outlives_replacement);
	tcase_add_test(ttl, test_cache_changed_token_bumps_generation_and_calls_changed);
	tcase_add_test(ttl, test_cache_changed_config_bumps_generation);
	tcase_add_test(ttl, test_cache_same_token_keeps_generation_and_mtime);
	tcase_add_test(ttl, test_cache_changed_ms_moves_even_when_wall_clock_does_not);
	suite_add_tcase(s, ttl);

	tcase_add_checked_fixture(fail, cache_setup, cache_teardown);
	tcase_add_test(fail, test_cache_remembers_404_for_negative_ttl);
	tcase_add_test(fail, test_cache_negative_ttl_zero_asks_every_time);
	tcase_add_test(fail, test_cache_denied_ends_serving_cached_value_at_once);
	tcase_add_test(fail, test_cache_4xx_after_ttl_is_not_served_stale);
	tcase_add_test(fail, test_cache_denied_then_allowed_serves_again);
	tcase_add_test(fail, test_cache_serves_stale_value_on_transient_error_within_max_stale);
	tcase_add_test(fail, test_cache_fails_after_ttl_plus_max_stale);
	tcase_add_test(fail, test_cache_stale_value_is_served_at_once_while_retry_runs_behind);
	tcase_add_test(fail, test_cache_backs_off_after_server_error_with_nothing_cached);
	tcase_add_test(fail, test_cache_backoff_doubles_up_to_a_cap);
	tcase_add_test(fail, test_cache_backoff_jitter_is_half_to_one_and_a_half);
	tcase_add_test(fail, test_cache_honours_retry_after);
	tcase_add_test(fail, test_cache_retry_after_is_capped_at_an_hour);
	tcase_add_test(fail, test_cache_success_resets_backoff);
	tcase_add_test(fail, test_cache_failed_fetch_logs_one_line_naming_connector_without_token);
	tcase_add_test(fail, test_cache_an_access_token_echoed_in_an_error_is_redacted);
	tcase_add_test(fail, test_cache_a_token_cut_off_at_the_end_of_an_error_is_redacted_too);
	suite_add_tcase(s, fail);

	tcase_add_checked_fixture(jwt, cache_setup, cache_teardown);
	tcase_add_test(jwt, test_cache_never_serves_expired_jwt);
	tcase_add_test(jwt, test_cache_jwt_exp_caps_valid_ms);
	tcase_add_test(jwt, test_cache_refetches_when_cached_jwt_expires_within_ttl);
	tcase_add_test(jwt, test_cache_jwt_exp_caps_stale_window);
	tcase_add_test(jwt, test_cache_announces_jwt_expiry_once);
	suite_add_tcase(s, jwt);

	tcase_add_checked_fixture(refresh, cache_setup, cache_teardown);
	tcase_add_test(refresh, test_cache_refresh_ahead_in_last_eighth_of_ttl);
	tcase_add_test(refresh, test_cache_failed_refresh_ahead_keeps_serving_until_ttl);
	tcase_add_test(refresh, test_cache_background_threads_perform_refresh_ahead);
	tcase_add_test(refresh, test_cache_refresh_forces_request_within_ttl);
	tcase_add_test(refresh, test_cache_unknown_names_beyond_the_burst_are_refused_without_request);
	tcase_add_test(refresh, test_cache_unknown_budget_refills_at_its_rate);
	tcase_add_test(refresh, test_cache_declared_and_fetched_names_bypass_the_budget);
	tcase_add_test(refresh, test_cache_remembered_unknown_names_are_capped_least_recent_out);
	tcase_add_test(refresh, test_cache_names_that_exist_give_their_request_back);
	tcase_add_test(refresh, test_cache_unknown_names_found_missing_are_never_reported_or_logged);
	tcase_add_test(refresh, test_cache_refused_names_cost_no_memory);
	tcase_add_test(refresh, test_cache_refresh_obeys_backoff_and_retry_after);
	tcase_add_test(refresh, test_cache_refresh_obeys_the_negative_cache);
	tcase_add_test(refresh, test_cache_concurrent_refreshes_share_one_request);
	tcase_add_test(refresh, test_cache_refresh_never_takes_the_answer_of_an_older_request);
	tcase_add_test(refresh, test_cache_refresh_all_refetches_every_fetched_connector);
	tcase_add_test(refresh, test_cache_refresh_all_of_empty_cache_makes_no_request);
	tcase_add_test(refresh, test_cache_drop_all_makes_next_get_fetch);
	tcase_add_test(refresh, test_cache_drop_all_forgets_negative_and_backoff);
	tcase_add_test(refresh, test_cache_dropped_value_is_not_served_stale);
	suite_add_tcase(s, refresh);

	tcase_add_checked_fixture(misc, cache_setup, cache_teardown);
	tcase_add_test(misc, test_cache_invalid_names_are_not_found_without_request);
	tcase_add_test(misc, test_cache_peek_never_fetches);
	tcase_add_test(misc, test_cache_fetch_ok_without_value_is_malformed);
	tcase_add_test(misc, test_cache_foreach_reports_counts_and_states);
	tcase_add_test(misc, test_cache_foreach_message_is_the_servers);
	tcase_add_test(misc, test_cache_state_names);
	tcase_add_test(misc, test_cache_new_requires_fetch_hook);
	tcase_add_test(misc, test_cache_many_connectors_survive_table_growth);
	suite_add_tcase(s, misc);

	tcase_add_checked_fixture(flight, cache_setup, cache_teardown);
	tcase_add_test(flight, test_cache_single_flight_one_request_for_32_readers);
	tcase_add_test(flight, test_cache_single_flight_shares_a_failure);
	tcase_add_test(flight, test_cache_single_flight_after_ttl_one_refetch);
	tcase_add_test(flight, test_cache_waiter_gives_up_after_timeout);
	suite_add_tcase(s, flight);

	tcase_add_checked_fixture(bugs, cache_setup, cache_teardown);
	tcase_add_test(bugs, test_cache_ttl_zero_serves_the_value_it_just_fetched);
	tcase_add_test(bugs, test_cache_serves_jwt_with_far_future_exp);
	tcase_add_test(bugs, test_cache_huge_retry_after_is_capped_not_ignored);
	tcase_add_test(bugs, test_cache_hits_count_only_reads_served_without_request);
	tcase_add_test(misc, test_cache_kept_hears_every_fetch_and_the_end_of_serving);
	tcase_add_test(misc, test_cache_kept_is_told_of_a_sighup_drop);
	tcase_add_test(misc, test_cache_kept_is_not_told_of_a_failure_it_serves_through);
	tcase_add_test(misc, test_cache_restored_value_is_served_without_a_request);
	tcase_add_test(misc, test_cache_restored_value_past_its_ttl_is_fetched_and_served_stale_on_failure);
	tcase_add_test(misc, test_cache_restored_generation_goes_on_counting);
	tcase_add_test(misc, test_cache_restore_refuses_a_bad_name);
	suite_add_tcase(s, bugs);
	return s;
}
