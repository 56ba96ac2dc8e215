"""Noticing a change: inotify on value files, `connectorfs wait` and `connectorfs exec`.

A changed value is a new inode, and the daemon deletes the old one under its name the way
a rename would: a watch on the file gets IN_DELETE_SELF while the kernel still has the name
cached. wait and exec need only the files and keep their connectors refreshed about once
per TTL. Timing here is a hang bound (HANG); the latencies are measured by make bench."""

import ctypes
import os
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import time

import harness
from harness import BINARY, TestCase, read_file, refresh, wait_until

HANG = 20.0 if harness.SANITIZED else 10.0
IN_MODIFY, IN_ATTRIB, IN_DELETE_SELF, IN_MOVE_SELF, IN_IGNORED = 0x2, 0x4, 0x400, 0x800, 0x8000
SLACK = "xoxb-demo-slack-token-0001"
GITHUB = "gho_demoGithubToken0001"

_libc = ctypes.CDLL(None, use_errno=True)


class Watcher:
    """One inotify instance with one watch on a path (our own watcher, next to inotifywait)."""

    def __init__(self):
        self.fd = _libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")

    def arm(self, path):
        wd = _libc.inotify_add_watch(self.fd, path.encode(),
                                     IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_MODIFY)
        if wd < 0:
            raise OSError(ctypes.get_errno(), "inotify_add_watch " + path)

    def events(self, timeout):
        """The masks read within timeout seconds (after the first one, whatever is queued)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        time.sleep(0.05)  # IN_IGNORED follows IN_DELETE_SELF
        data, masks, i = os.read(self.fd, 65536), [], 0
        while i < len(data):
            _, mask, _, length = struct.unpack_from("iIII", data, i)
            masks.append(mask)
            i += 16 + length
        return masks

    def close(self):
        os.close(self.fd)


def drop_dentries():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("2")


def in_mount_namespace(folder, script, **env):
    """sh -c script in a new mount namespace where folder is bind-mounted at $DST (a folder
    nobody outside the namespace sees mounted), as a container would have it."""
    dst = tempfile.mkdtemp(prefix="cfs-ns-")
    inner = 'mount --bind "$SRC" "$DST" || exit 99\n' + script
    env = dict(os.environ, SRC=folder, DST=dst, CFS=BINARY, **env)
    return subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


class NoticeTest(TestCase):

    def rotate(self, mnt, name="slack"):
        token = self.emu.rotate(name)
        text, err = refresh(mnt, name)
        self.assertIsNone(err, "refresh of %s failed" % name)
        return token

    def wait_proc(self, *args):
        p = subprocess.Popen([BINARY, "wait"] + list(args), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def finish(self, p, timeout=HANG):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            self.fail("still running after %.0f s: %r %r" % (timeout, out, err))
        self.assertNotRegex(err, harness.SANITIZER_LINE)
        return p.returncode, out, err


class InotifyTest(NoticeTest):

    def test_a_watch_on_a_value_file_gets_delete_self_for_each_of_ten_rotations(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        w = Watcher()
        self.addCleanup(w.close)
        for i in range(10):
            w.arm(path)  # re-armed on the path, as for a file replaced by rename
            token = self.rotate(mnt)
            masks = w.events(HANG)
            self.assertIn(IN_DELETE_SELF, masks, "rotation %d gave no event" % (i + 1))
            self.assertEqual(token.encode(), read_file(path))

    def test_inotifywait_sees_every_rotation(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        for i in range(10):
            p = subprocess.Popen(["inotifywait", "-e", "delete_self", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda p=p: p.poll() is None and p.kill())
            self.assertEqual("Setting up watches.\n", p.stderr.readline())
            self.assertEqual("Watches established.\n", p.stderr.readline())
            self.rotate(mnt)
            out, _ = p.communicate(timeout=HANG)
            self.assertEqual(0, p.returncode, "rotation %d" % (i + 1))
            self.assertIn("DELETE_SELF", out)

    def test_inotify_through_a_bind_mount_in_another_mount_namespace(self):
        mnt = self.mount(["ttl=300"])
        read_file(os.path.join(mnt.path, "slack", "access_token"))
        p = in_mount_namespace(os.path.join(mnt.path, "slack"), """
            for i in 1 2 3; do
                inotifywait -q -e delete_self "$DST/access_token" 2>/dev/null | sed 's/^/event /'
            done""")
        self.addCleanup(lambda: p.poll() is None and p.kill())
        for i in range(3):
            # Armed once the namespace's inotifywait has the file open for its watch: the
            # watch exists when /proc shows inotify in its fds; a poll keeps this simple.
            time.sleep(0.5)
            self.rotate(mnt)
            line = p.stdout.readline()
            self.assertRegex(line, r"^event .*access_token DELETE_SELF", "rotation %d" % (i + 1))
        self.assertEqual(0, p.wait(timeout=HANG))

    def test_a_watch_whose_name_the_kernel_dropped_gets_its_event_once_the_path_is_looked_up(self):
        # The kernel can only be told about a name it has cached. After drop_caches the
        # watched inode has no name; any lookup of the path (a reader, wait's tick) gives
        # it one again, and then the change is delivered.
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        w = Watcher()
        self.addCleanup(w.close)
        for _ in range(3):
            w.arm(path)
            drop_dentries()
            os.stat(path)
            self.rotate(mnt)
            self.assertIn(IN_DELETE_SELF, w.events(HANG))

    def test_after_the_kernel_drops_its_names_wait_still_sees_every_change(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        for i in range(3):
            p = self.wait_proc(path)
            time.sleep(0.3)
            drop_dentries()
            self.rotate(mnt)
            code, out, err = self.finish(p)
            self.assertEqual((0, path + "\n", ""), (code, out, err), "rotation %d" % (i + 1))


class WaitTest(NoticeTest):

    def test_wait_prints_the_value_file_and_exits_0_when_its_value_changes(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        p = self.wait_proc(path)
        time.sleep(0.3)
        self.rotate(mnt)
        self.assertEqual((0, path + "\n", ""), self.finish(p))

    def test_wait_on_a_connector_folder_returns_when_a_config_value_changes(self):
        mnt = self.mount(["ttl=300"])
        folder = os.path.join(mnt.path, "slack")
        read_file(os.path.join(folder, "access_token"))
        p = self.wait_proc("--timeout", "60", folder)
        time.sleep(0.3)
        self.emu.set("slack", SLACK, {"subdomain": "elsewhere"})
        self.assertIsNone(refresh(mnt, "slack")[1])
        self.assertEqual((0, folder + "\n", ""), self.finish(p))

    def test_wait_prints_only_the_path_that_changed(self):
        mnt = self.mount(["ttl=300"])
        a = os.path.join(mnt.path, "slack", "access_token")
        b = os.path.join(mnt.path, "github")
        p = self.wait_proc(a, b)
        time.sleep(0.3)
        self.rotate(mnt, "github")
        self.assertEqual((0, b + "\n", ""), self.finish(p))

    def test_wait_exits_1_when_the_timeout_passes_with_no_change(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        t0 = time.monotonic()
        self.assertEqual((1, "", ""), self.finish(self.wait_proc("--timeout", "0.5", path)))
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertEqual((1, "", ""), self.finish(self.wait_proc("--timeout=0", path)))

    def test_wait_refuses_what_it_cannot_watch_with_one_line_and_status_2(self):
        mnt = self.mount(["ttl=300"])
        path = os.path.join(mnt.path, "slack", "access_token")
        cases = [
            ([], r"^usage: connectorfs wait \[--timeout SECONDS\] PATH\.\.\.\n$"),
            (["--timeout"], r"^usage: "),
            (["--timeout", "soon", path], r"^connectorfs wait: --timeout soon: not a number"),
            (["--timeout", "-1", path], r"^connectorfs wait: --timeout -1: not a number"),
            (["--bogus", path], r"^usage: "),
            ([os.path.join(mnt.path, "nope")], r"^connectorfs wait: \S+/nope: No such file"),
            ([mnt.path], r"^connectorfs wait: \S+: not a connector folder \(no connection"),
            ([path, "/dev/null"], r"^connectorfs wait: /dev/null: not a connector folder or "
                                  r"value file\n$"),
        ]
        for args, pattern in cases:
            code, out, err = self.finish(self.wait_proc(*args))
            self.assertEqual((2, ""), (code, out), args)
            self.assertRegex(err, pattern, args)
            self.assertEqual(1, err.count("\n"), args)

    def test_wait_reports_a_connector_that_goes_away(self):
        mnt = self.mount(["ttl=300", "negative_ttl=0"])
        mnt.expect_log(r"^connectorfs: notion: connector not connected \(HTTP 404")
        folder = os.path.join(mnt.path, "notion")
        read_file(os.path.join(folder, "access_token"))
        p = self.wait_proc(folder)
        time.sleep(0.3)
        self.emu.delete("notion")
        refresh(mnt, "notion")
        self.assertEqual((0, folder + "\n", ""), self.finish(p))

    def test_wait_exits_2_when_the_mount_goes_away(self):
        mnt = self.mount(["ttl=300"])
        folder = os.path.join(mnt.path, "slack")
        read_file(os.path.join(folder, "access_token"))
        p = self.wait_proc(folder, os.path.join(folder, "access_token"))
        time.sleep(0.3)
        mnt.unmount()
        code, out, err = self.finish(p)
        self.assertEqual((2, ""), (code, out))
        self.assertRegex(err, r"^connectorfs wait: \S+: the mount is gone\n$")

    def test_wait_ignores_a_daemon_sighup_that_changes_no_value(self):
        # SIGHUP (re-reading the service token) makes the daemon drop every name, so the
        # files come back as new inodes with the same bytes and mtime: not a change.
        mnt = self.mount(["ttl=300"])
        mnt.expect_log(r"^connectorfs: SIGHUP")
        folder = os.path.join(mnt.path, "slack")
        read_file(os.path.join(folder, "access_token"))
        p = self.wait_proc("--timeout", "3", folder, os.path.join(folder, "access_token"))
        time.sleep(0.3)
        os.kill(mnt.pid, signal.SIGHUP)
        time.sleep(0.5)
        read_file(os.path.join(folder, "access_token"))
        self.assertEqual((1, "", ""), self.finish(p))

    def test_wait_timeout_holds_while_the_daemon_is_slow_to_answer(self):
        mnt = self.mount(["ttl=1", "timeout=30"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        self.emu.latency(8)  # every look after the TTL waits 8 s for a fetch
        self.addCleanup(self.emu.latency, 0)
        t0 = time.monotonic()
        self.assertEqual((1, "", ""), self.finish(self.wait_proc("--timeout", "1.5", path)))
        self.assertLess(time.monotonic() - t0, 6.0, "the 8 s fetch held the timeout up")

    def test_wait_works_on_a_folder_bind_mounted_in_another_mount_namespace(self):
        mnt = self.mount(["ttl=300"])
        read_file(os.path.join(mnt.path, "slack", "access_token"))
        p = in_mount_namespace(os.path.join(mnt.path, "slack"),
                               '"$CFS" wait "$DST" "$DST/access_token" | sed "s|^$DST|DST|"')
        self.addCleanup(lambda: p.poll() is None and p.kill())
        time.sleep(0.5)
        self.rotate(mnt)
        code, out, err = self.finish(p)
        # The kernel is told of the files one by one: wait may wake with one of them seen.
        self.assertEqual((0, ""), (code, err))
        self.assertTrue(out.splitlines() and set(out.splitlines()) <= {"DST", "DST/access_token"},
                        out)

    def test_wait_keeps_its_connector_refreshed_about_once_per_ttl_and_sees_an_upstream_rotation(self):
        mnt = self.mount(["ttl=2"])
        path = os.path.join(mnt.path, "slack", "access_token")
        read_file(path)
        self.emu.clear_requests()
        # Nobody reads: the waiter alone keeps the connector fresh, about once per TTL.
        self.assertEqual((1, "", ""), self.finish(self.wait_proc("--timeout", "7", path)))
        self.assertGreaterEqual(self.emu.count("slack"), 2)
        self.assertLessEqual(self.emu.count("slack"), 5)
        # A rotation made upstream, with no refresh forced and no reader, is noticed.
        p = self.wait_proc(path)
        time.sleep(0.3)
        token = self.emu.rotate("slack")
        t0 = time.monotonic()
        self.assertEqual((0, path + "\n", ""), self.finish(p))
        self.assertLess(time.monotonic() - t0, HANG)
        self.assertEqual(token.encode(), read_file(path))


# Signals go to COMMAND's whole group, its sleeps included: sh would report each one
# killed ("Terminated") on stderr, which is the test's view of exec's own lines.
EXEC_CHILD = r'''
exec 2>/dev/null
echo "start $$ ${SLACK_ACCESS_TOKEN} ${SLACK_SUBDOMAIN}" >> "$LOG"
trap 'echo "hup $$" >> "$LOG"' HUP
trap 'echo "term $$" >> "$LOG"; exit 0' TERM
while :; do sleep 0.05; done
'''


class ExecTest(NoticeTest):

    def exec_proc(self, *args, command=None):
        self.log = os.path.join(tempfile.mkdtemp(prefix="cfs-exec-"), "log")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.log), True)
        cmd = [BINARY, "exec"] + list(args) + ["--"] + (command or ["sh", "-c", EXEC_CHILD])
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, LOG=self.log))
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def lines(self):
        try:
            with open(self.log) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_lines(self, n):
        self.assertTrue(wait_until(lambda: len(self.lines()) >= n, HANG),
                        "expected %d lines, got %r" % (n, self.lines()))
        return self.lines()

    def test_exec_restarts_the_command_with_the_new_value_in_its_environment(self):
        self.emu.set("slack", SLACK, {"subdomain": "demo"})
        mnt = self.mount(["ttl=300"])
        p = self.exec_proc("--debounce", "0", os.path.join(mnt.path, "slack"))
        first = self.wait_lines(1)[0].split()
        self.assertEqual(["start", SLACK, "demo"], [first[0], first[2], first[3]])
        token = self.rotate(mnt)
        lines = self.wait_lines(3)
        self.assertEqual("term " + first[1], lines[1])
        second = lines[2].split()
        self.assertEqual(["start", token, "demo"], [second[0], second[2], second[3]])
        self.assertNotEqual(first[1], second[1])
        p.send_signal(signal.SIGTERM)
        code, out, err = self.finish(p)
        self.assertEqual(0, code)
        self.assertRegex(err, r"^connectorfs exec: a value changed; restarting sh \(pid \d+\)\n$")

    def test_exec_signal_hup_is_sent_instead_of_a_restart(self):
        mnt = self.mount(["ttl=300"])
        p = self.exec_proc("--signal", "HUP", "--debounce", "0", os.path.join(mnt.path, "slack"))
        pid = self.wait_lines(1)[0].split()[1]
        self.rotate(mnt)
        self.assertEqual("hup " + pid, self.wait_lines(2)[1])
        self.rotate(mnt)
        self.assertEqual("hup " + pid, self.wait_lines(3)[2])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.finish(p)[0])
        self.assertEqual(["term " + pid], self.lines()[3:])

    def test_exec_turns_a_burst_of_changes_within_the_debounce_window_into_one_restart(self):
        mnt = self.mount(["ttl=300"])
        p = self.exec_proc("--debounce", "2", os.path.join(mnt.path, "slack"))
        self.wait_lines(1)
        for _ in range(3):
            last = self.rotate(mnt)
            time.sleep(0.2)
        lines = self.wait_lines(3)
        self.assertEqual(last, lines[2].split()[2], "the restart has the last value")
        time.sleep(2.5)  # a second restart would come within the window's length
        self.assertEqual(3, len(self.lines()), self.lines())
        p.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.finish(p)[0])

    def test_exec_exits_with_the_commands_status(self):
        mnt = self.mount(["ttl=300"])
        folder = os.path.join(mnt.path, "slack")
        self.assertEqual((7, "", ""), self.finish(self.exec_proc(
            folder, command=["sh", "-c", "exit 7"])))
        # Killed by a signal: exec dies by the same one (a service manager sees a clean
        # SIGTERM stop as such); 128+N for one that would dump a core.
        p = self.exec_proc(folder, command=["sh", "-c", "kill -KILL $$"])
        self.assertEqual(-signal.SIGKILL, self.finish(p)[0])
        p = self.exec_proc(folder, command=["sh", "-c", "kill -TERM $$"])
        self.assertEqual(-signal.SIGTERM, self.finish(p)[0])
        p = self.exec_proc(folder, command=["sh", "-c", "ulimit -c 0; kill -QUIT $$"])
        self.assertEqual(128 + signal.SIGQUIT, self.finish(p)[0])
        code, out, _ = self.finish(self.exec_proc(folder, command=["sh", "-c",
                                                                    'printf %s "$SLACK_ACCESS_TOKEN"']))
        self.assertEqual((0, SLACK), (code, out))

    def test_exec_passes_the_signals_it_receives_to_the_command(self):
        mnt = self.mount(["ttl=300"])
        p = self.exec_proc(os.path.join(mnt.path, "slack"))
        pid = self.wait_lines(1)[0].split()[1]
        p.send_signal(signal.SIGHUP)
        self.assertEqual("hup " + pid, self.wait_lines(2)[1])
        p.send_signal(signal.SIGTERM)
        self.assertEqual((0, "", ""), self.finish(p))
        self.assertEqual("term " + pid, self.lines()[2])

    def test_exec_reports_a_command_that_cannot_run_with_126_or_127(self):
        mnt = self.mount(["ttl=300"])
        folder = os.path.join(mnt.path, "slack")
        code, out, err = self.finish(self.exec_proc(folder, command=["/nonexistent/cmd"]))
        self.assertEqual((127, ""), (code, out))
        self.assertEqual("connectorfs exec: /nonexistent/cmd: No such file or directory\n", err)
        plain = os.path.join(tempfile.mkdtemp(prefix="cfs-exec-"), "not-executable")
        self.addCleanup(shutil.rmtree, os.path.dirname(plain), True)
        with open(plain, "w") as f:
            f.write("echo never\n")
        os.chmod(plain, 0o644)
        code, out, err = self.finish(self.exec_proc(folder, command=[plain]))
        self.assertEqual((126, "connectorfs exec: %s: Permission denied\n" % plain), (code, err))

    def test_exec_refuses_bad_input_with_one_line_and_status_125(self):
        mnt = self.mount(["ttl=300"])
        folder = os.path.join(mnt.path, "slack")
        cases = [
            ([BINARY, "exec", folder, "true"], r"^connectorfs exec: no -- COMMAND given; usage"),
            ([BINARY, "exec", "--", "true"], r"^connectorfs exec: no FOLDER given; usage"),
            ([BINARY, "exec", folder, "--"], r"no -- COMMAND given"),
            ([BINARY, "exec", "--bogus", "1", folder, "--", "true"],
             r"^connectorfs exec: unknown option --bogus; usage"),
            ([BINARY, "exec", "--signal", "BOGUS", folder, "--", "true"],
             r"^connectorfs exec: --signal BOGUS: not a signal name or number\n$"),
            ([BINARY, "exec", "--debounce", "1e3", folder, "--", "true"],
             r"^connectorfs exec: --debounce 1e3: not a number of seconds"),
            ([BINARY, "exec", os.path.join(folder, "access_token"), "--", "true"],
             r"^connectorfs exec: \S+/access_token: not a connector folder\n$"),
            ([BINARY, "exec", os.path.join(mnt.path, "nope"), "--", "true"],
             r"^connectorfs exec: \S+/nope: No such file or directory\n$"),
        ]
        for cmd, pattern in cases:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=HANG)
            self.assertEqual((125, ""), (r.returncode, r.stdout), cmd)
            self.assertRegex(r.stderr, pattern, cmd)
            self.assertEqual(1, r.stderr.count("\n"), cmd)

    def test_exec_restart_stops_everything_the_command_started(self):
        mnt = self.mount(["ttl=300"])
        child = EXEC_CHILD.replace("while :; do sleep 0.05; done",
                                   'sleep 1000 & echo "grandchild $!" >> "$LOG"; wait')
        p = self.exec_proc("--debounce", "0", os.path.join(mnt.path, "slack"),
                           command=["sh", "-c", child])
        lines = self.wait_lines(2)
        grandchild = int(lines[1].split()[1])
        self.rotate(mnt)
        self.wait_lines(4)
        self.assertTrue(wait_until(lambda: not os.path.exists("/proc/%d" % grandchild) or
                                   open("/proc/%d/stat" % grandchild).read().split()[2] == "Z",
                                   HANG), "the old COMMAND's child outlived the restart")
        p.send_signal(signal.SIGTERM)
        self.finish(p)

    def test_exec_ignores_a_daemon_sighup_that_changes_no_value(self):
        mnt = self.mount(["ttl=300"])
        mnt.expect_log(r"^connectorfs: SIGHUP")
        p = self.exec_proc("--debounce", "0", os.path.join(mnt.path, "slack"))
        self.wait_lines(1)
        os.kill(mnt.pid, signal.SIGHUP)
        time.sleep(2.5)  # more than two of exec's looks
        self.assertEqual(1, len(self.lines()), self.lines())
        p.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.finish(p)[0])

    def test_exec_leaves_out_names_a_loader_or_runtime_acts_on(self):
        # Whole families go (GIT_*, OPENSSL_*, NODE_*), not just the names known today; a
        # type whose prefix merely starts the same (GITHUB_) keeps its names.
        self.emu.set("git", "git-token-0001", {"ssh_command": "sh /tmp/evil.sh"})
        self.emu.set("openssl", "openssl-token-0001", {"conf": "/tmp/evil.cnf"})
        self.emu.set("node", "node-token-0001", {"options": "--require /tmp/evil.js"})
        self.emu.set("bash", "bash-token-0001", {"xtracefd": "2"})
        self.emu.set("_python", "py-token-0001", {"sysconfigdata_name": "this"})
        mnt = self.mount(["ttl=300"])
        code, out, err = self.finish(self.exec_proc(
            *[os.path.join(mnt.path, t) for t in ("git", "openssl", "node", "bash", "_python",
                                                  "github")],
            command=["sh", "-c", 'echo "${GIT_SSH_COMMAND-unset} ${OPENSSL_CONF-unset} '
                     '${NODE_OPTIONS-unset} ${BASH_XTRACEFD-unset} '
                     '${_PYTHON_SYSCONFIGDATA_NAME-unset} $GITHUB_ACCESS_TOKEN"']))
        self.assertEqual((0, "unset unset unset unset unset %s\n" % GITHUB), (code, out))
        left_out = sorted(line.split()[2] for line in err.splitlines())
        self.assertEqual(["BASH_ACCESS_TOKEN", "BASH_XTRACEFD", "GIT_ACCESS_TOKEN",
                          "GIT_SSH_COMMAND", "NODE_ACCESS_TOKEN", "NODE_OPTIONS",
                          "OPENSSL_ACCESS_TOKEN", "OPENSSL_CONF", "_PYTHON_ACCESS_TOKEN",
                          "_PYTHON_SYSCONFIGDATA_NAME"], left_out, err)
        for line in err.splitlines():
            self.assertRegex(line, r"^connectorfs exec: [A-Z_]+ left out of sh's environment "
                             r"\(a name the loader, a shell or a library acts on\)$")

    def test_exec_keeps_the_command_running_when_the_new_values_cannot_be_read(self):
        mnt = self.mount(["ttl=300", "negative_ttl=0"])
        mnt.expect_log(r"^connectorfs: notion: connector not connected \(HTTP 404")
        p = self.exec_proc("--debounce", "0", os.path.join(mnt.path, "notion"))
        pid = self.wait_lines(1)[0].split()[1]
        self.emu.delete("notion")
        refresh(mnt, "notion")
        self.assertTrue(wait_until(lambda: "keeps the values it has" in
                                   (p.stderr.readline() if p.poll() is None else ""), HANG))
        self.assertIsNone(p.poll())
        self.assertEqual(1, len(self.lines()))
        p.send_signal(signal.SIGTERM)
        self.assertEqual(0, p.wait(timeout=HANG))
        self.assertEqual(["term " + pid], self.lines()[1:])

    def test_exec_restarts_on_an_upstream_rotation_with_nobody_else_reading(self):
        # In a container's view: only the connector folder, bind-mounted.
        mnt = self.mount(["ttl=2"])
        self.log = os.path.join(tempfile.mkdtemp(prefix="cfs-exec-"), "log")
        self.addCleanup(shutil.rmtree, os.path.dirname(self.log), True)
        p = in_mount_namespace(os.path.join(mnt.path, "slack"),
                               'exec "$CFS" exec --debounce 0 "$DST" -- sh -c "$CHILD"',
                               LOG=self.log, CHILD=EXEC_CHILD)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.wait_lines(1)
        token = self.emu.rotate("slack")  # no refresh forced, nobody else reads
        lines = self.wait_lines(3)
        self.assertEqual(token, lines[2].split()[2])
        p.send_signal(signal.SIGTERM)
        self.assertEqual(0, self.finish(p)[0])
