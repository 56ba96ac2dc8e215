"""Deployment: connectorfs where people run it. `make install` and the man page (every option
the code accepts is documented), mount(8) and fstab, systemd's notify protocol and credentials
(spoken to without systemd), read-only binds into another mount namespace as a container
runtime makes them, the Prometheus metrics file, and the management listing (--list,
--list-available, and the root listed with a management credential).

Mount namespaces are made with unshare(1) and readers switch uid with setpriv(1) (util-linux):
no container runtime, account or system path is needed. mount(8) starts its helpers with no
PATH (util-linux drops it), so /bin/sh looks connectorfs up on its default path; the mount(8)
tests put the binary there by bind-mounting a temporary folder over /usr/local/sbin inside a
private mount namespace, so nothing is installed on the host."""

import errno
import json
import os
import re
import shutil
import signal
import socket
import struct
import stat
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import (APP_ID, PYTHON, REPO, SEED_TYPES, SERVICE_TOKEN, Emulator, Mount, MountError,
                     TestCase, base_env, mounted_fstype, read_file, run_binary, wait_until)

SLACK = "xoxb-demo-slack-token-0001"
API_KEY = "demo-api-key"           # the emulator's default management key
B44K_KEY = "b44k_test"             # an app API key: sent as an api_key header

READER_UID = 61001                 # numeric ids nobody uses (as in test_security.py)

MAKE = shutil.which("make") or "/usr/bin/make"
MAN = shutil.which("man")
LEXGROG = shutil.which("lexgrog")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
MOUNT = "/bin/mount" if os.path.exists("/bin/mount") else (shutil.which("mount") or "mount")
MOUNT_FUSE3 = [p for p in ("/sbin/mount.fuse3", "/usr/sbin/mount.fuse3") if os.path.exists(p)]
# dash's built-in PATH (Debian's /bin/sh), what a helper mount(8) runs searches; its first
# folder is empty on Debian, and is where the tests bind a folder holding the binary.
SH_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SH_DEFAULT_PATH_DIR = "/usr/local/sbin"
SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"

CONFIG_C = os.path.join(REPO, "lib", "config.c")
OPTIONS_C = os.path.join(REPO, "fs", "options.c")
MAN_PAGE = os.path.join(REPO, "fs", "connectorfs.1")
UNIT = os.path.join(REPO, "scripts", "connectorfs.service")
BUILT = os.path.join(REPO, "fs", "connectorfs")   # what `make install` copies


# ---- helpers ----------------------------------------------------------------------------------

def scratch(testcase, mode=0o700):
    d = tempfile.mkdtemp(prefix="cfs-deploy-")
    os.chmod(d, mode)
    testcase.addCleanup(shutil.rmtree, d, True)
    return d


def run(cmd, env=None, timeout=60, cwd=None, input=None):
    """(status, stdout, stderr) of a command run to completion."""
    r = subprocess.run(cmd, env=env, cwd=cwd, input=input,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def clean_env(**extra):
    """A minimal environment for tools (no BASE44_*, no make variables from outside)."""
    env = {"PATH": os.environ.get("PATH", SAFE_PATH), "LC_ALL": "C.UTF-8"}
    env.update(extra)
    return env


def pids_mentioning(path):
    """Pids whose argv names path (a daemon or watchdog on a test's own temp mountpoint)."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if path.encode() in argv:
            found.append(int(p))
    return found


def alive(pid):
    """True while pid runs (a zombie nobody reaped has exited)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def kill_leftovers(path):
    """Stop whatever this test started on path and is still running (by pid)."""
    for pid in pids_mentioning(path):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def code_config_options():
    """The option names lib/config.c's config_options[] table accepts."""
    with open(CONFIG_C) as f:
        src = f.read()
    m = re.search(r"config_options\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    if m is None:
        raise AssertionError("no config_options[] table in lib/config.c")
    return re.findall(r'\{\s*"([A-Za-z0-9_]+)"\s*,\s*CK_', m.group(1))


def code_option_keys():
    """The flags fs/options.c's FUSE_OPT_KEY entries accept (-f, --help, debug, ...)."""
    with open(OPTIONS_C) as f:
        return re.findall(r'FUSE_OPT_KEY\(\s*"([^"]+)"', f.read())


def code_environment():
    """Every variable lib/ and fs/ read with getenv()."""
    names = set()
    for d in ("lib", "fs"):
        for name in sorted(os.listdir(os.path.join(REPO, d))):
            if name.endswith(".c"):
                with open(os.path.join(REPO, d, name)) as f:
                    names.update(re.findall(r'getenv\(\s*"([A-Z0-9_]+)"\s*\)', f.read()))
    return names


def man_source_text():
    """The man page source with font escapes dropped and \\- read as -."""
    with open(MAN_PAGE) as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\&", "")


def mentions(text, word):
    """word appears in text as a whole option (mode= is not found inside dir_mode=)."""
    if word.endswith("="):
        pat = r"(?<![\w-])%s" % re.escape(word)
    else:
        pat = r"(?<![\w-])%s(?![\w=-])" % re.escape(word)
    return re.search(pat, text) is not None


def table(text, columns):
    """Rows of a table printed with a header naming columns; split at the header's offsets."""
    lines = text.splitlines()
    if not lines:
        raise AssertionError("empty output")
    header = lines[0]
    starts = []
    for col in columns:
        m = re.search(r"(?:^|(?<=\s))%s(?=\s|$)" % re.escape(col), header)
        if m is None:
            raise AssertionError("header %r has no column %s" % (header, col))
        starts.append(m.start())
    if starts != sorted(starts) or starts[0] != 0:
        raise AssertionError("header %r: columns out of order" % header)
    rows = []
    for line in lines[1:]:
        cells = []
        for i, s in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            cells.append(line[s:end].strip())
        rows.append(cells)
    return header, rows


# Prometheus text exposition format 0.0.4
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_LINE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)$" % METRIC_NAME)
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')
META_LINE = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % METRIC_NAME)
METRIC_TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_metrics(text):
    """{(name, frozenset(labels)): value} and {name: type}; raises on any format error."""
    if not text.endswith("\n"):
        raise AssertionError("the metrics file does not end with a newline")
    helps, types, samples, order = {}, {}, {}, []
    for n, line in enumerate(text.splitlines(), 1):
        where = "metrics line %d %r" % (n, line)
        if line == "":
            raise AssertionError(where + ": empty line")
        if line.startswith("#"):
            m = META_LINE.match(line)
            if m is None:
                raise AssertionError(where + ": a comment that is neither HELP nor TYPE")
            kind, name, rest = m.groups()
            seen = helps if kind == "HELP" else types
            if name in seen:
                raise AssertionError(where + ": a second # %s for %s" % (kind, name))
            if any(k[0] == name for k in samples):
                raise AssertionError(where + ": # %s after %s's samples" % (kind, name))
            if kind == "TYPE" and rest not in METRIC_TYPES:
                raise AssertionError(where + ": unknown type %r" % rest)
            if kind == "HELP" and not rest.strip():
                raise AssertionError(where + ": empty help")
            seen[name] = rest
            continue
        m = SAMPLE_LINE.match(line)
        if m is None:
            raise AssertionError(where + ": not `name{labels} value`")
        name, labels_text, value_text = m.groups()
        labels = {}
        if labels_text is not None:
            pos = 0
            while pos < len(labels_text):
                lm = LABEL_PAIR.match(labels_text, pos)
                if lm is None:
                    raise AssertionError(where + ": bad label at %r" % labels_text[pos:])
                if lm.group(1) in labels:
                    raise AssertionError(where + ": label %s twice" % lm.group(1))
                labels[lm.group(1)] = lm.group(2)
                pos = lm.end()
                if pos < len(labels_text):
                    if labels_text[pos] != ",":
                        raise AssertionError(where + ": labels not separated by ','")
                    pos += 1
        try:
            value = float(value_text)
        except ValueError:
            raise AssertionError(where + ": value %r is not a float" % value_text)
        if name not in helps or name not in types:
            raise AssertionError(where + ": a sample before its # HELP and # TYPE")
        if order and order[-1] != name and name in order:
            raise AssertionError(where + ": %s's samples are not one group" % name)
        if not order or order[-1] != name:
            order.append(name)
        key = (name, frozenset(labels.items()))
        if key in samples:
            raise AssertionError(where + ": the same series twice")
        samples[key] = value
    for name in set(helps) | set(types):
        if name not in helps or name not in types:
            raise AssertionError("%s has a # HELP or # TYPE line but not both" % name)
    return samples, types


def sample(samples, name, **labels):
    key = (name, frozenset(labels.items()))
    if key not in samples:
        raise AssertionError("no sample %s%s; have %s" % (
            name, labels, sorted("%s%s" % (k[0], dict(k[1])) for k in samples)))
    return samples[key]


class MountAt(Mount):
    """A harness Mount on a folder the test chose (the harness always makes a fresh one); the
    temp folder holds only the daemon's log."""

    def __init__(self, emulator, at, **kw):
        super().__init__(emulator, **kw)
        self.at = at

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="cfs-mnt-")
        self.path = self.at
        self.log_path = os.path.join(self.tmp, "daemon.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.command(), env=self.environment(),
                                     stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        harness._register(self)
        if wait_until(lambda: mounted_fstype(self.path) == "fuse.connectorfs"
                      or self.proc.poll() is not None, harness.START_TIMEOUT, 0.01) \
                and self.proc.poll() is None:
            return self
        log = self.log_text()
        self.stop()
        raise MountError("not mounted on %s; daemon log:\n%s" % (self.at, log))


def finish_once(testcase, mnt):
    """Start mnt, and finish it (unmount, log check) at cleanup or when called, once."""
    mnt.start()
    done = []

    def finish():
        if not done:
            done.append(True)
            mnt.finish()
    testcase.addCleanup(finish)
    return finish


# ---- install and the man page -----------------------------------------------------------------

class InstallTest(unittest.TestCase):
    """make install / uninstall with PREFIX and DESTDIR, and what it installs."""

    def make(self, *args):
        # -o: install what is built; never rebuild here while other suites may be running.
        old = ["-o", "fs/connectorfs"] if os.access(BUILT, os.X_OK) else []
        rc, out, err = run([MAKE, "--no-print-directory", "-C", REPO] + old + list(args),
                           env=clean_env(), timeout=600)
        self.assertEqual(0, rc, "make %s failed:\n%s%s" % (" ".join(args), out, err))
        return out

    @staticmethod
    def files_under(root):
        out = []
        for d, _, names in os.walk(root):
            out += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return sorted(out)

    def test_make_install_puts_binary_man_page_and_unit_in_destdir_and_uninstall_removes(self):
        dest = scratch(self)
        self.make("install", "DESTDIR=" + dest, "PREFIX=/usr")
        want = ["usr/bin/connectorfs", "usr/lib/systemd/system/connectorfs.service",
                "usr/share/man/man1/connectorfs.1"]
        self.assertEqual(want, self.files_under(dest))
        binary = os.path.join(dest, "usr/bin/connectorfs")
        self.assertEqual(0o755, stat.S_IMODE(os.stat(binary).st_mode))
        with open(binary, "rb") as f, open(BUILT, "rb") as g:
            self.assertTrue(f.read() == g.read(), "the installed binary is not fs/connectorfs")
        rc, out, err = run([binary, "--version"], env=clean_env())
        self.assertEqual(0, rc, err)
        self.assertRegex(out, r"^connectorfs \d+\.\d+\.\d+ ")
        for rel in want[1:]:
            self.assertEqual(0o644, stat.S_IMODE(os.stat(os.path.join(dest, rel)).st_mode), rel)
        with open(os.path.join(dest, "usr/share/man/man1/connectorfs.1")) as f, \
                open(MAN_PAGE) as g:
            self.assertEqual(g.read(), f.read())
        with open(os.path.join(dest, "usr/lib/systemd/system/connectorfs.service")) as f:
            unit = f.read()
        self.assertNotIn("@BINDIR@", unit)
        self.assertRegex(unit, r"(?m)^ExecStart=/usr/bin/connectorfs ")

        self.make("uninstall", "DESTDIR=" + dest, "PREFIX=/usr")
        self.assertEqual([], self.files_under(dest))

    def test_the_default_prefix_is_usr_local_and_the_unit_names_that_binary(self):
        dest = scratch(self)
        self.make("install", "DESTDIR=" + dest)
        self.assertEqual(["usr/local/bin/connectorfs",
                          "usr/local/lib/systemd/system/connectorfs.service",
                          "usr/local/share/man/man1/connectorfs.1"], self.files_under(dest))
        with open(os.path.join(dest, "usr/local/lib/systemd/system/connectorfs.service")) as f:
            self.assertRegex(f.read(), r"(?m)^ExecStart=/usr/local/bin/connectorfs ")
        self.make("uninstall", "DESTDIR=" + dest)
        self.assertEqual([], self.files_under(dest))

    def test_the_installed_unit_passes_systemd_analyze_verify(self):
        if SYSTEMD_ANALYZE is None:
            self.skipTest("systemd-analyze is not installed")
        # No DESTDIR: ExecStart= must name a binary that exists for verify to pass.
        prefix = os.path.join(scratch(self, 0o755), "prefix")
        self.make("install", "PREFIX=" + prefix)
        unit = os.path.join(prefix, "lib/systemd/system/connectorfs.service")
        rc, out, err = run([SYSTEMD_ANALYZE, "verify", "--man=no", "--recursive-errors=no",
                            unit], env=clean_env(SYSTEMD_LOG_LEVEL="notice"))
        self.assertEqual(0, rc, out + err)
        self.assertEqual("", (out + err).strip())
        self.make("uninstall", "PREFIX=" + prefix)


class UnitFileTest(unittest.TestCase):
    """scripts/connectorfs.service: the settings the README's systemd section relies on."""

    @classmethod
    def setUpClass(cls):
        cls.settings = {}
        with open(UNIT) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith(("#", ";", "[")):
                    key, _, value = line.partition("=")
                    cls.settings.setdefault(key.strip(), []).append(value.strip())

    def test_the_unit_is_type_notify_reloads_by_upgrade_and_loads_the_token_as_a_credential(self):
        s = self.settings
        self.assertEqual(["notify"], s.get("Type"))
        self.assertEqual(["main"], s.get("NotifyAccess"))
        creds = s.get("LoadCredential", [])
        self.assertTrue(any(v.startswith("base44-service-token:") for v in creds), creds)
        self.assertTrue(any(re.search(r"^@BINDIR@/connectorfs upgrade /\S+$", v)
                            for v in s.get("ExecReload", [])), s.get("ExecReload"))

    def test_the_unit_keeps_the_connection_across_a_restart_of_its_main_process(self):
        s = self.settings
        # The fd store holds /dev/fuse and the state while systemd restarts the keeper,
        # and the restart comes well within the 1 s a reader may be made to wait.
        self.assertGreaterEqual(int(s.get("FileDescriptorStoreMax", ["0"])[0]), 2)
        self.assertEqual(["on-failure"], s.get("Restart"))
        self.assertEqual(["100ms"], s.get("RestartSec"))
        self.assertEqual(["mixed"], s.get("KillMode"))
        start = s.get("ExecStart", [""])[0]
        self.assertRegex(start, r"^@BINDIR@/connectorfs .*-f\b",
                         "Type=notify needs the daemon in the foreground (-f)")
        self.assertNotRegex(" ".join(s.get("Environment", [])), r"BASE44_SERVICE_TOKEN",
                            "the token must come as a credential, not in the environment")

    def test_the_unit_gives_the_service_no_mount_namespace_of_its_own(self):
        # Each of these makes systemd give the service a private mount namespace: the FUSE
        # mount would then be made there and never be seen by the host or by containers.
        forbidden = ("ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices",
                     "PrivateMounts", "PrivateIPC", "PrivateNetwork", "PrivateUsers",
                     "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
                     "ProtectControlGroups", "ProtectProc", "ProcSubset", "ReadWritePaths",
                     "ReadOnlyPaths", "InaccessiblePaths", "ExecPaths", "NoExecPaths",
                     "BindPaths", "BindReadOnlyPaths", "TemporaryFileSystem", "RootDirectory",
                     "RootImage", "MountImages", "ExtensionImages", "ExtensionDirectories",
                     "DynamicUser", "LogNamespace")
        for key in forbidden:
            for value in self.settings.get(key, []):
                with self.subTest(key=key):
                    self.assertIn(value.lower(), ("", "no", "false", "0", "off"),
                                  "%s=%s gives the service its own mount namespace" % (key, value))
        for value in self.settings.get("MountFlags", []):
            self.assertEqual("shared", value)


class ManPageTest(unittest.TestCase):
    """The man page renders cleanly and documents every option and variable the code reads."""

    def test_the_man_page_renders_without_warnings(self):
        if MAN is None:
            self.skipTest("man is not installed (Debian package man-db); the tests never "
                          "install packages")
        rc, out, err = run([MAN, "--warnings=all", "-l", MAN_PAGE],
                           env=clean_env(MANWIDTH="80", MANPAGER="cat", PAGER="cat"))
        self.assertEqual(0, rc, err)
        self.assertEqual("", err, "man -l fs/connectorfs.1 warned")
        self.assertIn("CONNECTORFS(1)", out)
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "OPTIONS", "FILES",
                        "EXIT STATUS", "SEE ALSO"):
            self.assertRegex(out, r"(?m)^%s$" % section)
        if LEXGROG is not None:   # the NAME line mandb indexes for whatis/apropos
            rc, out, err = run([LEXGROG, MAN_PAGE], env=clean_env())
            self.assertEqual(0, rc, out + err)
            self.assertIn('"connectorfs - ', out)

    def test_every_option_the_code_accepts_is_in_help_and_in_the_man_page(self):
        config = code_config_options()
        keys = code_option_keys()
        self.assertGreaterEqual(len(config), 10, "could not read config_options[] from "
                                "lib/config.c: %r" % config)
        self.assertIn("--help", keys, "could not read the FUSE_OPT_KEY table of fs/options.c")
        rc, help_text, err = run_binary(["--help"], clean_env())
        self.assertEqual(0, rc, err)
        man = man_source_text()
        words = [name + "=" for name in config] + keys
        for word in words:
            with self.subTest(option=word):
                self.assertTrue(mentions(help_text, word), "%s is not in --help" % word)
                self.assertTrue(mentions(man, word), "%s is not in fs/connectorfs.1" % word)

    def test_every_environment_variable_the_code_reads_is_in_the_man_page(self):
        names = code_environment()
        self.assertIn("BASE44_APP_ID", names)
        man = man_source_text()
        section = man.partition(".SH ENVIRONMENT")[2].partition(".SH ")[0]
        rc, help_text, _ = run_binary(["--help"], clean_env())
        for name in sorted(names):
            with self.subTest(variable=name):
                self.assertIn(".B " + name, section, "%s is not in the man page's "
                              "ENVIRONMENT section" % name)
                if name.startswith("BASE44_"):
                    self.assertIn(name, help_text)


# ---- mount(8) and fstab -----------------------------------------------------------------------

# Runs as root in a private mount namespace: puts the binary on /bin/sh's default PATH there,
# runs mount(8) with a bare environment, reads a token, unmounts, waits for the daemon to go.
NS_MOUNT8 = r"""
import json, os, subprocess, sys, time
spec = json.loads(sys.argv[1])
mnt = spec["mountpoint"]
res = {}

def run(cmd, env):
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return [r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")]

def fstype():
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[4] == mnt:
                found = right.split()[0]
    return found

def daemons():
    out = []
    for p in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if mnt.encode() in argv and os.path.basename(argv[0]) == b"connectorfs":
            out.append(int(p))
    return out

def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False

env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
res["bind"] = run(["mount", "--bind", spec["bindir"], spec["shdir"]], env) \
    if spec["shdir"] else [0, "", ""]
try:
    res["mount"] = run(spec["argv"], spec["env"])
    res["fstype"] = fstype()
    pids = daemons()
    res["daemons"] = len(pids)
    res["environ"] = []
    for pid in pids:
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                res["environ"] += [v.decode(errors="replace").partition("=")[0]
                                   for v in f.read().split(b"\0") if v]
        except OSError:
            pass
    try:
        with open(os.path.join(mnt, "slack", "access_token"), "rb") as f:
            res["token"] = f.read().decode(errors="replace")
    except OSError as e:
        res["token_errno"] = e.errno
    res["umount"] = run(["umount", mnt], env)
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    res["daemon_exited"] = not any(alive(p) for p in pids)
    res["fstype_after"] = fstype()
finally:
    if fstype() is not None:
        run(["umount", "-l", mnt], env)
    for pid in daemons():
        try:
            os.kill(pid, 9)
        except OSError:
            pass
print(json.dumps(res))
"""


class Mount8Test(TestCase):
    """`mount -t fuse.connectorfs` and an fstab line, through mount(8) and mount.fuse3."""

    def setUp(self):
        super().setUp()
        if not MOUNT_FUSE3:
            self.fail("mount.fuse3 is at neither /sbin/mount.fuse3 nor /usr/sbin/mount.fuse3: "
                      "install the fuse3 package (scripts/install-deps.sh does)")
        for tool in (UNSHARE, MOUNT):
            if not os.access(tool, os.X_OK):
                self.fail("%s is missing (util-linux)" % tool)
        self.dir = scratch(self)
        self.bindir = os.path.join(self.dir, "bin")
        os.mkdir(self.bindir)
        os.symlink(os.path.abspath(harness.BINARY), os.path.join(self.bindir, "connectorfs"))
        self.mnt = os.path.join(self.dir, "mnt")
        os.mkdir(self.mnt)
        self.token_file = os.path.join(self.dir, "service-token")
        with open(self.token_file, "w") as f:
            f.write(SERVICE_TOKEN + "\n")
        os.chmod(self.token_file, 0o600)
        self.addCleanup(kill_leftovers, self.mnt)
        # The PATH a user would have; mount(8) drops it before running mount.fuse3.
        self.env = {"PATH": "%s:%s" % (self.bindir, SAFE_PATH)}

    def in_namespace(self, argv, shdir=SH_DEFAULT_PATH_DIR):
        spec = {"mountpoint": self.mnt, "bindir": self.bindir, "shdir": shdir,
                "argv": argv, "env": self.env}
        rc, out, err = run([UNSHARE, "--mount", "--propagation", "slave", PYTHON, "-I", "-c",
                            NS_MOUNT8, json.dumps(spec)], env=clean_env(), timeout=90)
        self.assertEqual(0, rc, "namespace driver failed:\n" + err)
        res = json.loads(out.strip().splitlines()[-1])
        self.assertEqual(0, res["bind"][0], res["bind"])
        return res

    def check(self, res):
        rc, out, err = res["mount"]
        self.assertEqual(0, rc, "mount(8) failed (status %d): %s%s" % (rc, out, err))
        self.assertEqual("fuse.connectorfs", res["fstype"])
        # The keeper that mount(8) started and the server it runs.
        self.assertEqual(2, res["daemons"], "expected a keeper and a server on the mountpoint")
        self.assertEqual([], [v for v in res["environ"] if v.startswith("BASE44_")])
        self.assertEqual(SLACK, res.get("token"),
                         "reading slack/access_token failed: %s" % errno.errorcode.get(
                             res.get("token_errno"), res.get("token_errno")))
        self.assertEqual(0, res["umount"][0], res["umount"])
        self.assertIsNone(res["fstype_after"], "still mounted after umount")
        self.assertTrue(res["daemon_exited"], "the daemon did not exit after umount")

    def test_mount_t_fuse_connectorfs_with_a_bare_environment_mounts_reads_and_unmounts(self):
        opts = ("app_id=%s,token_file=%s,api_url=%s,noauto,_netdev,allow_other,ttl=60"
                % (APP_ID, self.token_file, self.emu.url))
        res = self.in_namespace(["env", "-i", "PATH=" + self.env["PATH"], MOUNT,
                                 "-t", "fuse.connectorfs", "connectorfs", self.mnt, "-o", opts])
        self.check(res)

    def test_an_fstab_line_mounts_with_mount_T(self):
        fstab = os.path.join(self.dir, "fstab")
        with open(fstab, "w") as f:
            f.write("# a test fstab\n")
            f.write("connectorfs %s fuse.connectorfs noauto,_netdev,app_id=%s,token_file=%s,"
                    "api_url=%s 0 0\n" % (self.mnt, APP_ID, self.token_file, self.emu.url))
        res = self.in_namespace(["env", "-i", "PATH=" + self.env["PATH"], MOUNT, "-T", fstab,
                                 self.mnt])
        self.check(res)

    def test_mount8_finds_connectorfs_on_the_shells_default_path_not_on_the_callers(self):
        # Why the README says to install into a folder of sh's default PATH.
        installed = [d for d in SH_DEFAULT_PATH.split(":")
                     if os.path.exists(os.path.join(d, "connectorfs"))]
        if installed:
            self.skipTest("connectorfs is installed in %s" % installed[0])
        opts = "app_id=%s,token_file=%s,api_url=%s" % (APP_ID, self.token_file, self.emu.url)
        res = self.in_namespace(["env", "-i", "PATH=" + self.env["PATH"], MOUNT,
                                 "-t", "fuse.connectorfs", "connectorfs", self.mnt, "-o", opts],
                                shdir=None)
        rc, out, err = res["mount"]
        self.assertNotEqual(0, rc)
        self.assertIn("connectorfs: not found", err)
        self.assertIsNone(res["fstype"])


# ---- systemd: notify protocol and credentials, without systemd ----------------------------------

class SystemdTest(TestCase):
    """What systemd sees: READY/RELOADING/STOPPING on $NOTIFY_SOCKET, and LoadCredential=."""

    def notify_socket(self, abstract):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        if abstract:
            name = "cfs-notify-%d-%s" % (os.getpid(), os.urandom(6).hex())
            s.bind("\0" + name)
            address = "@" + name
        else:
            address = os.path.join(scratch(self), "notify")
            s.bind(address)
        s.settimeout(5.0)
        return s, address

    def receive(self, s, what):
        try:
            data = s.recv(4096).decode()
        except socket.timeout:
            self.fail("no datagram on NOTIFY_SOCKET within 5 s (waiting for %s)" % what)
        fields = {}
        for line in data.split("\n"):
            if line:
                key, eq, value = line.partition("=")
                self.assertEqual("=", eq, "not KEY=VALUE: %r" % line)
                fields[key] = value
        return fields

    def receive_stored_fd(self, s, name):
        """An FDSTORE=1 datagram for name, with its descriptor: returns the fd (caller closes)."""
        try:
            data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(4))
        except socket.timeout:
            self.fail("no FDSTORE datagram for %s within 5 s" % name)
        fields = dict(l.partition("=")[::2] for l in data.decode().split("\n") if l)
        self.assertEqual({"FDSTORE": "1", "FDNAME": name, "FDPOLL": "0"}, fields)
        fds = []
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(struct.unpack("%di" % (len(payload) // 4), payload[:len(payload) // 4 * 4]))
        self.assertEqual(1, len(fds), "FDSTORE for %s carries one descriptor" % name)
        return fds[0]

    def notify_sequence(self, abstract):
        s, address = self.notify_socket(abstract)
        mnt = self.mount(["ttl=60"], env={"NOTIFY_SOCKET": address})
        # Under a supervisor that keeps descriptors, the connection and the state go to it
        # first: the /dev/fuse connection and the memfd holding the handover state.
        fuse = self.receive_stored_fd(s, "fuse")
        try:
            st = os.fstat(fuse)
            self.assertEqual((10, 229), (os.major(st.st_rdev), os.minor(st.st_rdev)))
        finally:
            os.close(fuse)
        state = self.receive_stored_fd(s, "state")
        try:
            self.assertTrue(os.readlink("/proc/self/fd/%d" % state)
                            .startswith("/memfd:connectorfs-state"))
        finally:
            os.close(state)
        ready = self.receive(s, "READY=1")
        self.assertEqual("1", ready.get("READY"), ready)
        self.assertEqual(str(mnt.pid), ready.get("MAINPID"), ready)
        self.assertIn(mnt.path, ready.get("STATUS", ""), ready)
        self.assertEqual("fuse.connectorfs", mounted_fstype(mnt.path))
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        os.kill(mnt.pid, signal.SIGHUP)
        self.assertEqual("1", self.receive(s, "RELOADING=1").get("RELOADING"))
        self.assertEqual("1", self.receive(s, "READY=1 after the reload").get("READY"))
        mnt.unmount()
        # A clean end leaves systemd nothing to hand a next start.
        self.assertEqual({"FDSTOREREMOVE": "1", "FDNAME": "fuse"}, self.receive(s, "FDSTOREREMOVE"))
        self.assertEqual({"FDSTOREREMOVE": "1", "FDNAME": "state"}, self.receive(s, "FDSTOREREMOVE"))
        self.assertEqual("1", self.receive(s, "STOPPING=1").get("STOPPING"))
        s.settimeout(0.2)
        try:
            extra = s.recv(4096)
        except socket.timeout:
            extra = None
        self.assertIsNone(extra, "a datagram after STOPPING=1")

    def test_notify_socket_path_gets_ready_reloading_ready_stopping(self):
        self.notify_sequence(abstract=False)

    def test_an_abstract_notify_socket_gets_the_same_messages(self):
        self.notify_sequence(abstract=True)

    def test_the_service_token_and_api_key_come_from_credentials_directory(self):
        creds = scratch(self)
        with open(os.path.join(creds, "base44-service-token"), "w") as f:
            f.write(SERVICE_TOKEN + "\n")
        with open(os.path.join(creds, "base44-api-key"), "w") as f:
            f.write(API_KEY + "\n")
        for name in os.listdir(creds):
            os.chmod(os.path.join(creds, name), 0o400)
        mnt = self.mount(["ttl=60"], env={"CREDENTIALS_DIRECTORY": creds,
                                          "BASE44_SERVICE_TOKEN": None})
        mnt.extra_secrets.add(API_KEY)
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        auth = [r["headers"].get("authorization") for r in self.emu.requests("slack")]
        self.assertEqual(["Bearer " + SERVICE_TOKEN], auth)
        # base44-api-key: the root lists the app's connectors before any of them is read.
        self.assertEqual(sorted(SEED_TYPES), sorted(n for n in os.listdir(mnt.path)
                                                    if n not in (".connectorfs", "connectors")))


# ---- containers: read-only binds in another mount namespace -----------------------------------

# A long-lived root shell in a private mount namespace, driven line by line on stdin; replies
# are one JSON line each. Commands: bind SRC DST (read-only), rbind SRC DST (rslave),
# read PATH (as the reader uid), write PATH, create PATH, opts PATH, quit.
NS_CONTAINER = r"""
import json, os, subprocess, sys
uid = sys.argv[1]
env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}

def run(cmd):
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    return [r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")]

def options(path):
    found = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == path:
                found = fields[5].split(",")
    return found

def try_open(path, flags):
    try:
        os.close(os.open(path, flags, 0o600))
        return None
    except OSError as e:
        return e.errno

for line in sys.stdin:
    cmd = line.split()
    if not cmd or cmd[0] == "quit":
        break
    if cmd[0] == "bind":
        out = [run(["mount", "--bind", cmd[1], cmd[2]]),
               run(["mount", "-o", "remount,bind,ro", cmd[2]])]
    elif cmd[0] == "rbind":
        out = [run(["mount", "--rbind", cmd[1], cmd[2]]),
               run(["mount", "--make-rslave", cmd[2]])]
    elif cmd[0] == "read":
        out = run(["setpriv", "--reuid", uid, "--regid", uid, "--clear-groups", "cat", cmd[1]])
    elif cmd[0] == "write":
        out = try_open(cmd[1], os.O_WRONLY)
    elif cmd[0] == "create":
        out = try_open(cmd[1], os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    elif cmd[0] == "opts":
        out = options(cmd[1])
    else:
        out = "unknown command"
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"""


class Namespace:
    """The NS_CONTAINER driver in `unshare --mount --propagation slave`."""

    def __init__(self, testcase, uid=READER_UID):
        for tool in (UNSHARE, SETPRIV):
            if not os.access(tool, os.X_OK):
                testcase.fail("%s is missing (util-linux)" % tool)
        self.proc = subprocess.Popen(
            [UNSHARE, "--mount", "--propagation", "slave", PYTHON, "-I", "-c", NS_CONTAINER,
             str(uid)], env=clean_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        testcase.addCleanup(self.close)

    def __call__(self, *words):
        self.proc.stdin.write((" ".join(words) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError("the namespace driver died: %s"
                                 % self.proc.stderr.read().decode(errors="replace"))
        return json.loads(line)

    def read(self, path):
        """The bytes the reader uid gets from path, or the error cat printed."""
        rc, out, err = self("read", path)
        return out if rc == 0 else "ERROR: " + err.strip()

    def close(self):
        """quit ends the namespace's only process: its mounts go with it."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()


def open_path_to_others(testcase, path):
    """chmod 0755 every folder from path up to / that is not searchable by others."""
    d = path
    while True:
        mode = os.stat(d).st_mode
        if not mode & stat.S_IXOTH:
            if not d.startswith(tempfile.gettempdir() + os.sep):
                testcase.skipTest("%s is not searchable by other users" % d)
            os.chmod(d, 0o755)
        parent = os.path.dirname(d)
        if parent == d:
            return
        d = parent


class ContainerTest(TestCase):
    """One connector's folder bind-mounted read-only into another mount namespace, as
    `docker run --mount type=bind,...,readonly` does, read by another uid."""

    def test_a_read_only_bind_of_a_connector_is_read_by_another_uid_and_follows_rotation(self):
        mnt = self.mount(["ttl=60", "allow_other", "uid=%d" % READER_UID,
                          "gid=%d" % READER_UID])
        open_path_to_others(self, mnt.tmp)
        base = scratch(self, 0o755)
        target = os.path.join(base, "secrets", "slack")
        os.makedirs(target)
        os.chmod(os.path.dirname(target), 0o755)
        token = os.path.join(target, "access_token")

        ns = Namespace(self)
        (rc1, _, err1), (rc2, _, err2) = ns("bind", os.path.join(mnt.path, "slack"), target)
        self.assertEqual((0, 0), (rc1, rc2), err1 + err2)
        self.assertIn("ro", ns("opts", target))
        self.assertEqual(SLACK, ns.read(token))
        # Nothing of it leaked into the host's mount table.
        self.assertIsNone(mounted_fstype(target))

        new = self.emu.rotate("slack")
        text, err = harness.refresh(mnt, "slack")
        self.assertIsNone(err, "refresh/slack: %s" % harness.errname(err))
        self.assertRegex(text, r"^slack generation \d+\n$")
        self.assertEqual(new, ns.read(token))
        self.assertEqual(errno.EROFS, ns("write", token))
        self.assertEqual(errno.EROFS, ns("create", os.path.join(target, "new-file")))
        self.assertEqual(new.encode(), read_file(os.path.join(mnt.path, "slack", "access_token")))

    def test_a_bind_of_the_folder_holding_the_mountpoint_follows_a_restart_a_bind_of_it_not(self):
        base = scratch(self, 0o755)
        shared = os.path.join(base, "run")          # plays the host's /run (shared)
        mountpoint = os.path.join(shared, "connectors")
        os.makedirs(mountpoint)
        rc, out, err = run([MOUNT, "--bind", shared, shared], env=clean_env())
        self.assertEqual(0, rc, err)
        self.addCleanup(run, ["umount", "-l", shared], clean_env())
        rc, out, err = run([MOUNT, "--make-shared", shared], env=clean_env())
        self.assertEqual(0, rc, err)
        self.addCleanup(kill_leftovers, mountpoint)

        # ttl=16: the kernel keeps entries and attributes 1 s (ttl/16).
        first = MountAt(self.emu, mountpoint, options=["ttl=16"])
        finish_first = finish_once(self, first)
        ctr_parent = os.path.join(base, "ctr-run")    # --mount source=/run/... (the folder)
        ctr_pinned = os.path.join(base, "ctr-pinned")  # --mount source=<the mountpoint>
        os.mkdir(ctr_parent)
        os.mkdir(ctr_pinned)
        ns = Namespace(self, uid=0)
        for src, dst in ((shared, ctr_parent), (mountpoint, ctr_pinned)):
            (rc1, _, e1), (rc2, _, e2) = ns("rbind", src, dst)
            self.assertEqual((0, 0), (rc1, rc2), e1 + e2)
        via_parent = os.path.join(ctr_parent, "connectors", "slack", "access_token")
        via_pinned = os.path.join(ctr_pinned, "slack", "access_token")
        self.assertEqual(SLACK, ns.read(via_parent))
        self.assertEqual(SLACK, ns.read(via_pinned))

        # A restart: the daemon stops (and unmounts), a new one mounts on the same folder.
        os.kill(first.pid, signal.SIGTERM)
        first.proc.wait(5)
        finish_first()
        new = self.emu.rotate("slack")
        second = MountAt(self.emu, mountpoint, options=["ttl=16"])
        finish_once(self, second)
        self.assertEqual(new, ns.read(via_parent),
                         "a bind of the folder holding the mountpoint missed the new mount")
        # The bind of the old mount keeps the dead one: at most ttl/16 s of cached bytes, then
        # "Transport endpoint is not connected".
        self.assertNotEqual(new, ns.read(via_pinned))
        self.assertTrue(wait_until(lambda: "not connected" in ns.read(via_pinned), 5.0, 0.2),
                        "the bind of the old mountpoint still reads after 5 s")


# ---- metrics ----------------------------------------------------------------------------------

class MetricsTest(TestCase):

    def test_metrics_is_valid_prometheus_text_with_the_documented_series(self):
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: notion: server error \(HTTP 500\)")
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        self.emu.fail(type="notion", count=1, status=500)
        self.assertErrno(errno.EIO, read_file, os.path.join(mnt.path, "notion", "access_token"))

        text = read_file(os.path.join(mnt.path, ".connectorfs", "metrics")).decode()
        samples, types = parse_metrics(text)
        for name in types:
            self.assertTrue(name.startswith("connectorfs_"), name)
            if types[name] == "counter":
                self.assertTrue(name.endswith("_total"), "counter %s lacks _total" % name)
        self.assertEqual(1, sample(samples, "connectorfs_requests_total", connector="slack"))
        self.assertEqual(1, sample(samples, "connectorfs_requests_total", connector="notion"))
        self.assertEqual(1, sample(samples, "connectorfs_failures_total", connector="notion",
                                   kind="server_error"))
        self.assertEqual(0, sum(v for (n, l), v in samples.items()
                                if n == "connectorfs_failures_total"
                                and ("connector", "slack") in l))
        self.assertGreaterEqual(sample(samples, "connectorfs_uptime_seconds"), 0)
        self.assertEqual(2, sample(samples, "connectorfs_connectors"))
        self.assertEqual(1, sample(samples, "connectorfs_generation", connector="slack"))
        since = sample(samples, "connectorfs_seconds_since_success", connector="slack")
        self.assertTrue(0 <= since < 30, since)
        self.assertEqual(-1, sample(samples, "connectorfs_seconds_since_success",
                                    connector="notion"))
        self.assertEqual(1, sample(samples, "connectorfs_up", connector="slack"))
        self.assertEqual(0, sample(samples, "connectorfs_up", connector="notion"))
        self.assertEqual("gauge", types["connectorfs_uptime_seconds"])
        self.assertEqual("counter", types["connectorfs_requests_total"])
        self.assertEqual("counter", types["connectorfs_failures_total"])

        status = json.loads(read_file(os.path.join(mnt.path, ".connectorfs", "status.json")))
        for key in ("version", "uptime_seconds", "connectors"):
            self.assertIn(key, status)
        self.assertEqual(["notion", "slack"], sorted(status["connectors"]))
        for name, row in status["connectors"].items():
            for key in ("state", "fetched_at", "changed_at", "generation", "requests",
                        "failures", "cache_hits", "backoff_seconds", "token_expires_at",
                        "last_error"):
                with self.subTest(connector=name, field=key):
                    self.assertIn(key, row)
            self.assertEqual(row["requests"], sample(samples, "connectorfs_requests_total",
                                                     connector=name))
            self.assertEqual(row["generation"], sample(samples, "connectorfs_generation",
                                                       connector=name))
        self.assertEqual("fresh", status["connectors"]["slack"]["state"])
        self.assertIsNone(status["connectors"]["slack"]["last_error"])
        err = status["connectors"]["notion"]["last_error"]
        self.assertEqual(("server_error", errno.EIO, 500),
                         (err["error"], err["errno"], err["http_status"]))
        self.assertIn("at", err)
        self.assertIn("message", err)


# ---- the management listing -------------------------------------------------------------------

class ListingTest(TestCase):
    """--list and --list-available with a management credential, and the root it lists."""

    def list_env(self, key=API_KEY, url=None, **extra):
        return base_env(url or self.emu.url, BASE44_API_KEY=key, BASE44_SERVICE_TOKEN=None,
                        **extra)

    def management_requests(self, emu=None):
        return [r for r in (emu or self.emu).requests() if r["route"] in ("list", "catalog")]

    def assertOneLine(self, text, *needles):
        lines = text.strip().splitlines()
        self.assertEqual(1, len(lines), "expected one line, got %r" % text)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_list_prints_type_status_account_scopes_for_every_connection(self):
        self.emu.set("linear", "lin-demo-token", status="expired")
        rc, out, err = run_binary(["--list"], self.list_env())
        self.assertEqual(0, rc, err)
        self.assertEqual("", err)
        header, rows = table(out, ["TYPE", "STATUS", "ACCOUNT", "SCOPES"])
        self.assertEqual(["TYPE", "STATUS", "ACCOUNT", "SCOPES"], header.split())
        got = {r[0]: r for r in rows}
        self.assertEqual(sorted(SEED_TYPES + ("linear",)), sorted(got))
        self.assertEqual("expired", got["linear"][1])
        for t in SEED_TYPES:
            self.assertEqual("active", got[t][1], got[t])
            self.assertEqual("demo@example.com", got[t][2], got[t])
        reqs = self.management_requests()
        self.assertEqual(1, len(reqs))
        self.assertEqual("/api/apps/%s/external-auth/list" % APP_ID, reqs[0]["path"])
        self.assertEqual("Bearer " + API_KEY, reqs[0]["headers"].get("authorization"))
        self.assertNotIn("api_key", reqs[0]["headers"])
        self.assertEqual(APP_ID, reqs[0]["headers"].get("x-app-id"))
        self.assertNotIn(API_KEY, out + err)

    def test_list_available_prints_the_32_connector_types_of_the_catalog(self):
        rc, out, err = run_binary(["--list-available"], self.list_env())
        self.assertEqual(0, rc, err)
        header, rows = table(out, ["TYPE", "NAME", "DESCRIPTION"])
        self.assertEqual(["TYPE", "NAME", "DESCRIPTION"], header.split())
        self.assertEqual(32, len(rows))
        got = {r[0]: r for r in rows}
        self.assertEqual(["slack", "Slack User", "Connect your Slack User account"],
                         got["slack"])
        self.assertEqual("Google Calendar", got["googlecalendar"][1])
        reqs = self.management_requests()
        self.assertEqual(["/api/apps/%s/external-auth/available-integrations" % APP_ID],
                         [r["path"] for r in reqs])

    def test_list_with_a_wrong_key_exits_1_with_one_line(self):
        rc, out, err = run_binary(["--list"], self.list_env(key="not-the-key-123"))
        self.assertEqual(1, rc, out + err)
        self.assertEqual("", out)
        self.assertOneLine(err, "--list", "401")
        self.assertNotIn("not-the-key-123", err)

    def test_list_without_a_key_exits_2_naming_BASE44_API_KEY_and_makes_no_request(self):
        for args in (["--list"], ["--list-available"]):
            with self.subTest(args=args):
                rc, out, err = run_binary(args, self.list_env(key=None))
                self.assertEqual(2, rc, out + err)
                self.assertEqual("", out)
                self.assertOneLine(err, "BASE44_API_KEY")
        self.assertEqual([], self.management_requests())

    def test_a_b44k_key_is_sent_as_an_api_key_header(self):
        emu = Emulator("--api-key", B44K_KEY).start()
        self.addCleanup(emu.stop)
        rc, out, err = run_binary(["--list"], self.list_env(key=B44K_KEY, url=emu.url))
        self.assertEqual(0, rc, err)
        self.assertEqual(sorted(SEED_TYPES), sorted(r[0] for r in table(
            out, ["TYPE", "STATUS", "ACCOUNT", "SCOPES"])[1]))
        reqs = self.management_requests(emu)
        self.assertEqual(1, len(reqs))
        self.assertEqual(B44K_KEY, reqs[0]["headers"].get("api_key"))
        self.assertNotIn("authorization", reqs[0]["headers"])

    def test_api_key_file_gives_the_listing_its_key(self):
        d = scratch(self)
        key_file = os.path.join(d, "api-key")
        with open(key_file, "w") as f:
            f.write(API_KEY + "\n")
        rc, out, err = run_binary(["--list", "-o", "api_key_file=" + key_file],
                                  self.list_env(key=None))
        self.assertEqual(0, rc, err)
        self.assertEqual(len(SEED_TYPES) + 1, len(out.splitlines()))
        self.assertEqual("Bearer " + API_KEY,
                         self.management_requests()[0]["headers"].get("authorization"))

    def test_an_api_key_option_is_refused_with_exit_2_and_never_echoed(self):
        d = scratch(self)
        mnt = os.path.join(d, "mnt")
        os.mkdir(mnt)
        for opt in ("api_key", "apikey"):
            for args in (["--list", "-o", opt + "=sekrit-key-0001"],
                         ["-f", "-o", opt + "=sekrit-key-0001", mnt]):
                with self.subTest(args=args):
                    rc, out, err = run_binary(args, base_env(self.emu.url))
                    self.assertEqual(2, rc, out + err)
                    self.assertOneLine(err, opt + "=")
                    self.assertNotIn("sekrit-key-0001", out + err)
                    self.assertIsNone(mounted_fstype(mnt))
        self.assertEqual([], self.emu.requests())

    def test_the_api_key_refusal_points_at_BASE44_API_KEY_or_api_key_file(self):
        rc, out, err = run_binary(["--list", "-o", "api_key=sekrit-key-0001"],
                                  self.list_env(key=None))
        self.assertEqual(2, rc, out + err)
        self.assertTrue("BASE44_API_KEY" in err or "api_key_file" in err,
                        "the refusal of api_key= sends the user to the service token "
                        "instead of the management credential: %r" % err.strip())
        self.assertNotIn("BASE44_SERVICE_TOKEN", err)

    def test_a_mount_with_an_api_key_lists_active_connectors_at_once_and_caches_the_list(self):
        self.emu.set("linear", "lin-demo-token", status="expired")
        self.emu.clear_requests()
        mnt = self.mount(["ttl=60"], env={"BASE44_API_KEY": API_KEY})
        mnt.extra_secrets.add(API_KEY)
        listed = sorted(os.listdir(mnt.path))
        self.assertEqual(sorted(SEED_TYPES + (".connectorfs", "connectors")), listed,
                         "the root should list the app's active connectors (not the expired "
                         "linear) before any is read")
        for _ in range(20):
            self.assertEqual(listed, sorted(os.listdir(mnt.path)))
        reqs = self.emu.requests()
        self.assertEqual(1, len([r for r in reqs if r["route"] == "list"]),
                         [(r["route"], r["path"]) for r in reqs])
        self.assertEqual([], [r["path"] for r in reqs if r["route"] != "list"],
                         "listing the root fetched connections")
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))

    def test_a_failing_list_is_logged_once_and_the_root_still_answers(self):
        mnt = self.mount(["ttl=60"], env={"BASE44_API_KEY": "not-the-key-123"})
        mnt.extra_secrets.add("not-the-key-123")
        mnt.expect_log(r"^connectorfs: connector list: access denied by the API \(HTTP 401\)")
        for _ in range(5):
            self.assertEqual([".connectorfs", "connectors"], sorted(os.listdir(mnt.path)))
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        self.assertIn("slack", os.listdir(mnt.path))
        self.assertEqual(1, len(self.management_requests()))
        lines = [l for l in mnt.log_text().splitlines() if "connector list" in l]
        self.assertEqual(1, len(lines), lines)


if __name__ == "__main__":
    sys.exit("run through tests/integration/run.py")
