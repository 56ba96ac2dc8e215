"""Lifecycle: signals stop the daemon at once even with reads in flight, a killed daemon leaves
no broken mount behind (auto_unmount, and detaching a stale mount at the next start), a mount
made while the API is down serves once it is back, and bad start-up inputs stop before
mounting with exit 2 and one line."""

import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from harness import (BINARY, Emulator, FUSERMOUNT, Mount, TestCase, base_env, mounted_fstype,
                     read_file, run_binary, wait_until)

SLACK = "xoxb-demo-slack-token-0001"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_or_errno(path):
    try:
        return read_file(path)
    except OSError as exc:
        return exc.errno


class StopTest(TestCase):

    def stop_with_a_read_in_flight(self, sig, args):
        self.emu.fail(type="slack", count=-1, action="hang", delay=30)
        mnt = self.mount(["timeout=20"], args=args)
        path = os.path.join(mnt.path, "slack", "access_token")
        outcome = []
        reader = threading.Thread(target=lambda: outcome.append(read_or_errno(path)))
        reader.start()
        self.assertTrue(wait_until(lambda: self.emu.count("slack") >= 1, 5.0))
        started = time.monotonic()
        os.kill(mnt.pid, sig)
        try:
            rc = mnt.proc.wait(1.0)
        except subprocess.TimeoutExpired:
            self.fail("daemon still running 1 s after the signal, with a read in flight")
        took = time.monotonic() - started
        reader.join(5)
        self.assertEqual(0, rc)
        self.assertLess(took, 1.0)
        self.assertFalse(mnt.is_mounted())
        self.assertEqual(1, len(outcome))
        self.assertIsInstance(outcome[0], int, "the reader got a value from a hung server")
        self.emu.clear_faults()

    def test_sigterm_with_a_read_in_flight_exits_0_within_a_second(self):
        self.stop_with_a_read_in_flight(signal.SIGTERM, [])

    def test_sigint_stops_the_single_threaded_loop_with_a_read_in_flight(self):
        self.stop_with_a_read_in_flight(signal.SIGINT, ["-s"])

    def test_kill_9_leaves_no_mount_behind(self):
        mnt = self.mount(["ttl=60"])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        self.kill_9_leaves_no_mount(mnt)

    def kill_9_leaves_no_mount(self, mnt):
        # Its server lets go of the connection, and the watchdog unmounts the dead mount.
        mnt.expect_log(r"^connectorfs: the keeper is gone; ending the mount$")
        os.kill(mnt.pid, signal.SIGKILL)
        mnt.proc.wait(5)
        self.assertTrue(wait_until(lambda: mounted_fstype(mnt.path) is None, 3.0),
                        "auto_unmount left the mount of a killed daemon behind")
        mnt.expected_returncode = -signal.SIGKILL

    def test_descriptors_the_daemon_inherited_never_reach_its_servers(self):
        # A socket the caller left open (a supervisor's, a socket-activated service's) must
        # not be taken for auto_unmount's watchdog, which every server holds: the caller's
        # peer would never see it close, and the real watchdog would be lost. Nor may any
        # other inherited descriptor, however high its number.
        tmp = tempfile.mkdtemp(prefix="cfs-inherit-")
        self.addCleanup(shutil.rmtree, tmp, True)
        wrapper = os.path.join(tmp, "with-a-socket")
        with open(wrapper, "w") as f:
            f.write("#!%s\nimport os, resource, socket, sys\na, b = socket.socketpair()\n"
                    "os.set_inheritable(a.fileno(), True)\n"
                    "resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))\n"
                    "os.dup2(os.open('/dev/null', os.O_RDONLY), 1500)\n"
                    "os.execv(%r, [%r] + sys.argv[1:])\n" % (sys.executable, BINARY, BINARY))
        os.chmod(wrapper, 0o755)
        mnt = self.mount(["ttl=60"], binary=wrapper)
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        inherited = os.readlink("/proc/%d/fd/3" % mnt.pid)
        self.assertTrue(inherited.startswith("socket:"), inherited)
        server = mnt.server_pid()
        held = [os.readlink("/proc/%d/fd/%s" % (server, fd))
                for fd in os.listdir("/proc/%d/fd" % server)]
        self.assertNotIn(inherited, held, "the server holds the inherited socket")
        self.assertEqual("/dev/null", os.readlink("/proc/%d/fd/1500" % mnt.pid))
        self.assertNotIn("1500", os.listdir("/proc/%d/fd" % server),
                         "the server holds inherited descriptor 1500")
        self.assertTrue(any(h.startswith("socket:") for h in held), "no watchdog socket")
        self.kill_9_leaves_no_mount(mnt)


class StaleMountTest(TestCase):

    def test_a_stale_mount_is_detached_and_mounted_over_at_the_next_start(self):
        first = Mount(self.emu, options=["ttl=60"])
        first.start()
        self.addCleanup(first.stop)
        # Kill the daemon and its auto_unmount watchdog: what a crash without
        # auto_unmount (or an OOM kill of both) leaves.
        subprocess.run(["pkill", "-9", "-f", "fusermount3 .*-- %s$" % first.path])
        # The keeper stopped first, so that it starts no server in between.
        server = first.server_pid()
        os.kill(first.pid, signal.SIGSTOP)
        os.kill(server, signal.SIGKILL)
        os.kill(first.pid, signal.SIGKILL)
        first.proc.wait(5)
        # Its server lets go of the connection when it sees the keeper gone.
        token = os.path.join(first.path, "slack", "access_token")
        self.assertTrue(wait_until(lambda: read_or_errno(token) == errno.ENOTCONN, 3.0),
                        "the mount did not go stale: %s" % read_or_errno(token))
        second = Mount(self.emu, options=["ttl=60"], path=first.path)  # same mountpoint
        second.expect_log(r"^connectorfs: mountpoint \S+: stale FUSE mount .*detaching it$")
        second.start()
        self.addCleanup(second.finish)
        self.assertEqual(SLACK.encode(), read_file(os.path.join(second.path, "slack",
                                                                "access_token")))
        self.assertTrue(second.wait_log(r"stale FUSE mount", 1.0),
                        "the second daemon did not meet the stale mount")


class ApiDownAtMountTest(TestCase):

    def test_a_mount_made_with_the_api_down_serves_once_it_is_back(self):
        port = free_port()
        mnt = self.mount(["ttl=60", "api_url=http://127.0.0.1:%d" % port])
        mnt.expect_log(r"^connectorfs: slack: connection refused")
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(errno.ECONNREFUSED, read_or_errno(path))
        emu = Emulator("--port", str(port)).start()
        self.addCleanup(emu.stop)
        # Backoff after the refusal is 0.5-1.5 s; within a few seconds it must read.
        self.assertTrue(wait_until(lambda: read_or_errno(path) == SLACK.encode(), 5.0, 0.1),
                        "still failing 5 s after the API came back")


class StartupInputTest(TestCase):

    def scratch(self):
        d = tempfile.mkdtemp(prefix="cfs-life-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_bad_startup_inputs_exit_2_with_one_line_before_mounting(self):
        d = self.scratch()
        empty = os.path.join(d, "empty-token")
        open(empty, "w").close()
        blank = os.path.join(d, "blank-token")
        with open(blank, "w") as f:
            f.write(" \n\n")
        a_file = os.path.join(d, "not-a-folder")
        open(a_file, "w").close()
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        cases = [
            ("empty token file", ["-o", "token_file=" + empty], mnt, r"token file .* is empty"),
            ("blank token file", ["-o", "token_file=" + blank], mnt, r"token file .* is empty"),
            ("token file is a folder", ["-o", "token_file=" + d], mnt, r"token file"),
            ("unwritable audit path", ["-o", "audit=/proc/nope/audit.log"], mnt,
             r"audit log /proc/nope/audit.log"),
            ("missing mountpoint", [], os.path.join(d, "missing"), r"mountpoint .*missing"),
            ("mountpoint not a folder", [], a_file, r"mountpoint .* not a folder"),
        ]
        for case, args, target, pattern in cases:
            with self.subTest(case=case):
                rc, out, err = run_binary(["-f"] + args + [target],
                                          base_env(self.emu.url, BASE44_SERVICE_TOKEN=None
                                                   if "token_file" in " ".join(args)
                                                   else "demo-service-token"), timeout=5)
                self.assertEqual(2, rc, "stderr: %r" % err)
                lines = err.strip().splitlines()
                self.assertEqual(1, len(lines), "want one line, got %r" % err)
                self.assertRegex(lines[0], pattern)
                self.assertIsNone(mounted_fstype(target))
        self.assertNoRequests()
