"""Integration-test harness: the Base44 emulator and a real connectorfs mount.

Every emulator and daemon it starts is recorded in one registry, so a failing test, an atexit
hook or SIGINT/SIGTERM (handlers installed by run.py) still unmounts and stops everything.
After each mount the daemon's log must hold nothing but info lines and the lines a test said
it expected (mount.expect_log), no sanitizer report, and never a token.
Python 3 standard library only; run as root (FUSE mounts, fusermount3).
"""

import array
import errno
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(REPO, "scripts", "emulator.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
FUSERMOUNT = shutil.which("fusermount3") or "/usr/bin/fusermount3"

APP_ID = "demo-app"
SERVICE_TOKEN = "demo-service-token"
SEED_TYPES = ("slack", "share_point", "github", "notion", "googlecalendar", "wix")

# Set by run.py (--binary); the default is the normal build.
BINARY = os.environ.get("CONNECTORFS_BINARY",
                        os.path.join(REPO, "build", "default", "connectorfs"))

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0

# Daemon lines that are information, never a warning.
INFO_LINES = (
    re.compile(r"^connectorfs: mounted \S+ \(app .*, api .*, ttl \d+s\)$"),
    re.compile(r"^connectorfs: unmounting \S+$"),
    re.compile(r"^connectorfs: SIGHUP: service token re-read from \S+$"),
    re.compile(r"^connectorfs: SIGHUP: cached connections dropped$"),
    re.compile(r"^connectorfs: SIG(TERM|INT): stopping$"),
    # A new server taking the mount over (after a crash, or for an upgrade), and the server
    # ending because its keeper is gone: information; the crash itself is a warning.
    re.compile(r"^connectorfs: server \d+ took over \S+$"),
    re.compile(r"^connectorfs: taking over the connection: replaying its INIT$"),
    re.compile(r"^connectorfs: handing the mount over to the new server$"),
    re.compile(r"^connectorfs: SIGUSR2: handing \S+ to a new server from \S+$"),
    re.compile(r"^connectorfs: the keeper is gone; ending the mount$"),
)
SANITIZER_LINE = re.compile(r"ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:")

# Set by `make check SANITIZE=...`: the daemon runs under ASan/TSan, whose quarantine
# and shadow memory make resident-size figures meaningless (tests skip those checks).
SANITIZED = bool(os.environ.get("CFS_SANITIZE"))

_registry_lock = threading.Lock()
_probe_numbers = itertools.count()  # each probe a name no dentry cache has seen
_live = []  # emulators and mounts not yet stopped, newest last


def _register(obj):
    with _registry_lock:
        _live.append(obj)


def _unregister(obj):
    with _registry_lock:
        if obj in _live:
            _live.remove(obj)


def cleanup_all():
    """Unmount and stop everything still running (atexit, signals). Never raises."""
    while True:
        with _registry_lock:
            if not _live:
                return
            obj = _live.pop()
        try:
            obj.stop()
        except Exception as exc:  # keep going: the next one must be cleaned too
            sys.stderr.write("harness: cleanup of %r failed: %s\n" % (obj, exc))


def _mountinfo_last(path):
    """(fields before " - ", fields after it) of the last mount at path per
    /proc/self/mountinfo, or None."""
    try:
        with open("/proc/self/mountinfo") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = None
    for line in lines:
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) >= 6 and re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)),
                                       fields[4]) == path:
            found = (fields, right.split())
    return found


def mountinfo_entry(path):
    """(mount options, fstype, superblock options) of the last mount at path per
    /proc/self/mountinfo (option lists split on commas), or None."""
    found = _mountinfo_last(path)
    if found is None:
        return None
    fields, sb = found
    return (fields[5].split(","), sb[0] if sb else "?",
            sb[2].split(",") if len(sb) >= 3 else [])


def mounted_fstype(path):
    """The fstype of the mount at path per /proc/self/mountinfo, or None."""
    entry = mountinfo_entry(path)
    return entry[1] if entry else None


def mount_id(path):
    """The mount id (first field of /proc/self/mountinfo) of the last mount at path, or None:
    the same id before and after an event means the same mount, not a new one."""
    found = _mountinfo_last(path)
    return int(found[0][0]) if found else None


def wait_until(pred, timeout, interval=0.02):
    """Poll pred() until it is truthy or timeout seconds pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def read_file(path):
    """The bytes of path via open/read/close (raises OSError with the errno)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                break
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


def errno_of(fn, *args):
    """The errno fn(*args) fails with, or None when it succeeds."""
    try:
        fn(*args)
    except OSError as exc:
        return exc.errno
    return None


def errname(n):
    return "success" if n is None else errno.errorcode.get(n, str(n))


def refresh_path(mnt, name):
    """MOUNT/.connectorfs/refresh/NAME (mnt: a Mount or a mountpoint path)."""
    root = mnt if isinstance(mnt, str) else mnt.path
    return os.path.join(root, ".connectorfs", "refresh", name)


def refresh(mnt, name):
    """Force a re-fetch of name (a connector, or "all") by reading .connectorfs/refresh/NAME
    through a fresh open: (text, None) when the read succeeded, (None, errno) when it failed.
    The read returns once the new value is what the next open of the connector's files sees;
    it prints "NAME generation N\\n" (for "all": one such line, or "NAME error: TEXT", per
    connector fetched with success since the mount, sorted by name)."""
    try:
        return read_file(refresh_path(mnt, name)).decode("utf-8", "replace"), None
    except OSError as exc:
        return None, exc.errno


class ControlError(Exception):
    pass


class Emulator:
    """The Base44 emulator on a free loopback port; a context manager."""

    def __init__(self, *extra_args):
        self.extra_args = list(extra_args)
        self.proc = None
        self.tmp = None
        self.url = None
        self.types = set(SEED_TYPES)  # every type whose issued tokens the log check asks for
        self.secrets = set()          # tokens this side set or saw issued

    def __repr__(self):
        return "<Emulator %s>" % self.url

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="cfs-emu-")
        port_file = os.path.join(self.tmp, "port")
        self.log_path = os.path.join(self.tmp, "emulator.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, EMULATOR, "--port", "0", "--port-file", port_file] + self.extra_args,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        _register(self)

        def port():
            try:
                with open(port_file) as f:
                    text = f.read()
            except OSError:
                return None
            return int(text) if text.endswith("\n") else None

        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            p = port()
            if p:
                self.url = "http://127.0.0.1:%d" % p
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("emulator did not start within %.0f s" % START_TIMEOUT)

    def stop(self):
        _unregister(self)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    # ---- control interface ----------------------------------------------------------------

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_control/" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise ControlError("%s /_control/%s: HTTP %d: %s"
                               % (method, path, exc.code, exc.read()[:200]))

    @staticmethod
    def _q(name):
        return urllib.parse.quote(name, safe="")

    def set(self, type, token, config=None, omit_config=False, **extra):
        """Store a connection; config=None sends connection_config null."""
        self.types.add(type)
        self.secrets.add(token)
        body = {"access_token": token, "connection_config": config,
                "omit_config": bool(omit_config)}
        body.update(extra)
        return self.call("PUT", "connections/" + self._q(type), body)

    def set_workspace(self, connector_id, token, config=None, **extra):
        """Store a workspace connector's connection (MOUNT/connectors/ID); rotate() and
        requests() know it as "connectors/ID"."""
        self.types.add("connectors/" + connector_id)
        self.secrets.add(token)
        body = {"access_token": token, "connection_config": config}
        body.update(extra)
        return self.call("PUT", "connector-ids/" + self._q(connector_id), body)

    def delete_workspace(self, connector_id):
        return self.call("DELETE", "connector-ids/" + self._q(connector_id))

    def rotate(self, type, length=None):
        """Give type a new random token; returns it."""
        self.types.add(type)
        body = {} if length is None else {"length": length}
        token = self.call("POST", "rotate/" + self._q(type), body)["access_token"]
        self.secrets.add(token)
        return token

    def delete(self, type):
        return self.call("DELETE", "connections/" + self._q(type))

    def fail(self, type="*", count=1, status=None, body=None, headers=None, delay=None,
             action="status", size=None, interval=None):
        """Make the next count requests for type (-1: all) fail as described."""
        f = {"type": type, "count": count, "action": action}
        for key, value in (("status", status), ("body", body), ("headers", headers),
                           ("delay", delay), ("size", size), ("interval", interval)):
            if value is not None:
                f[key] = value
        return self.call("POST", "faults", f)

    def set_many(self, tokens):
        """Store many connections ({type: token}, config null) over one kept-alive control
        connection: a few hundred a second, against one new connection each with set()."""
        import http.client
        conn = http.client.HTTPConnection(urllib.parse.urlsplit(self.url).netloc, timeout=10)
        try:
            for type, token in tokens.items():
                self.secrets.add(token)
                conn.request("PUT", "/_control/connections/" + self._q(type),
                             json.dumps({"access_token": token, "connection_config": None}),
                             {"Content-Type": "application/json"})
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise ControlError("PUT /_control/connections/%s: HTTP %d: %s"
                                       % (type, resp.status, body[:200]))
        finally:
            conn.close()

    def clear_faults(self):
        return self.call("DELETE", "faults")

    def latency(self, seconds):
        return self.call("PUT", "latency", {"seconds": seconds})

    def requests(self, type=None):
        path = "requests" + ("?type=" + self._q(type) if type is not None else "")
        return self.call("GET", path)["requests"]

    def counts(self):
        return self.call("GET", "counts")

    def count(self, type):
        return self.counts().get(type, 0)

    def clear_requests(self):
        return self.call("DELETE", "requests")

    def reset(self):
        return self.call("POST", "reset")

    def issued(self, type):
        return self.call("GET", "issued/" + self._q(type))["tokens"]

    def all_secrets(self):
        """Every token value this emulator has handed out or been given, plus its own."""
        out = set(self.secrets) | {SERVICE_TOKEN}
        for t in sorted(self.types):
            try:
                out.update(self.issued(t))
            except (ControlError, OSError):
                pass
        self.secrets |= out
        return {s for s in out if s}


class MountError(Exception):
    pass


class Mount:
    """connectorfs -f on a fresh temp mountpoint; a context manager.

    options: a list of "key=value" strings (or a dict) given as -o.
    env: overrides of the daemon's environment; a None value removes the variable.
    """

    def __init__(self, emulator=None, options=(), env=None, binary=None, args=(), path=None):
        self.emulator = emulator
        self.fixed_path = path  # mount here instead of on a fresh folder
        if isinstance(options, dict):
            options = ["%s=%s" % kv if kv[1] is not None else kv[0] for kv in options.items()]
        self.options = list(options)
        self.env_overrides = dict(env or {})
        self.binary = binary or BINARY
        self.args = list(args)
        self.proc = None
        self.tmp = None
        self.path = None
        self.expected = []
        self.extra_secrets = set()
        self.returncode = None
        self.expected_returncode = 0  # a test that kills the daemon says what it expects
        self._final_log = None

    def __repr__(self):
        return "<Mount %s pid %s>" % (self.path, self.proc.pid if self.proc else None)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    @property
    def pid(self):
        """The keeper: the process started, which holds the mount."""
        return self.proc.pid

    def server_pid(self, timeout=5.0):
        """The server answering requests (status.json's pid), once there is one."""
        path = os.path.join(self.path, ".connectorfs", "status.json")
        deadline = time.monotonic() + timeout
        while True:
            try:
                with open(path) as f:
                    pid = json.load(f).get("pid")
                if pid:
                    return int(pid)
            except (OSError, ValueError):
                pass
            if time.monotonic() >= deadline:
                raise AssertionError("no server pid in %s within %.0f s" % (path, timeout))
            time.sleep(0.02)

    def environment(self):
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
        for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if key in os.environ:
                env[key] = os.environ[key]
        env["BASE44_APP_ID"] = APP_ID
        env["BASE44_SERVICE_TOKEN"] = SERVICE_TOKEN
        if self.emulator is not None:
            env["BASE44_API_URL"] = self.emulator.url
        for k, v in self.env_overrides.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        if env.get("BASE44_SERVICE_TOKEN"):
            self.extra_secrets.add(env["BASE44_SERVICE_TOKEN"])
        return env

    def command(self):
        cmd = [self.binary, "-f"] + self.args
        if self.options:
            cmd += ["-o", ",".join(self.options)]
        return cmd + [self.path]

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="cfs-mnt-")
        if self.fixed_path is not None:
            self.path = self.fixed_path
        else:
            self.path = os.path.join(self.tmp, "mnt")
            os.mkdir(self.path)
        self.log_path = os.path.join(self.tmp, "daemon.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), env=self.environment(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        _register(self)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if mounted_fstype(self.path) == "fuse.connectorfs" and self._answers():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)
        rc = self.proc.poll()
        log = self.log_text()
        self.stop()
        if rc is None:
            raise MountError("not mounted within %.0f s; daemon log:\n%s" % (START_TIMEOUT, log))
        raise MountError("daemon exited with status %s before mounting; log:\n%s" % (rc, log))

    def _answers(self):
        """A live mount, not a stale one left on a fixed path ("not connected")."""
        # The kernel may answer stat() of a dead mount's root from its cache; a name
        # it cannot have cached needs the daemon (ENOENT from a live one). The probe must
        # also land in a mount: a stale mount still listed in mountinfo may be detached
        # (by the daemon starting over it) just before the probe, which then gets ENOENT
        # from the bare folder below; the folder's device tells them apart.
        try:
            os.stat(os.path.join(self.path, ".harness-probe-%d" % next(_probe_numbers)))
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                return False
        try:
            return os.stat(self.path).st_dev != os.stat(os.path.dirname(self.path)).st_dev
        except OSError:
            return False

    def is_mounted(self):
        return self.path is not None and mounted_fstype(self.path) is not None

    def unmount(self):
        """fusermount3 -u, else -uz and a kill; waits for the daemon to exit."""
        if self.path and self.is_mounted():
            r = subprocess.run([FUSERMOUNT, "-u", self.path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            if r.returncode != 0 and self.is_mounted():
                subprocess.run([FUSERMOUNT, "-uz", self.path], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if self.proc and self.proc.poll() is None:
                    self.proc.kill()
        if self.proc is not None:
            try:
                self.returncode = self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.returncode = self.proc.wait()
                raise MountError("daemon did not exit within %.0f s of the unmount; its log:"
                                 "\n%s" % (STOP_TIMEOUT, self._read_log()[-3000:]))

    def stop(self):
        _unregister(self)
        try:
            self.unmount()
        finally:
            if getattr(self, "_log", None):
                self._log.close()
                self._log = None
            if self._final_log is None:
                self._final_log = self._read_log()
            if self.tmp and not self.is_mounted():
                shutil.rmtree(self.tmp, ignore_errors=True)
                self.tmp = None

    # ---- the log ---------------------------------------------------------------------------

    def _read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, AttributeError):
            return ""

    def log_text(self):
        """The daemon's stdout+stderr so far (all of it once it has stopped)."""
        if self._final_log is not None:
            return self._final_log
        return self._read_log()

    def expect_log(self, regex):
        """Declare that a log line matching regex (re.search) is expected."""
        self.expected.append(re.compile(regex))

    def wait_log(self, regex, timeout=5.0):
        pat = re.compile(regex)
        return wait_until(lambda: any(pat.search(l) for l in self.log_text().splitlines()),
                          timeout)

    def unexpected_lines(self, text):
        bad = []
        for line in text.splitlines():
            if not line.strip():
                continue
            if SANITIZER_LINE.search(line):
                bad.append(line)
                continue
            if any(p.search(line) for p in INFO_LINES):
                continue
            if any(p.search(line) for p in self.expected):
                continue
            bad.append(line)
        return bad

    def finish(self):
        """Unmount, then fail on an unexpected log line or a token in the log."""
        self.stop()
        text = self.log_text()
        problems = []
        if self.returncode != self.expected_returncode:
            problems.append("daemon exited with status %s after the unmount (want %s)"
                            % (self.returncode, self.expected_returncode))
        bad = self.unexpected_lines(text)
        if bad:
            problems.append("unexpected daemon log line(s):\n  " + "\n  ".join(bad[:20]))
        secrets = set(self.extra_secrets) | {SERVICE_TOKEN}
        if self.emulator is not None and self.emulator.proc is not None \
                and self.emulator.proc.poll() is None:
            secrets |= self.emulator.all_secrets()
        leaked = sorted(s for s in secrets if len(s) >= 4 and s in text)
        if leaked:
            problems.append("daemon log holds %d token value(s) (lengths %s)"
                            % (len(leaked), [len(s) for s in leaked]))
        if problems:
            shown = "\n".join(problems) + "\n--- daemon log ---\n" + text
            for secret in sorted(leaked, key=len, reverse=True):
                shown = shown.replace(secret, "<token of %d bytes>" % len(secret))
            raise AssertionError(shown)


class TestCase(unittest.TestCase):
    """A test with one emulator per class, reset before each test, and mount helpers."""

    emulator = None

    @classmethod
    def setUpClass(cls):
        cls.emulator = Emulator().start()

    @classmethod
    def tearDownClass(cls):
        if cls.emulator is not None:
            cls.emulator.stop()
            cls.emulator = None

    def setUp(self):
        self.emu = self.emulator
        self.emu.reset()
        self.emu.types = set(SEED_TYPES)
        self.emu.secrets = set()

    def mount(self, options=(), env=None, binary=None, args=()):
        """Mount against this class's emulator; unmounted and log-checked at cleanup."""
        m = Mount(self.emu, options=options, env=env, binary=binary, args=args)
        m.start()
        self.addCleanup(m.finish)
        return m

    # ---- assertions ------------------------------------------------------------------------

    def assertErrno(self, expected, fn, *args, msg=None):
        got = errno_of(fn, *args)
        if got != expected:
            self.fail("%s: expected %s, got %s%s" % (
                " ".join(str(a) for a in args), errname(expected), errname(got),
                "" if msg is None else " (%s)" % msg))

    def assertNoRequests(self, type=None):
        reqs = self.emu.requests(type)
        self.assertEqual([], [(r["method"], r["path"]) for r in reqs],
                         "the emulator received requests")


def mount_status(root, timeout=5.0):
    """MOUNT/.connectorfs/status.json, decoded. A read that fails during a takeover (a render
    in progress gets ESTALE) is tried again for up to timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(read_file(os.path.join(root, ".connectorfs", "status.json")))
        except (OSError, ValueError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


# ---- reader load: processes that read the mount as fast as they can --------------------------

# One reader process. argv: KIND ROOT OUT SPEC (a JSON file). It times every operation
# (time.monotonic: one clock for every process) until the file SPEC["stop"] exists, then writes
# every duration (array 'd', seconds) to OUT.dur and a summary to OUT. Kinds:
#   warm  open+read+close of SPEC["path"], which must read SPEC["value"] (hex)
#   cold  read NAME/access_token of each [NAME, TOKEN] of SPEC["names"] once, in order: each
#         a connector not read before, one every SPEC["interval"] seconds (0: back to back);
#         between them, and once they run out, it reads the last one again (the summary's
#         "cold" has when each fresh read ended, and when the names ran out)
#   stat  os.stat of each of SPEC["paths"] in turn
#   list  os.listdir of each of SPEC["paths"] in turn
LOAD_WORKER = r"""
import array, errno, json, os, sys, time
kind, root, out, spec = sys.argv[1], sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
stop = spec["stop"]
mono = time.monotonic
durations = array.array("d")
failures = []
nfail = 0
cold = {"reads": 0, "first": None, "last": None, "exhausted_at": None, "times": []}
worst = (0.0, None, None)

def read(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            b = os.read(fd, 65536)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)

if kind == "warm":
    path, want = spec["path"], bytes.fromhex(spec["value"])
    def op(i):
        got = read(path)
        return None if got == want else "%s: read %d bytes, not the value" % (path, len(got))
elif kind == "cold":
    names, interval = spec["names"], spec.get("interval", 0)
    due = [mono(), 0]  # when the next fresh name is due, and its index
    def op(i):
        fresh = due[1] < len(names) and mono() >= due[0]
        name, token = names[due[1] if fresh else max(0, due[1] - 1)]
        path = os.path.join(root, name, "access_token")
        got = read(path)
        if fresh:
            now = mono()
            due[0] += interval
            due[1] += 1
            cold["reads"] += 1
            cold["last"] = now
            cold["times"].append(round(now, 4))
            if cold["first"] is None:
                cold["first"] = now
        elif due[1] >= len(names) and cold["exhausted_at"] is None:
            cold["exhausted_at"] = mono()
        return None if got == token.encode() else "%s: wrong value (%d bytes)" % (path, len(got))
else:
    paths = spec["paths"]
    fn = os.stat if kind == "stat" else os.listdir
    def op(i):
        fn(paths[i % len(paths)])

i = 0
ready = out + ".ready"
while True:
    if i % 64 == 0 and os.path.exists(stop):
        break
    t0 = mono()
    try:
        problem = op(i)
    except OSError as exc:
        problem = "%s: %s" % (exc.filename, errno.errorcode.get(exc.errno, exc.errno))
    t1 = mono()
    d = t1 - t0
    durations.append(d)
    if d > worst[0]:
        worst = (d, t0, i)
    if problem is not None:
        nfail += 1
        if len(failures) < 10:
            failures.append([round(t0, 4), problem])
    if i == 0:
        open(ready, "w").close()
    i += 1
with open(out + ".dur", "wb") as f:
    durations.tofile(f)
with open(out, "w") as f:
    json.dump({"kind": kind, "ops": i, "failed": nfail, "failures": failures,
               "max": worst[0], "max_at": worst[1], "cold": cold}, f)
"""


class LoadResult:
    """What the readers of a ReaderLoad saw: per kind, ops, failures and the slowest op."""

    def __init__(self, summaries, durations, stuck):
        self.summaries = summaries      # kind -> summary dict
        self.durations = durations      # every op's duration (seconds), sorted
        self.stuck = stuck              # kinds whose reader never came back
        self.failed = sum(s["failed"] for s in summaries.values())
        self.ops = sum(s["ops"] for s in summaries.values())
        self.max = max([s["max"] for s in summaries.values()] or [0.0])
        slow = max(summaries.values(), key=lambda s: s["max"]) if summaries else None
        self.max_kind = slow["kind"] if slow else None
        self.max_at = slow["max_at"] if slow else None

    def percentile(self, q):
        if not self.durations:
            return 0.0
        return self.durations[min(len(self.durations) - 1, int(q / 100.0 * len(self.durations)))]

    def describe(self):
        parts = ["%d ops, %d failed, longest op %.1f ms (%s), p99 %.2f ms"
                 % (self.ops, self.failed, self.max * 1000, self.max_kind,
                    self.percentile(99) * 1000)]
        for kind, s in sorted(self.summaries.items()):
            parts.append("%s: %d ops, %d failed, longest %.1f ms%s"
                         % (kind, s["ops"], s["failed"], s["max"] * 1000,
                            "".join("\n      at %.3f: %s" % tuple(f) for f in s["failures"])))
        if self.stuck:
            parts.append("stuck in an operation (killed): " + ", ".join(self.stuck))
        return "\n    ".join(parts)


class ReaderLoad:
    """Four reader processes on a mount (warm reads of one file, cold reads of connectors never
    read before, stats, folder listings), each timing every operation; a context manager.

    cold: [(name, token)] of connections the emulator serves and nothing has read yet, read
    one every cold_interval seconds (0: back to back; a cold read takes about 1 ms)."""

    def __init__(self, root, warm_path, warm_value, cold, stat_paths, list_paths,
                 cold_interval=0.0):
        self.root = root
        self.tmp = tempfile.mkdtemp(prefix="cfs-load-")
        self.stop_file = os.path.join(self.tmp, "stop")
        self.specs = {
            "warm": {"path": warm_path, "value": warm_value.hex()},
            "cold": {"names": [list(c) for c in cold], "interval": cold_interval},
            "stat": {"paths": list(stat_paths)},
            "list": {"paths": list(list_paths)},
        }
        self.procs = {}
        self.result = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _out(self, kind):
        return os.path.join(self.tmp, kind + ".json")

    def start(self, timeout=10.0):
        _register(self)
        for kind, spec in self.specs.items():
            spec = dict(spec, stop=self.stop_file)
            spec_path = os.path.join(self.tmp, kind + ".spec")
            with open(spec_path, "w") as f:
                json.dump(spec, f)
            self.procs[kind] = subprocess.Popen(
                [PYTHON, "-c", LOAD_WORKER, kind, self.root, self._out(kind), spec_path],
                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        if not wait_until(lambda: all(os.path.exists(self._out(k) + ".ready")
                                      or self.procs[k].poll() is not None
                                      for k in self.procs), timeout):
            self.stop()
            raise RuntimeError("reader load: not every reader made its first operation "
                               "within %.0f s" % timeout)
        dead = [k for k, p in self.procs.items() if p.poll() is not None]
        if dead:
            self.stop()
            raise RuntimeError("reader load: %s reader(s) exited at once: %s"
                               % (", ".join(dead), self.result.describe()))
        return self

    def stop(self, timeout=10.0):
        """Stop the readers (a reader still inside an operation after timeout seconds is
        killed and named as stuck) and return a LoadResult."""
        _unregister(self)
        if self.result is not None:
            return self.result
        open(self.stop_file, "w").close()
        deadline = time.monotonic() + timeout
        summaries, durations, stuck = {}, [], []
        for kind, p in self.procs.items():
            try:
                _, err = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                _, err = p.communicate()
                stuck.append(kind)
                continue
            try:
                with open(self._out(kind)) as f:
                    summaries[kind] = json.load(f)
                d = array.array("d")
                with open(self._out(kind) + ".dur", "rb") as f:
                    d.frombytes(f.read())
                durations.extend(d)
            except (OSError, ValueError):
                stuck.append("%s (exited %s: %s)" % (kind, p.returncode,
                                                     err.decode("utf-8", "replace")[-300:]))
        durations.sort()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.result = LoadResult(summaries, durations, stuck)
        return self.result


def run_binary(args, env, timeout=10.0, binary=None):
    """Run the binary to completion (for option errors); returns (rc, stdout, stderr).

    A binary that mounts by mistake is unmounted and killed; rc is then None.
    """
    proc = subprocess.Popen([binary or BINARY] + list(args), env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        for a in args:
            if isinstance(a, str) and os.path.isabs(a) and mounted_fstype(a):
                subprocess.run([FUSERMOUNT, "-uz", a], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
        proc.kill()
        out, err = proc.communicate()
        return None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def base_env(url=None, **overrides):
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
           "BASE44_APP_ID": APP_ID, "BASE44_SERVICE_TOKEN": SERVICE_TOKEN}
    for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    if url:
        env["BASE44_API_URL"] = url
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env
