#!/usr/bin/env python3
"""make bench: connectorfs against tmpfs and against curl|jq, side by side.

Everything runs in one process tree against the bundled emulator on
loopback: timings are medians of interleaved rounds (connectorfs and its
baseline alternate, so machine noise hits both alike) and ratios are what
to read. Prints one Markdown table. Needs root (tmpfs and FUSE mounts).
"""
import argparse
import ctypes
import http.client
import json
import os
import random
import select
import threading
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from cfs_tools import control, is_mounted, rss_kib, server_pid  # scripts/ is on sys.path

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import ReaderLoad, refresh_path  # noqa: E402  (the readers of test_takeover.py)
TOKEN = "xoxb-bench-token-0123456789-abcdefghijklmnopqrs"  # 48 bytes, as PERF.md
IN_DELETE_SELF, IN_IGNORED = 0x400, 0x8000
LIBC = ctypes.CDLL(None, use_errno=True)


class Inotify:
    """An inotify instance through libc. A thread of its own reads it and stamps each event
    with time.perf_counter() as it comes, also while the main thread is blocked in a read."""

    def __init__(self):
        self.fd = LIBC.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_init1: " + os.strerror(e))
        self.events = []  # (perf_counter, wd, mask)
        self.cond = threading.Condition()
        self.done = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def watch(self, path, mask):
        wd = LIBC.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_add_watch %s: %s" % (path, os.strerror(e)))
        return wd

    def _read(self):
        while not self.done:
            if not select.select([self.fd], [], [], 0.1)[0]:
                continue
            t = time.perf_counter()
            buf = os.read(self.fd, 65536)
            with self.cond:
                off = 0
                while off + 16 <= len(buf):  # struct inotify_event: wd, mask, cookie, len, name
                    wd, mask, _, n = struct.unpack_from("iIII", buf, off)
                    self.events.append((t, wd, mask))
                    off += 16 + n
                self.cond.notify_all()

    def wait_for(self, wd, mask, timeout):
        """The time of the first event on wd with a bit of mask; None after timeout."""
        def first():
            return next((t for t, w, m in self.events if w == wd and m & mask), None)
        with self.cond:
            self.cond.wait_for(lambda: first() is not None, timeout)
            return first()

    def close(self):
        self.done = True
        self.thread.join()
        os.close(self.fd)


def cpu_ms(pid):
    """utime + stime of pid, all its threads, in ms (/proc/PID/stat, clock ticks)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def run_ms(pid):
    """Time on a CPU of pid's threads alive now, in ms (/proc/PID/task/*/schedstat, in ns:
    exact where utime + stime count 10 ms ticks); None where the kernel keeps no schedstat."""
    if not os.path.exists("/proc/self/schedstat"):
        return None
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:  # a thread that just ended
            pass
    return total / 1e6


def inotify_armed(pid):
    """Whether pid holds an inotify watch (`connectorfs wait` adds its watches once it has
    looked at every path: from then on any change ends it)."""
    fdinfo = "/proc/%d/fdinfo" % pid
    try:
        for fd in os.listdir(fdinfo):
            with open(os.path.join(fdinfo, fd)) as f:
                if "inotify wd:" in f.read():
                    return True
    except OSError:
        pass
    return False


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="cfs-bench-")
        self.procs = []
        self.mounts = []
        self.fsbench = os.path.join(self.tmp, "fsbench")
        subprocess.run(["cc", "-O2", "-pthread", "-o", self.fsbench,
                        os.path.join(TOP, "scripts/bench/fsbench.c")], check=True)
        self.curlfloor = os.path.join(self.tmp, "curlfloor")
        subprocess.run(["cc", "-O2", "-o", self.curlfloor,
                        os.path.join(TOP, "scripts/bench/curlfloor.c")] +
                       subprocess.run(["pkg-config", "--libs", "libcurl"], check=True,
                                      capture_output=True, text=True).stdout.split(),
                       check=True)

    def start_emulator(self):
        port_file = os.path.join(self.tmp, "port")
        p = subprocess.Popen([sys.executable, os.path.join(TOP, "scripts/emulator.py"),
                              "--port", "0", "--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if time.time() > deadline:
                raise SystemExit("bench: emulator did not start")
            time.sleep(0.05)
        self.url = "http://127.0.0.1:" + open(port_file).read().strip()

    def mount(self, name, *opts):
        mnt = os.path.join(self.tmp, name)
        os.makedirs(mnt)
        env = dict(os.environ, BASE44_APP_ID="demo-app",
                   BASE44_SERVICE_TOKEN="demo-service-token", BASE44_API_URL=self.url)
        cmd = [self.args.binary, "-f", mnt] + (["-o", ",".join(opts)] if opts else [])
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=log)
        self.procs.append(p)
        self.mounts.append(mnt)
        deadline = time.time() + 10
        while not is_mounted(mnt):
            if p.poll() is not None or time.time() > deadline:
                raise SystemExit("bench: mount failed, see " + log.name)
            time.sleep(0.02)
        return mnt, p

    def mount_fd(self, name):
        """A mount a helper made (mount -o fd=N) and handed to the daemon as /dev/fd/N."""
        mnt = os.path.join(self.tmp, name)
        os.makedirs(mnt)
        fd = os.open("/dev/fuse", os.O_RDWR)
        subprocess.run(["mount", "-i", "-t", "fuse.connectorfs", "-o",
                        "fd=%d,rootmode=40000,user_id=%d,group_id=%d,default_permissions,ro"
                        % (fd, os.getuid(), os.getgid()), "connectorfs", mnt],
                       check=True, pass_fds=(fd,))
        env = dict(os.environ, BASE44_APP_ID="demo-app",
                   BASE44_SERVICE_TOKEN="demo-service-token", BASE44_API_URL=self.url)
        log = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen([self.args.binary, "-f", "/dev/fd/%d" % fd], env=env, stdout=log,
                             stderr=log, pass_fds=(fd,))
        os.close(fd)
        self.procs.append(p)
        self.mounts.append(mnt)
        return mnt, p

    def tmpfs(self):
        d = os.path.join(self.tmp, "tmpfs")
        os.makedirs(d)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d], check=True)
        self.mounts.append(d)
        os.makedirs(os.path.join(d, "slack"))
        with open(os.path.join(d, "slack", "access_token"), "w") as f:
            f.write(TOKEN)
        return d

    def fsb(self, mode, path, n):
        out = subprocess.run([self.fsbench, mode, path, str(n)], check=True,
                             capture_output=True, text=True).stdout
        return float(out.strip())

    def interleaved(self, mode, a, b, n, rounds):
        ra, rb = [], []
        for i in range(rounds):
            pair = [(a, ra), (b, rb)] if i % 2 == 0 else [(b, rb), (a, ra)]
            for path, acc in pair:
                acc.append(self.fsb(mode, path, n))
        return statistics.median(ra), statistics.median(rb)

    def unmount(self, mnt, keeper):
        subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
        try:
            keeper.wait(10)
        except subprocess.TimeoutExpired:
            keeper.kill()
            raise SystemExit("bench: the daemon of %s did not exit after the unmount" % mnt)

    def set_many(self, tokens):
        """PUT many connections over one kept-alive control connection."""
        conn = http.client.HTTPConnection(self.url.split("//", 1)[1], timeout=10)
        try:
            for name, token in tokens.items():
                conn.request("PUT", "/_control/connections/" + name,
                             json.dumps({"access_token": token, "connection_config": None}),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                if r.status != 200:
                    raise SystemExit("bench: PUT connections/%s: HTTP %d" % (name, r.status))
        finally:
            conn.close()

    def takeover_window(self, event, cold, seconds):
        """A fresh mount under the four readers for `seconds`; `event` (None, "kill" or
        "upgrade") happens 0.6 s in. Returns the readers' LoadResult."""
        self.windows = getattr(self, "windows", 0) + 1
        mounted = time.time()
        mnt, keeper = self.mount("mnt-takeover-%d" % self.windows, "ttl=60",
                                 "connectors=" + ":".join(n for n, _ in cold))
        p = lambda *parts: os.path.join(mnt, *parts)  # noqa: E731
        for f in ("slack/access_token", "github/access_token",
                  "share_point/connectionConfig/subdomain"):
            with open(p(f), "rb") as fh:
                fh.read()
        load = ReaderLoad(mnt, p("slack", "access_token"), TOKEN.encode(), cold,
                          stat_paths=[p(), p("slack"), p("slack", "access_token"),
                                      p("slack", "env"), p("github"),
                                      p("github", "connection.json"),
                                      p("share_point", "connectionConfig", "subdomain")],
                          list_paths=[p(), p("slack"), p("github"),
                                      p("share_point", "connectionConfig")],
                          cold_interval=0.002)  # a fresh connector every 2 ms
        # The keeper backs off restarting a server that dies within 2 s of taking over (a
        # crash loop); a server is killed or upgraded here once it is past that.
        time.sleep(max(0.0, mounted + 2.2 - 0.6 - time.time()))
        load.start()
        try:
            time.sleep(0.6)
            if event == "kill":
                old = server_pid(mnt)
                os.kill(old, 9)
                deadline = time.time() + 10
                while True:
                    try:
                        if server_pid(mnt) != old:
                            break
                    except (OSError, ValueError):
                        pass
                    if time.time() > deadline:
                        raise SystemExit("bench: no new server 10 s after kill -9")
                    time.sleep(0.02)
            elif event == "upgrade":
                subprocess.run([self.args.binary, "upgrade", "--timeout", "10", mnt],
                               check=True, stdout=subprocess.DEVNULL, timeout=20)
            time.sleep(max(0.0, seconds - 0.6))
        finally:
            res = load.stop()
        self.unmount(mnt, keeper)
        if res.stuck:
            raise SystemExit("bench: a reader hung during %s: %s" % (event, res.describe()))
        return res

    def refresh(self, mnt, name):
        """A forced refresh of name: one read of .connectorfs/refresh/NAME through a fresh open
        (as harness.refresh()), which returns once the next open sees the new value. Returns
        (perf_counter before the open, perf_counter as the read returned, its text)."""
        t0 = time.perf_counter()
        fd = os.open(refresh_path(mnt, name), os.O_RDONLY)
        try:
            text = os.read(fd, 4096)
            t1 = time.perf_counter()
        finally:
            os.close(fd)
        return t0, t1, text.decode()

    def notice_inotify(self, mnt, rounds):
        """rounds rotations of slack, each picked up by a forced refresh while an inotify watch
        sits on MOUNT/slack/access_token (re-armed on the new inode after each). Returns, in
        seconds, [refresh start -> IN_DELETE_SELF], [refresh return -> it], [refresh took]."""
        path = os.path.join(mnt, "slack", "access_token")
        from_start, from_return, took = [], [], []
        ino = Inotify()
        try:
            for _ in range(rounds):
                wd = ino.watch(path, IN_DELETE_SELF)
                token = control(self.url, "POST", "rotate/slack", {})["access_token"]
                t0, t1, text = self.refresh(mnt, "slack")
                if not text.startswith("slack generation "):
                    raise SystemExit("bench: refresh/slack answered %r" % text)
                t = ino.wait_for(wd, IN_DELETE_SELF, 10)
                if t is None or ino.wait_for(wd, IN_IGNORED, 10) is None:
                    raise SystemExit("bench: no IN_DELETE_SELF, IN_IGNORED on %s in the 10 s "
                                     "after a refresh" % path)
                from_start.append(t - t0)
                from_return.append(t - t1)
                took.append(t1 - t0)
                with open(path) as f:
                    if f.read() != token:
                        raise SystemExit("bench: %s is not the rotated token after the "
                                         "refresh" % path)
        finally:
            ino.close()
        return from_start, from_return, took

    def notice_wait(self, mnt, rounds):
        """rounds times: `connectorfs wait MOUNT/slack/access_token`, once its watch is armed
        a rotation and a forced refresh. Returns, in seconds from the refresh read's return,
        [the waiter printed the path], [it has exited (and is reaped)]; and [spawn -> armed]."""
        path = os.path.join(mnt, "slack", "access_token")
        printed_after, exit_after, armed_after = [], [], []
        for _ in range(rounds):
            spawned = time.perf_counter()
            p = subprocess.Popen([self.args.binary, "wait", "--timeout", "30", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.procs.append(p)
            while not inotify_armed(p.pid):
                if p.poll() is not None or time.perf_counter() > spawned + 10:
                    raise SystemExit("bench: `connectorfs wait %s` did not arm: %s" %
                                     (path, p.stderr.read() if p.poll() is not None else ""))
                time.sleep(0.001)
            armed_after.append(time.perf_counter() - spawned)
            seen = []  # (line, when printed), (status, when reaped)

            def reap():
                seen.append((p.stdout.readline(), time.perf_counter()))
                seen.append((p.wait(), time.perf_counter()))
            reaper = threading.Thread(target=reap)
            reaper.start()
            control(self.url, "POST", "rotate/slack", {})
            _, t1, _ = self.refresh(mnt, "slack")
            reaper.join(10)
            if len(seen) < 2:
                raise SystemExit("bench: `connectorfs wait %s` still running 10 s after a "
                                 "refresh" % path)
            (line, printed), (status, reaped) = seen
            if status != 0 or line != path + "\n":
                raise SystemExit("bench: `connectorfs wait %s` exited %d, printed %r, %r" %
                                 (path, status, line, p.stderr.read()))
            p.stdout.close()
            p.stderr.close()
            printed_after.append(printed - t1)
            exit_after.append(reaped - t1)
        return printed_after, exit_after, armed_after

    def idle_waiters(self, mnt, n, seconds):
        """n `connectorfs wait` on MOUNT/slack/access_token and MOUNT/slack (every other one),
        idle for `seconds` past a 1 s settling. Returns (the seconds; how many had an inotify
        watch; CPU ms of the waiters, and of the server, each as (utime + stime, schedstat);
        the slack requests the emulator got)."""
        paths = [os.path.join(mnt, "slack", "access_token"), os.path.join(mnt, "slack")]
        waiters = []

        def cpu(pids):
            runs = [run_ms(pid) for pid in pids]
            return (sum(cpu_ms(pid) for pid in pids),
                    None if None in runs else sum(runs))
        try:
            for i in range(n):
                waiters.append(subprocess.Popen([self.args.binary, "wait", paths[i % 2]],
                                                stdout=subprocess.DEVNULL))
                self.procs.append(waiters[-1])
            deadline = time.time() + 10  # all armed, or running on their 1 s stat alone
            while not all(inotify_armed(w.pid) for w in waiters) and time.time() < deadline:
                time.sleep(0.05)
            armed = sum(inotify_armed(w.pid) for w in waiters)
            time.sleep(1)
            pids = [w.pid for w in waiters]
            server = server_pid(mnt)
            before = self.count("slack")
            t0 = time.perf_counter()
            w0, s0 = cpu(pids), cpu([server])
            time.sleep(seconds)
            w1, s1 = cpu(pids), cpu([server])
            took = time.perf_counter() - t0
            requests = self.count("slack") - before
            gone = [w for w in waiters if w.poll() is not None]
            if gone:
                raise SystemExit("bench: %d of %d idle `connectorfs wait` exited (first: %d)" %
                                 (len(gone), n, gone[0].returncode))
        finally:
            for w in waiters:
                if w.poll() is None:
                    w.kill()
            for w in waiters:
                w.wait()

        def delta(x0, x1):
            return tuple(None if v0 is None else v1 - v0 for v0, v1 in zip(x0, x1))
        return took, armed, delta(w0, w1), delta(s0, s1), requests

    def count(self, type_):
        return control(self.url, "GET", "counts").get(type_, 0)

    def cleanup(self):
        for m in reversed(self.mounts):
            if is_mounted(m):
                subprocess.run(["fusermount3", "-u", m], stderr=subprocess.DEVNULL)
                if is_mounted(m):
                    subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def timed(cmd, rounds, prepare=None):
    out = []
    for i in range(rounds):
        if prepare:
            prepare(i)
        t0 = time.perf_counter()
        subprocess.run(cmd(i), shell=True, check=True, stdout=subprocess.DEVNULL)
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(TOP, "fs/connectorfs"))
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (smoke test)")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    b = Bench(args)
    rows = []
    try:
        b.start_emulator()
        control(b.url, "PUT", "connections/slack", {"access_token": TOKEN,
                                                     "connection_config": None})
        tmpfs = b.tmpfs()
        mnt, _ = b.mount("mnt")
        cfs_file = os.path.join(mnt, "slack", "access_token")
        tmp_file = os.path.join(tmpfs, "slack", "access_token")
        assert open(cfs_file).read() == TOKEN

        r = max(3, args.rounds // scale)
        a, t = b.interleaved("read", cfs_file, tmp_file, 20000 // scale, r)
        rows.append(("warm open+read+close", f"{a / 1000:.2f} µs", f"{t / 1000:.2f} µs (tmpfs)",
                     a / t, "≤ 1.5×"))
        a, t = b.interleaved("cat", cfs_file, tmp_file, 200 // scale, r)
        rows.append(("whole `cat` process", f"{a / 1000:.0f} µs", f"{t / 1000:.0f} µs (tmpfs)",
                     a / t, "≤ 1.05×"))
        a, t = b.interleaved("stat", cfs_file, tmp_file, 20000 // scale, r)
        rows.append(("stat", f"{a / 1000:.2f} µs", f"{t / 1000:.2f} µs (tmpfs)", a / t, "—"))

        # audit= needs every open to reach the daemon: the price, measured.
        mnt_audit, _ = b.mount("mnt-audit", "audit=" + os.path.join(b.tmp, "audit.log"))
        audit_file = os.path.join(mnt_audit, "slack", "access_token")
        assert open(audit_file).read() == TOKEN
        a, t = b.interleaved("read", audit_file, tmp_file, 5000 // scale, r)
        rows.append(("warm open+read+close with audit=", f"{a / 1000:.2f} µs",
                     f"{t / 1000:.2f} µs (tmpfs)", a / t, "(documented cost)"))
        # A /dev/fd/N mount: the daemon checks every open itself (the helper's options unknown).
        mnt_fd, _ = b.mount_fd("mnt-fd")
        fd_file = os.path.join(mnt_fd, "slack", "access_token")
        deadline = time.time() + 10
        while True:
            try:
                assert open(fd_file).read() == TOKEN
                break
            except OSError:
                if time.time() > deadline:
                    raise SystemExit("bench: the /dev/fd mount did not serve")
                time.sleep(0.05)
        a, t = b.interleaved("read", fd_file, tmp_file, 5000 // scale, r)
        rows.append(("warm open+read+close, /dev/fd/N mount", f"{a / 1000:.2f} µs",
                     f"{t / 1000:.2f} µs (tmpfs)", a / t, "(documented cost)"))

        # Cold: a connector never read before (nothing cached anywhere) vs
        # what a script does without connectorfs.
        cold_rounds = max(3, 9 // scale)
        for i in range(cold_rounds):
            control(b.url, "PUT", f"connections/cold{i}", {"access_token": TOKEN})
        hdr = os.path.join(b.tmp, "headers")
        with open(hdr, "w") as f:
            f.write("Authorization: Bearer demo-service-token\nX-App-Id: demo-app\n"
                    "Accept: application/json\n")
        cold_cfs, cold_curl = [], []
        for i in range(cold_rounds):
            cold_cfs += timed(lambda _: f"cat {mnt}/cold{i}/access_token", 1)
            cold_curl += timed(lambda _: f"curl -s -H @{hdr} {b.url}/api/apps/demo-app/"
                               f"external-auth/tokens/cold{i} | jq -r .access_token", 1)
        a, t = statistics.median(cold_cfs), statistics.median(cold_curl)
        rows.append(("cold read (first ever)", f"{a / 1000:.1f} ms", f"{t / 1000:.1f} ms (curl \\| jq)",
                     a / t, "—"))

        # Single-flight: 64 first readers at once, upstream slowed to overlap.
        control(b.url, "PUT", "connections/burst", {"access_token": TOKEN})
        control(b.url, "PUT", "latency", {"seconds": 0.2})
        before = b.count("burst")
        subprocess.run([b.fsbench, "burst", os.path.join(mnt, "burst", "access_token"), "64"],
                       check=True, stdout=subprocess.DEVNULL)
        n = b.count("burst") - before
        control(b.url, "PUT", "latency", {"seconds": 0})
        rows.append(("requests from 64 concurrent first readers", str(n), "", None, "1"))

        # 40 first reads of 40 different connectors at once, the API answering in 200 ms:
        # they overlap (parallel lookups in one folder), against 40 x 200 ms in a line.
        par = [f"par{i}" for i in range(40)]
        for name in par:
            control(b.url, "PUT", f"connections/{name}", {"access_token": TOKEN})
        mnt_par, _ = b.mount("mnt-par", "connectors=" + ":".join(par))
        control(b.url, "PUT", "latency", {"seconds": 0.2})
        barrier = threading.Barrier(len(par))
        errors = []

        def first_read(name):
            barrier.wait(10)
            try:
                with open(os.path.join(mnt_par, name, "access_token")) as f:
                    f.read()
            except OSError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=first_read, args=(n,)) for n in par]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - t0
        control(b.url, "PUT", "latency", {"seconds": 0})
        if errors:
            raise SystemExit(f"bench: concurrent first reads failed: {errors[0]}")
        rows.append(("40 concurrent first reads of 40 connectors, API 200 ms",
                     f"{took * 1000:.0f} ms", "8000 ms (one after another)", took / 8.0,
                     "< 1 s"))

        # A stranger's flood: 10,000 made-up names stat'ed by 8 threads, while the root is
        # listed every 50 ms. Requests stay within the budget (40 + 20 a second), the daemon
        # does not grow, and the listing is not held up.
        mnt_flood, _ = b.mount("mnt-flood")
        with open(os.path.join(mnt_flood, "slack", "access_token")) as f:
            f.read()
        counts0 = control(b.url, "GET", "counts")
        rss0 = rss_kib(server_pid(mnt_flood))
        names = [f"rnd{random.getrandbits(40):x}" for _ in range(10000 // scale)]
        done = threading.Event()
        ls_times = []

        def lister():
            while not done.is_set():
                t = time.perf_counter()
                os.listdir(mnt_flood)
                ls_times.append(time.perf_counter() - t)
                time.sleep(0.05)

        def prober(chunk):
            for name in chunk:
                try:
                    os.stat(os.path.join(mnt_flood, name))
                except OSError:
                    pass

        lt = threading.Thread(target=lister)
        lt.start()
        probers = [threading.Thread(target=prober, args=(names[i::8],)) for i in range(8)]
        t0 = time.perf_counter()
        for t in probers:
            t.start()
        for t in probers:
            t.join()
        flood_s = time.perf_counter() - t0
        done.set()
        lt.join()
        counts1 = control(b.url, "GET", "counts")
        flood_requests = sum(v - counts0.get(k, 0) for k, v in counts1.items()
                             if k.startswith("rnd"))
        rss1 = rss_kib(server_pid(mnt_flood))
        rows.append((f"requests for {len(names)} random names ({flood_s:.1f} s)",
                     str(flood_requests), f"{len(names)} (one each, before)",
                     flood_requests / len(names), f"≤ {40 + 20 * flood_s:.0f}"))
        rows.append(("daemon RSS growth after them", f"{(rss1 - rss0) / 1024:.2f} MiB",
                     f"{rss0 / 1024:.1f} MiB before", None, "bounded"))
        rows.append(("`ls` of the root during the flood (median / worst)",
                     f"{statistics.median(ls_times) * 1000:.1f} / {max(ls_times) * 1000:.1f} ms",
                     "", None, "< 1 s"))

        # A 10 s full-speed read loop with ttl=2: refresh-ahead, no storm.
        mnt2, _ = b.mount("mnt-ttl2", "ttl=2")
        f2 = os.path.join(mnt2, "slack", "access_token")
        before = b.count("slack")
        seconds = 10 if not args.quick else 4
        t_end = time.time() + seconds
        reads = 0
        while time.time() < t_end:
            b.fsb("read", f2, 2000)
            reads += 2000
        n = b.count("slack") - before
        rows.append((f"requests in a {seconds} s read loop, ttl=2 ({reads} reads)", str(n), "",
                     None, f"≤ {seconds // 2 + 2}"))

        # Memory: 50 connectors read through one daemon.
        for i in range(50):
            control(b.url, "PUT", f"connections/mem{i}",
                    {"access_token": TOKEN + str(i), "connection_config": {"subdomain": f"s{i}"}})
        for i in range(50):
            with open(os.path.join(mnt, f"mem{i}", "access_token")) as f:
                f.read()
            with open(os.path.join(mnt, f"mem{i}", "env")) as f:
                f.read()
        with open(f"/proc/{server_pid(mnt)}/status") as f:  # the server, not the keeper
            status = dict(line.split(":", 1) for line in f if ":" in line)
        rss_kb = int(status["VmRSS"].split()[0])
        anon_kb = int(status["RssAnon"].split()[0])
        floor = dict(line.split(":", 1) for line in subprocess.run(
            [b.curlfloor], check=True, capture_output=True, text=True).stdout.splitlines())
        floor_kb = int(floor["VmRSS"].split()[0])
        floor_anon_kb = int(floor["RssAnon"].split()[0])
        rows.append(("daemon RSS after 50 connectors read", f"{rss_kb / 1024:.1f} MiB",
                     f"{floor_kb / 1024:.1f} MiB (empty libcurl program)", rss_kb / floor_kb,
                     "≤ 8 MiB"))
        rows.append(("  of which anonymous (heap, stacks, secrets)", f"{anon_kb / 1024:.1f} MiB",
                     f"{floor_anon_kb / 1024:.1f} MiB (empty libcurl program)",
                     anon_kb / floor_anon_kb, ""))

        # Takeovers: kill -9 of the server, and `connectorfs upgrade`, each under the four
        # readers of test_takeover.py (warm reads, cold reads of connectors never read, stats,
        # folder listings), each op timed; side by side with the same load and no takeover.
        # Every window is a fresh mount, so the same names are cold in each.
        tk_rounds = max(1, args.rounds // (3 * scale))
        window = 2.5
        cold = [(f"tk{i:04d}", f"{TOKEN}-tk{i:04d}") for i in range(2000)]  # 4 s of them
        b.set_many(dict(cold))
        got = {None: [], "kill": [], "upgrade": []}
        order = [None, "kill", "upgrade"]
        for i in range(tk_rounds):
            for event in order[i % 3:] + order[:i % 3]:
                got[event].append(b.takeover_window(event, cold, window))
        ms = lambda v: f"{v * 1000:.0f}" if v >= 0.01 else f"{v * 1000:.2f}"  # noqa: E731

        def stall(rs):
            return statistics.median(r.max for r in rs), max(r.max for r in rs)

        def p99(rs):
            return statistics.median(r.percentile(99) for r in rs)

        s_med, s_worst = stall(got[None])
        for event, what in (("kill", "a kill -9 takeover"), ("upgrade", "an upgrade")):
            med, worst = stall(got[event])
            rows.append((f"longest stall of 4 readers during {what} (median / worst of "
                         f"{tk_rounds})", f"{ms(med)} / {ms(worst)} ms",
                         f"{ms(s_med)} / {ms(s_worst)} ms (no takeover)", med / s_med,
                         "< 1 s"))
            rows.append((f"99th-percentile op during {what}", f"{ms(p99(got[event]))} ms",
                         f"{ms(p99(got[None]))} ms (no takeover)",
                         p99(got[event]) / p99(got[None]), "—"))
            rows.append((f"failed operations during {what} "
                         f"({sum(r.ops for r in got[event])} ops)",
                         str(sum(r.failed for r in got[event])),
                         f"{sum(r.failed for r in got[None])} (no takeover)", None, "0"))

        # Noticing a change: a rotation picked up by a forced refresh reaches an inotify watch
        # on the value file (IN_DELETE_SELF: its old inode deleted under its name) and ends a
        # `connectorfs wait`; then what idle waiters cost. The daemon tells the kernel before it
        # answers the refresh, so the event may come before the read returns: it is timed from
        # the read's start, and from its return (≤ 0: it came first). A waiter is armed before
        # the rotation: its start is not counted, its exit is (closing an inotify instance
        # waits for an RCU grace period, milliseconds). Rotates slack, so it comes last (and
        # puts TOKEN back).
        mnt_n, _ = b.mount("mnt-notice", "ttl=60")
        assert open(os.path.join(mnt_n, "slack", "access_token")).read() == TOKEN
        from_start, from_return, took = b.notice_inotify(mnt_n, max(5, 20 // scale))
        med_worst = lambda v: (f"{statistics.median(v) * 1000:.2f} / "  # noqa: E731
                               f"{max(v) * 1000:.2f} ms")
        rows.append((f"inotify IN_DELETE_SELF on slack/access_token, from a forced refresh's "
                     f"start; from its return (≤ 0: came before it) (median / worst of "
                     f"{len(took)})", f"{med_worst(from_start)}; {med_worst(from_return)}",
                     f"{med_worst(took)} (the refresh read)",
                     statistics.median(from_start) / statistics.median(took), "≤ 1×"))
        printed, exited, armed_after = b.notice_wait(mnt_n, max(3, 10 // scale))
        rows.append((f"`connectorfs wait slack/access_token` exit (path printed), from a forced "
                     f"refresh's return (median / worst of {len(exited)})",
                     f"{med_worst(exited)} ({med_worst(printed)})",
                     f"{statistics.median(armed_after) * 1000:.1f} ms (its start, spawn → "
                     "armed: not counted)", None, "< 1 s"))
        idle_ttl, idle_n = 5, 100
        mnt_i, _ = b.mount("mnt-idle", f"ttl={idle_ttl}")
        assert open(os.path.join(mnt_i, "slack", "access_token")).read() != TOKEN  # rotated
        idle_s, armed, (w_ticks, w_run), (s_ticks, s_run), n = b.idle_waiters(
            mnt_i, idle_n, 10 if not args.quick else 4)
        cpu = lambda ticks, run: (f"{ticks:.0f} ms" if run is None  # noqa: E731
                                  else f"{run:.0f} ms (utime+stime {ticks:.0f} ms)")
        no_inotify = "" if armed == idle_n else f"; {idle_n - armed} with no inotify"
        rows.append((f"{idle_n} idle `connectorfs wait` ({idle_n // 2} on slack/access_token, "
                     f"{idle_n - idle_n // 2} on slack/{no_inotify}), "
                     f"ttl={idle_ttl}: CPU in {idle_s:.0f} s; the server's; slack requests",
                     f"{cpu(w_ticks, w_run)} = "
                     f"{(w_ticks if w_run is None else w_run) / (idle_s * 10):.2f} % of a core",
                     f"server {cpu(s_ticks, s_run)}; requests: {n}", None,
                     f"requests ≤ {int(idle_s + 0.5) // idle_ttl + 1}"))
        control(b.url, "PUT", "connections/slack", {"access_token": TOKEN,
                                                    "connection_config": None})
    finally:
        b.cleanup()

    print(f"\nconnectorfs bench, {time.strftime('%Y-%m-%d')}, {os.uname().sysname} "
          f"{os.uname().release}, {os.cpu_count()} CPUs; medians of {max(3, args.rounds // scale)} "
          "interleaved rounds\n")
    print("| measurement | connectorfs | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    for name, val, base, ratio, target in rows:
        rs = f"{ratio:.2f}×" if ratio is not None else ""
        print(f"| {name} | {val} | {base} | {rs} | {target} |")


if __name__ == "__main__":
    main()
