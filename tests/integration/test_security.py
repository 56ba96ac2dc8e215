"""Security: who may read (owner, modes, allow_other, enforced by the kernel), no token in any log,
argv, environment or status file, token memory that is locked and never dumped, TLS that is always
verified, hostile API responses that can neither crash the daemon nor name a path, and the audit
log. Readers run as other users through setpriv(1) with numeric ids: no account is created."""

import errno
import json
import os
import re
import shutil
import ssl
import stat
import subprocess
import tempfile
import urllib.error
import urllib.request

import harness
from harness import (PYTHON, SERVICE_TOKEN, Emulator, Mount, TestCase, base_env, errno_of,
                     mounted_fstype, read_file, run_binary, wait_until)

SLACK = "xoxb-demo-slack-token-0001"
SHARE_POINT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.sp-demo-token"

# Numeric ids nobody uses: setpriv needs no account, and the kernel only compares numbers.
OWNER_UID = 61001        # the uid= given to the mount
OWNER_GID = 61001
SHARED_GID = 61002       # the gid= given to the mount
STRANGER_UID = 61003     # in no group of the mount
STRANGER_GID = 61003

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
CAT = os.path.realpath(shutil.which("cat") or "/bin/cat")

# Run as another user: one filesystem call, answered as "ok HEX" or "errno N".
PROBE = r"""
import os, sys
op, path = sys.argv[1], sys.argv[2]
out = b""
try:
    if op == "stat":
        os.stat(path)
    elif op == "list":
        out = "\n".join(sorted(os.listdir(path))).encode()
    elif op == "read":
        fd = os.open(path, os.O_RDONLY)
        try:
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                out += b
        finally:
            os.close(fd)
    elif op == "write":
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, sys.argv[3].encode())
        finally:
            os.close(fd)
except OSError as e:
    sys.stdout.write("errno %d\n" % e.errno)
    sys.exit(0)
sys.stdout.write("ok %s\n" % out.hex())
"""


def setpriv_cmd(uid, gid, groups=()):
    cmd = [SETPRIV, "--reuid", str(uid), "--regid", str(gid)]
    if groups:
        cmd += ["--groups", ",".join(str(g) for g in groups)]
    else:
        cmd += ["--clear-groups"]
    return cmd


def as_user(uid, gid, op, path, groups=(), arg=None):
    """(errno or None, bytes) of one call made by uid:gid (and supplementary groups)."""
    cmd = setpriv_cmd(uid, gid, groups) + [PYTHON, "-I", "-S", "-c", PROBE, op, path]
    if arg is not None:
        cmd.append(arg)
    r = subprocess.run(cmd, cwd="/", env={"PATH": "/usr/bin:/bin"}, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    out = r.stdout.decode().strip()
    if r.returncode != 0 or not out:
        raise AssertionError("probe %s %s as %d:%d failed (status %d): %s"
                             % (op, path, uid, gid, r.returncode, r.stderr.decode()))
    word, _, rest = out.partition(" ")
    if word == "errno":
        return int(rest), b""
    return None, bytes.fromhex(rest)


def refresh(mnt, name):
    """Read .connectorfs/refresh/NAME (a forced re-fetch); the errno it failed with, or None."""
    return harness.refresh(mnt, name)[1]


def open_to_others(testcase, mnt):
    """Make the mountpoint reachable by other users (the harness puts it in a 0700 dir)."""
    os.chmod(mnt.tmp, 0o755)
    d = os.path.dirname(mnt.tmp)
    while True:
        if not os.stat(d).st_mode & stat.S_IXOTH:
            testcase.skipTest("%s is not searchable by other users" % d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent


def daemon_children(pid):
    """Pids whose parent is pid (the fusermount3 auto_unmount watchdog, ...)."""
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(p))
    return kids


def proc_bytes(pid, name):
    with open("/proc/%d/%s" % (pid, name), "rb") as f:
        return f.read()


def smaps(pid):
    """[(start, end, perms, name, set of VmFlags, Rss in kB)] of pid."""
    maps = []
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if m:
                maps.append([int(m.group(1), 16), int(m.group(2), 16), m.group(3),
                             m.group(4), set(), 0])
            elif line.startswith("VmFlags:") and maps:
                maps[-1][4] = set(line.split(":", 1)[1].split())
            elif line.startswith("Rss:") and maps:
                maps[-1][5] = int(line.split()[1])
    return maps


# Larger mappings are sanitizer shadow memory (terabytes, reserved, never a heap).
SCAN_MAPPING_MAX = 1 << 30
SCAN_CHUNK = 4 << 20


def memory_hits(pid, needles):
    """[(needle, address, mapping name, locked)] for every copy of a needle in pid's memory."""
    hits = []
    overlap = max(len(n) for n in needles) - 1
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for start, end, perms, name, flags, rss in smaps(pid):
            if "r" not in perms or rss == 0 or end - start > SCAN_MAPPING_MAX \
                    or name in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            pos, tail = start, b""
            while pos < end:
                try:
                    mem.seek(pos)
                    chunk = mem.read(min(SCAN_CHUNK, end - pos))
                except (OSError, OverflowError, ValueError):
                    break
                if not chunk:
                    break
                data = tail + chunk
                base = pos - len(tail)
                for needle in needles:
                    i = data.find(needle)
                    while i >= 0:
                        if i + len(needle) > len(tail):  # not already found in the last chunk
                            hits.append((needle, base + i, name or "[anon]", "lo" in flags))
                        i = data.find(needle, i + 1)
                tail = data[-overlap:] if overlap > 0 else b""
                pos += len(chunk)
    return hits


def sanitized(pid):
    """True when pid runs under AddressSanitizer, whose mlock() interceptor does nothing."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def status_field_kb(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))


class PermissionTest(TestCase):
    """uid=/gid=/mode=/dir_mode= with default_permissions; allow_other only when asked."""

    def test_without_allow_other_another_user_cannot_even_stat_the_mount(self):
        # World-readable modes: only the missing allow_other keeps the other user out.
        mnt = self.mount(["ttl=60", "mode=0444", "dir_mode=0555"])
        open_to_others(self, mnt)
        token = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(token))
        for op, path in (("stat", mnt.path), ("list", mnt.path), ("read", token)):
            with self.subTest(op=op, path=path):
                err, data = as_user(STRANGER_UID, STRANGER_GID, op, path)
                self.assertEqual(errno.EACCES, err, "got %s %r" % (errno.errorcode.get(err),
                                                                   data))

    def test_allow_other_with_default_owner_and_modes_keeps_other_users_out(self):
        mnt = self.mount(["ttl=60", "allow_other"])
        open_to_others(self, mnt)
        token = os.path.join(mnt.path, "slack", "access_token")
        err, _ = as_user(STRANGER_UID, STRANGER_GID, "stat", mnt.path)
        self.assertIsNone(err, "with allow_other the root folder itself may be stat'ed")
        for op, path in (("read", token), ("stat", token), ("list", mnt.path),
                         ("read", os.path.join(mnt.path, ".connectorfs", "status.json"))):
            with self.subTest(op=op, path=path):
                err, data = as_user(STRANGER_UID, STRANGER_GID, op, path)
                self.assertEqual(errno.EACCES, err, "got %s %r" % (errno.errorcode.get(err),
                                                                   data))
        # The kernel refused before asking the daemon: not even a fetch.
        self.assertNoRequests("slack")
        self.assertEqual(SLACK.encode(), read_file(token))

    def test_allow_other_with_uid_lets_that_user_read_and_no_one_else(self):
        mnt = self.mount(["ttl=60", "allow_other", "uid=%d" % OWNER_UID])
        open_to_others(self, mnt)
        token = os.path.join(mnt.path, "share_point", "access_token")
        st = os.stat(token)
        self.assertEqual((OWNER_UID, 0o400), (st.st_uid, stat.S_IMODE(st.st_mode)))
        err, data = as_user(OWNER_UID, OWNER_GID, "read", token)
        self.assertIsNone(err, errno.errorcode.get(err))
        self.assertEqual(SHARE_POINT.encode(), data)
        err, data = as_user(OWNER_UID, OWNER_GID, "read",
                            os.path.join(mnt.path, "share_point", "connectionConfig",
                                         "subdomain"))
        self.assertEqual((None, b"contoso"), (err, data))
        # Same group as the owner, other uid: mode 0400 gives the group nothing.
        for uid, gid in ((STRANGER_UID, STRANGER_GID), (STRANGER_UID, OWNER_GID)):
            with self.subTest(uid=uid, gid=gid):
                err, _ = as_user(uid, gid, "read", token)
                self.assertEqual(errno.EACCES, err, errno.errorcode.get(err))

    def test_group_mode_lets_group_members_read_and_keeps_others_out(self):
        mnt = self.mount(["ttl=60", "allow_other", "gid=%d" % SHARED_GID, "mode=0440",
                          "dir_mode=0550"])
        open_to_others(self, mnt)
        token = os.path.join(mnt.path, "slack", "access_token")
        cases = [
            ("supplementary member", STRANGER_UID, STRANGER_GID, (SHARED_GID,), None),
            ("primary group", STRANGER_UID, SHARED_GID, (), None),
            ("not a member", STRANGER_UID, STRANGER_GID, (), errno.EACCES),
            ("member of another group", STRANGER_UID, STRANGER_GID, (OWNER_GID,),
             errno.EACCES),
        ]
        for case, uid, gid, groups, want in cases:
            with self.subTest(case=case):
                err, data = as_user(uid, gid, "read", token, groups=groups)
                self.assertEqual(want, err, "got %s" % errno.errorcode.get(err))
                if want is None:
                    self.assertEqual(SLACK.encode(), data)

    def test_no_user_may_write_under_the_refresh_folder(self):
        # Refreshes are forced by reading .connectorfs/refresh/NAME; the mount is read-only, so
        # a write there fails with EROFS for everyone (root included) and makes no request.
        mnt = self.mount(["ttl=60", "allow_other", "mode=0444", "dir_mode=0555"])
        open_to_others(self, mnt)
        token = os.path.join(mnt.path, "slack", "access_token")
        err, data = as_user(STRANGER_UID, STRANGER_GID, "read", token)
        self.assertEqual((None, SLACK.encode()), (err, data))
        before = self.emu.count("slack")
        for name in ("slack", "all"):
            path = harness.refresh_path(mnt, name)
            with self.subTest(user="stranger", name=name):
                err, _ = as_user(STRANGER_UID, STRANGER_GID, "write", path, arg="slack\n")
                self.assertEqual(errno.EROFS, err, errno.errorcode.get(err))
            with self.subTest(user="root", name=name):
                self.assertEqual(errno.EROFS, errno_of(os.open, path, os.O_WRONLY))
        self.assertEqual(before, self.emu.count("slack"), "a refused write made a request")


class LeakTest(TestCase):
    """No token or service token in a log, argv, an environment or a status file."""

    def token_file(self):
        d = tempfile.mkdtemp(prefix="cfs-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "service-token")
        with open(path, "w") as f:
            f.write(SERVICE_TOKEN + "\n")
        os.chmod(path, 0o600)
        return path

    def all_tokens(self):
        tokens = set(self.emu.all_secrets()) | {SERVICE_TOKEN}
        return sorted(t.encode() for t in tokens if len(t) >= 4)

    def assertNoToken(self, where, data):
        leaked = [len(t) for t in self.all_tokens() if t in data]
        self.assertEqual([], leaked, "%s holds token value(s) of length(s) %s" % (where, leaked))

    def test_no_token_reaches_the_debug_log_argv_environment_or_status_files(self):
        mnt = self.mount(["ttl=60", "timeout=1", "token_file=" + self.token_file()],
                         env={"BASE44_SERVICE_TOKEN": None}, args=["-d"])
        mnt.expect_log(r".")  # -d logs every request; the token checks below still apply
        types = ("slack", "share_point", "github", "notion", "googlecalendar")

        def read_everything():
            for t in types:
                base = os.path.join(mnt.path, t)
                for name in ("access_token", "connection.json", "env"):
                    read_file(os.path.join(base, name))
                for key in os.listdir(os.path.join(base, "connectionConfig")):
                    read_file(os.path.join(base, "connectionConfig", key))

        read_everything()
        for t in ("slack", "notion"):
            self.emu.rotate(t)
        self.emu.rotate("github", length=3000)
        text, err = harness.refresh(mnt, "all")
        self.assertIsNone(err, harness.errname(err))
        self.assertNoToken("the output of refresh/all", text.encode())
        read_everything()

        self.emu.fail("slack", status=500, body={"detail": "database on fire"})
        self.assertEqual(errno.EIO, refresh(mnt, "slack"))
        self.emu.fail("github", status=401)
        self.assertEqual(errno.EACCES, refresh(mnt, "github"))
        self.emu.fail("notion", action="malformed")
        self.assertEqual(errno.EIO, refresh(mnt, "notion"))
        self.emu.fail("share_point", action="hang", delay=3)
        self.assertEqual(errno.ETIMEDOUT, refresh(mnt, "share_point"))
        self.emu.fail("googlecalendar", action="wrong_shape")
        self.assertEqual(errno.EIO, refresh(mnt, "googlecalendar"))
        self.assertEqual(errno.ENOENT, errno_of(read_file, os.path.join(
            mnt.path, "notconnected", "access_token")))

        status = read_file(os.path.join(mnt.path, ".connectorfs", "status.json"))
        json.loads(status)
        metrics = read_file(os.path.join(mnt.path, ".connectorfs", "metrics"))
        self.assertIn(b"connectorfs_", metrics)
        self.assertNoToken("status.json", status)
        self.assertNoToken("metrics", metrics)
        self.assertNoToken("the daemon log", mnt.log_text().encode())
        self.assertNoToken("/proc/PID/cmdline", proc_bytes(mnt.pid, "cmdline"))
        self.assertNoToken("/proc/PID/environ", proc_bytes(mnt.pid, "environ"))
        for kid in daemon_children(mnt.pid):
            with self.subTest(child=proc_bytes(kid, "cmdline").split(b"\0")[0]):
                self.assertNoToken("a child's cmdline", proc_bytes(kid, "cmdline"))
                self.assertNoToken("a child's environ", proc_bytes(kid, "environ"))

    def test_service_token_from_the_environment_does_not_reach_a_child_process(self):
        mnt = self.mount(["ttl=60"])  # the harness passes BASE44_SERVICE_TOKEN in the env
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        kids = daemon_children(mnt.pid)
        for kid in kids:
            name = proc_bytes(kid, "cmdline").split(b"\0")[0].decode(errors="replace")
            with self.subTest(child=name, pid=kid):
                self.assertNotIn(SERVICE_TOKEN.encode(), proc_bytes(kid, "cmdline"))
                self.assertNotIn(SERVICE_TOKEN.encode(), proc_bytes(kid, "environ"),
                                 "the daemon's child %s (pid %d) inherited "
                                 "BASE44_SERVICE_TOKEN in its environment" % (name, kid))

    def test_server_message_echoing_the_service_token_is_not_logged(self):
        # A careless or hostile API may quote the credential back in its error message.
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: access denied by the API \(HTTP 401")
        self.emu.fail("slack", status=401,
                      body={"detail": "bad credential Bearer %s" % SERVICE_TOKEN})
        self.assertErrno(errno.EACCES, read_file,
                         os.path.join(mnt.path, "slack", "access_token"))
        status = read_file(os.path.join(mnt.path, ".connectorfs", "status.json"))
        self.assertNotIn(SERVICE_TOKEN.encode(), status, "status.json quotes the service token")
        self.assertNotIn(SERVICE_TOKEN, mnt.log_text(), "the log quotes the service token")


class MemoryTest(TestCase):
    """Tokens in mlock'ed, undumpable memory, zeroed when replaced; no core dumps."""

    maxDiff = None

    def mount_from_token_file(self):
        d = tempfile.mkdtemp(prefix="cfs-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "service-token")
        with open(path, "w") as f:
            f.write(SERVICE_TOKEN + "\n")
        os.chmod(path, 0o600)
        return self.mount(["ttl=60", "token_file=" + path], env={"BASE44_SERVICE_TOKEN": None})

    def skip_if_mlock_is_a_no_op(self, mnt):
        if sanitized(mnt.server_pid()):
            self.skipTest("AddressSanitizer intercepts mlock() and makes it a no-op")

    def test_core_dumps_are_off(self):
        mnt = self.mount(["ttl=60"])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        # Both processes: the keeper holds the service token, the server every value.
        for pid in (mnt.pid, mnt.server_pid()):
            with open("/proc/%d/limits" % pid) as f:
                limits = f.read()
            m = re.search(r"^Max core file size\s+(\S+)\s+(\S+)", limits, re.M)
            self.assertIsNotNone(m, limits)
            self.assertEqual(("0", "0"), m.groups(), "RLIMIT_CORE must be 0 (soft and hard) "
                             "in pid %d" % pid)

    def test_token_pages_are_locked_and_excluded_from_dumps(self):
        mnt = self.mount(["ttl=60"])
        self.skip_if_mlock_is_a_no_op(mnt)
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        server = mnt.server_pid()
        self.assertGreater(status_field_kb(server, "VmLck"), 0, "no locked memory (mlock)")
        locked_undumped = [m for m in smaps(server) if {"lo", "dd"} <= m[4]]
        self.assertTrue(locked_undumped, "no mapping is both mlock'ed and MADV_DONTDUMP")
        # The handover state is one of them, in the server and in the keeper.
        for pid in (server, mnt.pid):
            state = [m for m in smaps(pid) if "connectorfs-state" in m[3]]
            self.assertTrue(state, "pid %d does not map the handover state" % pid)
            self.assertTrue(all("dd" in m[4] for m in state),
                            "the handover state is not MADV_DONTDUMP in pid %d" % pid)
        hits = memory_hits(server, [SLACK.encode()])
        self.assertTrue(any(locked for _, _, _, locked in hits),
                        "the token is in no mlock'ed page")

    def test_every_copy_of_a_token_in_daemon_memory_is_in_locked_pages(self):
        mnt = self.mount_from_token_file()
        self.skip_if_mlock_is_a_no_op(mnt)
        for t in ("slack", "share_point", "notion"):
            read_file(os.path.join(mnt.path, t, "access_token"))
        new = self.emu.rotate("slack")
        self.assertIsNone(refresh(mnt, "slack"))
        self.assertEqual(new.encode(), read_file(os.path.join(mnt.path, "slack",
                                                              "access_token")))
        needles = [t.encode() for t in self.emu.all_secrets() if len(t) >= 8]
        unlocked = [(pid, n.decode()[:6] + "...", len(n), hex(addr), name)
                    for pid in (mnt.pid, mnt.server_pid())
                    for n, addr, name, locked in memory_hits(pid, needles) if not locked]
        self.assertEqual([], unlocked,
                         "token bytes outside mlock'ed memory: (pid, prefix, length, "
                         "address, mapping)")

    def test_replaced_access_tokens_are_wiped_from_daemon_memory(self):
        # Long first tokens, short later ones: a buffer that is reused without being wiped
        # keeps the tail of the long one, so any 24-byte piece of a replaced token counts.
        types = ("slack", "notion")
        for t in types:
            self.emu.rotate(t, length=1500)
        mnt = self.mount_from_token_file()
        replaced = []
        for t in types:
            replaced.append(read_file(os.path.join(mnt.path, t, "access_token")))
        for round in range(2):
            for t in types:
                self.emu.rotate(t)
                self.assertIsNone(refresh(mnt, t))
                token = read_file(os.path.join(mnt.path, t, "access_token"))
                if round == 0:
                    replaced.append(token)
        current = [read_file(os.path.join(mnt.path, t, "access_token")) for t in types]
        pieces = {}
        for token in replaced:
            for at in (0, len(token) // 2, len(token) - 24):
                pieces[token[at:at + 24]] = len(token)
        # A replaced value lives on while the kernel still holds its inode (an open
        # file reads it to the end); the kernel's FORGET follows the name's
        # invalidation within moments, and then the value must be gone.
        state = {}

        server = mnt.server_pid()

        def scan():
            hits = memory_hits(server, list(pieces) + current) + \
                memory_hits(mnt.pid, list(pieces))
            state["hits"] = hits
            state["stale"] = sorted({(pieces[n], hex(addr), name)
                                     for n, addr, name, _ in hits if n in pieces})
            return not state["stale"]

        wait_until(scan, 3.0, 0.1)
        for token in current:
            self.assertTrue(any(h[0] == token for h in state["hits"]),
                            "a current token is not in memory: the scan is broken")
        self.assertEqual([], state["stale"], "pieces of replaced tokens still in memory "
                                             "3 s later: (token length, address, mapping)")


class TLSEmulator(Emulator):
    """The emulator over HTTPS, its control interface reached with the test CA."""

    def __init__(self, cert, key, cafile):
        super().__init__("--tls-cert", cert, "--tls-key", key)
        self.ssl_context = ssl.create_default_context(cafile=cafile)

    def start(self):
        super().start()
        self.url = "https://" + self.url.partition("://")[2]
        return self

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_control/" + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.ssl_context) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            raise harness.ControlError("%s /_control/%s: HTTP %d: %s"
                                       % (method, path, exc.code, exc.read()[:200]))


def openssl(*args, cwd):
    r = subprocess.run([OPENSSL] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" % (args[0], r.stderr.decode(errors="replace")))


def make_ca(d, name):
    """A throwaway CA: (cert path, key path)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "2",
            "-subj", "/CN=connectorfs test " + name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def make_server_cert(d, ca_name, name):
    """A server certificate for IP 127.0.0.1 signed by ca_name: (cert path, key path)."""
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
            "-subj", "/CN=127.0.0.1", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", ca_name + ".pem",
            "-CAkey", ca_name + ".key", "-CAcreateserial", "-out", name + ".pem",
            "-days", "2", "-extfile", name + ".ext", cwd=d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


# api_url values that are plain http to somewhere that is not (or may not be) loopback.
PLAIN_HTTP_REFUSED = [
    "http://10.1.2.3",
    "HTTP://10.1.2.3:8080",
    "http://127.0.0.1.nip.io",
    "http://localhost.example.com",
    "http://127.0.0.1@10.1.2.3",
    "http://[::ffff:10.1.2.3]/",
]


class TLSCase(TestCase):
    """A test class with the emulator over TLS: a CA of its own ("ca", in cls.ca), a server
    certificate it signed (cls.server_cert), and cls.tls, reset before each test."""

    tls = None
    certdir = None

    @classmethod
    def make_certs(cls):
        """More certificates a class needs, made in cls.certdir."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certdir = tempfile.mkdtemp(prefix="cfs-tls-")
        try:
            cls.ca, _ = make_ca(cls.certdir, "ca")
            cls.make_certs()
            cls.server_cert = make_server_cert(cls.certdir, "ca", "server")
            cls.tls = TLSEmulator(*cls.server_cert, cls.ca).start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.tls is not None:
            cls.tls.stop()
            cls.tls = None
        if cls.certdir:
            shutil.rmtree(cls.certdir, ignore_errors=True)
            cls.certdir = None
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.tls.reset()
        self.tls.types = set(harness.SEED_TYPES)
        self.tls.secrets = set()


class TLSTest(TLSCase):
    """TLS is always verified; cacert= trusts a private CA; plain http only to loopback."""

    @classmethod
    def make_certs(cls):
        cls.other_ca, _ = make_ca(cls.certdir, "otherca")

    def mount_tls(self, options, env=None):
        m = Mount(self.tls, options=options, env=env)
        m.start()
        self.addCleanup(m.finish)
        return m

    def assertOneTLSFailure(self, mnt, type):
        lines = [l for l in mnt.log_text().splitlines() if "%s:" % type in l]
        self.assertEqual(1, len(lines), "want one log line for %s:\n%s"
                         % (type, mnt.log_text()))
        self.assertRegex(lines[0], r"(?i)certificate|TLS")

    def test_server_certificate_from_an_unknown_ca_is_eproto_and_logged(self):
        mnt = self.mount_tls(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: TLS .*certificate")
        self.assertErrno(errno.EPROTO, read_file, os.path.join(mnt.path, "slack",
                                                               "access_token"))
        self.assertOneTLSFailure(mnt, "slack")
        self.assertEqual([], self.tls.requests("slack"), "a request got through")

    def test_cacert_of_another_ca_is_still_eproto(self):
        mnt = self.mount_tls(["ttl=60", "cacert=" + self.other_ca])
        mnt.expect_log(r"^connectorfs: slack: TLS .*certificate")
        self.assertErrno(errno.EPROTO, read_file, os.path.join(mnt.path, "slack",
                                                               "access_token"))
        self.assertOneTLSFailure(mnt, "slack")

    def test_cacert_of_the_signing_ca_reads_the_token(self):
        mnt = self.mount_tls(["ttl=60", "cacert=" + self.ca])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        self.assertEqual(SHARE_POINT.encode(), read_file(os.path.join(
            mnt.path, "share_point", "access_token")))
        reqs = self.tls.requests("slack")
        self.assertEqual(1, len(reqs))
        self.assertEqual("Bearer " + SERVICE_TOKEN, reqs[0]["headers"]["authorization"])

    def test_certificate_for_another_host_name_is_eproto_even_with_the_right_ca(self):
        # The certificate names IP 127.0.0.1 only; "localhost" reaches the same server.
        port = self.tls.url.rpartition(":")[2]
        mnt = self.mount_tls(["ttl=60", "cacert=" + self.ca],
                             env={"BASE44_API_URL": "https://localhost:" + port})
        mnt.expect_log(r"^connectorfs: slack: TLS ")
        self.assertErrno(errno.EPROTO, read_file, os.path.join(mnt.path, "slack",
                                                               "access_token"))
        self.assertOneTLSFailure(mnt, "slack")
        self.assertEqual([], self.tls.requests("slack"), "a request got through")

    def test_plain_http_to_a_non_loopback_host_is_refused_before_mounting(self):
        d = tempfile.mkdtemp(prefix="cfs-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        for url in PLAIN_HTTP_REFUSED:
            with self.subTest(url=url):
                rc, out, err = run_binary(["-f", "-o", "api_url=" + url, mnt],
                                          base_env(self.emu.url), timeout=5)
                self.assertIsNone(mounted_fstype(mnt), "it mounted")
                self.assertEqual(2, rc, "stderr: %r" % err)
                lines = err.strip().splitlines()
                self.assertEqual(1, len(lines), "want one line, got: %r" % err)
                self.assertRegex(lines[0], r"api_url")
                self.assertNotIn(SERVICE_TOKEN, out + err)


def nested_arrays(depth):
    return "[" * depth + "]" * depth


def nested_objects(depth):
    return '{"a":' * depth + "1" + "}" * depth


HOSTILE_TOKEN = "hostile-token-0123456789"

# 200 bodies that are not a connection: each must be EIO and one log line, never a crash.
MALFORMED_BODIES = [
    ("truncated JSON", '{"access_token": "abc'),
    ("access_token a number", '{"access_token": 5}'),
    ("no access_token", '{"integration_type": "x"}'),
    ("a JSON array", "[]"),
    ("JSON null", "null"),
    ("not JSON", "<html>502 Bad Gateway</html>"),
    ("empty body", ""),
    ("1000 nested arrays in a config value",
     '{"access_token":"%s","connection_config":{"k":%s}}'
     % (HOSTILE_TOKEN, nested_arrays(1000))),
    ("30000 nested arrays in a config value",
     '{"access_token":"%s","connection_config":{"k":%s}}'
     % (HOSTILE_TOKEN, nested_arrays(30000))),
    ("5000 nested objects in a config value",
     '{"access_token":"%s","connection_config":{"k":%s}}'
     % (HOSTILE_TOKEN, nested_objects(5000))),
    ("30000 nested arrays at the top", nested_arrays(30000)),
]

UNSAFE_KEYS = ["..", ".", "a/b", "", "k" * 200, "k" * 129, "x\nz", "../../escape",
               "/abs", "sp ace", "\u00e9t\u00e9"]
SAFE_KEYS = ["ok", "k" * 128, "A-z.0_9", ".hidden"]


class HostileResponseTest(TestCase):
    """Capped bodies, defensive parsing, config keys that must never become paths."""

    def test_oversized_body_is_eio_and_logged_and_other_connectors_still_served(self):
        mnt = self.mount(["ttl=60"])
        mnt.extra_secrets.add("huge-token-0123456789")
        mnt.expect_log(r"^connectorfs: (big|over): response body too large")
        self.emu.set("big", "big-token-0123456789")
        self.emu.set("over", "over-token-0123456789")
        self.emu.set("under", "under-token-0123456789")
        for t, size in (("big", 10 << 20), ("over", 64 * 1024 + 1), ("under", 60 * 1024)):
            self.emu.call("POST", "faults", {"type": t, "action": "huge", "size": size})
        for t in ("big", "over"):
            with self.subTest(type=t):
                self.assertErrno(errno.EIO, read_file, os.path.join(mnt.path, t,
                                                                    "access_token"))
                lines = [l for l in mnt.log_text().splitlines() if l.startswith(
                    "connectorfs: %s:" % t)]
                self.assertEqual(1, len(lines), mnt.log_text())
        # Below the cap a large (valid) body is accepted.
        self.assertEqual(b"huge-token-0123456789",
                         read_file(os.path.join(mnt.path, "under", "access_token")))
        self.assertIsNone(mnt.proc.poll(), "the daemon died")
        self.assertEqual(SHARE_POINT.encode(), read_file(os.path.join(
            mnt.path, "share_point", "access_token")))

    def test_malformed_and_deeply_nested_bodies_are_eio_without_a_crash(self):
        mnt = self.mount(["ttl=60"])
        mnt.extra_secrets.add(HOSTILE_TOKEN)
        mnt.expect_log(r"^connectorfs: hostile\d+: malformed response body \(HTTP 200")
        for i, (case, body) in enumerate(MALFORMED_BODIES):
            t = "hostile%d" % i
            with self.subTest(case=case):
                self.emu.fail(t, action="malformed", body=body)
                self.assertErrno(errno.EIO, read_file, os.path.join(mnt.path, t,
                                                                    "access_token"))
                self.assertIsNone(mnt.proc.poll(), "the daemon died")
                self.assertEqual(1, self.emu.count(t))
                lines = [l for l in mnt.log_text().splitlines()
                         if l.startswith("connectorfs: %s:" % t)]
                self.assertEqual(1, len(lines), mnt.log_text())
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))

    def test_config_keys_that_are_not_safe_file_names_never_become_paths(self):
        config = {k: "value of %r" % k for k in UNSAFE_KEYS + SAFE_KEYS}
        token = "unsafe-token-0123456789"
        # integration_type is the server's word, never a name in the tree.
        self.emu.set("unsafe_keys", token, config=config, integration_type="../../../evil")
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: unsafe_keys: config key that is not a safe file name")
        mnt.expect_log(r"^connectorfs: evil: connector not connected \(HTTP 404")
        host_before = sorted(os.listdir(mnt.tmp))
        base = os.path.join(mnt.path, "unsafe_keys")
        cfg = os.path.join(base, "connectionConfig")
        self.assertEqual(sorted(SAFE_KEYS), sorted(os.listdir(cfg)))
        for k in SAFE_KEYS:
            with self.subTest(key=k):
                self.assertEqual(config[k].encode(), read_file(os.path.join(cfg, k)))
        self.assertEqual(sorted(["access_token", "connectionConfig", "connection.json",
                                 "env"]), sorted(os.listdir(base)))
        self.assertTrue(mnt.wait_log(r"unsafe_keys: config key that is not a safe file name"),
                        "no log line for the unsafe keys")
        # Nothing reachable by the unsafe names, nothing outside the folder.
        for name in ("a", "z", "x", "escape", "abs", "k" * 129, "evil"):
            with self.subTest(lookup=name):
                self.assertErrno(errno.ENOENT, os.stat, os.path.join(cfg, name))
        self.assertNotIn("evil", os.listdir(mnt.path))
        self.assertErrno(errno.ENOENT, os.stat, os.path.join(mnt.path, "evil"))
        self.assertEqual(token.encode(), read_file(os.path.join(base, "access_token")))
        self.assertEqual(host_before, sorted(os.listdir(mnt.tmp)),
                         "something appeared next to the mountpoint")
        # connection.json still carries every key, JSON-escaped.
        doc = json.loads(read_file(os.path.join(base, "connection.json")))
        self.assertEqual({"accessToken": token, "connectionConfig": config}, doc)
        env = read_file(os.path.join(base, "env")).decode()
        for line in env.splitlines():
            self.assertRegex(line, r"^UNSAFE_KEYS_[A-Z0-9_]+=", "env line %r" % line)

    def test_config_key_holding_a_nul_byte_is_left_out_not_cut_short(self):
        # "subdomain\u0000evil" is not a safe file name: cut at the NUL it would replace the
        # real "subdomain" (and connection.json would lose a key getConnection() returns).
        config = {"subdomain": "contoso", "subdomain\u0000evil": "attacker",
                  "only\u0000x": "v"}
        self.emu.set("nul_keys", "nul-keys-token-0123456789", config=config)
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: nul_keys: config key that is not a safe file name")
        cfg = os.path.join(mnt.path, "nul_keys", "connectionConfig")
        self.assertEqual(["subdomain"], sorted(os.listdir(cfg)))
        self.assertEqual(b"contoso", read_file(os.path.join(cfg, "subdomain")))
        self.assertErrno(errno.ENOENT, os.stat, os.path.join(cfg, "only"))
        doc = json.loads(read_file(os.path.join(mnt.path, "nul_keys", "connection.json")))
        self.assertEqual(config, doc["connectionConfig"])
        self.assertTrue(mnt.wait_log(r"nul_keys: config key that is not a safe file name", 1.0),
                        "no log line for the keys holding a NUL byte")

    def test_config_values_with_newlines_quotes_and_nul_are_served_exactly(self):
        d = tempfile.mkdtemp(prefix="cfs-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        canary = os.path.join(d, "pwned")
        config = {
            "multi": "line1\nline2\n",
            "inject": "x\nEVIL_INJECTED=1",
            "shell": "a'b\"c $(touch %s) `touch %s` ${HOME}" % (canary, canary),
            "crlf": "one\r\ntwo",
            "nul": "a\u0000b",
            "trailing_nul": "end\u0000",
        }
        self.emu.set("odd_values", "odd-token-0123456789", config=config)
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: odd_values: config value \S+ holds a NUL byte; "
                       r"left out of env")
        cfg = os.path.join(mnt.path, "odd_values", "connectionConfig")
        self.assertEqual(sorted(config), sorted(os.listdir(cfg)))
        for k, v in config.items():
            with self.subTest(key=k):
                got = read_file(os.path.join(cfg, k))
                self.assertEqual(v.encode(), got)
                self.assertEqual(len(got), os.stat(os.path.join(cfg, k)).st_size)
        doc = json.loads(read_file(os.path.join(mnt.path, "odd_values", "connection.json")))
        self.assertEqual(config, doc["connectionConfig"])
        # The env file, read back by sh, gives every NUL-free value exactly and runs nothing.
        env_path = os.path.join(mnt.path, "odd_values", "env")
        self.assertNotIn(b"\0", read_file(env_path))
        r = subprocess.run(["/bin/sh", "-c", 'set -a; . "$1"; exec env -0', "sh", env_path],
                           env={"PATH": "/usr/bin:/bin"}, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, cwd="/")
        self.assertEqual(0, r.returncode, r.stderr)
        got_env = dict(item.split("=", 1) for item in r.stdout.decode().split("\0") if item)
        for k in ("multi", "inject", "shell", "crlf"):
            with self.subTest(env=k):
                self.assertEqual(config[k], got_env.get("ODD_VALUES_" + k.upper()))
        self.assertNotIn("EVIL_INJECTED", got_env)
        self.assertFalse(os.path.exists(canary), "sourcing env ran a command")

    def test_server_message_cannot_forge_log_lines(self):
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: slack: server error \(HTTP 500\): boom")
        forged = "connectorfs: mounted /forged (app x, api y, ttl 1s)"
        self.emu.fail("slack", status=500,
                      body={"message": "boom\n%s\r\n\x1b[2Jafter" % forged})
        self.assertErrno(errno.EIO, read_file, os.path.join(mnt.path, "slack",
                                                            "access_token"))
        lines = mnt.log_text().splitlines()
        self.assertEqual([], [l for l in lines if l.startswith(forged[:25])],
                         "a server message became a log line of its own")
        self.assertEqual(1, len([l for l in lines if "boom" in l]), mnt.log_text())
        self.assertNotIn("\x1b", mnt.log_text())


class AuditTest(TestCase):
    """audit=PATH: one JSON line per open of a connector file, never the value."""

    def audit_path(self):
        d = tempfile.mkdtemp(prefix="cfs-audit-")
        self.addCleanup(shutil.rmtree, d, True)
        return os.path.join(d, "audit.log")

    @staticmethod
    def records(path):
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines()]

    def cat(self, path, user=None):
        cmd = ["cat", path] if user is None else setpriv_cmd(*user) + [CAT, path]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd="/")
        out, err = proc.communicate(timeout=20)
        self.assertEqual(0, proc.returncode, err)
        return proc.pid, out

    def test_each_open_appends_one_line_naming_reader_and_path_never_the_value(self):
        audit = self.audit_path()
        mnt = self.mount(["ttl=60", "audit=" + audit])
        files = [
            ("/share_point/access_token", SHARE_POINT.encode()),
            ("/share_point/env", None),
            ("/share_point/connection.json", None),
            ("/share_point/connectionConfig/subdomain", b"contoso"),
            ("/share_point/access_token", SHARE_POINT.encode()),  # a warm re-open counts too
        ]
        for i, (rel, want) in enumerate(files):
            with self.subTest(path=rel, n=i):
                pid, out = self.cat(mnt.path + rel)
                if want is not None:
                    self.assertEqual(want, out)
                self.assertTrue(wait_until(lambda: len(self.records(audit)) >= i + 1, 2.0),
                                "no audit line for %s" % rel)
                recs = self.records(audit)
                self.assertEqual(i + 1, len(recs), recs)
                rec = recs[-1]
                self.assertLessEqual({"time", "uid", "gid", "pid", "exe", "path"}, set(rec))
                self.assertEqual((os.getuid(), os.getgid(), pid, CAT, rel),
                                 (rec["uid"], rec["gid"], rec["pid"], rec["exe"],
                                  rec["path"]))
        os.stat(mnt.path + "/share_point/access_token")  # a stat is not an open
        with open(audit, "rb") as f:
            text = f.read()
        self.assertEqual(len(files), len(text.splitlines()))
        for secret in (SHARE_POINT.encode(), SERVICE_TOKEN.encode()):
            self.assertNotIn(secret, text)
        self.assertEqual(0, os.stat(audit).st_mode & 0o022, "audit log writable by others")

    def test_an_open_by_another_user_records_that_user(self):
        audit = self.audit_path()
        mnt = self.mount(["ttl=60", "audit=" + audit, "allow_other", "uid=%d" % OWNER_UID,
                          "gid=%d" % SHARED_GID])
        open_to_others(self, mnt)
        pid, out = self.cat(mnt.path + "/slack/access_token",
                            user=(OWNER_UID, OWNER_GID, (SHARED_GID,)))
        self.assertEqual(SLACK.encode(), out)
        self.assertTrue(wait_until(lambda: len(self.records(audit)) >= 1, 2.0), "no audit line")
        recs = self.records(audit)
        self.assertEqual(1, len(recs), recs)
        self.assertEqual((OWNER_UID, OWNER_GID, pid, CAT, "/slack/access_token"),
                         (recs[0]["uid"], recs[0]["gid"], recs[0]["pid"], recs[0]["exe"],
                          recs[0]["path"]))
        with open(audit) as f:
            self.assertNotIn(SLACK, f.read())

    def test_unwritable_audit_path_exits_2_before_mounting_with_one_line(self):
        d = tempfile.mkdtemp(prefix="cfs-sec-")
        self.addCleanup(shutil.rmtree, d, True)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        for bad in ("/proc/nope/audit.log", d, os.path.join(d, "missing", "audit.log")):
            with self.subTest(audit=bad):
                rc, out, err = run_binary(["-f", "-o", "audit=" + bad, mnt],
                                          base_env(self.emu.url), timeout=5)
                self.assertIsNone(mounted_fstype(mnt), "it mounted")
                self.assertEqual(2, rc, "stderr: %r" % err)
                lines = err.strip().splitlines()
                self.assertEqual(1, len(lines), "want one line, got: %r" % err)
                self.assertIn(bad, lines[0])
        self.assertNoRequests()

