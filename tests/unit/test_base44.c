/*
 * test_base44.c: the token endpoint as the SDK speaks it (base44.h): URL
 * building with encodeURIComponent, and base44_fetch() against a tiny
 * scripted HTTP server on 127.0.0.1 (one canned response per connection),
 * which shows the request on the wire and how each answer is interpreted.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base44.h"
#include "config.h"
#include "http.h"
#include "redact.h"
#include "secret.h"
#include "unit.h"

/* encodeURIComponent */

START_TEST(test_encode_component_follows_encodeuricomponent)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "slack", "slack" },
		{ "share_point", "share_point" },
		{ "ABCxyz019", "ABCxyz019" },
		{ "-_.!~*'()", "-_.!~*'()" },
		{ "a b", "a%20b" },
		{ "a/b", "a%2Fb" },
		{ "..", ".." },
		{ "?#&=+,;:@$", "%3F%23%26%3D%2B%2C%3B%3A%40%24" },
		{ "%", "%25" },
		{ "caf\xc3\xa9", "caf%C3%A9" },
		{ "\xe2\x82\xac", "%E2%82%AC" },
		{ "\x01\x7f", "%01%7F" },
		{ "[]{}|\\^`\"<>", "%5B%5D%7B%7D%7C%5C%5E%60%22%3C%3E" },
		{ "", "" },
	};
	char out[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = base44_encode_component(cases[i].in, out, sizeof(out));

		ck_assert_msg(n == (int)strlen(cases[i].want), "'%s': length %d", cases[i].in, n);
		ck_assert_str_eq(out, cases[i].want);
	}
}
END_TEST

START_TEST(test_encode_component_refuses_too_small_buffer)
{
	char out[8];

	/* "abc" needs 4 bytes with the NUL; "%20" needs 4 too. */
	ck_assert_int_eq(base44_encode_component("abc", out, 4), 3);
	ck_assert_int_eq(base44_encode_component("abc", out, 3), -1);
	ck_assert_int_eq(base44_encode_component(" ", out, 4), 3);
	ck_assert_str_eq(out, "%20");
	ck_assert_int_eq(base44_encode_component(" ", out, 3), -1);
	ck_assert_int_eq(base44_encode_component("", out, 1), 0);
	ck_assert_int_eq(base44_encode_component("", out, 0), -1);
}
END_TEST

START_TEST(test_token_url_is_exact)
{
	static const struct {
		const char *api, *app, *type, *want;
	} cases[] = {
		{ "http://127.0.0.1:8044", "app1", "share_point",
		  "http://127.0.0.1:8044/api/apps/app1/external-auth/tokens/share_point" },
		{ "https://base44.app", "65f0c0ffee", "slack",
		  "https://base44.app/api/apps/65f0c0ffee/external-auth/tokens/slack" },
		{ "https://base44.app", "app1", "a b/c",
		  "https://base44.app/api/apps/app1/external-auth/tokens/a%20b%2Fc" },
		/* A workspace connector, by id: getWorkspaceConnection(connectorId). */
		{ "https://base44.app", "app1", "connectors/69aBc-12_x",
		  "https://base44.app/api/apps/app1/external-auth/tokens/connectors/69aBc-12_x" },
		{ "https://base44.app", "app1", "connectors/a b",
		  "https://base44.app/api/apps/app1/external-auth/tokens/connectors/a%20b" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = base44_token_url(out, sizeof(out), cases[i].api, cases[i].app,
		    cases[i].type);

		ck_assert_int_eq(n, (int)strlen(cases[i].want));
		ck_assert_str_eq(out, cases[i].want);
	}
}
END_TEST

START_TEST(test_token_url_too_small_buffer_returns_minus_one)
{
	static const char want[] =
	    "http://127.0.0.1:8044/api/apps/app1/external-auth/tokens/share_point";
	char out[sizeof(want)];

	ck_assert_int_eq(base44_token_url(out, sizeof(want), "http://127.0.0.1:8044", "app1",
	    "share_point"), (int)sizeof(want) - 1);
	ck_assert_int_eq(base44_token_url(out, sizeof(want) - 1, "http://127.0.0.1:8044",
	    "app1", "share_point"), -1);
	ck_assert_int_eq(base44_token_url(out, 10, "http://127.0.0.1:8044", "app1", "slack"), -1);
}
END_TEST

START_TEST(test_token_url_refuses_overlong_type)
{
	char type[300], out[2048];

	memset(type, 'a', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	ck_assert_int_eq(base44_token_url(out, sizeof(out), "https://base44.app", "app1", type),
	    -1);
}
END_TEST

/* A scripted HTTP server: serves responses[i] to the i-th connection. */

#define SERVER_MAX 4

struct fake_server {
	int fd;
	int port;
	pthread_t thread;
	int n;
	const char *responses[SERVER_MAX];	/* NULL: accept, read, never answer */
	size_t lens[SERVER_MAX];
	char requests[SERVER_MAX][4096];
	int served;
};

static void
server_read_request(int fd, char *req, size_t reqsz)
{
	size_t len = 0;
	ssize_t r;

	req[0] = '\0';
	while (len + 1 < reqsz && strstr(req, "\r\n\r\n") == NULL) {
		r = recv(fd, req + len, reqsz - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
	}
}

static void *
server_main(void *arg)
{
	struct fake_server *s = arg;
	int i;

	for (i = 0; i < s->n; i++) {
		int fd = accept(s->fd, NULL, NULL);
		size_t off = 0;
		char drain[256];

		if (fd < 0)
			break;
		server_read_request(fd, s->requests[i], sizeof(s->requests[i]));
		s->served = i + 1;
		if (s->responses[i] == NULL) {
			/* Hang until the client gives up. */
			while (recv(fd, drain, sizeof(drain), 0) > 0)
				continue;
		} else {
			while (off < s->lens[i]) {
				ssize_t w = send(fd, s->responses[i] + off, s->lens[i] - off,
				    MSG_NOSIGNAL);

				if (w <= 0)
					break;	/* the client stopped reading (body cap) */
				off += (size_t)w;
			}
			shutdown(fd, SHUT_WR);
			while (recv(fd, drain, sizeof(drain), 0) > 0)
				continue;
		}
		close(fd);
	}
	return NULL;
}

static void
server_start(struct fake_server *s)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int i;

	for (i = 0; i < s->n; i++)
		if (s->responses[i] != NULL && s->lens[i] == 0)
			s->lens[i] = strlen(s->responses[i]);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(s->fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(s->fd, 8), 0);
	ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&sa, &salen), 0);
	s->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void
server_stop(struct fake_server *s)
{
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* A full response with a correct Content-Length, in static storage per slot. */
static const char *
http_reply(int slot, const char *status_line, const char *headers, const char *body)
{
	static char replies[SERVER_MAX][2048];

	snprintf(replies[slot], sizeof(replies[slot]),
	    "HTTP/1.1 %s\r\nConnection: close\r\n%sContent-Length: %zu\r\n\r\n%s",
	    status_line, headers, strlen(body), body);
	return replies[slot];
}

static struct base44_client *
client_for(int port, unsigned timeout_s)
{
	char url[64];
	struct base44_options o = {
		.api_url = url,
		.app_id = "app1",
		.service_token = "svc-SECRET-1",
		.timeout_s = timeout_s,
		.body_max = CONFIG_BODY_MAX,
	};
	struct base44_client *c = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	ck_assert_int_eq(base44_client_new(&o, &c), CFS_OK);
	ck_assert_ptr_nonnull(c);
	return c;
}

/* Fetch one connection from a server that answers with response. */
static enum cfs_err
fetch_once(const char *response, const char *type, struct fake_server *s,
    struct connection **conn, struct base44_result *res)
{
	struct base44_client *c;
	enum cfs_err err;

	memset(s, 0, sizeof(*s));
	s->n = 1;
	s->responses[0] = response;
	server_start(s);
	c = client_for(s->port, 5);
	err = base44_fetch(c, type, conn, res);
	base44_client_free(&c);
	ck_assert_ptr_null(c);
	server_stop(s);
	return err;
}

static int
request_has_header(const char *req, const char *line)
{
	char want[512];

	snprintf(want, sizeof(want), "\r\n%s\r\n", line);
	return strstr(req, want) != NULL;
}

START_TEST(test_fetch_sends_the_sdk_request)
{
	const char *resp = http_reply(0, "200 OK", "Content-Type: application/json\r\n",
	    "{\"access_token\":\"t\",\"integration_type\":\"share_point\","
	    "\"connection_config\":{\"subdomain\":\"contoso\"}}");
	struct fake_server s;
	struct connection *conn = NULL;
	struct base44_result res;
	const char *req;
	static const char line[] =
	    "GET /api/apps/app1/external-auth/tokens/share_point HTTP/1.1\r\n";

	ck_assert_int_eq(fetch_once(resp, "share_point", &s, &conn, &res), CFS_OK);
	req = s.requests[0];
	ck_assert_msg(strncmp(req, line, strlen(line)) == 0, "request line: %.80s", req);
	ck_assert_msg(request_has_header(req, "Authorization: Bearer svc-SECRET-1"),
	    "no bearer header in %s", req);
	ck_assert(request_has_header(req, "X-App-Id: app1"));
	ck_assert(request_has_header(req, "Accept: application/json"));
	ck_assert_ptr_null(strstr(req, "Content-Type:"));
	ck_assert_int_eq(res.err, CFS_OK);
	ck_assert_int_eq(res.status, 200);
	ck_assert_ptr_nonnull(conn);
	ck_assert_str_eq(conn->token, "t");
	ck_assert_str_eq(conn->json_doc,
	    "{\"accessToken\":\"t\",\"connectionConfig\":{\"subdomain\":\"contoso\"}}\n");
	connection_unref(&conn);
}
END_TEST

START_TEST(test_fetch_percent_encodes_the_type_in_the_path)
{
	static const char line[] = "GET /api/apps/app1/external-auth/tokens/a%20b%2Fc HTTP/1.1\r\n";
	const char *resp = http_reply(0, "404 Not Found", "", "{}");
	struct fake_server s;
	struct connection *conn = NULL;
	struct base44_result res;

	ck_assert_int_eq(fetch_once(resp, "a b/c", &s, &conn, &res), CFS_ERR_NOT_FOUND);
	ck_assert_msg(strncmp(s.requests[0], line, strlen(line)) == 0, "request line: %.80s",
	    s.requests[0]);
}
END_TEST

START_TEST(test_fetch_maps_error_statuses_and_reads_the_message)
{
	static const struct {
		const char *status_line, *headers, *body;
		enum cfs_err err;
		long status;
		const char *message, *code;
		long retry_after;
	} cases[] = {
		{ "404 Not Found", "",
		  "{\"detail\":\"Connector connection not found\",\"code\":\"NOT_FOUND\"}",
		  CFS_ERR_NOT_FOUND, 404, "Connector connection not found", "NOT_FOUND", -1 },
		{ "401 Unauthorized", "", "{\"detail\":\"Unauthorized\"}",
		  CFS_ERR_DENIED, 401, "Unauthorized", "", -1 },
		{ "403 Forbidden",
		  "X-Base44-Connector-Error: metered_connector_requires_proxy\r\n",
		  "{\"detail\":\"Connector 'x' is metered\"}",
		  CFS_ERR_DENIED, 403, "Connector 'x' is metered",
		  "metered_connector_requires_proxy", -1 },
		/* The SDK prefers the body's code over the header's. */
		{ "403 Forbidden", "X-Base44-Connector-Error: from_header\r\n",
		  "{\"error\":{\"message\":\"m\",\"code\":\"from_body\"}}",
		  CFS_ERR_DENIED, 403, "m", "from_body", -1 },
		{ "429 Too Many Requests", "Retry-After: 30\r\n", "slow",
		  CFS_ERR_RATE_LIMITED, 429, "", "", 30 },
		/* An HTTP-date Retry-After is allowed but not usable. */
		{ "429 Too Many Requests", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n", "",
		  CFS_ERR_RATE_LIMITED, 429, "", "", -1 },
		{ "503 Service Unavailable", "", "Bad Gateway",
		  CFS_ERR_SERVER, 503, "", "", -1 },
		{ "500 Internal Server Error", "", "{\"message\":\"db\\nis down\"}",
		  CFS_ERR_SERVER, 500, "db is down", "", -1 },
		{ "408 Request Timeout", "", "", CFS_ERR_TIMEOUT, 408, "", "", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_server s;
		struct connection *conn = NULL;
		struct base44_result res;
		enum cfs_err err = fetch_once(http_reply(0, cases[i].status_line,
		    cases[i].headers, cases[i].body), "slack", &s, &conn, &res);

		ck_assert_msg(err == cases[i].err, "case %zu: %s", i, err_name(err));
		ck_assert_int_eq(res.err, cases[i].err);
		ck_assert_ptr_null(conn);
		ck_assert_int_eq(res.status, cases[i].status);
		ck_assert_str_eq(res.message, cases[i].message);
		ck_assert_str_eq(res.code, cases[i].code);
		ck_assert_int_eq(res.retry_after, cases[i].retry_after);
	}
}
END_TEST

START_TEST(test_fetch_malformed_200_body_is_malformed_with_reason)
{
	static const char *const bodies[] = { "not json", "", "{\"access_token\":12}", "[]" };
	size_t i;

	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct fake_server s;
		struct connection *conn = NULL;
		struct base44_result res;

		ck_assert_int_eq(fetch_once(http_reply(0, "200 OK", "", bodies[i]), "slack", &s,
		    &conn, &res), CFS_ERR_MALFORMED);
		ck_assert_ptr_null(conn);
		ck_assert_int_eq(res.status, 200);
		ck_assert_msg(res.message[0] != '\0', "case %zu: no reason given", i);
	}
}
END_TEST

START_TEST(test_fetch_body_over_64k_is_too_big)
{
	static char resp[100 * 1024];
	struct fake_server s;
	struct connection *conn = NULL;
	struct base44_result res;
	size_t body = 70 * 1024, n;

	n = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: %zu\r\n\r\n{\"access_token\":\"", body);
	memset(resp + n, 'A', body - 18);
	n += body - 18;
	memcpy(resp + n, "\"}", 3);
	ck_assert_int_eq(fetch_once(resp, "slack", &s, &conn, &res), CFS_ERR_TOO_BIG);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(res.err, CFS_ERR_TOO_BIG);
}
END_TEST

START_TEST(test_fetch_to_closed_port_is_refused_without_status)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port that was free a moment ago and has no listener. */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	close(fd);
	c = client_for(ntohs(sa.sin_port), 5);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_REFUSED);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(res.status, 0);
	ck_assert_msg(res.message[0] != '\0', "no transport detail");
	ck_assert_ptr_null(strstr(res.message, "svc-SECRET-1"));
	base44_client_free(&c);
}
END_TEST

START_TEST(test_fetch_that_hangs_times_out)
{
	struct fake_server s;
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;

	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.responses[0] = NULL;
	server_start(&s);
	c = client_for(s.port, 1);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_TIMEOUT);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(res.status, 0);
	base44_client_free(&c);
	server_stop(&s);
}
END_TEST

START_TEST(test_set_service_token_replaces_bearer_for_next_request)
{
	const char *resp = http_reply(0, "401 Unauthorized", "", "{}");
	struct fake_server s;
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;

	memset(&s, 0, sizeof(s));
	s.n = 2;
	s.responses[0] = resp;
	s.responses[1] = resp;
	server_start(&s);
	c = client_for(s.port, 5);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_DENIED);
	ck_assert_int_eq(base44_set_service_token(c, "svc-NEW-2"), CFS_OK);
	ck_assert_int_eq(base44_set_service_token(c, ""), CFS_ERR_INVALID);
	ck_assert_int_eq(base44_set_service_token(c, NULL), CFS_ERR_INVALID);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_DENIED);
	base44_client_free(&c);
	server_stop(&s);
	ck_assert(request_has_header(s.requests[0], "Authorization: Bearer svc-SECRET-1"));
	ck_assert(request_has_header(s.requests[1], "Authorization: Bearer svc-NEW-2"));
}
END_TEST

/* Redaction: no secret the client knows comes back in res, whatever the server echoes. */

/* 1 when s holds secret, or its first 6 bytes (a cut-off echo). */
static int
holds_part_of(const char *s, const char *secret)
{
	char head[7] = { 0 };

	memcpy(head, secret, strnlen(secret, sizeof(head) - 1));
	return strstr(s, secret) != NULL || strstr(s, head) != NULL;
}

START_TEST(test_fetch_redacts_the_service_token_in_the_connector_error_header)
{
	struct fake_server s;
	struct connection *conn = NULL;
	struct base44_result res;
	char hdr[512];

	snprintf(hdr, sizeof(hdr), "X-Base44-Connector-Error: bad_token:svc-SECRET-1\r\n");
	ck_assert_int_eq(fetch_once(http_reply(0, "403 Forbidden", hdr, "{}"), "slack", &s,
	    &conn, &res), CFS_ERR_DENIED);
	ck_assert_msg(!holds_part_of(res.code, "svc-SECRET-1"), "code: %s", res.code);
	ck_assert_str_eq(res.code, "bad_token:[redacted]");

	/* An echo that crosses the end of res.code is redacted before the cut. */
	snprintf(hdr, sizeof(hdr), "X-Base44-Connector-Error: %.86s svc-SECRET-1 tail\r\n",
	    "..........................................................................."
	    "...............");
	ck_assert_int_eq(fetch_once(http_reply(0, "401 Unauthorized", hdr, ""), "slack", &s,
	    &conn, &res), CFS_ERR_DENIED);
	ck_assert_msg(!holds_part_of(res.code, "svc-SECRET-1"), "code: %s", res.code);
}
END_TEST

/* base44_list() against a server that answers with response, with key as credential. */
static enum cfs_err
list_once(const char *response, const char *key, struct base44_result *res)
{
	struct fake_server s;
	struct base44_client *c;
	struct integration *rows = NULL;
	size_t n = 0;
	enum cfs_err err;

	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.responses[0] = response;
	server_start(&s);
	c = client_for(s.port, 5);
	err = base44_list(c, key, BASE44_LIST_CONNECTED, &rows, &n, res);
	base44_client_free(&c);
	server_stop(&s);
	ck_assert_ptr_null(rows);
	return err;
}

START_TEST(test_list_errors_redact_the_api_key_and_the_service_token)
{
	static const char *const keys[] = { "mgmt-KEY-9", "b44k_KEY-9" };
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		struct base44_result res;
		char hdr[256], body[256];

		snprintf(hdr, sizeof(hdr), "X-Base44-Connector-Error: key=%s svc=svc-SECRET-1\r\n",
		    keys[i]);
		snprintf(body, sizeof(body), "{\"detail\":\"bad key %s (not svc-SECRET-1)\"}",
		    keys[i]);
		ck_assert_int_eq(list_once(http_reply(0, "401 Unauthorized", hdr, body), keys[i],
		    &res), CFS_ERR_DENIED);
		ck_assert_msg(!holds_part_of(res.message, keys[i]), "message: %s", res.message);
		ck_assert_msg(!holds_part_of(res.message, "svc-SECRET-1"), "message: %s",
		    res.message);
		ck_assert_str_eq(res.message, "bad key [redacted] (not [redacted])");
		ck_assert_msg(!holds_part_of(res.code, keys[i]), "code: %s", res.code);
		ck_assert_msg(!holds_part_of(res.code, "svc-SECRET-1"), "code: %s", res.code);
		ck_assert_str_eq(res.code, "key=[redacted] svc=[redacted]");

		/* A 5xx and a body code are redacted the same. */
		snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\",\"code\":\"%s\"}}",
		    keys[i], keys[i]);
		ck_assert_int_eq(list_once(http_reply(0, "500 Internal Server Error", "", body),
		    keys[i], &res), CFS_ERR_SERVER);
		ck_assert_str_eq(res.message, "[redacted]");
		ck_assert_str_eq(res.code, "[redacted]");
	}
}
END_TEST

START_TEST(test_fetch_errors_redact_the_registered_api_key_longest_secret_first)
{
	struct fake_server s;
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;
	/* The key holds the service token: redacting that first would leave "x" parts. */
	static const char key[] = "xx-svc-SECRET-1-xx";

	memset(&s, 0, sizeof(s));
	s.n = 2;
	s.responses[0] = http_reply(0, "403 Forbidden",
	    "X-Base44-Connector-Error: xx-svc-SECRET-1-xx\r\n",
	    "{\"detail\":\"k=xx-svc-SECRET-1-xx\"}");
	s.responses[1] = http_reply(1, "403 Forbidden", "",
	    "{\"detail\":\"k=xx-svc-SECRET-1-xx\"}");
	server_start(&s);
	c = client_for(s.port, 5);
	ck_assert_int_eq(base44_set_api_key(c, key), CFS_OK);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_DENIED);
	ck_assert_str_eq(res.message, "k=[redacted]");
	ck_assert_str_eq(res.code, "[redacted]");
	/* Forgotten: then only the service token is redacted. */
	ck_assert_int_eq(base44_set_api_key(c, NULL), CFS_OK);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_DENIED);
	ck_assert_str_eq(res.message, "k=xx-[redacted]-xx");
	base44_client_free(&c);
	server_stop(&s);
}
END_TEST

/* A client of scheme://127.0.0.1:port, with proxy= (or NULL) and proxy credentials (or NULL). */
static struct base44_client *
client_via(const char *scheme, int port, const char *proxy, const char *user,
    const char *password)
{
	char url[64];
	struct base44_options o = {
		.api_url = url,
		.app_id = "app1",
		.service_token = "svc-SECRET-1",
		.timeout_s = 2,
		.body_max = CONFIG_BODY_MAX,
		.proxy = proxy,
		.proxy_user = user,
		.proxy_password = password,
	};
	struct base44_client *c = NULL;

	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", scheme, port);
	ck_assert_int_eq(base44_client_new(&o, &c), CFS_OK);
	return c;
}

/* A client whose http:// API URL comes with proxy= and proxy credentials. */
static struct base44_client *
client_with_proxy(int port, const char *proxy, const char *user, const char *password)
{
	return client_via("http", port, proxy, user, password);
}

START_TEST(test_fetch_errors_redact_the_proxy_password)
{
	struct fake_server s;
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;

	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.responses[0] = http_reply(0, "403 Forbidden",
	    "X-Base44-Connector-Error: proxy said prx-PASS-7\r\n",
	    "{\"detail\":\"user:prx-PASS-7 and svc-SECRET-1\"}");
	server_start(&s);
	c = client_with_proxy(s.port, "http://127.0.0.1:9", "prx-user", "prx-PASS-7");
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_DENIED);
	ck_assert_str_eq(res.message, "user:[redacted] and [redacted]");
	ck_assert_str_eq(res.code, "proxy said [redacted]");
	base44_client_free(&c);
	server_stop(&s);
}
END_TEST

/* Proxies: plain http never goes through one, whatever the environment says. */

/*
 * A loopback port that listens but never accepts: a proxy that must see no
 * connection (listener_untouched() tells). The socket, with *port set.
 */
static int
silent_listener(int *port)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* No connection is waiting on a silent_listener(), which is then closed. */
static int
listener_untouched(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int quiet = poll(&pfd, 1, 0) == 0;

	close(fd);
	return quiet;
}

static const char *const proxy_vars[] = { "http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy" };

START_TEST(test_url_may_use_proxy_only_for_https)
{
	ck_assert_int_eq(http_url_may_use_proxy("https://base44.app"), 1);
	ck_assert_int_eq(http_url_may_use_proxy("HTTPS://base44.app/x"), 1);
	ck_assert_int_eq(http_url_may_use_proxy("http://127.0.0.1:8044"), 0);
	ck_assert_int_eq(http_url_may_use_proxy("HTTP://localhost"), 0);
	ck_assert_int_eq(http_url_may_use_proxy("127.0.0.1:8044/api"), 0);
	ck_assert_int_eq(http_url_may_use_proxy("https:/base44.app"), 0);
	ck_assert_int_eq(http_url_may_use_proxy(""), 0);
	ck_assert_int_eq(http_url_may_use_proxy(NULL), 0);
}
END_TEST

/*
 * A plain-http fetch of slack with a would-be proxy beside it: a listener
 * nobody accepts on (a connection would wait in its queue). The fetch must
 * go straight to the server, and the listener must stay untouched. With
 * use_option, the proxy is given as proxy= with credentials; else every
 * proxy variable of the environment names it.
 */
static void
fetch_over_http_beside_a_proxy(int use_option)
{
	const char *resp = http_reply(0, "200 OK", "",
	    "{\"access_token\":\"t\",\"integration_type\":\"slack\"}");
	struct fake_server s;
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;
	char proxy[64];
	enum cfs_err err;
	size_t i;
	int proxy_port, proxy_fd = silent_listener(&proxy_port);

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", proxy_port);
	if (!use_option) {
		for (i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
			ck_assert_int_eq(setenv(proxy_vars[i], proxy, 1), 0);
		unsetenv("no_proxy");
		unsetenv("NO_PROXY");
	}

	memset(&s, 0, sizeof(s));
	s.n = 1;
	s.responses[0] = resp;
	server_start(&s);
	c = use_option ? client_with_proxy(s.port, proxy, "prx-user", "prx-PASS-7") :
	    client_for(s.port, 2);
	err = base44_fetch(c, "slack", &conn, &res);
	base44_client_free(&c);
	if (err != CFS_OK) {
		/* The request may have gone elsewhere: release the server thread. */
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in to;

		memset(&to, 0, sizeof(to));
		to.sin_family = AF_INET;
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		to.sin_port = htons((uint16_t)s.port);
		(void)connect(fd, (struct sockaddr *)&to, sizeof(to));
		close(fd);
	}
	server_stop(&s);
	ck_assert_msg(listener_untouched(proxy_fd), "the proxy listener got a connection");
	for (i = 0; !use_option && i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		unsetenv(proxy_vars[i]);
	ck_assert_msg(err == CFS_OK, "fetch: %s (%s)", err_name(err), res.message);
	ck_assert_int_eq(s.served, 1);
	ck_assert_ptr_nonnull(conn);
	ck_assert_str_eq(conn->token, "t");
	connection_unref(&conn);
}

START_TEST(test_fetch_over_http_ignores_proxy_environment)
{
	fetch_over_http_beside_a_proxy(0);
}
END_TEST

/* Nor through proxy= (http_options.proxy): a plain request is for loopback only. */
START_TEST(test_fetch_over_http_ignores_the_proxy_option)
{
	fetch_over_http_beside_a_proxy(1);
}
END_TEST

/*
 * A proxy in the environment. The daemon reads https_proxy and the rest
 * itself and hands libcurl the URL without its USER:PASSWORD@, which goes
 * to CURLOPT_PROXYUSERNAME/PROXYPASSWORD: libcurl names the proxy URL in
 * some error messages, and those reach the log and status.json.
 */

static const char *const all_proxy_vars[] = {
	"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "HTTP_PROXY",
	"no_proxy", "NO_PROXY"
};

/* Check forks each test, but a run with CK_FORK=no must not leak a proxy. */
static void
proxy_env_clear(void)
{
	size_t i;

	for (i = 0; i < sizeof(all_proxy_vars) / sizeof(all_proxy_vars[0]); i++)
		unsetenv(all_proxy_vars[i]);
}

/* A port on 127.0.0.1 that was free a moment ago and has no listener. */
static int
closed_port(void)
{
	int port;

	close(silent_listener(&port));
	return port;
}

/*
 * A client of an https:// API on api_port, with proxy= (or NULL) and
 * proxy_auth_file= credentials (or NULL).
 */
static struct base44_client *
client_https(int api_port, const char *proxy, const char *user, const char *password)
{
	return client_via("https", api_port, proxy, user, password);
}

/* 1 when no captured log line holds needle. */
static int
log_lacks(const char *needle)
{
	int i;

	for (i = 0; i < unit_log_count(); i++)
		if (strstr(unit_log_line(i), needle) != NULL)
			return 0;
	return 1;
}

static const char proxy_407[] = "HTTP/1.1 407 Proxy Authentication Required\r\n"
    "Proxy-Authenticate: Basic realm=\"unit\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/*
 * One fetch through a proxy that answers 407 (s, started here), the
 * environment's https_proxy being env_fmt with the proxy's port for %d.
 * Returns the CONNECT request the proxy received.
 */
static const char *
fetch_through_a_407_proxy(struct fake_server *s, const char *env_fmt, const char *user,
    const char *password, struct base44_result *res)
{
	struct base44_client *c;
	struct connection *conn = NULL;
	char env[256];

	memset(s, 0, sizeof(*s));
	s->n = 1;
	s->responses[0] = proxy_407;
	server_start(s);
	proxy_env_clear();
	snprintf(env, sizeof(env), env_fmt, s->port);
	ck_assert_int_eq(setenv("https_proxy", env, 1), 0);
	unit_log_reset();
	c = client_https(closed_port(), NULL, user, password);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, res), CFS_ERR_REFUSED);
	ck_assert_ptr_null(conn);
	base44_client_free(&c);
	server_stop(s);
	proxy_env_clear();
	ck_assert_int_eq(s->served, 1);
	ck_assert_msg(strncmp(s->requests[0], "CONNECT 127.0.0.1:", 18) == 0,
	    "not a CONNECT: %.80s", s->requests[0]);
	ck_assert_str_eq(res->message, "CONNECT tunnel failed, response 407");
	return s->requests[0];
}

START_TEST(test_proxy_split_takes_the_user_and_password_out_of_the_url)
{
	static const struct {
		const char *url, *bare, *user, *password;
	} cases[] = {
		{ "http://proxy.example:3128", "http://proxy.example:3128", NULL, NULL },
		{ "http://user:secret@proxy.example:3128", "http://proxy.example:3128",
		  "user", "secret" },
		{ "HTTPS://user:secret@[::1]:3128/", "HTTPS://[::1]:3128/", "user", "secret" },
		/* No scheme: libcurl takes it as http://. */
		{ "user:secret@proxy.example:3128", "proxy.example:3128", "user", "secret" },
		/* Percent-decoded as libcurl decodes a proxy URL's userinfo. */
		{ "http://us%40er:p%3Aw%2f%25@proxy:1", "http://proxy:1", "us@er", "p:w/%" },
		/* A '%' without two hex digits after it stays. */
		{ "socks5h://u:p%zz%4@h:1080", "socks5h://h:1080", "u", "p%zz%4" },
		/* Unencoded '@', '/', ':' and spaces: the userinfo ends at the last '@'. */
		{ "http://user:p@ss/w:rd #x@proxy:1", "http://proxy:1", "user", "p@ss/w:rd #x" },
		{ "http://user@proxy:1", "http://proxy:1", "user", "" },
		{ "http://:secret@proxy:1", "http://proxy:1", "", "secret" },
		{ "http://user:@proxy:1", "http://proxy:1", "user", "" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bare, *user, *password;

		ck_assert_msg(http_proxy_split(cases[i].url, &bare, &user, &password) == CFS_OK,
		    "case %zu", i);
		ck_assert_str_eq(bare, cases[i].bare);
		if (cases[i].user == NULL) {
			ck_assert_ptr_null(user);
			ck_assert_ptr_null(password);
		} else {
			ck_assert_str_eq(user, cases[i].user);
			ck_assert_str_eq(password, cases[i].password);
		}
		free(bare);
		secret_free(user);
		secret_free(password);
	}
}
END_TEST

START_TEST(test_proxy_split_refuses_a_userinfo_that_decodes_to_a_control_character)
{
	static const char *const urls[] = {
		"http://user:sec%00ret@proxy:1", "http://us%0Aer:secret@proxy:1",
		"http://user:secret%1f@proxy:1", "http://user:sec\tret@proxy:1",
	};
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		char sentinel[] = "x";
		char *bare = sentinel, *user = sentinel, *password = sentinel;

		ck_assert_msg(http_proxy_split(urls[i], &bare, &user, &password) ==
		    CFS_ERR_INVALID, "case %zu", i);
		ck_assert_ptr_null(bare);
		ck_assert_ptr_null(user);
		ck_assert_ptr_null(password);
	}
}
END_TEST

START_TEST(test_proxy_env_is_read_in_libcurls_order)
{
	const char *name = NULL;

	proxy_env_clear();
	ck_assert_ptr_null(http_proxy_env(&name));
	/* http_proxy is for http:// URLs, which never use a proxy here. */
	setenv("http_proxy", "http://h:1", 1);
	setenv("HTTP_PROXY", "http://H:1", 1);
	ck_assert_ptr_null(http_proxy_env(&name));
	setenv("ALL_PROXY", "http://A:1", 1);
	ck_assert_str_eq(http_proxy_env(&name), "http://A:1");
	ck_assert_str_eq(name, "ALL_PROXY");
	setenv("all_proxy", "http://a:1", 1);
	ck_assert_str_eq(http_proxy_env(&name), "http://a:1");
	ck_assert_str_eq(name, "all_proxy");
	setenv("HTTPS_PROXY", "http://S:1", 1);
	ck_assert_str_eq(http_proxy_env(&name), "http://S:1");
	ck_assert_str_eq(name, "HTTPS_PROXY");
	setenv("https_proxy", "http://s:1", 1);
	ck_assert_str_eq(http_proxy_env(&name), "http://s:1");
	ck_assert_str_eq(name, "https_proxy");
	/* An empty value counts as unset, as in libcurl. */
	setenv("https_proxy", "", 1);
	ck_assert_str_eq(http_proxy_env(NULL), "http://S:1");
	proxy_env_clear();
}
END_TEST

START_TEST(test_a_password_in_https_proxy_never_reaches_an_error_message)
{
	/* %d: a port with no listener. */
	static const struct {
		const char *env;
		enum cfs_err want;
		const char *message;	/* what the message starts with */
	} cases[] = {
		/* libcurl quotes the whole proxy URL in these two. */
		{ "http://user:env-SECRET-pw@127.0.0.1:99999", CFS_ERR_UNREACHABLE,
		  "Unsupported proxy syntax in 'http://127.0.0.1:99999'" },
		{ "ftp://user:env-SECRET-pw@127.0.0.1:%d", CFS_ERR_REFUSED,
		  "Unsupported proxy scheme for 'ftp://127.0.0.1:" },
		{ "user:env SECRET pw@127.0.0.1:99999", CFS_ERR_UNREACHABLE,
		  "Unsupported proxy syntax in '127.0.0.1:99999'" },
		{ "http://user:env-SECRET-pw@127.0.0.1:%d", CFS_ERR_REFUSED,
		  "Failed to connect to 127.0.0.1 port " },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct base44_client *c;
		struct connection *conn = NULL;
		struct base44_result res;
		char env[128];

		proxy_env_clear();
		snprintf(env, sizeof(env), cases[i].env, closed_port());
		ck_assert_int_eq(setenv(i % 2 ? "HTTPS_PROXY" : "https_proxy", env, 1), 0);
		unit_log_reset();
		c = client_https(closed_port(), NULL, NULL, NULL);
		ck_assert_msg(base44_fetch(c, "slack", &conn, &res) == cases[i].want,
		    "case %zu: %s (%s)", i, err_name(res.err), res.message);
		base44_client_free(&c);
		ck_assert_msg(strncmp(res.message, cases[i].message, strlen(cases[i].message))
		    == 0, "case %zu: %s", i, res.message);
		ck_assert_ptr_null(strstr(res.message, "SECRET"));
		ck_assert_ptr_null(strstr(res.code, "SECRET"));
		/* One warning, naming the variable and proxy_auth_file=, not the value. */
		ck_assert_int_eq(unit_log_count(), 1);
		ck_assert_msg(strstr(unit_log_line(0), i % 2 ? "HTTPS_PROXY holds the proxy's "
		    "user name and password" : "https_proxy holds the proxy's user name and "
		    "password") != NULL, "%s", unit_log_line(0));
		ck_assert_ptr_nonnull(strstr(unit_log_line(0), "proxy_auth_file=FILE"));
		ck_assert(log_lacks("SECRET"));
	}
	proxy_env_clear();
}
END_TEST

START_TEST(test_a_password_in_https_proxy_is_sent_as_basic_proxy_authorization)
{
	struct fake_server s;
	struct base44_result res;
	const char *req;

	/* Decoded once, as libcurl decodes a proxy URL: "us@er", "p%41ss". */
	req = fetch_through_a_407_proxy(&s, "http://us%%40er:p%%2541ss@127.0.0.1:%d", NULL,
	    NULL, &res);
	ck_assert_msg(request_has_header(req, "Proxy-Authorization: Basic dXNAZXI6cCU0MXNz"),
	    "%s", req);
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert_ptr_nonnull(strstr(unit_log_line(0), "https_proxy holds"));
	ck_assert(log_lacks("p%41ss"));
	ck_assert(log_lacks("p%2541ss"));
}
END_TEST

START_TEST(test_proxy_auth_file_credentials_win_over_those_in_https_proxy)
{
	struct fake_server s;
	struct base44_result res;
	const char *req;

	req = fetch_through_a_407_proxy(&s, "http://user:env-SECRET-pw@127.0.0.1:%d",
	    "file-user", "file-%41pw", &res);
	/* Basic file-user:file-%41pw */
	ck_assert_msg(request_has_header(req,
	    "Proxy-Authorization: Basic ZmlsZS11c2VyOmZpbGUtJTQxcHc="), "%s", req);
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert_msg(strstr(unit_log_line(0), "https_proxy: the user name and password in "
	    "the proxy URL are ignored: proxy_auth_file= gives them") != NULL, "%s",
	    unit_log_line(0));
	ck_assert(log_lacks("SECRET"));
}
END_TEST

/* libcurl before 8.8.0 percent-decodes CURLOPT_PROXYUSERNAME/PROXYPASSWORD. */
START_TEST(test_proxy_credentials_holding_a_percent_reach_the_proxy_unchanged)
{
	struct fake_server s;
	struct base44_result res;
	const char *req;

	req = fetch_through_a_407_proxy(&s, "http://127.0.0.1:%d", "u%41", "p%2541 x", &res);
	/* Basic u%41:p%2541 x */
	ck_assert_msg(request_has_header(req, "Proxy-Authorization: Basic dSU0MTpwJTI1NDEgeA=="),
	    "%s", req);
	ck_assert_int_eq(unit_log_count(), 0);
}
END_TEST

START_TEST(test_an_undecodable_password_in_https_proxy_fails_requests_without_naming_it)
{
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;
	char env[128];
	int proxy_port, proxy_fd = silent_listener(&proxy_port);

	proxy_env_clear();
	snprintf(env, sizeof(env), "http://user:env-SECRET%%00-pw@127.0.0.1:%d", proxy_port);
	ck_assert_int_eq(setenv("all_proxy", env, 1), 0);
	unit_log_reset();
	c = client_https(closed_port(), NULL, NULL, NULL);
	ck_assert_int_eq(unit_log_count(), 1);
	ck_assert_str_eq(unit_log_line(0), "all_proxy: the user name or password in the "
	    "proxy URL decodes to a control character; every request through the proxy "
	    "fails (put USER:PASSWORD in a file and use proxy_auth_file=FILE)");
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_UNREACHABLE);
	ck_assert_int_eq(base44_fetch(c, "github", &conn, &res), CFS_ERR_UNREACHABLE);
	ck_assert_ptr_null(conn);
	ck_assert_int_eq(res.status, 0);
	ck_assert_str_eq(res.message, "all_proxy: the user name or password in the proxy URL "
	    "decodes to a control character");
	base44_client_free(&c);
	ck_assert_msg(listener_untouched(proxy_fd), "the proxy got a connection");
	ck_assert(log_lacks("SECRET"));
	proxy_env_clear();
}
END_TEST

/*
 * NO_PROXY and no_proxy still send a listed host around the environment's
 * proxy, now given to libcurl as CURLOPT_PROXY: the API's closed port
 * refuses the direct connection, and the proxy sees nothing.
 */
START_TEST(test_no_proxy_still_bypasses_a_proxy_from_the_environment)
{
	static const char *const vars[] = { "NO_PROXY", "no_proxy" };
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		struct base44_client *c;
		struct connection *conn = NULL;
		struct base44_result res;
		char env[128];
		int proxy_port, proxy_fd = silent_listener(&proxy_port);

		proxy_env_clear();
		snprintf(env, sizeof(env), "http://user:env-SECRET-pw@127.0.0.1:%d", proxy_port);
		ck_assert_int_eq(setenv("https_proxy", env, 1), 0);
		ck_assert_int_eq(setenv(vars[i], "127.0.0.1", 1), 0);
		c = client_https(closed_port(), NULL, NULL, NULL);
		ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_REFUSED);
		base44_client_free(&c);
		ck_assert_msg(strncmp(res.message, "Failed to connect to 127.0.0.1 port ", 36) == 0,
		    "%s", res.message);
		ck_assert_msg(listener_untouched(proxy_fd), "%s: the proxy got a connection",
		    vars[i]);
	}
	proxy_env_clear();
}
END_TEST

/*
 * Defence in depth: whatever URL libcurl names in an error loses its
 * userinfo, here a proxy= URL with one (config.c refuses those; a caller of
 * lib/ might not).
 */
START_TEST(test_curl_messages_naming_a_url_lose_its_userinfo)
{
	struct base44_client *c;
	struct connection *conn = NULL;
	struct base44_result res;

	proxy_env_clear();
	c = client_https(closed_port(), "http://opt-user:opt-PW-9@127.0.0.1:99999", NULL, NULL);
	ck_assert_int_eq(base44_fetch(c, "slack", &conn, &res), CFS_ERR_UNREACHABLE);
	base44_client_free(&c);
	ck_assert_str_eq(res.message,
	    "Unsupported proxy syntax in 'http://[redacted]@127.0.0.1:99999'");
}
END_TEST

START_TEST(test_client_free_accepts_null)
{
	struct base44_client *c = NULL;

	base44_client_free(&c);
	base44_client_free(NULL);
}
END_TEST

Suite *
base44_suite(void)
{
	Suite *s = suite_create("base44");
	TCase *url = tcase_create("url");
	TCase *fetch = tcase_create("fetch");
	TCase *proxy = tcase_create("proxy");

	tcase_add_test(url, test_encode_component_follows_encodeuricomponent);
	tcase_add_test(url, test_encode_component_refuses_too_small_buffer);
	tcase_add_test(url, test_token_url_is_exact);
	tcase_add_test(url, test_token_url_too_small_buffer_returns_minus_one);
	tcase_add_test(url, test_token_url_refuses_overlong_type);
	suite_add_tcase(s, url);

	tcase_add_test(fetch, test_fetch_sends_the_sdk_request);
	tcase_add_test(fetch, test_fetch_percent_encodes_the_type_in_the_path);
	tcase_add_test(fetch, test_fetch_maps_error_statuses_and_reads_the_message);
	tcase_add_test(fetch, test_fetch_malformed_200_body_is_malformed_with_reason);
	tcase_add_test(fetch, test_fetch_body_over_64k_is_too_big);
	tcase_add_test(fetch, test_fetch_to_closed_port_is_refused_without_status);
	tcase_add_test(fetch, test_fetch_that_hangs_times_out);
	tcase_add_test(fetch, test_set_service_token_replaces_bearer_for_next_request);
	tcase_add_test(fetch, test_client_free_accepts_null);
	tcase_add_test(fetch, test_fetch_redacts_the_service_token_in_the_connector_error_header);
	tcase_add_test(fetch, test_list_errors_redact_the_api_key_and_the_service_token);
	tcase_add_test(fetch, test_fetch_errors_redact_the_registered_api_key_longest_secret_first);
	tcase_add_test(fetch, test_url_may_use_proxy_only_for_https);
	tcase_add_test(fetch, test_fetch_over_http_ignores_proxy_environment);
	tcase_add_test(fetch, test_fetch_over_http_ignores_the_proxy_option);
	tcase_add_test(fetch, test_fetch_errors_redact_the_proxy_password);
	suite_add_tcase(s, fetch);

	tcase_add_test(proxy, test_proxy_split_takes_the_user_and_password_out_of_the_url);
	tcase_add_test(proxy,
	    test_proxy_split_refuses_a_userinfo_that_decodes_to_a_control_character);
	tcase_add_test(proxy, test_proxy_env_is_read_in_libcurls_order);
	tcase_add_test(proxy, test_a_password_in_https_proxy_never_reaches_an_error_message);
	tcase_add_test(proxy, test_a_password_in_https_proxy_is_sent_as_basic_proxy_authorization);
	tcase_add_test(proxy, test_proxy_auth_file_credentials_win_over_those_in_https_proxy);
	tcase_add_test(proxy, test_proxy_credentials_holding_a_percent_reach_the_proxy_unchanged);
	tcase_add_test(proxy,
	    test_an_undecodable_password_in_https_proxy_fails_requests_without_naming_it);
	tcase_add_test(proxy, test_no_proxy_still_bypasses_a_proxy_from_the_environment);
	tcase_add_test(proxy, test_curl_messages_naming_a_url_lose_its_userinfo);
	suite_add_tcase(s, proxy);
	return s;
}
