#!/usr/bin/env python3
"""Helper of scripts/check-systemd.sh (make check-systemd). Python 3 standard library only.

Inside the systemd container:
  seed      add COUNT connections c0000.. (and the keep names k00..) to the emulator
  run       READERS processes reading the mount in tight loops until a stop file appears:
            warm reads (value checked against the emulator), cold reads of connectors not
            read yet (paced under the unknown-name budget), stats (size checked), listdir of
            the root and of a connector, pread/fstat of a file held open. Every failure and
            every op's duration is recorded; summary.json is written at the end.
  status    pid, supervisor_pid and takeovers of MOUNT/.connectorfs/status.json (retried)
  mountid   the mount id of MOUNT in /proc/self/mountinfo (every line for it)
  snapshot  the bytes of some files, as hex JSON, and the emulator's request counts
On the host:
  analyze   SUMMARY [--since EPOCH]: shell assignments (L_*) plus a human summary on stderr
  journal   --t0 EPOCH: journalctl -o short-unix lines on stdin, with ms relative to t0
"""

import argparse
import errno
import json
import multiprocessing
import os
import random
import signal
import sys
import time
import urllib.request

WARM = ["slack", "share_point", "notion", "googlecalendar", "github"]
OPS = ["idle", "warm_read", "stat", "listdir_root", "listdir_conn", "held_pread",
       "held_fstat", "cold_read", "config_read"]
MAX_FAILURES_KEPT = 2000
BUCKET_S = 0.25


def control(api, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(api + "/_control/" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def cold_name(i):
    return "c%04d" % i


# ---- seed -----------------------------------------------------------------------------------

def cmd_seed(a):
    for i in range(a.count):
        n = cold_name(i)
        control(a.api, "PUT", "connections/" + n,
                {"access_token": "tok-%s-%s" % (n, os.urandom(8).hex())})
    for i in range(a.keep):
        n = "k%02d" % i
        control(a.api, "PUT", "connections/" + n,
                {"access_token": "keep-%s-%s" % (n, os.urandom(8).hex()),
                 "connection_config": {"region": "r%02d" % i}})
    print("seeded %d cold + %d keep connections" % (a.count, a.keep))


# ---- status / mountid / snapshot -------------------------------------------------------------

def read_status(mount, tries=100):
    last = None
    for _ in range(tries):
        try:
            with open(os.path.join(mount, ".connectorfs/status.json"), "rb") as f:
                return json.loads(f.read())
        except (OSError, ValueError) as e:   # ESTALE while a server takes over
            last = e
            time.sleep(0.05)
    raise SystemExit("status.json unreadable: %s" % last)


def cmd_status(a):
    s = read_status(a.mount)
    print(s.get("pid"), s.get("supervisor_pid"), s.get("takeovers"))


def unique_mount_id(path):
    """statx(STATX_MNT_ID_UNIQUE), Linux 6.8+: a mount id never reused (mountinfo's ids are,
    so a new mount can show the old one's number). AT_STATX_DONT_SYNC: no FUSE request."""
    import ctypes
    import struct
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(256)
    at_fdcwd, dont_sync, nofollow, mnt_id_unique = -100, 0x4000, 0x100, 0x4000
    if libc.statx(at_fdcwd, path.encode(), dont_sync | nofollow, mnt_id_unique, buf) != 0:
        return "?"
    mask = struct.unpack_from("I", buf, 0)[0]
    return str(struct.unpack_from("Q", buf, 0x90)[0]) if mask & mnt_id_unique else "?"


def cmd_mountid(a):
    """MOUNTINFO_ID/UNIQUE_ID of the mount on MOUNT (one per line of mountinfo), or none."""
    ids = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()
            if p[4] == a.mount:
                ids.append(p[0])
    print(",".join(ids) + "/" + unique_mount_id(a.mount) if ids else "none")


def cmd_snapshot(a):
    out = {"files": {}, "counts": {}}
    for rel in a.files:
        with open(os.path.join(a.mount, rel), "rb") as f:
            out["files"][rel] = f.read().hex()
    counts = control(a.api, "GET", "counts")
    for rel in a.files:
        name = rel.split("/")[0]
        out["counts"][name] = counts.get(name, 0)
    print(json.dumps(out, sort_keys=True))


# ---- run ------------------------------------------------------------------------------------

def worker(idx, a, expected, cold, inprog, opcode, outdir):
    rng = random.Random(idx * 7919 + int(time.time()))
    warm = [n for n in WARM if n in expected]
    mount = a.mount
    stop_file = a.stop_file
    started = time.time()
    res = {"worker": idx, "ops": 0, "failures": [], "fail_counts": {}, "max": None,
           "slow": [], "cold_done": 0, "cold_total": len(cold), "buckets": {},
           "started": started}
    held = {"fd": -1}
    next_cold = time.monotonic()
    ci = 0

    def record(op, path, w0, dt, err):
        res["ops"] += 1
        b = str(int((w0 - started) / BUCKET_S))
        bk = res["buckets"].setdefault(b, [0, 0])
        if err is None:
            bk[0] += 1
        else:
            bk[1] += 1
            key = "%s:%s" % (op, err)
            res["fail_counts"][key] = res["fail_counts"].get(key, 0) + 1
            if len(res["failures"]) < MAX_FAILURES_KEPT:
                res["failures"].append({"t": w0, "op": op, "path": path, "err": err,
                                        "ms": round(dt * 1000, 2)})
        if res["max"] is None or dt > res["max"]["ms"] / 1000:
            res["max"] = {"ms": round(dt * 1000, 2), "op": op, "path": path, "t": w0,
                          "err": err}
        if dt >= 0.1 and len(res["slow"]) < 200:
            res["slow"].append({"t": w0, "op": op, "path": path, "ms": round(dt * 1000, 2),
                                "err": err})

    def op(name, path, fn):
        """Run fn(); an OSError is a failure named by its errno, a returned string a failure
        of that kind (a wrong value). True when it succeeded."""
        w0 = time.time()
        t0 = time.monotonic()
        inprog[idx] = w0
        opcode[idx] = OPS.index(name)
        try:
            bad = fn()
            err = bad if isinstance(bad, str) else None
        except OSError as e:
            err = errno.errorcode.get(e.errno, "E%s" % e.errno)
        dt = time.monotonic() - t0
        inprog[idx] = 0.0
        opcode[idx] = 0
        record(name, path, w0, dt, err)
        return err is None

    def read_file(path, want):
        def fn():
            with open(path, "rb") as f:
                got = f.read()
            return None if got == want else "WRONG_VALUE"
        return fn

    def stat_file(path, size):
        def fn():
            st = os.stat(path)
            return None if st.st_size == size else "WRONG_SIZE"
        return fn

    def listdir(path, must):
        def fn():
            return None if must in os.listdir(path) else "MISSING_ENTRY"
        return fn

    slack_path = os.path.join(mount, "slack/access_token")
    slack_val = expected["slack"]

    def held_pread():
        if held["fd"] < 0:
            held["fd"] = os.open(slack_path, os.O_RDONLY)
        try:
            got = os.pread(held["fd"], 65536, 0)
        except OSError:
            os.close(held["fd"])     # reopened next time: on a new mount, if any
            held["fd"] = -1
            raise
        return None if got == slack_val else "WRONG_VALUE"

    def held_fstat():
        if held["fd"] < 0:
            return None
        st = os.fstat(held["fd"])
        return None if st.st_size == len(slack_val) else "WRONG_SIZE"

    def stopping():
        return os.path.exists(stop_file) or time.time() - started > a.max_seconds

    # The root lists a connector once it has been read on this mount: read slack first.
    op("warm_read", "slack/access_token", read_file(slack_path, slack_val))
    it = 0
    while not stopping():
        it += 1
        n = rng.choice(warm)
        op("warm_read", n + "/access_token",
           read_file(os.path.join(mount, n, "access_token"), expected[n]))
        n = rng.choice(warm)
        op("stat", n + "/access_token",
           stat_file(os.path.join(mount, n, "access_token"), len(expected[n])))
        if not a.no_listdir:
            op("listdir_root", "", listdir(mount, "slack"))
            n = rng.choice(warm)
            op("listdir_conn", n, listdir(os.path.join(mount, n), "access_token"))
        op("held_pread", "slack/access_token", held_pread)
        op("held_fstat", "slack/access_token", held_fstat)
        if it % 8 == 0 and "share_point" in expected:
            op("config_read", "share_point/connectionConfig/subdomain",
               read_file(os.path.join(mount, "share_point/connectionConfig/subdomain"),
                         b"contoso"))
        if ci < len(cold) and time.monotonic() >= next_cold:
            n = cold[ci]
            ci += 1
            if op("cold_read", n + "/access_token",
                  read_file(os.path.join(mount, n, "access_token"), expected[n])):
                warm.append(n)
                res["cold_done"] += 1
            next_cold = time.monotonic() + a.cold_interval
    if held["fd"] >= 0:
        os.close(held["fd"])
    res["ended"] = time.time()
    tmp = os.path.join(outdir, "worker-%d.json.tmp" % idx)
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.rename(tmp, os.path.join(outdir, "worker-%d.json" % idx))


def cmd_run(a):
    os.makedirs(a.out, exist_ok=True)
    for fn in os.listdir(a.out):
        os.unlink(os.path.join(a.out, fn))
    conns = control(a.api, "GET", "connections")["connections"]
    expected = {n: c["access_token"].encode() for n, c in conns.items()}
    lo, hi = (int(x) for x in a.cold_range.split(":"))
    names = [cold_name(i) for i in range(lo, hi) if cold_name(i) in expected]
    inprog = multiprocessing.Array("d", a.readers, lock=False)
    opcode = multiprocessing.Array("i", a.readers, lock=False)
    procs = []
    for i in range(a.readers):
        p = multiprocessing.Process(target=worker, args=(i, a, expected, names[i::a.readers],
                                                         inprog, opcode, a.out))
        p.start()
        procs.append(p)
    # Ready once every worker has been reading for a moment.
    time.sleep(0.5)
    ready = time.time()
    with open(os.path.join(a.out, "ready"), "w") as f:
        f.write("%f\n" % ready)
    while not os.path.exists(a.stop_file) and time.time() - ready < a.max_seconds:
        time.sleep(0.05)
    stop_at = time.time()
    hung = []
    for i, p in enumerate(procs):
        p.join(max(0.1, stop_at + a.hang_seconds - time.time()))
        if p.is_alive():
            since = inprog[i]
            hung.append({"worker": i, "op": OPS[opcode[i]], "since": since or None,
                         "in_op_ms": round((time.time() - since) * 1000, 1) if since else None})
            os.kill(p.pid, signal.SIGKILL)
            p.join(5)
    workers = []
    for i in range(a.readers):
        try:
            with open(os.path.join(a.out, "worker-%d.json" % i)) as f:
                workers.append(json.load(f))
        except OSError:
            pass
    summary = {"readers": a.readers, "stop_at": stop_at, "hung": hung, "workers": workers,
               "exit_wait_ms": round((time.time() - stop_at) * 1000, 1)}
    with open(os.path.join(a.out, "summary.json.tmp"), "w") as f:
        json.dump(summary, f)
    os.rename(os.path.join(a.out, "summary.json.tmp"), os.path.join(a.out, "summary.json"))
    return 0


# ---- analyze (host) --------------------------------------------------------------------------

def cmd_analyze(a):
    with open(a.summary) as f:
        s = json.load(f)
    ws = s["workers"]
    since = a.since or 0.0
    fails = [x for w in ws for x in w["failures"]]
    counts = {}
    for w in ws:
        for k, v in w["fail_counts"].items():
            counts[k] = counts.get(k, 0) + v
    errs = {}
    for k, v in counts.items():
        e = k.split(":", 1)[1]
        errs[e] = errs.get(e, 0) + v
    maxes = [w["max"] for w in ws if w["max"]]
    # A hung reader's op counts as long as it had lasted when the reader was killed.
    maxes += [{"ms": h["in_op_ms"], "op": h["op"] + " (hung, killed)", "path": "",
               "t": h.get("since") or s["stop_at"], "err": "HUNG"}
              for h in s["hung"] if h["in_op_ms"] is not None]
    mx = max(maxes, key=lambda m: m["ms"], default=None)
    slow = sorted((x for w in ws for x in w["slow"]), key=lambda x: x["t"])
    nfail = sum(counts.values())
    after = [x for x in fails if x["t"] >= since]
    before = [x for x in fails if x["t"] < since]
    # Longest op that started at or after `since` (failures and slow ops are kept with times).
    mx_after = max((x for x in slow + fails + maxes if x["t"] >= since),
                   key=lambda x: x["ms"], default=None)
    # Ops per bucket, all workers, to tell when readers failed and when they recovered.
    timeline = {}
    for w in ws:
        for b, (ok, bad) in w["buckets"].items():
            t = w["started"] + int(b) * BUCKET_S
            key = round(t - since, 2) if a.since else round(t, 2)
            o = timeline.setdefault(key, [0, 0])
            o[0] += ok
            o[1] += bad
    last_ok_fail = None
    if fails:
        first = min(x["t"] for x in fails)
        last = max(x["t"] + x["ms"] / 1000 for x in fails)
        last_ok_fail = (first, last)
    out = {
        "L_OPS": sum(w["ops"] for w in ws),
        "L_WORKERS": len(ws),
        "L_HUNG": len(s["hung"]),
        "L_FAILURES": nfail,
        "L_FAILURES_BEFORE": len(before),
        "L_ERRNOS": ",".join("%s:%d" % kv for kv in sorted(errs.items())) or "none",
        "L_FAILKINDS": ",".join("%s=%d" % kv for kv in sorted(counts.items())) or "none",
        "L_MAX_MS": mx["ms"] if mx else 0,
        "L_MAX_OP": ("%s %s" % (mx["op"], mx["path"])).strip() if mx else "",
        "L_MAX_AT_MS": round((mx["t"] - since) * 1000, 1) if mx and a.since else "",
        "L_MAX_AFTER_MS": mx_after["ms"] if mx_after else 0,
        "L_COLD": sum(w["cold_done"] for w in ws),
        "L_FAIL_FIRST_MS": round((last_ok_fail[0] - since) * 1000, 1) if last_ok_fail else "",
        "L_FAIL_LAST_MS": round((last_ok_fail[1] - since) * 1000, 1) if last_ok_fail else "",
        "L_EXIT_WAIT_MS": s["exit_wait_ms"],
    }
    for k, v in out.items():
        print("%s=%s" % (k, shquote(str(v))))
    # Human detail on stderr: slow ops, first failures, the timeline around the event.
    log = sys.stderr
    if s["hung"]:
        log.write("  hung readers: %s\n" % json.dumps(s["hung"]))
    for x in slow[:12]:
        log.write("  slow op %+9.1f ms  %-12s %-40s %8.1f ms %s\n"
                  % ((x["t"] - since) * 1000, x["op"], x["path"], x["ms"], x["err"] or ""))
    for x in sorted(fails, key=lambda x: x["t"])[:a.show_failures]:
        log.write("  failure %+9.1f ms  %-12s %-40s %-12s %8.1f ms\n"
                  % ((x["t"] - since) * 1000, x["op"], x["path"], x["err"], x["ms"]))
    kinds = {}
    for x in fails:
        k = kinds.setdefault("%s:%s" % (x["op"], x["err"]), [x["t"], x["t"], 0])
        k[0] = min(k[0], x["t"])
        k[1] = max(k[1], x["t"] + x["ms"] / 1000)
        k[2] += 1
    for k, (t0, t1, n) in sorted(kinds.items(), key=lambda kv: kv[1][0]):
        log.write("  failures %-28s x%-6d from %+9.1f to %+9.1f ms%s\n"
                  % (k, counts.get(k, n), (t0 - since) * 1000, (t1 - since) * 1000,
                     "" if counts.get(k, n) == n else " (times of the first %d)" % n))
    if a.timeline:
        lo, hi = a.timeline
        rows = ["%+.2fs:%d/%d" % (k, v[0], v[1]) for k, v in sorted(timeline.items())
                if lo <= k <= hi]
        log.write("  ops per %.2fs (ok/failed), from the event: %s\n" % (BUCKET_S, " ".join(rows)))
    return 0


def shquote(v):
    return "'" + v.replace("'", "'\\''") + "'"


def cmd_journal(a):
    for line in sys.stdin:
        line = line.rstrip("\n")
        head, _, rest = line.partition(" ")
        try:
            t = float(head)
        except ValueError:
            print("            " + line)
            continue
        print("  %+9.1f ms  %s" % ((t - a.t0) * 1000, rest))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("seed")
    q.add_argument("--api", default="http://127.0.0.1:8044")
    q.add_argument("--count", type=int, default=1000)
    q.add_argument("--keep", type=int, default=10)
    q = sub.add_parser("run")
    q.add_argument("--mount", required=True)
    q.add_argument("--api", default="http://127.0.0.1:8044")
    q.add_argument("--readers", type=int, default=4)
    q.add_argument("--cold-range", default="0:0", help="LO:HI of the c%%04d names to read cold")
    q.add_argument("--cold-interval", type=float, default=0.25,
                   help="seconds between a reader's cold reads (4 readers: 16/s, under the "
                        "unknown-name budget of 20/s)")
    q.add_argument("--out", required=True)
    q.add_argument("--stop-file", required=True)
    q.add_argument("--max-seconds", type=float, default=120)
    q.add_argument("--hang-seconds", type=float, default=5,
                   help="a reader not done this long after the stop file is hung")
    q.add_argument("--no-listdir", action="store_true",
                   help="diagnosis only: no opendir/readdir (no folder open across an event)")
    q = sub.add_parser("status")
    q.add_argument("--mount", required=True)
    q = sub.add_parser("mountid")
    q.add_argument("--mount", required=True)
    q = sub.add_parser("snapshot")
    q.add_argument("--mount", required=True)
    q.add_argument("--api", default="http://127.0.0.1:8044")
    q.add_argument("files", nargs="+")
    q = sub.add_parser("analyze")
    q.add_argument("summary")
    q.add_argument("--since", type=float)
    q.add_argument("--show-failures", type=int, default=8)
    q.add_argument("--timeline", type=float, nargs=2, metavar=("FROM", "TO"))
    q = sub.add_parser("journal")
    q.add_argument("--t0", type=float, required=True)
    a = p.parse_args()
    return {"seed": cmd_seed, "run": cmd_run, "status": cmd_status, "mountid": cmd_mountid,
            "snapshot": cmd_snapshot, "analyze": cmd_analyze, "journal": cmd_journal}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main() or 0)
