"""Freshness at kernel speed: warm reads never reach the daemon, connectors in use are
refreshed ahead of their TTL in the background (so a steady reader never waits), and
connectors nobody reads cost nothing."""

import os
import re
import time

from harness import TestCase, read_file, wait_until

SLACK = "xoxb-demo-slack-token-0001"
# libfuse's -d output names every request the kernel sends: "opcode: READ (15)".
# (IOCTL is left out: Python's open() asks isatty(), which FUSE always forwards.)
FILE_OPS = re.compile(r"opcode: (OPEN|READ|FLUSH|RELEASE|GETATTR|LOOKUP) ")


class FreshnessTest(TestCase):

    def test_warm_reads_send_no_request_to_the_daemon(self):
        mnt = self.mount(["ttl=60"], args=["-d"])
        mnt.expect_log(r".")  # -d prints every request; the token check still applies
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        # The first open is answered ENOSYS (no-open mode from then on), and the stat
        # after a READ upcall refreshes atime once: warm up both, then count.
        self.assertEqual(SLACK.encode(), read_file(path))
        os.stat(path)
        before = len(FILE_OPS.findall(mnt.log_text()))
        for _ in range(200):
            self.assertEqual(SLACK.encode(), read_file(path))
            os.stat(path)
        after = FILE_OPS.findall(mnt.log_text())
        self.assertEqual([], after[before:],
                         "200 warm open+read+close+stat reached the daemon")

    def test_a_steadily_read_connector_is_refreshed_ahead_and_never_makes_a_reader_wait(self):
        mnt = self.mount(["ttl=2"])
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.emu.latency(0.5)  # any reader that waited for a fetch would take >= 0.5 s
        rotated = self.emu.rotate("slack", length=40)
        slowest, seen = 0.0, set()
        end = time.monotonic() + 5.0
        while time.monotonic() < end:
            t0 = time.monotonic()
            seen.add(read_file(path))
            slowest = max(slowest, time.monotonic() - t0)
            time.sleep(0.01)
        self.assertLess(slowest, 0.3, "a reader waited %.2f s for a refresh" % slowest)
        self.assertIn(rotated.encode(), seen, "the rotation never showed up")
        self.assertEqual({SLACK.encode(), rotated.encode()}, seen)
        # 5 s at ttl=2 with refresh-ahead: a refresh every ~2 s, no storm.
        self.assertGreaterEqual(self.emu.count("slack"), 3)
        self.assertLessEqual(self.emu.count("slack"), 5)

    def test_a_connector_nobody_reads_is_not_refreshed(self):
        mnt = self.mount(["ttl=1"])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                 "access_token")))
        time.sleep(2.5)  # more than two TTLs with no reader
        self.assertEqual(1, self.emu.count("slack"))

    def test_a_sighup_rotation_is_seen_in_full_by_the_next_reader(self):
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        for length in (90, 7):  # longer, then shorter than what the kernel has cached
            token = self.emu.rotate("slack", length=length)
            os.kill(mnt.pid, 1)
            self.assertTrue(wait_until(lambda: read_file(path) == token.encode(), 3.0),
                            "after SIGHUP the %d-byte token did not show up" % length)
            self.assertEqual(len(token), os.stat(path).st_size)
            mnt.expect_log(r"^connectorfs: SIGHUP")
