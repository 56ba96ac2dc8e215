"""Where a secret could leave the daemon by a side door: a proxy named in the environment, and
what the API echoes back in the X-Base44-Connector-Error header or in an error of the list
endpoint. The service token and the management key must reach no proxy over plain http, and
appear in no log line, status.json, metrics file or error message."""

import errno
import os
import socket
import sys
import threading

from harness import SERVICE_TOKEN, TestCase, base_env, read_file, run_binary

API_KEY = "demo-api-key"  # the emulator's default management key
TOKEN = "xoxb-leak-test-token-0001"
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy")


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it is offered."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.connections = 0
        self.received = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            conn.settimeout(0.5)
            try:
                self.received += conn.recv(65536)
            except OSError:
                pass
            conn.close()  # answer nothing: a proxied request fails

    def close(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class ProxyTest(TestCase):
    """Plain http (allowed only to loopback) never goes through a proxy."""

    def test_plain_http_ignores_every_proxy_variable_of_the_environment(self):
        proxy = Listener()
        self.addCleanup(proxy.close)
        self.emu.set("slack", TOKEN)
        mnt = self.mount(["timeout=3"], env={v: proxy.url for v in PROXY_VARS})
        self.assertEqual(TOKEN.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        self.assertEqual(0, proxy.connections,
                         "the proxy listener was offered %d connection(s)" % proxy.connections)
        self.assertFalse(SERVICE_TOKEN.encode() in proxy.received,
                         "the proxy listener received the service token")


class RedactionTest(TestCase):
    """What the API echoes back is redacted before it is logged or shown."""

    def assertNowhere(self, mnt, secrets, where=""):
        """No secret in the daemon log, status.json or metrics (nor in where)."""
        ctl = os.path.join(mnt.path, ".connectorfs")
        texts = {
            "daemon log": mnt.log_text(),
            "status.json": read_file(os.path.join(ctl, "status.json")).decode(),
            "metrics": read_file(os.path.join(ctl, "metrics")).decode(),
            "other output": where,
        }
        for name, text in texts.items():
            for secret in secrets:
                # assertFalse: assertNotIn would print the secret in the report.
                self.assertFalse(secret in text, "%s holds a secret of %d bytes"
                                 % (name, len(secret)))

    def test_a_service_token_echoed_in_the_connector_error_header_is_redacted(self):
        self.emu.fail(type="slack", count=-1, status=403,
                      headers={"X-Base44-Connector-Error": "bad_bearer:" + SERVICE_TOKEN},
                      body={"detail": "not a service token"})
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: access denied by the API "
                       r"\(HTTP 403, bad_bearer:\[redacted\]\)")
        with self.assertRaises(OSError) as raised:
            read_file(os.path.join(mnt.path, "slack", "access_token"))
        self.assertEqual(errno.EACCES, raised.exception.errno)
        self.assertTrue(mnt.wait_log(r"slack: access denied"), mnt.log_text())
        self.assertNowhere(mnt, [SERVICE_TOKEN])

    def list_fault(self, status):
        echo = "key %s svc %s" % (API_KEY, SERVICE_TOKEN)
        self.emu.fail(type=":list", count=-1, status=status,
                      headers={"X-Base44-Connector-Error": echo},
                      body={"detail": "rejected: " + echo})

    def test_list_endpoint_errors_at_the_root_are_redacted(self):
        for status, what in ((401, "access denied by the API"), (500, "server error")):
            with self.subTest(status=status):
                self.emu.clear_faults()
                self.list_fault(status)
                mnt = self.mount(["ttl=60"], env={"BASE44_API_KEY": API_KEY})
                mnt.extra_secrets.add(API_KEY)
                mnt.expect_log(r"^connectorfs: connector list: %s \(HTTP %d\): rejected: "
                               r"key \[redacted\] svc \[redacted\]" % (what, status))
                self.assertEqual([".connectorfs", "connectors"], sorted(os.listdir(mnt.path)))
                self.assertTrue(mnt.wait_log(r"connector list: "), mnt.log_text())
                self.assertNowhere(mnt, [API_KEY, SERVICE_TOKEN])
                mnt.finish()

    def test_list_endpoint_errors_of_the_list_commands_are_redacted(self):
        self.list_fault(401)
        for args in (["--list"], ["--list-available"]):
            if args == ["--list-available"]:
                self.emu.fail(type=":catalog", count=-1, status=401,
                              headers={"X-Base44-Connector-Error": API_KEY},
                              body={"detail": "rejected: " + API_KEY})
            with self.subTest(args=args):
                rc, out, err = run_binary(args, base_env(self.emu.url,
                                                         BASE44_API_KEY=API_KEY))
                self.assertEqual(1, rc)
                for secret in (API_KEY, SERVICE_TOKEN):
                    self.assertFalse(secret in out + err, "the output holds a secret of %d "
                                     "bytes" % len(secret))
                self.assertIn("[redacted]", err)

    def test_the_management_key_echoed_by_the_token_endpoint_is_redacted(self):
        self.emu.fail(type="slack", count=-1, status=403,
                      headers={"X-Base44-Connector-Error": "key:" + API_KEY},
                      body={"detail": "try the key " + API_KEY})
        mnt = self.mount(["ttl=60"], env={"BASE44_API_KEY": API_KEY})
        mnt.extra_secrets.add(API_KEY)
        mnt.expect_log(r"^connectorfs: slack: access denied by the API "
                       r"\(HTTP 403, key:\[redacted\]\): try the key \[redacted\]")
        with self.assertRaises(OSError) as raised:
            read_file(os.path.join(mnt.path, "slack", "access_token"))
        self.assertEqual(errno.EACCES, raised.exception.errno)
        self.assertTrue(mnt.wait_log(r"slack: access denied"), mnt.log_text())
        self.assertNowhere(mnt, [API_KEY, SERVICE_TOKEN])


if __name__ == "__main__":
    sys.exit("run through tests/integration/run.py")
