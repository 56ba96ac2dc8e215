#!/usr/bin/env python3
"""make bench: connectorfs against tmpfs and against curl|jq, side by side.

Everything runs in one process tree against the bundled emulator on
loopback: timings are medians of interleaved rounds (connectorfs and its
baseline alternate, so machine noise hits both alike) and ratios are what
to read. Prints one Markdown table. Needs root (tmpfs and FUSE mounts).
"""
import argparse
import http.client
import json
import os
import random
import threading
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from cfs_tools import control, is_mounted, rss_kib, server_pid  # scripts/ is on sys.path

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from harness import ReaderLoad  # noqa: E402  (the four readers of test_takeover.py)
TOKEN = "xoxb-bench-token-0123456789-abcdefghijklmnopqrs"  # 48 bytes, as PERF.md


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
