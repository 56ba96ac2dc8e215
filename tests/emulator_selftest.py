#!/usr/bin/env python3
"""Self-test of the Base44 emulator (scripts/emulator.py) and its CLI (scripts/emulatorctl).

Starts real emulator processes on free loopback ports and talks HTTP to them; every process it
starts is terminated in tearDown/tearDownClass. Run: /usr/bin/python3 tests/emulator_selftest.py
"""

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.join(os.path.dirname(HERE), "scripts")
EMULATOR = os.path.join(SCRIPTS, "emulator.py")
EMULATORCTL = os.path.join(SCRIPTS, "emulatorctl")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

SERVICE = "demo-service-token"
API_KEY = "demo-api-key"
APP = "demo-app"
SEEDED = {
    "slack": {"access_token": "xoxb-demo-slack-token-0001", "integration_type": "slack",
              "connection_config": None},
    "share_point": {"access_token": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.sp-demo-token",
                    "integration_type": "share_point",
                    "connection_config": {"subdomain": "contoso"}},
    "github": {"access_token": "gho_demoGithubToken0001", "integration_type": "github"},
    "notion": {"access_token": "secret_demoNotionToken", "integration_type": "notion",
               "connection_config": {"workspace": "Acme Docs", "workspace_id": "ws-123"}},
    "googlecalendar": {"access_token": "ya29.demo-google-token",
                       "integration_type": "googlecalendar", "connection_config": {}},
}


def start_emulator(tmpdir, *extra, stderr=None):
    """Start an emulator; returns (process, port) once its port file appears."""
    port_file = os.path.join(tmpdir, "port")
    proc = subprocess.Popen([PYTHON, EMULATOR, "--port", "0", "--port-file", port_file] +
                            list(extra), stdout=subprocess.PIPE, stderr=stderr,
                            stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            with open(port_file) as f:
                text = f.read()
            if text.endswith("\n"):
                return proc, int(text)
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    stop_emulator(proc)
    raise RuntimeError("emulator did not start")


def stop_emulator(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


class Base(unittest.TestCase):
    """One seeded, verbose emulator shared by the tests; reset before each."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="emulator-selftest-")
        cls.errlog_path = os.path.join(cls.tmp, "stderr.log")
        cls.errlog = open(cls.errlog_path, "w")
        cls.proc, cls.port = start_emulator(cls.tmp, "--verbose", stderr=cls.errlog)
        cls.port_file = os.path.join(cls.tmp, "port")

    @classmethod
    def tearDownClass(cls):
        stop_emulator(cls.proc)
        cls.errlog.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        status, _, body = self.ctl("POST", "reset")
        self.assertEqual((status, body), (200, {"ok": True}))

    # -- helpers --

    def conn(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, headers=None, body=None, conn=None):
        c = conn or self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            resp = c.getresponse()
            data = resp.read()
            return resp.status, resp, data
        finally:
            if conn is None:
                c.close()

    def ctl(self, method, path, body=None):
        raw = None if body is None else (body if isinstance(body, (bytes, str))
                                         else json.dumps(body))
        status, resp, data = self.request(method, "/_control/" + path, body=raw)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        return status, resp, json.loads(data)

    def token_path(self, name, app=APP):
        return "/api/apps/%s/external-auth/tokens/%s" % (app, urllib.parse.quote(name, safe=""))

    def get_token(self, name, bearer=SERVICE, app=APP, extra=None, conn=None):
        headers = {"Accept": "application/json", "X-App-Id": app}
        if bearer is not None:
            headers["Authorization"] = "Bearer " + bearer
        headers.update(extra or {})
        status, resp, data = self.request("GET", self.token_path(name, app), headers, conn=conn)
        return status, resp, data

    def fault(self, **fault):
        status, _, body = self.ctl("POST", "faults", fault)
        self.assertEqual((status, body), (200, {"ok": True}))

    def emulatorctl(self, *args, port_file=None):
        return subprocess.run([PYTHON, EMULATORCTL, "--port-file", port_file or self.port_file]
                              + list(args), capture_output=True, text=True, timeout=10)


class ApiTest(Base):
    def test_seeded_connections_are_served_exactly(self):
        for name, expected in SEEDED.items():
            status, resp, data = self.get_token(name)
            self.assertEqual(status, 200, name)
            self.assertEqual(resp.getheader("Content-Type"), "application/json")
            self.assertEqual(int(resp.getheader("Content-Length")), len(data))
            self.assertEqual(json.loads(data), expected, name)
        self.assertNotIn(b"connection_config", self.get_token("github")[2])

    def test_type_is_percent_decoded(self):
        odd = "odd name/\u00fc%"
        status, _, body = self.ctl("PUT", "connections/" + urllib.parse.quote(odd, safe=""),
                                   {"access_token": "odd-token"})
        self.assertEqual(status, 200)
        status, _, data = self.get_token(odd)
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["integration_type"], odd)
        log = self.ctl("GET", "requests")[2]["requests"]
        self.assertEqual(log[-1]["type"], odd)
        self.assertEqual(log[-1]["path"], self.token_path(odd))

    def test_auth_errors(self):
        cases = [
            (None, APP, "slack", 401, {"detail": "Unauthorized"}),
            ("wrong", APP, "slack", 401, {"detail": "Unauthorized"}),
            (API_KEY, APP, "slack", 403,
             {"detail": "This endpoint is only accessible to service tokens"}),
            (SERVICE, "other-app", "slack", 404, {"detail": "App not found", "code": "NOT_FOUND"}),
            (SERVICE, APP, "nosuch", 404,
             {"detail": "Connector connection not found", "code": "NOT_FOUND"}),
        ]
        for bearer, app, name, want_status, want_body in cases:
            status, _, data = self.get_token(name, bearer=bearer, app=app)
            self.assertEqual((status, json.loads(data)), (want_status, want_body),
                             (bearer, app, name))
        status, _, _ = self.request("GET", self.token_path("slack"),
                                    {"Authorization": "Basic " + SERVICE})
        self.assertEqual(status, 401)

    def test_metered_connector(self):
        status, resp, data = self.get_token("wix")
        self.assertEqual(status, 403)
        self.assertEqual(resp.getheader("X-Base44-Connector-Error"),
                         "metered_connector_requires_proxy")
        self.assertEqual(json.loads(data)["detail"],
                         "Connector 'wix' is metered and its token cannot be retrieved; "
                         "use POST /api/apps/demo-app/connectors/wix/call")
        self.assertEqual(self.ctl("DELETE", "metered/wix")[0], 200)
        self.assertEqual(self.get_token("wix")[0], 200)
        self.assertEqual(self.ctl("PUT", "metered/slack")[0], 200)
        self.assertEqual(self.get_token("slack")[0], 403)
        self.assertEqual(self.ctl("GET", "metered")[2], {"metered": ["slack"]})

    def test_connector_id_routes(self):
        self.ctl("PUT", "connector-ids/abc", {"access_token": "conn-abc-token",
                                             "connection_config": {"k": "v"}})
        path = "/api/apps/%s/external-auth/tokens/connectors/abc" % APP
        status, _, data = self.request("GET", path, {"Authorization": "Bearer " + SERVICE})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data), {"access_token": "conn-abc-token",
                                            "integration_type": "abc",
                                            "connection_config": {"k": "v"}})
        user = "/api/apps/%s/app-user-auth/connectors/abc/token" % APP
        status, _, _ = self.request("GET", user, {"Authorization": "Bearer " + SERVICE})
        self.assertEqual(status, 401)
        status, _, data = self.request("GET", user, {"Authorization": "Bearer " + SERVICE,
                                                     "on-behalf-of": "Bearer user-jwt"})
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["access_token"], "conn-abc-token")
        missing = "/api/apps/%s/external-auth/tokens/connectors/nope" % APP
        self.assertEqual(self.request("GET", missing,
                                      {"Authorization": "Bearer " + SERVICE})[0], 404)
        counts = self.ctl("GET", "counts")[2]
        self.assertEqual(counts["connectors/abc"], 1)
        self.assertEqual(counts["app-user/abc"], 2)
        status, _, data = self.get_token("connectors/abc")  # sent as connectors%2Fabc
        self.assertEqual(status, 404)  # an encoded slash makes a type name, not a connector id

    def test_list_and_catalog_need_the_api_key(self):
        base = "/api/apps/%s/external-auth/" % APP
        self.ctl("PUT", "connections/linear", {"access_token": "lin", "status": "expired"})
        for headers in ({"Authorization": "Bearer " + API_KEY}, {"api_key": API_KEY}):
            status, _, data = self.request("GET", base + "list", headers)
            self.assertEqual(status, 200)
            items = {i["integration_type"]: i for i in json.loads(data)["integrations"]}
            self.assertEqual(set(items), set(SEEDED) | {"wix", "linear"})
            self.assertEqual(items["slack"], {"integration_type": "slack", "status": "active",
                                              "scopes": [], "user_email": "demo@example.com"})
            self.assertEqual(items["linear"]["status"], "expired")
        for headers in ({"Authorization": "Bearer " + SERVICE}, {}):
            self.assertEqual(self.request("GET", base + "list", headers)[0], 401)
            self.assertEqual(self.request("GET", base + "available-integrations",
                                          headers)[0], 401)
        status, _, data = self.request("GET", base + "available-integrations",
                                       {"Authorization": "Bearer " + API_KEY})
        self.assertEqual(status, 200)
        catalog = json.loads(data)["integrations"]
        self.assertEqual(len(catalog), 32)
        sp = [c for c in catalog if c["integration_type"] == "share_point"][0]
        self.assertEqual(sp["connection_config_fields"][0]["name"], "subdomain")
        self.assertTrue(all(c["display_name"] for c in catalog))
        status, _, data = self.request("GET", "/api/apps/x/external-auth/list",
                                       {"Authorization": "Bearer " + API_KEY})
        self.assertEqual(status, 404)

    def test_methods_and_unknown_paths(self):
        for method in ("POST", "PUT", "DELETE"):
            status, resp, data = self.request(method, self.token_path("slack"),
                                              {"Authorization": "Bearer " + SERVICE})
            self.assertEqual(status, 405, method)
            self.assertIn("detail", json.loads(data))
        status, _, data = self.request("GET", "/nope", {})
        self.assertEqual(status, 404)
        self.assertIn("detail", json.loads(data))
        # HEAD: a 405 with no body, and the connection stays usable
        c = self.conn()
        try:
            c.request("HEAD", self.token_path("slack"))
            resp = c.getresponse()
            self.assertEqual((resp.status, resp.read()), (405, b""))
            status, _, _ = self.get_token("slack", conn=c)
            self.assertEqual(status, 200)
        finally:
            c.close()

    def test_request_log_records_headers_path_type_and_status(self):
        self.ctl("DELETE", "requests")
        self.get_token("slack")
        self.get_token("nosuch")
        log = self.ctl("GET", "requests")[2]["requests"]
        self.assertEqual(len(log), 2)
        first = log[0]
        self.assertEqual(first["method"], "GET")
        self.assertEqual(first["path"], "/api/apps/demo-app/external-auth/tokens/slack")
        self.assertEqual(first["type"], "slack")
        self.assertEqual(first["status"], 200)
        self.assertEqual(first["headers"]["authorization"], "Bearer " + SERVICE)
        self.assertEqual(first["headers"]["x-app-id"], APP)
        self.assertEqual(first["headers"]["accept"], "application/json")
        self.assertEqual(log[1]["status"], 404)
        self.assertLess(first["seq"], log[1]["seq"])
        only = self.ctl("GET", "requests?type=nosuch")[2]["requests"]
        self.assertEqual([e["type"] for e in only], ["nosuch"])
        self.assertEqual(self.ctl("GET", "counts")[2], {"slack": 1, "nosuch": 1})
        self.ctl("DELETE", "requests")
        self.assertEqual(self.ctl("GET", "requests")[2], {"requests": []})
        self.assertEqual(self.ctl("GET", "counts")[2], {})

    def test_keep_alive_serves_two_requests_on_one_connection(self):
        self.ctl("DELETE", "requests")
        c = self.conn()
        try:
            self.assertEqual(self.get_token("slack", conn=c)[0], 200)
            sock = c.sock
            self.assertEqual(self.get_token("github", conn=c)[0], 200)
            self.assertIs(c.sock, sock)
        finally:
            c.close()
        log = self.ctl("GET", "requests")[2]["requests"]
        self.assertEqual(log[0]["peer"], log[1]["peer"])

    def test_logs_never_show_tokens(self):
        self.get_token("slack")
        self.get_token("share_point", bearer=API_KEY)
        self.ctl("POST", "rotate/slack")
        self.get_token("slack")
        self.errlog.flush()
        time.sleep(0.1)
        with open(self.errlog_path) as f:
            text = f.read()
        self.assertIn("/external-auth/tokens/slack", text)  # it is verbose
        tokens = [SERVICE, API_KEY] + [s["access_token"] for s in SEEDED.values()]
        tokens += self.ctl("GET", "issued/slack")[2]["tokens"]
        for token in tokens:
            self.assertNotIn(token, text)
        self.assertNotIn("uthorization", text)


class ControlTest(Base):
    def test_health(self):
        self.assertEqual(self.ctl("GET", "health")[2], {"ok": True})

    def test_set_rotate_delete_and_issued_history(self):
        self.ctl("PUT", "connections/slack", {"access_token": "xoxb-second",
                                              "connection_config": {"team": "T1"}})
        status, _, data = self.get_token("slack")
        self.assertEqual(json.loads(data), {"access_token": "xoxb-second",
                                            "integration_type": "slack",
                                            "connection_config": {"team": "T1"}})
        self.ctl("PUT", "connections/slack", {"access_token": "xoxb-third", "omit_config": True})
        self.assertNotIn(b"connection_config", self.get_token("slack")[2])
        status, _, body = self.ctl("POST", "rotate/slack", {"length": 300})
        self.assertEqual(status, 200)
        rotated = body["access_token"]
        self.assertEqual(len(rotated), 300)
        self.assertTrue(rotated.startswith("slack-rot-"))
        self.assertEqual(json.loads(self.get_token("slack")[2])["access_token"], rotated)
        short = self.ctl("POST", "rotate/slack", {"length": 5})[2]["access_token"]
        self.assertEqual(len(short), 5)
        plain = self.ctl("POST", "rotate/slack")[2]["access_token"]
        self.assertNotEqual(plain, short)
        self.assertEqual(self.ctl("GET", "issued/slack")[2]["tokens"],
                         ["xoxb-demo-slack-token-0001", "xoxb-second", "xoxb-third", rotated,
                          short, plain])
        self.assertEqual(self.ctl("DELETE", "connections/slack")[2],
                         {"ok": True, "existed": True})
        self.assertEqual(self.get_token("slack")[0], 404)
        fresh = self.ctl("POST", "rotate/newtype")[2]["access_token"]
        self.assertEqual(json.loads(self.get_token("newtype")[2])["access_token"], fresh)

    def test_reset_restores_the_seed(self):
        self.ctl("DELETE", "connections/slack")
        self.fault(status=500, count=5)
        self.ctl("PUT", "latency", {"seconds": 1})
        self.ctl("POST", "reset")
        status, _, data = self.get_token("slack")
        self.assertEqual((status, json.loads(data)), (200, SEEDED["slack"]))
        self.assertEqual(self.ctl("GET", "faults")[2], {"faults": []})
        self.assertEqual(self.ctl("GET", "latency")[2], {"seconds": 0.0})

    def test_bad_control_input_gets_400_and_the_server_survives(self):
        bad = [
            ("PUT", "connections/slack", b"{not json"),
            ("PUT", "connections/slack", b"[1,2]"),
            ("PUT", "connections/slack", {"access_token": 5}),
            ("PUT", "connections/slack", {"access_token": "x", "connection_config": "s"}),
            ("PUT", "connections/slack", {"access_token": "x", "bogus": 1}),
            ("POST", "rotate/slack", {"length": -1}),
            ("POST", "rotate/slack", {"length": "x"}),
            ("POST", "faults", {"action": "explode"}),
            ("POST", "faults", {"status": 99}),
            ("POST", "faults", {"count": 0}),
            ("POST", "faults", {"delay": "soon"}),
            ("POST", "faults", {"headers": {"Bad Name": "x"}}),
            ("POST", "faults", {"headers": {"X": "a\r\nb"}}),
            ("POST", "faults", {"typo": 1}),
            ("PUT", "latency", {"seconds": -1}),
            ("PUT", "connections", {"access_token": "x"}),
            ("GET", "requests?since=abc", None),
        ]
        for method, path, body in bad:
            status, _, data = self.ctl(method, path, body)
            self.assertEqual(status, 400, (method, path, body))
            self.assertIn("error", data)
        self.assertEqual(self.ctl("GET", "nosuch")[0], 404)
        self.assertEqual(self.ctl("DELETE", "health")[0], 405)
        self.assertEqual(self.ctl("GET", "reset")[0], 405)
        # a garbage request line and a bad Content-Length do not hurt either
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"\x00\x01garbage\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 400 "))
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"PUT /_control/latency HTTP/1.1\r\nHost: x\r\nContent-Length: zz\r\n\r\n")
            self.assertIn(b" 400 ", s.recv(4096))
        self.assertEqual(self.ctl("GET", "health")[2], {"ok": True})
        self.assertEqual(self.get_token("slack")[0], 200)

    def test_emulatorctl_commands(self):
        run = self.emulatorctl
        self.assertEqual(run("health").returncode, 0)
        r = run("set", "slack", "xoxb-cli", "--config", '{"team": "T9"}')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.get_token("slack")[2])["connection_config"],
                         {"team": "T9"})
        self.assertEqual(run("set", "github", "gho-cli", "--omit-config").returncode, 0)
        self.assertNotIn(b"connection_config", self.get_token("github")[2])
        r = run("rotate", "slack", "--length", "40")
        self.assertEqual(r.returncode, 0)
        token = r.stdout.strip()
        self.assertEqual(len(token), 40)
        self.assertEqual(json.loads(self.get_token("slack")[2])["access_token"], token)
        r = run("issued", "slack")
        self.assertEqual(r.stdout.split(), ["xoxb-demo-slack-token-0001", "xoxb-cli", token])
        self.assertEqual(run("delete", "slack").returncode, 0)
        self.assertEqual(self.get_token("slack")[0], 404)
        r = run("fail", "--type", "github", "--count", "2", "--status", "429",
                "--header", "Retry-After: 2", "--body", "slow down")
        self.assertEqual(r.returncode, 0, r.stderr)
        status, resp, data = self.get_token("github")
        self.assertEqual((status, resp.getheader("Retry-After"), data), (429, "2", b"slow down"))
        self.assertEqual(run("clear-faults").returncode, 0)
        self.assertEqual(self.get_token("github")[0], 200)
        self.assertEqual(run("count", "github").stdout.strip(), "3")
        self.assertEqual(run("count", "never").stdout.strip(), "0")
        r = run("requests", "--type", "github")
        self.assertEqual([e["status"] for e in json.loads(r.stdout)], [200, 429, 200])
        self.assertEqual(run("clear-requests").returncode, 0)
        self.assertEqual(json.loads(run("requests").stdout), [])
        r = run("fail", "--action", "hang", "--delay", "0.1")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(self.ctl("GET", "faults")[2]["faults"][0]["action"], "hang")
        self.assertEqual(run("reset").returncode, 0)
        self.assertEqual(self.get_token("slack")[0], 200)
        r = run("fail", "--action", "nope")
        self.assertEqual(r.returncode, 2)
        # errors from the emulator and an unreachable emulator: exit 1, one line
        r = run("set", "slack", "x", "--config", "[1]")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = s.getsockname()[1]
        r = subprocess.run([PYTHON, EMULATORCTL, "--url", "http://127.0.0.1:%d" % dead, "health"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn("cannot reach", r.stderr)
        env = dict(os.environ, EMULATOR_URL="http://127.0.0.1:%d" % self.port)
        r = subprocess.run([PYTHON, EMULATORCTL, "health"], capture_output=True, text=True,
                           timeout=10, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)


class FaultTest(Base):
    def test_status_fault_with_retry_after_then_recovers(self):
        self.fault(type="slack", count=2, status=429, headers={"Retry-After": "2"})
        for _ in range(2):
            status, resp, data = self.get_token("slack")
            self.assertEqual((status, resp.getheader("Retry-After")), (429, "2"))
            self.assertEqual(json.loads(data), {"detail": "Too Many Requests"})
        self.assertEqual(self.get_token("slack")[0], 200)
        log = self.ctl("GET", "requests?type=slack")[2]["requests"]
        self.assertEqual([(e["status"], e["fault"]) for e in log],
                         [(429, "status"), (429, "status"), (200, None)])

    def test_faults_match_their_type_or_star_in_fifo_order(self):
        self.fault(type="github", status=503)
        self.fault(status=500)  # default type "*"
        self.fault(type="slack", status=502)
        self.assertEqual(self.get_token("slack")[0], 500)  # first matching: the "*"
        self.assertEqual(self.get_token("slack")[0], 502)
        self.assertEqual(self.get_token("slack")[0], 200)
        status, _, data = self.get_token("github")
        self.assertEqual((status, json.loads(data)), (503, {"detail": "Service Unavailable"}))
        # "*" does not touch the management routes; ":list" does
        self.fault(count=1, status=500)
        self.fault(type=":list", status=502)
        base = "/api/apps/%s/external-auth/list" % APP
        self.assertEqual(self.request("GET", base, {"api_key": API_KEY})[0], 502)
        self.assertEqual(self.get_token("slack")[0], 500)
        self.assertEqual(self.ctl("DELETE", "faults")[0], 200)

    def test_forever_fault_and_text_body(self):
        self.fault(type="slack", count=-1, status=500, body="oops <html>")
        for _ in range(3):
            status, resp, data = self.get_token("slack")
            self.assertEqual((status, data), (500, b"oops <html>"))
            self.assertTrue(resp.getheader("Content-Type").startswith("text/plain"))
        self.ctl("DELETE", "faults")
        self.assertEqual(self.get_token("slack")[0], 200)

    def test_delay_and_latency(self):
        self.fault(type="slack", status=200, action="status", body='{"x":1}', delay=0.3)
        t0 = time.monotonic()
        self.assertEqual(self.get_token("slack")[2], b'{"x":1}')
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)
        self.ctl("PUT", "latency", {"seconds": 0.2})
        t0 = time.monotonic()
        self.assertEqual(self.get_token("slack")[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)

    def test_hang_holds_then_closes(self):
        self.fault(type="slack", action="hang", delay=1)
        t0 = time.monotonic()
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.get_token("slack")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.fault(type="slack", action="hang", delay=1)
        c = self.conn(timeout=0.2)
        try:
            with self.assertRaises(socket.timeout):
                self.request("GET", self.token_path("slack"),
                             {"Authorization": "Bearer " + SERVICE}, conn=c)
        finally:
            c.close()
        time.sleep(0.9)  # let the hanging thread finish
        self.assertEqual(self.get_token("slack")[0], 200)

    def test_reset_sends_rst_mid_body(self):
        self.fault(type="slack", action="reset")
        with self.assertRaises((ConnectionResetError, http.client.IncompleteRead)):
            self.get_token("slack")
        # at the socket level: headers, part of the body, then ECONNRESET
        self.fault(type="slack", action="reset")
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n"
                       % (self.token_path("slack"), SERVICE)).encode())
            got = b""
            with self.assertRaises(ConnectionResetError):
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break  # a FIN instead of an RST would end here and fail the test
                    got += chunk
        self.assertEqual(self.get_token("slack")[0], 200)

    def test_truncate(self):
        self.fault(type="slack", action="truncate")
        with self.assertRaises(http.client.IncompleteRead):
            self.get_token("slack")
        self.assertEqual(self.get_token("slack")[0], 200)

    def test_body_faults(self):
        size = 200000
        cases = [
            (dict(action="malformed"), lambda d: self.assertEqual(d, b'{"access_token": "abc')),
            (dict(action="wrong_shape", body="[1,2]"), lambda d: self.assertEqual(d, b"[1,2]")),
            (dict(action="wrong_shape", body={"access_token": 5}),
             lambda d: self.assertEqual(json.loads(d), {"access_token": 5})),
            (dict(action="empty"), lambda d: self.assertEqual(d, b"")),
            (dict(action="huge", size=size),
             lambda d: (self.assertEqual(len(d), size), json.loads(d))),
            (dict(action="huge", size=10), lambda d: self.assertEqual(len(d), 10)),
        ]
        c = self.conn()  # all on one keep-alive connection: each answer must be well framed
        try:
            for fault, check in cases:
                self.fault(type="slack", **fault)
                status, resp, data = self.get_token("slack", conn=c)
                self.assertEqual(status, 200, fault)
                self.assertEqual(int(resp.getheader("Content-Length")), len(data))
                check(data)
            self.assertEqual(self.get_token("slack", conn=c)[0], 200)
        finally:
            c.close()
        self.fault(type="slack", action="huge")  # default 10 MiB
        self.assertEqual(len(self.get_token("slack")[2]), 10 << 20)

    def test_drip(self):
        body = '{"access_token":"d"}'
        self.fault(type="slack", action="drip", interval=0.05, body=body)
        t0 = time.monotonic()
        status, _, data = self.get_token("slack")
        self.assertEqual((status, data), (200, body.encode()))
        self.assertGreaterEqual(time.monotonic() - t0, 0.05 * (len(body) - 1) * 0.9)
        self.fault(type="slack", action="drip", interval=0.01)
        self.assertEqual(json.loads(self.get_token("slack")[2]), SEEDED["slack"])


class ProcessTest(unittest.TestCase):
    """Options, signals and TLS, each on its own emulator."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="emulator-selftest-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            stop_emulator(p)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args):
        proc, port = start_emulator(self.tmp, *args)
        self.procs.append(proc)
        return proc, port

    def test_options_and_clean_sigterm(self):
        token_file = os.path.join(self.tmp, "service-token")
        with open(token_file, "w") as f:
            f.write("file-service-token\n")
        pid_file = os.path.join(self.tmp, "pid")
        proc, port = self.start("--no-seed", "--app-id", "app2", "--service-token-file",
                                token_file, "--api-key", "key2", "--pid-file", pid_file)
        line = proc.stdout.readline().decode()
        self.assertEqual(line, "emulator listening on http://127.0.0.1:%d\n" % port)
        with open(pid_file) as f:
            self.assertEqual(int(f.read()), proc.pid)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        auth = {"Authorization": "Bearer file-service-token"}
        c.request("GET", "/api/apps/app2/external-auth/tokens/slack", headers=auth)
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["code"]), (404, "NOT_FOUND"))
        c.request("PUT", "/_control/connections/slack", body='{"access_token": "t2"}')
        self.assertEqual(c.getresponse().read(), b'{"ok":true,"connection":{"access_token":"t2",'
                         b'"connection_config":null,"omit_config":false,"status":"active",'
                         b'"extra":{},"integration_type":null}}')
        c.request("GET", "/api/apps/app2/external-auth/tokens/slack", headers=auth)
        r = c.getresponse()
        self.assertEqual((r.status, json.loads(r.read())["access_token"]), (200, "t2"))
        c.request("GET", "/api/apps/app2/external-auth/tokens/slack",
                  headers={"Authorization": "Bearer key2"})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 403)
        c.request("POST", "/_control/reset")
        self.assertEqual(c.getresponse().read(), b'{"ok":true}')
        c.request("GET", "/api/apps/app2/external-auth/tokens/slack", headers=auth)
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 404)  # --no-seed: reset clears only
        # the keep-alive connection c stays open on purpose: shutdown must not wait for it
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(5), 0)
        self.assertFalse(os.path.exists(pid_file))
        c.close()

    def test_refuses_non_loopback_host(self):
        r = subprocess.run([PYTHON, EMULATOR, "--host", "0.0.0.0"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 2)

    def test_https(self):
        if shutil.which("openssl") is None:
            self.skipTest("openssl is not installed")
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-days", "1", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=30)
        proc, port = self.start("--tls-cert", cert, "--tls-key", key)
        self.assertEqual(proc.stdout.readline().decode(),
                         "emulator listening on https://127.0.0.1:%d\n" % port)
        # a client that connects and says nothing must not block other clients
        idle = socket.create_connection(("127.0.0.1", port))
        try:
            ctx = ssl.create_default_context(cafile=cert)
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5, context=ctx)
            for _ in range(2):
                c.request("GET", "/api/apps/demo-app/external-auth/tokens/slack",
                          headers={"Authorization": "Bearer " + SERVICE})
                r = c.getresponse()
                self.assertEqual((r.status, json.loads(r.read())), (200, SEEDED["slack"]))
            c.close()
            # a client that does not trust the certificate fails the handshake
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=5,
                                            context=ssl.create_default_context())
            with self.assertRaises(ssl.SSLError):
                c.request("GET", "/_control/health")
            c.close()
            r = subprocess.run([PYTHON, EMULATORCTL, "--url", "https://127.0.0.1:%d" % port,
                                "--cacert", cert, "health"], capture_output=True, text=True,
                               timeout=10)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            idle.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
