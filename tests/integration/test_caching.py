"""Caching: warm reads make no request, concurrent first readers make one, rotations show up
after the TTL or at once by reading .connectorfs/refresh/NAME (whole, with the new size and mtime),
outages are bridged by the last value for max_stale with backoff, and a JWT's exp caps it all."""

import base64
import errno
import json
import os
import threading
import time

import harness
from harness import TestCase, read_file, wait_until

SLACK = "xoxb-demo-slack-token-0001"


class CachingTest(TestCase):

    def test_warm_reads_within_the_ttl_make_no_request(self):
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        before = self.emu.count("slack")
        self.assertEqual(1, before)
        for _ in range(20):
            self.assertEqual(SLACK.encode(), read_file(path))
        self.assertEqual(before, self.emu.count("slack"))

    def test_concurrent_first_readers_share_one_request(self):
        self.emu.latency(0.3)
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        readers = 32
        barrier = threading.Barrier(readers)
        results = [None] * readers

        def reader(i):
            try:
                barrier.wait(5)
                results[i] = read_file(path)
            except Exception as exc:  # recorded and asserted below
                results[i] = exc

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        took = time.monotonic() - started
        self.assertEqual([SLACK.encode()] * readers, results)
        self.assertEqual(1, self.emu.count("slack"),
                         "%d concurrent readers made %d requests"
                         % (readers, self.emu.count("slack")))
        self.assertLess(took, 3.0, "readers waited %.1f s for one 0.3 s request" % took)


class RotationTest(TestCase):

    def poll_for(self, path, old, new, deadline):
        """Read path until it holds new; every read in between must be old or new, whole."""
        seen = []
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            got = read_file(path)
            if got == new:
                return True
            if got != old and got not in seen:
                seen.append(got)
            time.sleep(0.05)
        self.assertEqual([], seen, "reads returned values that are neither old nor new")
        return False

    def refresh(self, mnt, what):
        """Read .connectorfs/refresh/WHAT; it must succeed. Returns the text it printed."""
        text, err = harness.refresh(mnt, what)
        self.assertIsNone(err, "reading refresh/%s failed with %s"
                          % (what, harness.errname(err)))
        return text

    def test_rotation_is_visible_after_the_ttl_longer_then_shorter(self):
        mnt = self.mount(["ttl=1"])
        path = os.path.join(mnt.path, "slack", "access_token")
        env = os.path.join(mnt.path, "slack", "env")
        old = SLACK.encode()
        self.assertEqual(old, read_file(path))
        st0 = os.stat(path)
        for length in (90, 12):
            with self.subTest(length=length):
                time.sleep(0.01)  # so the change happens at a later millisecond
                new = self.emu.rotate("slack", length=length).encode()
                self.assertTrue(self.poll_for(path, old, new, 5.0),
                                "rotated token not visible 5 s after the rotation with ttl=1")
                st = os.stat(path)
                self.assertEqual(len(new), st.st_size)
                self.assertGreater(st.st_mtime_ns, st0.st_mtime_ns)
                self.assertEqual(b"SLACK_ACCESS_TOKEN=" + new + b"\n", read_file(env))
                old, st0 = new, st

    def test_reading_refresh_makes_a_rotation_visible_at_once(self):
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        doc = os.path.join(mnt.path, "slack", "connection.json")
        self.assertEqual(SLACK.encode(), read_file(path))
        read_file(doc)
        st0 = os.stat(path)
        for length in (200, 9, 50):
            with self.subTest(length=length):
                time.sleep(0.01)
                new = self.emu.rotate("slack", length=length)
                before = self.emu.count("slack")
                text = self.refresh(mnt, "slack")
                self.assertRegex(text, r"^slack generation \d+\n$")
                self.assertEqual(before + 1, self.emu.count("slack"),
                                 "the refresh read did not make exactly one request")
                self.assertEqual(new.encode(), read_file(path))
                self.assertEqual(('{"accessToken":"%s","connectionConfig":null}\n' % new)
                                 .encode(), read_file(doc))
                st = os.stat(path)
                self.assertEqual(len(new), st.st_size)
                self.assertGreater(st.st_mtime_ns, st0.st_mtime_ns)
                st0 = st

    def test_refresh_all_refetches_every_known_connector(self):
        mnt = self.mount(["ttl=60"])
        paths = {t: os.path.join(mnt.path, t, "access_token")
                 for t in ("slack", "notion", "github")}
        for p in paths.values():
            read_file(p)
        # Several rounds: the read must return only once every new value is in place.
        for round in range(10):
            new = {t: self.emu.rotate(t, length=30 + 10 * (round % 3)) for t in paths}
            self.refresh(mnt, "all")
            for t, p in paths.items():
                with self.subTest(round=round, type=t):
                    self.assertEqual(new[t].encode(), read_file(p))
                    self.assertEqual(len(new[t]), os.stat(p).st_size)

    def test_value_unchanged_by_a_refetch_keeps_its_mtime(self):
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        st0 = os.stat(path)
        time.sleep(0.01)
        self.refresh(mnt, "slack")
        self.assertEqual(2, self.emu.count("slack"))
        st = os.stat(path)
        self.assertEqual(st0.st_mtime_ns, st.st_mtime_ns,
                         "st_mtime must be when the value changed, not when it was fetched")
        self.assertEqual(SLACK.encode(), read_file(path))


class OutageTest(TestCase):
    """Stale on error, the end of serving, and backoff (README "Caching and refreshing")."""

    def read_or_errno(self, path):
        try:
            return read_file(path)
        except OSError as exc:
            return exc.errno

    def test_failed_refreshes_keep_serving_the_last_value_within_max_stale(self):
        mnt = self.mount(["ttl=1", "max_stale=30"])
        mnt.expect_log(r"^connectorfs: slack: server error \(HTTP 503\): upstream down$")
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.emu.fail(type="slack", count=-1, status=503, body={"detail": "upstream down"})
        end = time.monotonic() + 2.5
        reads = []
        while time.monotonic() < end:
            reads.append(self.read_or_errno(path))
            time.sleep(0.05)
        self.assertEqual({SLACK.encode()}, set(reads))
        failed = self.emu.count("slack") - 1
        self.assertGreaterEqual(failed, 1, "the TTL passed but no refresh was tried")
        self.assertLessEqual(failed, 5, "%d refreshes in 2.5 s of failures: no backoff"
                             % failed)

    def test_reads_fail_once_max_stale_has_passed(self):
        mnt = self.mount(["ttl=1", "max_stale=1"])
        mnt.expect_log(r"^connectorfs: slack: server error \(HTTP 500\)")
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.emu.fail(type="slack", count=-1, status=500)
        self.assertTrue(wait_until(lambda: self.read_or_errno(path) == errno.EIO, 6.0, 0.05),
                        "still served 6 s after a value with ttl=1, max_stale=1 went stale")

    def test_a_404_after_a_cached_value_ends_serving(self):
        mnt = self.mount(["ttl=1"])
        mnt.expect_log(r"^connectorfs: slack: connector not connected \(HTTP 404")
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.emu.delete("slack")
        self.assertTrue(wait_until(lambda: self.read_or_errno(path) == errno.ENOENT, 4.0,
                                   0.05),
                        "a disconnected connector was still served 4 s later with ttl=1")

    def test_retry_after_is_honoured_when_rate_limited(self):
        self.emu.fail(type="slack", count=-1, status=429, headers={"Retry-After": "3"},
                      body="slow down")
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: rate limited by the API \(HTTP 429")
        path = os.path.join(mnt.path, "slack", "access_token")
        end = time.monotonic() + 1.5
        results = set()
        while time.monotonic() < end:
            results.add(self.read_or_errno(path))
            time.sleep(0.05)
        self.assertEqual({errno.EAGAIN}, results)
        self.assertEqual(1, self.emu.count("slack"),
                         "requests sent within Retry-After: 3")


def jwt(claims):
    """An unsigned JWT with these claims (connectorfs reads exp; it cannot check signatures)."""
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return "%s.%s.%s" % (part({"alg": "RS256", "typ": "JWT"}), part(claims),
                         "c2lnbmF0dXJlLW5vdC1jaGVja2Vk")


class JwtExpiryTest(TestCase):

    def read_or_errno(self, path):
        try:
            return read_file(path)
        except OSError as exc:
            return exc.errno

    def test_jwt_already_expired_is_never_served(self):
        token = jwt({"sub": "demo", "exp": int(time.time()) - 60})
        self.emu.set("expiredjwt", token)
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: expiredjwt: token already expired")
        for name in ("access_token", "connection.json", "env"):
            with self.subTest(file=name):
                got = self.read_or_errno(os.path.join(mnt.path, "expiredjwt", name))
                self.assertIsInstance(got, int, "an expired token was served")

    def test_jwt_expiry_caps_the_cache_ttl(self):
        token = jwt({"sub": "demo", "exp": int(time.time()) + 2})
        self.emu.set("shortjwt", token)
        mnt = self.mount(["ttl=60", "max_stale=300"])
        mnt.expect_log(r"^connectorfs: shortjwt: token already expired")
        path = os.path.join(mnt.path, "shortjwt", "access_token")
        self.assertEqual(token.encode(), read_file(path))
        self.assertTrue(wait_until(lambda: self.read_or_errno(path) != token.encode(), 5.0,
                                   0.05),
                        "the token was still served 5 s after a 2 s exp with ttl=60")
        exp = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))["exp"]
        self.assertGreaterEqual(time.time(), exp - 1, "stopped serving long before exp")
