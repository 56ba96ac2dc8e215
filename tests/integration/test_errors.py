"""What a reader sees when upstream fails (README "Errors a reader sees"), names that are
refused without a request, and the read-only tree."""

import errno
import os
import socket
import time

from harness import TestCase, read_file

SLACK = "xoxb-demo-slack-token-0001"


def closed_port():
    """A loopback port nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class UpstreamErrorTest(TestCase):

    def token_path(self, mnt, type="slack"):
        return os.path.join(mnt.path, type, "access_token")

    def test_not_connected_type_is_enoent_and_negatively_cached(self):
        mnt = self.mount(["ttl=60", "negative_ttl=30"])
        mnt.expect_log(r"^connectorfs: notconnected: connector not connected "
                       r"\(HTTP 404, NOT_FOUND\): Connector connection not found$")
        path = self.token_path(mnt, "notconnected")
        self.assertErrno(errno.ENOENT, read_file, path)
        self.assertEqual(1, self.emu.count("notconnected"))
        self.assertErrno(errno.ENOENT, read_file, path)
        self.assertErrno(errno.ENOENT, os.stat, os.path.join(mnt.path, "notconnected"))
        self.assertEqual(1, self.emu.count("notconnected"),
                         "a 404 within negative_ttl must not be asked again")

    def test_not_connected_type_becomes_readable_once_negative_ttl_passes(self):
        mnt = self.mount(["ttl=60", "negative_ttl=1"])
        mnt.expect_log(r"^connectorfs: latecomer: connector not connected \(HTTP 404")
        path = self.token_path(mnt, "latecomer")
        self.assertErrno(errno.ENOENT, read_file, path)
        self.emu.set("latecomer", "latecomer-token-0123456789")
        deadline = time.monotonic() + 4
        got = None
        while time.monotonic() < deadline:
            try:
                got = read_file(path)
                break
            except FileNotFoundError:
                time.sleep(0.05)
        self.assertEqual(b"latecomer-token-0123456789", got)

    def test_bad_service_token_is_eacces(self):
        mnt = self.mount(["ttl=60"], env={"BASE44_SERVICE_TOKEN": "wrong-service-token-9876"})
        mnt.expect_log(r"^connectorfs: slack: access denied by the API \(HTTP 401.*Unauthorized")
        self.assertErrno(errno.EACCES, read_file, self.token_path(mnt))
        self.assertEqual(1, self.emu.count("slack"))

    def test_metered_connector_403_is_eacces(self):
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: wix: access denied by the API \(HTTP 403, "
                       r"metered_connector_requires_proxy\): Connector 'wix' is metered")
        self.assertErrno(errno.EACCES, read_file, self.token_path(mnt, "wix"))

    def test_server_error_with_nothing_cached_is_eio(self):
        self.emu.fail(type="slack", count=-1, status=500, body={"detail": "database on fire"})
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: server error \(HTTP 500\): database on fire$")
        self.assertErrno(errno.EIO, read_file, self.token_path(mnt))

    def test_malformed_body_with_nothing_cached_is_eio(self):
        self.emu.fail(type="slack", count=-1, action="malformed")
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: malformed response body \(HTTP 200")
        self.assertErrno(errno.EIO, read_file, self.token_path(mnt))

    def test_rate_limited_with_nothing_cached_is_eagain(self):
        self.emu.fail(type="slack", count=-1, status=429, headers={"Retry-After": "1"},
                      body="slow down")
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: rate limited by the API \(HTTP 429")
        self.assertErrno(errno.EAGAIN, read_file, self.token_path(mnt))

    def test_hanging_server_is_etimedout_within_the_timeout(self):
        self.emu.fail(type="slack", count=1, action="hang", delay=3)
        mnt = self.mount(["ttl=60", "timeout=1"])
        mnt.expect_log(r"^connectorfs: slack: request timed out \(HTTP 0")
        started = time.monotonic()
        self.assertErrno(errno.ETIMEDOUT, read_file, self.token_path(mnt))
        took = time.monotonic() - started
        self.assertLess(took, 2.5, "a read waited %.1f s with timeout=1" % took)

    def test_api_down_mount_still_comes_up_and_reads_are_econnrefused(self):
        url = "http://127.0.0.1:%d" % closed_port()
        mnt = self.mount(["ttl=60", "api_url=" + url])
        mnt.expect_log(r"^connectorfs: slack: connection refused")
        self.assertEqual([".connectorfs", "connectors"], sorted(os.listdir(mnt.path)))
        self.assertErrno(errno.ECONNREFUSED, read_file, self.token_path(mnt))


class NameTest(TestCase):

    def test_names_no_integration_type_can_take_are_enoent_without_a_request(self):
        mnt = self.mount(["ttl=60"])
        cases = [
            (os.listdir, ".git"),
            (os.stat, "Desktop.ini"),
            (read_file, "UPPER/access_token"),
            (os.stat, "slack.bak"),
            (os.stat, "a" * 65),
            (read_file, "with space/access_token"),
        ]
        for fn, rel in cases:
            with self.subTest(name=rel):
                self.assertErrno(errno.ENOENT, fn, os.path.join(mnt.path, rel))
        self.assertNoRequests()

    def test_unknown_file_inside_a_connector_folder_is_enoent(self):
        mnt = self.mount(["ttl=60"])
        self.assertErrno(errno.ENOENT, os.stat, os.path.join(mnt.path, "slack", "refresh_token"))
        self.assertErrno(errno.ENOENT, os.stat,
                         os.path.join(mnt.path, "share_point", "connectionConfig", "nokey"))


class ReadOnlyTest(TestCase):

    def test_every_change_to_the_tree_is_erofs(self):
        mnt = self.mount(["ttl=60"])
        p = lambda *parts: os.path.join(mnt.path, *parts)
        token = p("slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(token))

        def create(path):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))

        def open_for_write(path):
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"overwritten")
            finally:
                os.close(fd)

        def open_rdwr_write(path):
            # The open itself may succeed (the kernel opens without asking once the daemon
            # answered ENOSYS to an open); the write must not.
            fd = os.open(path, os.O_RDWR)
            try:
                os.write(fd, b"overwritten")
            finally:
                os.close(fd)

        cases = [
            ("mkdir in root", os.mkdir, p("New folder")),
            ("mkdir in a connector", os.mkdir, p("slack", "newdir")),
            ("create a file", create, p("slack", "newfile")),
            ("unlink access_token", os.unlink, token),
            ("rmdir connectionConfig", os.rmdir, p("slack", "connectionConfig")),
            ("write to access_token", open_for_write, token),
            ("write to access_token opened O_RDWR", open_rdwr_write, token),
            ("truncate access_token", os.truncate, token, 0),
            ("chmod access_token", os.chmod, token, 0o644),
            ("rename access_token", os.rename, token, p("slack", "renamed")),
            ("symlink", os.symlink, "access_token", p("slack", "link")),
            ("hard link", os.link, token, p("slack", "hardlink")),
        ]
        for name, fn, *args in cases:
            with self.subTest(case=name):
                self.assertErrno(errno.EROFS, fn, *args)
        self.assertEqual(SLACK.encode(), read_file(token))
