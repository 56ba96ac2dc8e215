#!/usr/bin/env python3
"""make soak: many readers, many connectors, rotations every few tens of ms, 10% failures.

Every value a reader gets must be exactly one token the emulator issued for that connector
(the emulator records each): a torn read, a mix of two tokens or another connector's token
counts as wrong. Prints reads, wrong reads, errors by errno, upstream requests and the
daemon's RSS at start and end; exits 1 if any read was wrong or memory grew.
"""
import argparse
import collections
import errno
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from cfs_tools import control, is_mounted, rss_kib, server_pid  # scripts/ is on sys.path when run

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reader(mnt, names, seconds, seed, out):
    """One reader process: read random connectors' tokens as fast as it can."""
    rnd = random.Random(seed)
    seen = collections.defaultdict(set)
    errors = collections.Counter()
    reads = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        name = rnd.choice(names)
        try:
            with open(os.path.join(mnt, name, "access_token"), "rb", buffering=0) as f:
                seen[name].add(f.read())
            reads += 1
        except OSError as exc:
            errors[errno.errorcode.get(exc.errno, str(exc.errno))] += 1
    out.put((reads, {k: list(v) for k, v in seen.items()}, dict(errors)))


def rotator(url, names, stop, interval, counter):
    rnd = random.Random(7)
    while not stop.is_set():
        control(url, "POST", "rotate/" + rnd.choice(names), {"length": rnd.randint(8, 300)})
        counter[0] += 1
        stop.wait(interval)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(TOP, "fs/connectorfs"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--connectors", type=int, default=12)
    ap.add_argument("--rotate-every", type=float, default=0.03, help="seconds")
    ap.add_argument("--failure-rate", type=float, default=0.10)
    ap.add_argument("--ttl", type=int, default=1)
    ap.add_argument("--no-memory-check", action="store_true",
                    help="report RSS but do not fail on growth (sanitizer builds)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="cfs-soak-")
    procs, mnt = [], os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    try:
        port_file = os.path.join(tmp, "port")
        emu = subprocess.Popen([sys.executable, os.path.join(TOP, "scripts/emulator.py"),
                                "--port", "0", "--port-file", port_file, "--no-seed"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(emu)
        deadline = time.time() + 10
        while not os.path.exists(port_file):
            if time.time() > deadline:
                raise SystemExit("soak: emulator did not start")
            time.sleep(0.05)
        url = "http://127.0.0.1:" + open(port_file).read().strip()
        names = ["soak%02d" % i for i in range(args.connectors)]
        for n in names:
            control(url, "POST", "rotate/" + n, {"length": 40})
        env = dict(os.environ, BASE44_APP_ID="demo-app",
                   BASE44_SERVICE_TOKEN="demo-service-token", BASE44_API_URL=url)
        log = open(os.path.join(tmp, "daemon.log"), "w")
        daemon = subprocess.Popen([args.binary, "-f", mnt, "-o",
                                   "ttl=%d,max_stale=600,timeout=5" % args.ttl],
                                  env=env, stdout=log, stderr=log)
        procs.append(daemon)
        deadline = time.time() + 10
        while not is_mounted(mnt):
            if daemon.poll() is not None or time.time() > deadline:
                raise SystemExit("soak: mount failed:\n" + open(log.name).read())
            time.sleep(0.02)
        for n in names:  # warm every connector once, then measure memory
            with open(os.path.join(mnt, n, "access_token"), "rb") as f:
                f.read()
        rss_start = rss_kib(server_pid(mnt))
        control(url, "PUT", "failure-rate", {"rate": args.failure_rate, "status": 503})

        stop, rotations = threading.Event(), [0]
        rot = threading.Thread(target=rotator, args=(url, names, stop, args.rotate_every,
                                                     rotations))
        rot.start()
        out = multiprocessing.Queue()
        workers = [multiprocessing.Process(target=reader, args=(mnt, names, args.seconds, i,
                                                                out))
                   for i in range(args.readers)]
        for w in workers:
            w.start()
        results = [out.get(timeout=args.seconds + 60) for _ in workers]
        for w in workers:
            w.join()
        stop.set()
        rot.join()
        control(url, "PUT", "failure-rate", {"rate": 0})
        rss_end = rss_kib(server_pid(mnt))
        requests = sum(control(url, "GET", "counts").values())

        reads = sum(r[0] for r in results)
        errors = collections.Counter()
        seen = collections.defaultdict(set)
        for _, s, e in results:
            errors.update(e)
            for k, v in s.items():
                seen[k].update(v)
        wrong = []
        for n, values in seen.items():
            issued = {t.encode() for t in control(url, "GET", "issued/" + n)["tokens"]}
            for v in values:
                if v in issued:
                    continue
                prefix_of = [len(t) for t in issued if t.startswith(v)]
                nuls = v.count(b"\0")
                wrong.append((n, len(v), "prefix of issued tokens of lengths %s" % prefix_of
                              if prefix_of else "%d NUL bytes, starts %r" % (nuls, v[:12])))
        distinct = sum(len(v) for v in seen.values())
        print("soak: %.0f s, %d readers, %d connectors, ttl=%d, rotation every %.0f ms, "
              "%.0f%% failures" % (args.seconds, args.readers, args.connectors, args.ttl,
                                   args.rotate_every * 1000, args.failure_rate * 100))
        print("reads:             %d (%.0f/s)" % (reads, reads / args.seconds))
        print("distinct values:   %d read, %d rotations issued" % (distinct, rotations[0]))
        print("wrong reads:       %d%s" % (len(wrong), "  " + repr(wrong[:5]) if wrong else ""))
        print("errors by errno:   %s" % (dict(errors) or "none"))
        print("upstream requests: %d" % requests)
        print("daemon RSS:        %.1f MiB at start, %.1f MiB at end" % (rss_start / 1024,
                                                                        rss_end / 1024))
        grew = rss_end - rss_start > 2048 and not args.no_memory_check
        if grew:
            print("soak: FAIL: the daemon's RSS grew by %d KiB" % (rss_end - rss_start))
        if wrong:
            print("soak: FAIL: %d values read were never issued for their connector"
                  % len(wrong))
        return 1 if wrong or grew else 0
    finally:
        if is_mounted(mnt):
            subprocess.run(["fusermount3", "-u", mnt], stderr=subprocess.DEVNULL)
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
