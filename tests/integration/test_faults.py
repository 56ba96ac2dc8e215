"""Every fault class of the API, through the mount: each gives the errno of the README table
"Errors a reader sees", one log line naming the connector, a last_error in status.json, and a
daemon that keeps serving the other connectors."""

import errno
import json
import os
import socket

import harness
from harness import TestCase, read_file

SLACK = "xoxb-demo-slack-token-0001"

# (case, fault fields for the emulator, errno, regex of the one log line after "<type>: ")
FAULTS = [
    ("500", dict(status=500), errno.EIO, r"server error \(HTTP 500"),
    ("502", dict(status=502, body="<html>bad gateway</html>"), errno.EIO,
     r"server error \(HTTP 502"),
    ("503", dict(status=503), errno.EIO, r"server error \(HTTP 503"),
    ("429 with Retry-After", dict(status=429, headers={"Retry-After": "30"}), errno.EAGAIN,
     r"rate limited by the API \(HTTP 429"),
    ("429 without Retry-After", dict(status=429), errno.EAGAIN,
     r"rate limited by the API \(HTTP 429"),
    ("hang past the timeout", dict(action="hang", delay=5), errno.ETIMEDOUT,
     r"request timed out \(HTTP 0"),
    ("reset mid-body", dict(action="reset"), errno.EIO,
     r"connection failed mid-transfer \(HTTP 0\)"),
    ("truncated body", dict(action="truncate"), errno.EIO,
     r"connection failed mid-transfer \(HTTP 0\)"),
    ("malformed JSON", dict(action="malformed"), errno.EIO,
     r"malformed response body \(HTTP 200\): body is not valid JSON"),
    ("array", dict(action="wrong_shape", body="[1,2]"), errno.EIO,
     r"malformed .*not a JSON object"),
    ("no access_token", dict(action="wrong_shape", body='{"connection_config":null}'),
     errno.EIO, r"malformed .*access_token is missing"),
    ("number token", dict(action="wrong_shape", body='{"access_token":5}'), errno.EIO,
     r"malformed .*access_token is not a string"),
    ("10 MiB body", dict(action="huge", size=10 * 1024 * 1024), errno.EIO,
     r"response body too large"),
    ("empty 200", dict(action="empty"), errno.EIO, r"malformed .*not valid JSON"),
    ("slow drip", dict(action="drip", interval=1.0), errno.ETIMEDOUT,
     r"request timed out"),
    ("401", dict(status=401, body={"detail": "Unauthorized"}), errno.EACCES,
     r"access denied by the API \(HTTP 401\): Unauthorized"),
    ("403", dict(status=403, body={"detail": "Forbidden"}), errno.EACCES,
     r"access denied by the API \(HTTP 403\): Forbidden"),
    ("403 metered", dict(status=403, headers={"X-Base44-Connector-Error":
                                              "metered_connector_requires_proxy"},
                         body={"detail": "metered"}),
     errno.EACCES, r"access denied by the API \(HTTP 403, metered_connector_requires_proxy\)"),
]


def read_or_errno(path):
    try:
        return read_file(path)
    except OSError as exc:
        return exc.errno


class FaultTest(TestCase):

    def status_of(self, mnt, type):
        with open(os.path.join(mnt.path, ".connectorfs", "status.json")) as f:
            return json.load(f)["connectors"].get(type)

    def test_every_fault_class_gives_its_errno_one_log_line_and_a_status_entry(self):
        mnt = self.mount(["ttl=60", "timeout=2"])
        for i, (case, fault, want, line) in enumerate(FAULTS):
            with self.subTest(case=case):
                type = "fault%02d" % i
                self.emu.set(type, "tok-" + type)
                self.emu.fail(type=type, count=-1, **fault)
                mnt.expect_log(r"^connectorfs: %s: %s" % (type, line))
                got = read_or_errno(os.path.join(mnt.path, type, "access_token"))
                self.assertEqual(want, got, "%s: got %r" % (case, got))
                lines = [l for l in mnt.log_text().splitlines() if (" %s: " % type) in l]
                self.assertEqual(1, len(lines), lines)
                st = self.status_of(mnt, type)
                self.assertIsNotNone(st)
                self.assertIsNotNone(st["last_error"])
                self.assertEqual(want, st["last_error"]["errno"])
                # The rest of the tree is unaffected.
                self.assertEqual(SLACK.encode(), read_or_errno(os.path.join(
                    mnt.path, "slack", "access_token")))

    def test_connection_refused_is_econnrefused_with_a_status_entry(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        mnt = self.mount(["api_url=http://127.0.0.1:%d" % port])
        mnt.expect_log(r"^connectorfs: slack: connection refused \(HTTP 0\)")
        self.assertEqual(errno.ECONNREFUSED, read_or_errno(os.path.join(
            mnt.path, "slack", "access_token")))
        self.assertEqual(errno.ECONNREFUSED, self.status_of(mnt, "slack")["last_error"]["errno"])

    def test_a_404_after_a_cached_value_is_enoent_with_a_status_entry(self):
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: connector not connected \(HTTP 404")
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.emu.delete("slack")
        # The refresh itself reports the 404: the read of refresh/slack fails with ENOENT.
        self.assertEqual((None, errno.ENOENT), harness.refresh(mnt, "slack"))
        self.assertEqual(errno.ENOENT, read_or_errno(path))
        st = self.status_of(mnt, "slack")
        self.assertEqual("not_found", st["state"])
