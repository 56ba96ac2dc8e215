/*
 * fuzz_names.c: libFuzzer target for the checks that stand between a name
 * and a path or a URL: name_is_connector, name_is_config_key, name_env_prefix,
 * base44_encode_component, base44_token_url, config_url_allowed, and the
 * api_url= and connectors= options built on them.
 *
 * The input is "api_url\napp_id\ntype"; a part that is missing is "". The
 * name checks see both the whole input and the type. Each result is checked
 * against the rule names.h states for it, and an api_url that
 * config_url_allowed() lets through over plain http is parsed by libcurl's
 * own URL parser, the one that decides where the service token goes: the
 * host it finds must be a loopback address.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>

#include "base44.h"
#include "config.h"
#include "log.h"
#include "names.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_names: check failed: %s (%s:%d)\n",	\
		    #cond, __FILE__, __LINE__);				\
		abort();						\
	}								\
} while (0)

static const char fuzz_connector_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
static const char fuzz_key_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
/* What encodeURIComponent leaves alone. */
static const char fuzz_unreserved[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()";

static void
fuzz_log_discard(enum log_level level, const char *line, void *arg)
{
	(void)level;
	(void)line;
	(void)arg;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_sink(fuzz_log_discard, NULL);
	return 0;
}

/* A heap copy of exactly n bytes, NUL-terminated only when nul is set. */
static char *
fuzz_copy(const char *p, size_t n, int nul)
{
	char *s = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul ? 1 : 0));

	FUZZ_CHECK(s != NULL);
	if (n > 0)
		memcpy(s, p, n);
	if (nul)
		s[n] = '\0';
	return s;
}

static int
fuzz_all_in(const char *s, size_t n, const char *set)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}

static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* enc is encodeURIComponent(s): only unreserved bytes and %XX, decoding to s. */
static void
fuzz_check_encoded(const char *s, const char *enc, size_t enclen)
{
	size_t i, o = 0, n = strlen(s);

	FUZZ_CHECK(strlen(enc) == enclen);
	for (i = 0; i < enclen; o++) {
		FUZZ_CHECK(o < n);
		if (enc[i] == '%') {
			FUZZ_CHECK(i + 2 < enclen);
			FUZZ_CHECK(fuzz_hex(enc[i + 1]) >= 0 && fuzz_hex(enc[i + 2]) >= 0);
			FUZZ_CHECK((unsigned char)s[o] ==
			    (unsigned)(fuzz_hex(enc[i + 1]) * 16 + fuzz_hex(enc[i + 2])));
			/* an unreserved byte is never escaped */
			FUZZ_CHECK(strchr(fuzz_unreserved, s[o]) == NULL);
			i += 3;
		} else {
			FUZZ_CHECK(strchr(fuzz_unreserved, enc[i]) != NULL);
			FUZZ_CHECK(s[o] == enc[i]);
			i++;
		}
	}
	FUZZ_CHECK(o == n);
}

/* base44_encode_component with out buffers of exactly the size given. */
static void
fuzz_check_encode(const char *s)
{
	size_t need = 0, i, n = strlen(s);
	char *out;
	int r;

	for (i = 0; i < n; i++)
		need += strchr(fuzz_unreserved, s[i]) != NULL ? 1 : 3;

	out = malloc(need + 1);
	FUZZ_CHECK(out != NULL);
	r = base44_encode_component(s, out, need + 1);
	FUZZ_CHECK(r >= 0 && (size_t)r == need);
	fuzz_check_encoded(s, out, need);
	free(out);

	/* One byte short, and (for short inputs) every smaller size, must fail. */
	for (i = need; ; i = i > 0 ? i - 1 : 0) {
		out = malloc(i > 0 ? i : 1);
		FUZZ_CHECK(out != NULL);
		FUZZ_CHECK(base44_encode_component(s, out, i) == -1);
		free(out);
		if (i == 0 || (need > 16 && i < need - 3))
			break;
	}
}

/* Every rule of names.h, on n bytes that are not NUL-terminated. */
static void
fuzz_check_name(const char *p, size_t n)
{
	char *raw = fuzz_copy(p, n, 0), *s = fuzz_copy(p, n, 1), *env;
	size_t slen = strlen(s), i;
	int key, conn;

	key = name_is_config_key(raw, n);
	FUZZ_CHECK(key == (n >= 1 && n <= NAME_KEY_MAX && fuzz_all_in(raw, n, fuzz_key_chars) &&
	    !(n == 1 && raw[0] == '.') && !(n == 2 && raw[0] == '.' && raw[1] == '.')));
	if (key)
		FUZZ_CHECK(memchr(raw, '/', n) == NULL);

	conn = name_is_connector(s);
	FUZZ_CHECK(conn == (slen >= 1 && slen <= NAME_CONNECTOR_MAX &&
	    fuzz_all_in(s, slen, fuzz_connector_chars)));
	if (conn) {
		/* A type is a safe file name and goes into a URL unchanged. */
		char enc[3 * NAME_CONNECTOR_MAX + 1];

		FUZZ_CHECK(name_is_config_key(s, slen));
		FUZZ_CHECK(base44_encode_component(s, enc, sizeof(enc)) == (int)slen);
		FUZZ_CHECK(strcmp(enc, s) == 0);
	}

	env = malloc(slen + 1);
	FUZZ_CHECK(env != NULL);
	name_env_prefix(s, env);
	FUZZ_CHECK(strlen(env) == slen);
	for (i = 0; i < slen; i++) {
		char c = s[i];

		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", env[i]) != NULL);
		if (c >= 'a' && c <= 'z')
			FUZZ_CHECK(env[i] == c - 'a' + 'A');
		else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
			FUZZ_CHECK(env[i] == c);
		else
			FUZZ_CHECK(env[i] == '_');
	}
	free(env);

	(void)name_hash(s);
	fuzz_check_encode(s);
	free(s);
	free(raw);
}

/* Is a host as libcurl reports it one that only reaches this machine? */
static int
fuzz_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[128];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && n < sizeof(h) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 &&
		    memcmp(&a6, &in6addr_loopback, sizeof(a6)) == 0;
	}
	return 0;
}

/*
 * The URL the daemon would request must go where config_url_allowed() let
 * it: libcurl parses it as CURLOPT_URL does (a scheme guessed when absent,
 * any scheme accepted at this stage; http.c then allows only http and https).
 */
static void
fuzz_check_with_curl(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;

	FUZZ_CHECK(u != NULL);
	if (curl_url_set(u, CURLUPART_URL, url,
	    CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	FUZZ_CHECK(strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	if (strcmp(scheme, "http") != 0)
		goto out;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (!fuzz_host_is_loopback(host)) {
		fprintf(stderr, "fuzz_names: %s goes to host %s over http\n", url, host);
		abort();
	}
out:
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
}

static void
fuzz_check_url(const char *api_url, const char *app_id, const char *type)
{
	char *api = fuzz_copy(api_url, strlen(api_url), 1), *out;
	size_t n = strlen(api), want;
	int r, allowed;

	/* config_set() strips trailing slashes before anything else sees the URL. */
	while (n > 0 && api[n - 1] == '/')
		api[--n] = '\0';
	allowed = config_url_allowed(api);
	if (allowed)
		FUZZ_CHECK(strncasecmp(api, "https://", 8) == 0 ||
		    strncasecmp(api, "http://", 7) == 0);
	if (allowed && strncasecmp(api, "http://", 7) == 0)
		FUZZ_CHECK(strchr(api, '@') == NULL);

	/* Sizes: room for everything, then exactly enough, then one short. */
	out = malloc(4096);
	FUZZ_CHECK(out != NULL);
	r = base44_token_url(out, 4096, api, app_id, type);
	if (r >= 0) {
		size_t alen = strlen(api), idlen = strlen(app_id);
		char *exact;

		FUZZ_CHECK(strlen(out) == (size_t)r);
		FUZZ_CHECK(strncmp(out, api, alen) == 0);
		FUZZ_CHECK(strncmp(out + alen, "/api/apps/", 10) == 0);
		FUZZ_CHECK(strncmp(out + alen + 10, app_id, idlen) == 0);
		FUZZ_CHECK(strncmp(out + alen + 10 + idlen, "/external-auth/tokens/", 22) == 0);
		fuzz_check_encoded(type, out + alen + 32 + idlen, (size_t)r - alen - 32 - idlen);
		want = (size_t)r;
		exact = malloc(want + 1);
		FUZZ_CHECK(exact != NULL);
		FUZZ_CHECK(base44_token_url(exact, want + 1, api, app_id, type) == r);
		FUZZ_CHECK(strcmp(exact, out) == 0);
		FUZZ_CHECK(base44_token_url(exact, want, api, app_id, type) == -1);
		free(exact);
		/* config_finish() has checked app_id before any request is built. */
		if (allowed && app_id[0] != '\0' && strpbrk(app_id, "/?#% \t\r\n") == NULL)
			fuzz_check_with_curl(out);
	} else {
		FUZZ_CHECK(strlen(type) > 256 || strlen(api) + strlen(app_id) +
		    3 * strlen(type) + 32 >= 4096);
	}
	free(out);
	free(api);
}

/*
 * The same three parts as mount options: api_url= (slashes stripped),
 * connectors= (a comma list of names) and one more connector by name. Only
 * connector names may come out of it.
 */
static void
fuzz_check_config(const char *api_url, const char *app_id, const char *type)
{
	struct config cfg;
	char msg[256];
	size_t i, n;
	int r;

	config_init(&cfg);
	r = config_set(&cfg, "api_url", api_url, msg, sizeof(msg));
	if (api_url[0] == '\0') {
		FUZZ_CHECK(r == CFS_ERR_INVALID && cfg.api_url == NULL);
	} else {
		FUZZ_CHECK(r == CFS_OK);
		n = strlen(cfg.api_url);
		FUZZ_CHECK(n == 0 || cfg.api_url[n - 1] != '/');
		FUZZ_CHECK(strncmp(cfg.api_url, api_url, n) == 0);
		FUZZ_CHECK(strspn(api_url + n, "/") == strlen(api_url + n));
	}
	(void)config_set(&cfg, "app_id", app_id, msg, sizeof(msg));
	r = config_set(&cfg, "connectors", type, msg, sizeof(msg));
	FUZZ_CHECK(r == CFS_OK || r == CFS_ERR_INVALID);
	if (r == CFS_ERR_INVALID)
		FUZZ_CHECK(cfg.nconnectors == 0);
	(void)config_add_connector(&cfg, type, msg, sizeof(msg));
	for (i = 0; i < cfg.nconnectors; i++)
		FUZZ_CHECK(name_is_connector(cfg.connectors[i]));
	config_free(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl1, *nl2;
	char *api, *app, *type;
	size_t alen, blen, clen;

	fuzz_check_name(p, size);

	nl1 = memchr(p, '\n', size);
	alen = nl1 != NULL ? (size_t)(nl1 - p) : size;
	nl2 = nl1 != NULL ? memchr(nl1 + 1, '\n', size - alen - 1) : NULL;
	blen = nl1 == NULL ? 0 : nl2 != NULL ? (size_t)(nl2 - nl1 - 1) : size - alen - 1;
	clen = nl2 == NULL ? 0 : size - (size_t)(nl2 - p) - 1;
	api = fuzz_copy(p, alen, 1);
	app = fuzz_copy(nl1 != NULL ? nl1 + 1 : p, blen, 1);
	type = fuzz_copy(nl2 != NULL ? nl2 + 1 : p, clen, 1);

	if (nl2 != NULL)
		fuzz_check_name(nl2 + 1, clen);
	fuzz_check_url(api, app, type);
	fuzz_check_config(api, app, type);

	free(type);
	free(app);
	free(api);
	return 0;
}
