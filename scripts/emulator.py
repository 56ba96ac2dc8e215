#!/usr/bin/env python3
"""A local stand-in for the Base44 connectors API (as the official SDK speaks it; see the README
"The emulator"), for tests and the demo.

It serves the token, listing and catalog routes on loopback only, plus a JSON control interface
under /_control/ to set connections, inject faults and read back the request log. It must never
print a token or an Authorization header, whatever the verbosity: tests grep its logs for them.
Python 3 standard library only.
"""

import argparse
import collections
import hmac
import http
import http.server
import ipaddress
import json
import os
import random
import secrets
import signal
import socket
import ssl
import string
import struct
import sys
import threading
import time
import urllib.parse

DEFAULT_APP_ID = "demo-app"
DEFAULT_SERVICE_TOKEN = "demo-service-token"
DEFAULT_API_KEY = "demo-api-key"

# The 32 types the product documentation names; the catalog serves these. (The real type list is
# open: newer SDKs add more, so nothing else may treat this list as the only valid set.)
CATALOG_TYPES = [
    "airtable", "box", "clickup", "discord", "dropbox", "github", "gmail", "google_analytics",
    "googlebigquery", "googlecalendar", "google_classroom", "googledocs", "googledrive",
    "google_search_console", "googlesheets", "googleslides", "hubspot", "linear", "linkedin",
    "microsoft_teams", "one_drive", "notion", "outlook", "salesforce", "share_point", "slack",
    "slackbot", "splitwise", "tiktok", "typeform", "wix", "wrike",
]
DISPLAY_NAMES = {
    "github": "GitHub", "gmail": "Gmail", "googlebigquery": "Google BigQuery",
    "googlecalendar": "Google Calendar", "googledocs": "Google Docs", "googledrive": "Google Drive",
    "googlesheets": "Google Sheets", "googleslides": "Google Slides", "hubspot": "HubSpot",
    "linkedin": "LinkedIn", "one_drive": "OneDrive", "share_point": "SharePoint",
    "slack": "Slack User", "slackbot": "Slack Bot", "tiktok": "TikTok", "clickup": "ClickUp",
}
CONFIG_FIELDS = {
    "share_point": [{"name": "subdomain", "display_name": "Subdomain",
                     "description": "Your SharePoint subdomain (contoso for contoso.sharepoint.com)",
                     "required": True}],
}

FAULT_ACTIONS = ("status", "hang", "reset", "truncate", "malformed", "wrong_shape", "huge",
                 "empty", "drip")
FAULT_KEYS = {"type", "count", "status", "body", "headers", "delay", "action", "size", "interval"}
CONNECTION_KEYS = {"access_token", "connection_config", "omit_config", "status", "extra",
                   "integration_type"}

# Routes whose requests are counted, matched by "*" faults and keyed by a connector name.
TOKEN_ROUTES = ("token", "connector", "app-user")
# Fault types that target the management routes (never matched by "*"; ":" is in no type name).
MGMT_FAULT_KEYS = {"list": ":list", "catalog": ":catalog"}

MAX_CONTROL_BODY = 1 << 20
MAX_LOG_ENTRIES = 100000
MAX_HUGE = 1 << 30


class BadInput(Exception):
    """A control request the emulator refuses with 400 and this message."""


def seed_connections():
    """The demo data: (type, access_token, connection_config, omit_config, metered)."""
    return [
        ("slack", "xoxb-demo-slack-token-0001", None, False, False),
        ("share_point", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.sp-demo-token",
         {"subdomain": "contoso"}, False, False),
        ("github", "gho_demoGithubToken0001", None, True, False),
        ("notion", "secret_demoNotionToken",
         {"workspace": "Acme Docs", "workspace_id": "ws-123"}, False, False),
        ("googlecalendar", "ya29.demo-google-token", {}, False, False),
        ("wix", "wix-demo-metered-token", None, False, True),
    ]


class State:
    """Everything the emulator knows, behind one lock."""

    def __init__(self, seed):
        self.lock = threading.Lock()
        self.seed = seed
        self.latency = 0.0
        self._clear()
        if seed:
            self._seed()

    def _clear(self):
        self.connections = {}      # type -> entry dict
        self.by_connector_id = {}  # connector id -> entry dict
        self.metered = set()
        self.issued = {}           # key -> [tokens]
        self.faults = []           # FIFO of fault dicts
        self.log = collections.deque(maxlen=MAX_LOG_ENTRIES)
        self.counts = collections.Counter()
        self.seq = 0
        self.latency = 0.0
        self.failure_rate = 0.0    # share of token requests answered failure_status
        self.failure_status = 503

    def _seed(self):
        for name, token, config, omit, metered in seed_connections():
            self._store(self.connections, name, name,
                        {"access_token": token, "connection_config": config,
                         "omit_config": omit})
            if metered:
                self.metered.add(name)

    def reset(self):
        with self.lock:
            self._clear()
            if self.seed:
                self._seed()

    def _store(self, table, key, history_key, body):
        entry = {
            "access_token": body["access_token"],
            "connection_config": body.get("connection_config"),
            "omit_config": bool(body.get("omit_config", False)),
            "status": body.get("status", "active"),
            "extra": body.get("extra") or {},
            "integration_type": body.get("integration_type"),
        }
        table[key] = entry
        self.issued.setdefault(history_key, []).append(entry["access_token"])
        return entry

    def set_connection(self, name, body):
        with self.lock:
            return dict(self._store(self.connections, name, name, body))

    def set_connector_id(self, cid, body):
        with self.lock:
            return dict(self._store(self.by_connector_id, cid, "connectors/" + cid, body))

    def rotate(self, name, length):
        prefix = "".join(c if c.isalnum() or c in "_-" else "_" for c in name)[:40] + "-rot-"
        alphabet = string.ascii_letters + string.digits
        if length is None:
            token = prefix + "".join(secrets.choice(alphabet) for _ in range(24))
        elif length >= len(prefix) + 8:
            token = prefix + "".join(secrets.choice(alphabet) for _ in range(length - len(prefix)))
        else:
            token = "".join(secrets.choice(alphabet) for _ in range(length))
        # "connectors/ID" names a workspace connector (set with /_control/connector-ids/ID).
        table, key = self.connections, name
        if name.startswith("connectors/"):
            table, key = self.by_connector_id, name.partition("/")[2]
        with self.lock:
            old = table.get(key)
            body = {"access_token": token}
            if old:
                body.update({k: old[k] for k in ("connection_config", "omit_config", "status",
                                                  "extra", "integration_type")})
            self._store(table, key, name, body)
        return token

    def add_log(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            self.log.append(entry)
            if entry["route"] in TOKEN_ROUTES:
                self.counts[entry["type"]] += 1
        return entry

    def take_fault(self, route, key):
        with self.lock:
            for i, fault in enumerate(self.faults):
                if fault["type"] == key or (fault["type"] == "*" and route in TOKEN_ROUTES):
                    if fault["count"] > 0:
                        fault["count"] -= 1
                        if fault["count"] == 0:
                            del self.faults[i]
                    return dict(fault)
        return None


def json_bytes(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def parse_fault(body):
    unknown = set(body) - FAULT_KEYS
    if unknown:
        raise BadInput("unknown fault field(s): " + ", ".join(sorted(unknown)))
    action = body.get("action", "status")
    if action not in FAULT_ACTIONS:
        raise BadInput("action must be one of: " + ", ".join(FAULT_ACTIONS))
    ftype = body.get("type", "*")
    if not isinstance(ftype, str):
        raise BadInput("type must be a string")
    count = body.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count == 0 or count < -1:
        raise BadInput("count must be a positive integer, or -1 for forever")
    default_status = 500 if action == "status" else 200
    status = body.get("status", default_status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadInput("status must be an integer 100..599")
    headers = body.get("headers", {})
    if not isinstance(headers, dict):
        raise BadInput("headers must be an object")
    clean_headers = {}
    for k, v in headers.items():
        if not isinstance(v, (str, int, float)) or isinstance(v, bool):
            raise BadInput("header values must be strings or numbers")
        k, v = str(k), str(v)
        if not k or any(c in k for c in ":\r\n ") or any(c in v for c in "\r\n"):
            raise BadInput("bad header name or value")
        clean_headers[k] = v
    fault = {"type": ftype, "count": count, "status": status, "headers": clean_headers,
             "action": action}
    if "body" in body and body["body"] is not None:
        fault["body"] = body["body"] if isinstance(body["body"], str) else \
            json.dumps(body["body"])
    for key, default in (("delay", 60.0 if action == "hang" else 0.0),
                         ("interval", 1.0)):
        value = body.get(key, default)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 \
                or value > 86400:
            raise BadInput(key + " must be a number of seconds (0..86400)")
        fault[key] = float(value)
    size = body.get("size", 10 << 20)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_HUGE:
        raise BadInput("size must be an integer 0..%d" % MAX_HUGE)
    fault["size"] = size
    return fault


def parse_connection(body, need_token=True):
    unknown = set(body) - CONNECTION_KEYS
    if unknown:
        raise BadInput("unknown connection field(s): " + ", ".join(sorted(unknown)))
    if need_token and not isinstance(body.get("access_token"), str):
        raise BadInput("access_token must be a string")
    config = body.get("connection_config")
    if config is not None and not isinstance(config, dict):
        raise BadInput("connection_config must be an object or null")
    if not isinstance(body.get("omit_config", False), bool):
        raise BadInput("omit_config must be a boolean")
    if not isinstance(body.get("status", "active"), str):
        raise BadInput("status must be a string")
    extra = body.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise BadInput("extra must be an object")
    itype = body.get("integration_type")
    if itype is not None and not isinstance(itype, str):
        raise BadInput("integration_type must be a string")
    return body


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "base44-emulator/1.0"
    disable_nagle_algorithm = True
    timeout = 300  # idle keep-alive connections are dropped after this

    # ---- plumbing -------------------------------------------------------------------------

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        # The request line carries only the path; headers (and so tokens) are never logged.
        if self.server.verbose:
            sys.stderr.write("emulator: %s %s\n" % (self.address_string(), fmt % args))
            sys.stderr.flush()

    def send_error(self, code, message=None, explain=None):
        # Used by the base class for unparsable requests: answer JSON, then close.
        try:
            phrase = http.HTTPStatus(code).phrase
        except ValueError:
            phrase = "Error"
        self.log_error("code %d, message %s", code, message or phrase)
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # so the answer has a status line and headers
        body = json_bytes({"detail": message or phrase})
        self.send_response(code, message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def _answer(self, status, body=b"", headers=None, content_type="application/json"):
        """Send one complete response with Content-Length (unless headers override it)."""
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Content-Type": content_type, "Content-Length": str(len(body))}
        for k, v in (headers or {}).items():
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            hdrs[k] = v
        self.send_response(status)
        for k, v in hdrs.items():
            self.send_header(k, v)
            if k.lower() == "connection" and v.lower() == "close":
                self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def _json(self, status, obj, headers=None):
        self._answer(status, json_bytes(obj), headers)

    def _read_body(self, limit):
        """Read the request body (Content-Length or chunked); None if the stream is unusable."""
        te = self.headers.get("Transfer-Encoding", "")
        if te:
            if te.strip().lower() != "chunked":
                return None
            data = bytearray()
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                if len(data) + size > limit:
                    return None
                data += self.rfile.read(size)
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            return None
        if n < 0 or n > limit:
            return None
        return self.rfile.read(n)

    def _dispatch(self):
        try:
            target = self.path
            path, _, query = target.partition("?")
            path = path.partition("#")[0]
            if path == "/_control" or path.startswith("/_control/"):
                self._control(path, query)
            else:
                self._api(path)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError,
                socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a bug: say where, never what (could hold a value)
            self.close_connection = True
            tb = exc.__traceback__
            while tb.tb_next:
                tb = tb.tb_next
            sys.stderr.write("emulator: internal error %s at line %d\n"
                             % (type(exc).__name__, tb.tb_lineno))
            sys.stderr.flush()
            try:
                self._json(500, {"detail": "emulator internal error"},
                           {"Connection": "close"})
            except OSError:
                pass

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = \
        do_TRACE = _dispatch

    # ---- the API ---------------------------------------------------------------------------

    def _route(self, path):
        """(route, key) for an API path: key is the decoded connector name, or None."""
        segs = path.split("/")
        app = self.server.app_id
        if len(segs) >= 4 and segs[:3] == ["", "api", "apps"]:
            rest = segs[4:]
            app_ok = urllib.parse.unquote(segs[3]) == app
            if len(rest) == 4 and rest[:3] == ["external-auth", "tokens", "connectors"]:
                return "connector", "connectors/" + urllib.parse.unquote(rest[3]), app_ok
            if len(rest) == 3 and rest[:2] == ["external-auth", "tokens"]:
                return "token", urllib.parse.unquote(rest[2]), app_ok
            if len(rest) == 4 and rest[0] == "app-user-auth" and rest[1] == "connectors" \
                    and rest[3] == "token":
                return "app-user", "app-user/" + urllib.parse.unquote(rest[2]), app_ok
            if rest == ["external-auth", "list"]:
                return "list", None, app_ok
            if rest == ["external-auth", "available-integrations"]:
                return "catalog", None, app_ok
        return "unknown", None, False

    def _bearer(self):
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() != "bearer":
            return None
        return value.strip() or None

    @staticmethod
    def _same(a, b):
        return a is not None and hmac.compare_digest(a.encode(), b.encode())

    def _api(self, path):
        srv = self.server
        state = srv.state
        route, key, app_ok = self._route(path)
        headers = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = headers[k] + ", " + v if k in headers else v
        entry = state.add_log({
            "time": time.time(), "peer": "%s:%d" % self.client_address[:2],
            "method": self.command, "path": self.path,
            "type": key, "route": route, "headers": headers, "status": None, "fault": None,
        })
        body = self._read_body(MAX_CONTROL_BODY)
        if body is None:
            self._set_status(entry, 400)
            self._json(400, {"detail": "Bad request body"}, {"Connection": "close"})
            return
        if route == "unknown":
            self._set_status(entry, 404)
            self._json(404, {"detail": "Not Found"})
            return
        if self.command != "GET":
            self._set_status(entry, 405)
            self._json(405, {"detail": "Method Not Allowed"}, {"Allow": "GET"})
            return
        with state.lock:
            latency = state.latency
        if latency > 0:
            srv.stop_event.wait(latency)
        fault_key = key if route in TOKEN_ROUTES else MGMT_FAULT_KEYS[route]
        fault = state.take_fault(route, fault_key)
        if fault:
            entry["fault"] = fault["action"]
            self._fault(fault, route, key, entry)
            return
        with state.lock:
            rate, failure_status = state.failure_rate, state.failure_status
        if rate > 0 and route in TOKEN_ROUTES and random.random() < rate:
            entry["fault"] = "failure-rate"
            self._set_status(entry, failure_status)
            self._json(failure_status, {"detail": "Injected failure"})
            return
        status, obj, extra_headers = self._normal(route, key, app_ok)
        self._set_status(entry, status)
        self._json(status, obj, extra_headers)

    def _set_status(self, entry, status):
        with self.server.state.lock:
            entry["status"] = status

    def _normal(self, route, key, app_ok):
        """The real answer of an API GET: (status, JSON object, extra headers)."""
        srv = self.server
        state = srv.state
        if route in ("list", "catalog"):
            bearer = self._bearer()
            if not (self._same(bearer, srv.api_key)
                    or self._same(self.headers.get("api_key"), srv.api_key)):
                return 401, {"detail": "Unauthorized"}, None
            if not app_ok:
                return 404, {"detail": "App not found", "code": "NOT_FOUND"}, None
            if route == "catalog":
                return 200, {"integrations": [catalog_entry(t) for t in CATALOG_TYPES]}, None
            with state.lock:
                items = [{"integration_type": t, "status": e["status"], "scopes": [],
                          "user_email": "demo@example.com"}
                         for t, e in sorted(state.connections.items())]
            return 200, {"integrations": items}, None

        bearer = self._bearer()
        if bearer is None:
            return 401, {"detail": "Unauthorized"}, None
        if not self._same(bearer, srv.service_token):
            if self._same(bearer, srv.api_key):
                return 403, {"detail": "This endpoint is only accessible to service tokens"}, None
            return 401, {"detail": "Unauthorized"}, None
        if route == "app-user":
            obo = self.headers.get("on-behalf-of", "")
            scheme, _, value = obo.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return 401, {"detail": "Unauthorized: on-behalf-of user token required"}, None
        if not app_ok:
            return 404, {"detail": "App not found", "code": "NOT_FOUND"}, None
        with state.lock:
            if route == "token":
                if key in state.metered:
                    msg = ("Connector '%s' is metered and its token cannot be retrieved; "
                           "use POST /api/apps/%s/connectors/%s/call" % (key, srv.app_id, key))
                    return 403, {"detail": msg}, \
                        {"X-Base44-Connector-Error": "metered_connector_requires_proxy"}
                stored = state.connections.get(key)
                itype = key
            else:
                cid = key.partition("/")[2]
                stored = state.by_connector_id.get(cid)
                itype = cid
            if stored is None:
                return 404, {"detail": "Connector connection not found", "code": "NOT_FOUND"}, None
            return 200, token_body(stored, itype), None

    def _stored_body(self, route, key):
        """The 200 body a data fault mangles: the stored one if any, else a made-up one."""
        state = self.server.state
        with state.lock:
            if route == "token":
                stored, itype = state.connections.get(key), key
            elif route in TOKEN_ROUTES:
                itype = key.partition("/")[2]
                stored = state.by_connector_id.get(itype)
            else:
                stored, itype = None, None
            if stored is not None:
                return json_bytes(token_body(stored, itype))
        return json_bytes({"access_token": "fault-token-0123456789",
                           "integration_type": itype or "unknown", "connection_config": None})

    def _fault(self, fault, route, key, entry):
        srv = self.server
        action = fault["action"]
        if action == "hang":
            self._set_status(entry, None)
            srv.stop_event.wait(fault["delay"])
            self.close_connection = True
            return
        if fault["delay"] > 0:
            srv.stop_event.wait(fault["delay"])
        status = fault["status"]
        headers = fault["headers"]
        self._set_status(entry, status)
        if action == "status":
            if "body" in fault:
                body = fault["body"].encode()
                try:
                    json.loads(body)
                    ctype = "application/json"
                except ValueError:
                    ctype = "text/plain; charset=utf-8"
            else:
                try:
                    phrase = http.HTTPStatus(status).phrase
                except ValueError:
                    phrase = "Error"
                body, ctype = json_bytes({"detail": phrase}), "application/json"
            self._answer(status, body, headers, ctype)
        elif action == "malformed":
            self._answer(status, fault.get("body", '{"access_token": "abc'), headers)
        elif action == "wrong_shape":
            self._answer(status, fault.get("body", '{"access_token": 5}'), headers)
        elif action == "empty":
            self._answer(status, b"", headers)
        elif action == "huge":
            self._send_huge(status, headers, fault["size"], key)
        elif action in ("truncate", "reset", "drip"):
            body = fault["body"].encode() if "body" in fault else self._stored_body(route, key)
            hdrs = dict(headers)
            if action != "drip":
                hdrs.setdefault("Content-Length", str(len(body)))
            self._send_head(status, hdrs, len(body))
            if action == "drip":
                for i in range(len(body)):
                    self.wfile.write(body[i:i + 1])
                    if i + 1 < len(body) and srv.stop_event.wait(fault["interval"]):
                        break
                return
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
            if action == "reset":
                self._abort()

    def _send_head(self, status, headers, length):
        hdrs = {"Content-Type": "application/json", "Content-Length": str(length)}
        for k, v in headers.items():
            for existing in list(hdrs):
                if existing.lower() == k.lower():
                    del hdrs[existing]
            hdrs[k] = v
        self.send_response(status)
        for k, v in hdrs.items():
            self.send_header(k, v)
            if k.lower() == "connection" and v.lower() == "close":
                self.close_connection = True
        self.end_headers()

    def _send_huge(self, status, headers, size, key):
        prefix = ('{"access_token": "huge-token-0123456789", "integration_type": %s, '
                  '"padding": "' % json.dumps(key or "unknown")).encode()
        suffix = b'"}'
        pad = size - len(prefix) - len(suffix)
        self._send_head(status, headers, size)
        if self.command == "HEAD":
            return
        if pad < 0:
            self.wfile.write((prefix + suffix)[:size])
            return
        self.wfile.write(prefix)
        chunk = b"x" * 65536
        while pad > 0:
            n = min(pad, len(chunk))
            self.wfile.write(chunk[:n])
            pad -= n
        self.wfile.write(suffix)

    def _abort(self):
        """Close the connection with an RST (SO_LINGER 0) instead of a FIN."""
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        # The fd is only really closed once the makefile() reader is closed too (wfile is a
        # plain writer that holds no reference).
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    # ---- the control interface -------------------------------------------------------------

    def _control(self, path, query):
        rest = path[len("/_control"):].lstrip("/")
        cmd, _, arg = rest.partition("/")
        arg = urllib.parse.unquote(arg) if arg else None
        raw = self._read_body(MAX_CONTROL_BODY)
        if raw is None:
            self._json(400, {"error": "bad or oversized request body"}, {"Connection": "close"})
            return
        try:
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError as exc:
                    raise BadInput("body is not valid JSON: %s" % exc.msg)
                if not isinstance(body, dict):
                    raise BadInput("body must be a JSON object")
            else:
                body = {}
            params = urllib.parse.parse_qs(query, keep_blank_values=True)
            handler = CONTROL.get(cmd)
            if handler is None:
                self._json(404, {"error": "unknown control endpoint: /_control/" + cmd})
                return
            result = handler(self, self.command, arg, body, params)
            if result is None:
                self._json(405, {"error": "method %s not allowed on /_control/%s"
                                 % (self.command, cmd)})
                return
            status, obj = result if isinstance(result, tuple) else (200, result)
            self._json(status, obj)
        except BadInput as exc:
            self._json(400, {"error": str(exc)})

    def _need_arg(self, arg, what="TYPE"):
        if arg is None:
            raise BadInput("missing %s in path" % what)
        return arg

    def c_health(self, method, arg, body, params):
        if method == "GET":
            return {"ok": True}

    def c_connections(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                if arg is None:
                    return {"connections": {k: dict(v) for k, v in state.connections.items()}}
                if arg not in state.connections:
                    return 404, {"error": "no such connection"}
                return {"connection": dict(state.connections[arg])}
        if method == "PUT":
            name = self._need_arg(arg)
            return {"ok": True, "connection": state.set_connection(name, parse_connection(body))}
        if method == "DELETE":
            name = self._need_arg(arg)
            with state.lock:
                existed = state.connections.pop(name, None) is not None
            return {"ok": True, "existed": existed}

    def c_connector_ids(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                return {"connector_ids": {k: dict(v) for k, v in state.by_connector_id.items()}}
        if method == "PUT":
            cid = self._need_arg(arg, "ID")
            return {"ok": True, "connection": state.set_connector_id(cid, parse_connection(body))}
        if method == "DELETE":
            cid = self._need_arg(arg, "ID")
            with state.lock:
                existed = state.by_connector_id.pop(cid, None) is not None
            return {"ok": True, "existed": existed}

    def c_rotate(self, method, arg, body, params):
        if method != "POST":
            return None
        name = self._need_arg(arg)
        unknown = set(body) - {"length"}
        if unknown:
            raise BadInput("unknown rotate field(s): " + ", ".join(sorted(unknown)))
        length = body.get("length")
        if length is not None and (not isinstance(length, int) or isinstance(length, bool)
                                   or not 1 <= length <= (1 << 24)):
            raise BadInput("length must be an integer 1..16777216")
        return {"ok": True, "access_token": self.server.state.rotate(name, length)}

    def c_issued(self, method, arg, body, params):
        if method != "GET":
            return None
        name = self._need_arg(arg)
        with self.server.state.lock:
            return {"tokens": list(self.server.state.issued.get(name, []))}

    def c_metered(self, method, arg, body, params):
        state = self.server.state
        with state.lock:
            if method == "GET":
                return {"metered": sorted(state.metered)}
            if method == "PUT":
                state.metered.add(self._need_arg(arg))
                return {"ok": True}
            if method == "DELETE":
                state.metered.discard(self._need_arg(arg))
                return {"ok": True}

    def c_faults(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                return {"faults": [dict(f) for f in state.faults]}
        if method == "POST":
            fault = parse_fault(body)
            with state.lock:
                state.faults.append(fault)
            return {"ok": True}
        if method == "DELETE":
            with state.lock:
                state.faults.clear()
            return {"ok": True}

    def c_latency(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                return {"seconds": state.latency}
        if method == "PUT":
            seconds = body.get("seconds")
            if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) \
                    or not 0 <= seconds <= 3600:
                raise BadInput("seconds must be a number 0..3600")
            with state.lock:
                state.latency = float(seconds)
            return {"ok": True}

    def c_failure_rate(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                return {"rate": state.failure_rate, "status": state.failure_status}
        if method == "PUT":
            rate = body.get("rate")
            status = body.get("status", 503)
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) \
                    or not 0 <= rate <= 1:
                raise BadInput("rate must be a number 0..1")
            if not isinstance(status, int) or isinstance(status, bool) \
                    or not 400 <= status <= 599:
                raise BadInput("status must be an HTTP error status 400..599")
            with state.lock:
                state.failure_rate = float(rate)
                state.failure_status = status
            return {"ok": True}

    def c_requests(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            want = params.get("type", [None])[-1]
            since = params.get("since", ["0"])[-1]
            try:
                since = int(since)
            except ValueError:
                raise BadInput("since must be an integer")
            with state.lock:
                out = [json.loads(json.dumps(e)) for e in state.log
                       if e["seq"] > since and (want is None or e["type"] == want)]
            return {"requests": out}
        if method == "DELETE":
            with state.lock:
                state.log.clear()
                state.counts.clear()
            return {"ok": True}

    def c_counts(self, method, arg, body, params):
        state = self.server.state
        if method == "GET":
            with state.lock:
                return dict(state.counts)
        if method == "DELETE":
            with state.lock:
                state.counts.clear()
            return {"ok": True}

    def c_reset(self, method, arg, body, params):
        if method != "POST":
            return None
        self.server.state.reset()
        return {"ok": True}


CONTROL = {
    "health": Handler.c_health,
    "connections": Handler.c_connections,
    "connector-ids": Handler.c_connector_ids,
    "rotate": Handler.c_rotate,
    "issued": Handler.c_issued,
    "metered": Handler.c_metered,
    "faults": Handler.c_faults,
    "latency": Handler.c_latency,
    "failure-rate": Handler.c_failure_rate,
    "requests": Handler.c_requests,
    "counts": Handler.c_counts,
    "reset": Handler.c_reset,
}


def token_body(stored, itype):
    body = {"access_token": stored["access_token"],
            "integration_type": stored.get("integration_type") or itype}
    if not stored["omit_config"]:
        body["connection_config"] = stored["connection_config"]
    for k, v in (stored.get("extra") or {}).items():
        body.setdefault(k, v)
    return body


def catalog_entry(t):
    name = DISPLAY_NAMES.get(t) or " ".join(w.capitalize() for w in t.split("_"))
    return {"integration_type": t, "display_name": name,
            "description": "Connect your %s account" % name,
            "connection_config_fields": CONFIG_FIELDS.get(t, [])}


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, addr, args, ssl_context):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, Handler)
        self.ssl_context = ssl_context
        self.verbose = args.verbose
        self.app_id = args.app_id
        self.service_token = args.service_token
        self.api_key = args.api_key
        self.state = State(seed=not args.no_seed)
        self.stop_event = threading.Event()

    def finish_request(self, request, client_address):
        # TLS handshakes happen here, in the connection's own thread, so a silent client
        # cannot stall accept().
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return None
        try:
            tls.settimeout(None)
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            self.shutdown_request(tls)
        return None

    def handle_error(self, request, client_address):
        if self.verbose:
            exc = sys.exc_info()[1]
            sys.stderr.write("emulator: connection error: %s\n" % type(exc).__name__)
            sys.stderr.flush()


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def remove_quietly(path):
    if path:
        try:
            os.unlink(path)
        except OSError:
            pass


def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_args(argv):
    p = argparse.ArgumentParser(description="Local Base44 connectors API emulator "
                                            "(control interface under /_control/).")
    p.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    p.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    p.add_argument("--port-file", help="write the port number here once listening")
    p.add_argument("--pid-file", help="write the process id here")
    p.add_argument("--app-id", default=DEFAULT_APP_ID)
    tok = p.add_mutually_exclusive_group()
    tok.add_argument("--service-token-file", help="file holding the service token")
    tok.add_argument("--service-token", help="the service token (demo use only)")
    p.add_argument("--api-key", default=DEFAULT_API_KEY, help="management API key")
    p.add_argument("--no-seed", action="store_true", help="start with no connections")
    p.add_argument("--tls-cert", help="PEM certificate: serve https")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--verbose", action="store_true", help="log requests (never tokens)")
    args = p.parse_args(argv)
    if not is_loopback(args.host):
        p.error("--host must be a loopback address (the control interface has no auth)")
    if not 0 <= args.port <= 65535:
        p.error("--port must be 0..65535")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.service_token_file:
        try:
            with open(args.service_token_file) as f:
                args.service_token = f.read().strip()
        except OSError as exc:
            p.error("cannot read --service-token-file: %s" % exc.strerror)
    elif args.service_token is None:
        args.service_token = DEFAULT_SERVICE_TOKEN
    if not args.service_token:
        p.error("the service token is empty")
    if not args.api_key:
        p.error("the api key is empty")
    if args.api_key == args.service_token:
        p.error("--api-key must differ from the service token")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    remove_quietly(args.port_file)
    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            sys.stderr.write("emulator: cannot load TLS certificate: %s\n" % exc)
            return 2
    try:
        server = Server((args.host, args.port), args, ctx)
    except OSError as exc:
        sys.stderr.write("emulator: cannot listen on %s:%d: %s\n"
                         % (args.host, args.port, exc.strerror))
        return 1

    def on_signal(signum, frame):
        server.stop_event.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    port = server.server_address[1]
    try:
        if args.pid_file:
            write_atomic(args.pid_file, "%d\n" % os.getpid())
        if args.port_file:
            write_atomic(args.port_file, "%d\n" % port)
    except OSError as exc:
        sys.stderr.write("emulator: cannot write pid/port file: %s\n" % exc.strerror)
        server.server_close()
        return 1
    host = "[%s]" % args.host if ":" in args.host else args.host
    print("emulator listening on %s://%s:%d" % ("https" if ctx else "http", host, port),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.stop_event.set()
        server.server_close()
        remove_quietly(args.pid_file)
        remove_quietly(args.port_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
