"""One host, many consumers: per-connector owners (access=), an unprivileged daemon handed a
/dev/fuse descriptor by a privileged helper (/dev/fd/N), and a daemon inside an unprivileged
user namespace (unshare -Urm). Other uids are taken with setpriv."""

import contextlib
import errno
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time

import harness
from harness import APP_ID, BINARY, SERVICE_TOKEN, TestCase, wait_until

HANG = 20.0 if harness.SANITIZED else 10.0
SLACK = "xoxb-demo-slack-token-0001"
TENANT_A, TENANT_B, STRANGER = 61101, 61102, 61103


def as_uid(uid, *cmd, gid=None):
    """cmd run as uid (and gid, by default the same number), no supplementary groups."""
    gid = uid if gid is None else gid
    return subprocess.run(["setpriv", "--reuid", str(uid), "--regid", str(gid),
                           "--clear-groups", "--"] + list(cmd),
                          capture_output=True, text=True, timeout=HANG)


def read_as(uid, path):
    """(text, None) or (None, errno name) for cat path as uid."""
    r = as_uid(uid, "cat", path)
    if r.returncode == 0:
        return r.stdout, None
    if "Permission denied" in r.stderr:
        return None, "EACCES"
    if "No such file" in r.stderr:
        return None, "ENOENT"
    return None, r.stderr.strip()


def traversable(path):
    """Let other uids reach a mountpoint under a private temp folder."""
    while path not in ("/", "/tmp"):
        os.chmod(path, os.stat(path).st_mode | 0o011)
        path = os.path.dirname(path)


@contextlib.contextmanager
def dev_fuse_open_to_all():
    """/dev/fuse as Debian's udev rules make it (0666); some containers give 0600."""
    mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    os.chmod("/dev/fuse", 0o666)
    try:
        yield
    finally:
        os.chmod("/dev/fuse", mode)


def daemon_env(emu):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "BASE44_APP_ID": APP_ID,
           "BASE44_SERVICE_TOKEN": SERVICE_TOKEN, "BASE44_API_URL": emu.url}
    for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


# Inside unshare -Urm: start the daemon on $MNT and wait until it serves ($pid is its keeper).
NS_START = """
            "$CFS" -f "$MNT" >"$LOG" 2>&1 & pid=$!
            i=0
            while [ $i -lt 200 ] && ! cat "$MNT/slack/access_token" >/dev/null 2>&1; do
                sleep 0.05; i=$((i + 1))
            done
"""

# Where the handover state keeps how opens were answered (lib/handover.c: the header's
# magic, version, active, half_size and init_len, then field HANDOVER_OPEN_MODE = 5).
STATE_OPEN_MODE_OFFSET = 32 + 5 * 8

# Lines an unprivileged daemon logs by design: no CAP_IPC_LOCK for its locked memory.
# In a user namespace, the binary's owner is not mapped: restarts keep the running binary.
UNPRIVILEGED_LINES = (r"not locked in memory", r"could not be locked", r"mlock",
                      r"restarts and upgrades run this same binary")


class AccessTest(TestCase):

    def tenant_mount(self, *extra):
        mnt = self.mount(["allow_other", "access=slack:%d" % TENANT_A,
                          "access=github:%d:%d:0440" % (TENANT_B, TENANT_B)] + list(extra))
        traversable(os.path.dirname(mnt.path))
        return mnt

    def test_each_tenant_reads_its_connector_and_gets_eacces_on_the_others(self):
        mnt = self.tenant_mount()
        slack = os.path.join(mnt.path, "slack", "access_token")
        github = os.path.join(mnt.path, "github", "access_token")
        notion = os.path.join(mnt.path, "notion", "access_token")
        self.assertEqual((SLACK, None), read_as(TENANT_A, slack))
        self.assertEqual((None, "EACCES"), read_as(TENANT_A, github))
        self.assertEqual((None, "EACCES"), read_as(TENANT_A, notion))
        self.assertEqual((None, "EACCES"), read_as(TENANT_B, slack))
        self.assertEqual(None, read_as(TENANT_B, github)[1])
        for path in (slack, github, notion):
            self.assertEqual((None, "EACCES"), read_as(STRANGER, path), path)
        # Every file and folder of a connector, not just the token.
        for name in ("env", "connection.json"):
            self.assertEqual((None, "EACCES"), read_as(TENANT_A, os.path.join(
                mnt.path, "github", name)))
        self.assertNotEqual(0, as_uid(TENANT_A, "ls", os.path.join(mnt.path, "github")).returncode)

    def test_access_sets_owner_group_and_mode_and_folders_get_x_where_r_is(self):
        mnt = self.tenant_mount()
        st = os.stat(os.path.join(mnt.path, "github", "access_token"))
        self.assertEqual((TENANT_B, TENANT_B, 0o440),
                         (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
        st = os.stat(os.path.join(mnt.path, "github", "connectionConfig"))
        self.assertEqual((TENANT_B, 0o550), (st.st_uid, stat.S_IMODE(st.st_mode)))
        # No GROUP or MODE: the mount's gid= and mode= (0400, folders 0500).
        st = os.stat(os.path.join(mnt.path, "slack"))
        self.assertEqual((TENANT_A, os.getgid(), 0o500),
                         (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
        # A connector with no rule: the mount's owner.
        st = os.stat(os.path.join(mnt.path, "notion", "env"))
        self.assertEqual((os.getuid(), 0o400), (st.st_uid, stat.S_IMODE(st.st_mode)))

    def test_a_tenant_may_pass_the_root_but_not_list_it_or_the_control_folder(self):
        mnt = self.tenant_mount()
        root = os.stat(mnt.path)
        self.assertEqual(0o511, stat.S_IMODE(root.st_mode))
        self.assertNotEqual(0, as_uid(TENANT_A, "ls", mnt.path).returncode)
        self.assertEqual((None, "EACCES"), read_as(
            TENANT_A, os.path.join(mnt.path, ".connectorfs", "status.json")))
        # Another connector's folder can be stat'ed by name (its owner and mode show, never
        # a value): names are not secrets, values are.
        r = as_uid(TENANT_A, "stat", "-c", "%u %a", os.path.join(mnt.path, "github"))
        self.assertEqual((0, "%d 550\n" % TENANT_B), (r.returncode, r.stdout))

    def test_access_is_given_in_an_fstab_style_option_list_too(self):
        mnt = self.mount(["allow_other,access=slack:%d,access=notion:%d::0444"
                          % (TENANT_A, TENANT_B)])
        traversable(os.path.dirname(mnt.path))
        self.assertEqual((SLACK, None), read_as(TENANT_A, os.path.join(mnt.path, "slack",
                                                                      "access_token")))
        notion = os.path.join(mnt.path, "notion", "access_token")
        self.assertEqual(None, read_as(STRANGER, notion)[1], "0444 lets everyone read")

    def test_bad_access_rules_are_refused_at_start_with_one_line(self):
        cases = [
            ("access=slack", "expected CONNECTOR:USER"),
            ("access=slack:nobody-such-user", "is not a user name or number"),
            ("access=slack:1001:1001:0640", "without write bits"),
            ("access=Slack:1001", "is not a connector name"),
            ("access=slack:1,access=slack:2", "slack already has an access= rule"),
        ]
        for opt, why in cases:
            tmp = tempfile.mkdtemp(prefix="cfs-mnt-")
            try:
                r = subprocess.run([BINARY, "-f", "-o", opt, tmp], env=daemon_env(self.emu),
                                   capture_output=True, text=True, timeout=HANG)
            finally:
                os.rmdir(tmp)
            self.assertEqual(2, r.returncode, opt)
            self.assertIn(why, r.stderr, opt)
            self.assertEqual(1, len(r.stderr.splitlines()), r.stderr)


class UnprivilegedTest(TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="cfs-unpriv-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        traversable(self.tmp)
        self.mnt = os.path.join(self.tmp, "mnt")
        os.mkdir(self.mnt)
        os.chmod(self.mnt, 0o755)
        self.log = os.path.join(self.tmp, "daemon.log")
        # The daemon runs as another uid, which may not reach the build tree (a clone
        # under /root, 0700): a copy it can run, in a folder no one else may write.
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir, 0o755)
        self.binary = os.path.join(bindir, "connectorfs")
        shutil.copy(BINARY, self.binary)
        os.chmod(self.binary, 0o755)
        open(self.log, "w").close()
        os.chown(self.log, TENANT_A, TENANT_A)

    def unmount(self):
        if harness.mounted_fstype(self.mnt) is not None:
            subprocess.run(["umount", "-l", self.mnt], capture_output=True)

    def check_log(self, expected=()):
        with open(self.log) as f:
            text = f.read()
        for secret in self.emu.all_secrets() | {SERVICE_TOKEN}:
            self.assertNotIn(secret, text, "a token in the daemon log")
        allowed = harness.INFO_LINES
        for line in text.splitlines():
            if any(p.search(line) for p in allowed):
                continue
            if any(word in line for word in UNPRIVILEGED_LINES + tuple(expected)):
                continue
            self.fail("unexpected daemon log line: %r\n%s" % (line, text))
        return text

    def helper_mount(self, daemon_options, mount_options="allow_other", start=None,
                     drop_env=()):
        """What a root helper does: open /dev/fuse, mount it with fd=3 and mount_options for
        uid TENANT_A, and start the daemon as TENANT_A with no capability at all on
        /dev/fd/3 (in folder start, if given). The helper's process, which becomes the
        daemon's keeper."""
        script = """
            exec 3<>/dev/fuse
            mount -i -t fuse.connectorfs -o fd=3,rootmode=40000,user_id=%(a)d,group_id=%(a)d,%(opts)s connectorfs "$MNT" || exit 90
            cd "${START:-.}"
            exec setpriv --reuid %(a)d --regid %(a)d --clear-groups --inh-caps=-all \
                --bounding-set=-all -- "$CFS" -f -o %(daemon)s /dev/fd/3 >"$LOG" 2>&1
        """ % {"a": TENANT_A, "opts": mount_options, "daemon": daemon_options}
        env = dict(daemon_env(self.emu), MNT=self.mnt, CFS=self.binary, LOG=self.log)
        if start is not None:
            env["START"] = start
        for name in drop_env:
            del env[name]
        p = subprocess.Popen(["sh", "-c", script], env=env)
        self.addCleanup(self.unmount)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def user_namespace_env(self, **extra):
        """The environment of a daemon TENANT_A starts in unshare -Urm on self.mnt (which it
        then owns); the test is skipped where the kernel refuses user namespaces."""
        probe = as_uid(TENANT_A, "unshare", "-U", "true")
        if probe.returncode != 0:
            # A chroot, or kernel.unprivileged_userns_clone=0: nothing connectorfs can change.
            self.skipTest("no unprivileged user namespaces here: " + probe.stderr.strip())
        os.chown(self.mnt, TENANT_A, TENANT_A)
        return dict(daemon_env(self.emu), MNT=self.mnt, CFS=self.binary, LOG=self.log, **extra)

    def test_a_daemon_with_no_privilege_serves_a_dev_fd_a_root_helper_mounted(self):
        # The helper (root) opens /dev/fuse, mounts it with fd=3 for uid TENANT_A and hands
        # the descriptor to the daemon, which runs as TENANT_A with no capability at all.
        p = self.helper_mount("allow_other", "allow_other,default_permissions,ro,nosuid,nodev")
        token = os.path.join(self.mnt, "slack", "access_token")
        self.assertTrue(wait_until(lambda: read_as(TENANT_A, token)[1] is None, HANG),
                        open(self.log).read())
        self.assertEqual((SLACK, None), read_as(TENANT_A, token))
        with open("/proc/%d/status" % p.pid) as f:
            status = f.read()
        self.assertIn("CapEff:\t0000000000000000", status)
        self.assertIn("Uid:\t%d" % TENANT_A, status)
        # The files are the daemon user's; a stranger is refused by the kernel.
        self.assertEqual((None, "EACCES"), read_as(STRANGER, token))
        # A rotation and a forced refresh work as in any mount.
        rotated = self.emu.rotate("slack")
        self.assertEqual("slack generation 2\n", read_as(
            TENANT_A, os.path.join(self.mnt, ".connectorfs", "refresh", "slack"))[0])
        self.assertEqual((rotated, None), read_as(TENANT_A, token))
        p.terminate()
        self.assertEqual(0, p.wait(HANG))
        self.check_log()

    def test_a_dev_fd_mount_made_without_default_permissions_is_checked_by_the_daemon(self):
        # The helper forgot default_permissions, so the kernel checks no mode: the daemon
        # must refuse every open, listing and access() the modes it shows would refuse.
        p = self.helper_mount("allow_other,access=slack:%d,access=github:%d:%d:0440"
                              % (TENANT_A, TENANT_B, TENANT_B))
        slack = os.path.join(self.mnt, "slack", "access_token")
        github = os.path.join(self.mnt, "github", "access_token")
        self.assertTrue(wait_until(lambda: read_as(TENANT_A, slack)[1] is None, HANG),
                        open(self.log).read())
        for _ in range(2):
            # Twice: the second time the kernel has the value and the names cached.
            self.assertEqual((SLACK, None), read_as(TENANT_A, slack))
            self.assertEqual((None, "EACCES"), read_as(TENANT_A, github))
            self.assertEqual(None, read_as(TENANT_B, github)[1])
            self.assertEqual((None, "EACCES"), read_as(TENANT_B, slack))
            for path in (slack, github, os.path.join(self.mnt, "slack", "env"),
                         os.path.join(self.mnt, ".connectorfs", "status.json")):
                self.assertEqual((None, "EACCES"), read_as(STRANGER, path), path)
                self.assertNotEqual(0, as_uid(STRANGER, "test", "-r", path).returncode, path)
            self.assertNotEqual(0, as_uid(STRANGER, "ls", self.mnt).returncode)
            self.assertNotEqual(0, as_uid(TENANT_B, "ls", os.path.join(self.mnt, "slack"))
                                .returncode)
            self.assertEqual(0, as_uid(TENANT_A, "test", "-r", slack).returncode)
        # A member of the group by a supplementary group reads as the group bits say.
        r = subprocess.run(["setpriv", "--reuid", str(STRANGER), "--regid", str(STRANGER),
                            "--groups", str(TENANT_B), "--", "cat", github],
                           capture_output=True, text=True, timeout=HANG)
        self.assertEqual(0, r.returncode, r.stderr)
        # Root reads by CAP_DAC_OVERRIDE, as the kernel would let it; without capabilities
        # (a container's root with every capability dropped) it is anyone.
        self.assertEqual(None, read_as(0, github)[1])
        r = subprocess.run(["setpriv", "--reuid", "0", "--regid", "0", "--clear-groups",
                            "--inh-caps=-all", "--bounding-set=-all", "--", "cat", github],
                           capture_output=True, text=True, timeout=HANG)
        self.assertNotEqual(0, r.returncode, "root with no capability read a token")
        self.assertIn("Permission denied", r.stderr)
        # Every capability in a user namespace of one's own counts for nothing here (the
        # kernel would not count it either).
        probe = as_uid(STRANGER, "unshare", "-Ur", "true")
        if probe.returncode == 0:
            r = as_uid(STRANGER, "unshare", "-Ur", "cat", github)
            self.assertNotEqual(0, r.returncode, "a user namespace's capabilities read a token")
            self.assertIn("Permission denied", r.stderr)
        # All of a caller's groups count, not only the first few hundred.
        many = ",".join([str(g) for g in range(70000, 70300)] + [str(TENANT_B)])
        r = subprocess.run(["setpriv", "--reuid", str(STRANGER), "--regid", str(STRANGER),
                            "--groups", many, "--", "cat", github],
                           capture_output=True, text=True, timeout=HANG)
        self.assertEqual(0, r.returncode, r.stderr)
        p.terminate()
        self.assertEqual(0, p.wait(HANG))
        self.check_log()

    def test_a_dev_fd_mount_checks_the_folders_above_a_file_the_kernel_has_cached(self):
        # Files a group may read (mode=0440) in folders only their owner may enter
        # (dir_mode=0500): the kernel would stop the group at the folder; with the names
        # cached after the owner's read, the daemon sees only the open, and must still.
        group = 61104
        p = self.helper_mount("allow_other,gid=%d,mode=0440" % group)
        slack = os.path.join(self.mnt, "slack", "access_token")
        member = ["setpriv", "--reuid", str(STRANGER), "--regid", str(STRANGER),
                  "--groups", str(group), "--", "cat", slack]
        self.assertTrue(wait_until(lambda: read_as(TENANT_A, slack)[1] is None, HANG),
                        open(self.log).read())
        for _ in range(2):
            self.assertEqual((SLACK, None), read_as(TENANT_A, slack))
            r = subprocess.run(member, capture_output=True, text=True, timeout=HANG)
            self.assertNotEqual(0, r.returncode, "a group member passed a folder it may "
                                "not enter")
            self.assertIn("Permission denied", r.stderr)
        p.terminate()
        self.assertEqual(0, p.wait(HANG))
        self.check_log()

    def test_a_relative_token_file_is_found_from_a_start_folder_it_may_only_search(self):
        # Servers start in the folder connectorfs was started in, kept open: one the daemon's
        # user may enter but not list (0711) must do too.
        start = os.path.join(self.tmp, "start")
        os.mkdir(start)
        os.chmod(start, 0o711)
        token = os.path.join(start, "service.token")
        with open(token, "w") as f:
            f.write(harness.SERVICE_TOKEN + "\n")
        os.chown(token, TENANT_A, TENANT_A)
        os.chmod(token, 0o600)
        p = self.helper_mount("token_file=service.token", "default_permissions,ro", start=start,
                               drop_env=("BASE44_SERVICE_TOKEN",))
        slack = os.path.join(self.mnt, "slack", "access_token")
        self.assertTrue(wait_until(lambda: read_as(TENANT_A, slack)[1] is None, HANG),
                        open(self.log).read())
        p.terminate()
        self.assertEqual(0, p.wait(HANG))
        self.check_log()

    def test_an_upgrade_of_a_dev_fd_mount_keeps_the_checks_or_is_refused(self):
        # The kernel stops sending OPEN on a connection for good once a server answers it
        # ENOSYS; a server of an older release did that on /dev/fd/N mounts. A checking
        # server must refuse to take such a connection over (the old one goes on), and take
        # over one whose opens always reached a server.
        p = self.helper_mount("allow_other,access=github:%d" % TENANT_B)
        github = os.path.join(self.mnt, "github", "access_token")
        status = os.path.join(self.mnt, ".connectorfs", "status.json")
        self.assertTrue(wait_until(lambda: read_as(TENANT_B, github)[1] is None, HANG),
                        open(self.log).read())

        def takeovers():
            text = read_as(TENANT_A, status)[0] or ""
            m = re.search(r'"takeovers":(\d+)', text)
            return int(m.group(1)) if m else None

        os.kill(p.pid, signal.SIGUSR2)
        self.assertTrue(wait_until(lambda: takeovers() == 1, HANG), open(self.log).read())
        self.assertEqual(None, read_as(TENANT_B, github)[1])
        self.assertEqual((None, "EACCES"), read_as(STRANGER, github))
        # What an older release's server leaves: no record of how opens were answered.
        state = next(os.path.join("/proc/%d/fd" % p.pid, fd)
                     for fd in os.listdir("/proc/%d/fd" % p.pid)
                     if "connectorfs-state" in os.readlink("/proc/%d/fd/%s" % (p.pid, fd)))
        fd = os.open(state, os.O_WRONLY)
        try:
            os.pwrite(fd, bytes(8), STATE_OPEN_MODE_OFFSET)
        finally:
            os.close(fd)
        os.kill(p.pid, signal.SIGUSR2)
        self.assertTrue(wait_until(lambda: "upgrade failed" in open(self.log).read(), HANG),
                        open(self.log).read())
        self.assertEqual(1, takeovers())
        self.assertEqual(None, read_as(TENANT_B, github)[1])
        self.assertEqual((None, "EACCES"), read_as(STRANGER, github))
        p.terminate()
        self.assertEqual(0, p.wait(HANG))
        self.check_log(["SIGUSR2: handing", "took over", "taking over the connection",
                        "handing the mount over", "cannot take this mount over: a previous "
                        "server let the kernel open files without asking",
                        "exited with status 2; the old one goes on"])

    def test_dev_fd_that_is_not_an_open_dev_fuse_is_refused_with_one_line(self):
        unmounted = os.open("/dev/fuse", os.O_RDWR)
        self.addCleanup(os.close, unmounted)
        with open("/dev/null") as f:
            for arg, why, fds in (("/dev/fd/99", "descriptor 99 is not open", ()),
                                  ("/dev/fd/0", "descriptors 0-2 are stdin, stdout and stderr",
                                   ()),
                                  ("/dev/fd/%d" % f.fileno(),
                                   "descriptor %d is not /dev/fuse" % f.fileno(),
                                   (f.fileno(),)),
                                  ("/dev/fd/%d" % unmounted,
                                   "descriptor %d is /dev/fuse but no mount uses it" % unmounted,
                                   (unmounted,))):
                r = subprocess.run([BINARY, "-f", arg], env=daemon_env(self.emu),
                                   capture_output=True, text=True, timeout=HANG,
                                   pass_fds=fds)
                self.assertEqual(2, r.returncode, arg)
                self.assertEqual(1, len(r.stderr.splitlines()), r.stderr)
                self.assertIn(why, r.stderr, arg)

    def test_it_mounts_and_serves_inside_an_unprivileged_user_namespace(self):
        script = NS_START + """
            cat "$MNT/slack/access_token"; echo
            grep " $MNT " /proc/self/mountinfo | sed 's/.* - //' | cut -d' ' -f1
            kill -TERM $pid; wait $pid; echo "exit $?"
        """
        env = self.user_namespace_env()
        with dev_fuse_open_to_all():
            r = as_uid(TENANT_A, "env", *["%s=%s" % kv for kv in env.items()],
                       "unshare", "-Urm", "sh", "-c", script)
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertEqual([SLACK, "fuse.connectorfs", "exit 0"], r.stdout.splitlines(), r.stdout)
        self.assertIsNone(harness.mounted_fstype(self.mnt), "the mount leaked out of the namespace")
        self.check_log()

    def test_in_a_user_namespace_an_upgrade_runs_the_binary_it_started_with(self):
        # Inside unshare -Urm the binary's owner (root here) shows as nobody, as would any
        # other host user's: the path cannot be trusted for later restarts, so the keeper
        # keeps the binary it runs. Replace the file at the path, ask for an upgrade, and
        # the new server must still be connectorfs.
        script = NS_START + """
            : >"$TMPD/mounted"
            i=0
            while [ $i -lt 200 ] && [ ! -e "$TMPD/replaced" ]; do sleep 0.05; i=$((i + 1)); done
            kill -USR2 $pid
            i=0
            while [ $i -lt 200 ] && ! grep -q '"takeovers":1' "$MNT/.connectorfs/status.json"; do
                sleep 0.05; i=$((i + 1))
            done
            grep -o '"takeovers":1' "$MNT/.connectorfs/status.json"
            cat "$MNT/slack/access_token"; echo
            kill -TERM $pid; wait $pid; echo "exit $?"
        """
        flags = os.path.join(self.tmp, "flags")
        os.mkdir(flags)
        os.chown(flags, TENANT_A, TENANT_A)
        env = self.user_namespace_env(TMPD=flags)
        hijacked = os.path.join(self.tmp, "hijacked")
        with dev_fuse_open_to_all():
            p = subprocess.Popen(["setpriv", "--reuid", str(TENANT_A), "--regid", str(TENANT_A),
                                  "--clear-groups", "--", "env"] +
                                 ["%s=%s" % kv for kv in env.items()] +
                                 ["unshare", "-Urm", "sh", "-c", script],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            self.addCleanup(lambda: p.poll() is None and p.kill())
            self.assertTrue(wait_until(lambda: os.path.exists(os.path.join(flags, "mounted")),
                                       HANG), open(self.log).read())
            # What another host user who owned the binary could do: a new file at the path.
            fake = self.binary + ".new"
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho hijacked >%s\nexit 1\n" % hijacked)
            os.chmod(fake, 0o755)
            os.rename(fake, self.binary)
            open(os.path.join(flags, "replaced"), "w").close()
            out, err = p.communicate(timeout=3 * HANG)
        self.assertEqual(0, p.returncode, err)
        self.assertEqual(['"takeovers":1', SLACK, "exit 0"], out.splitlines(), out)
        self.assertFalse(os.path.exists(hijacked), "the upgrade ran what the path held")
        self.check_log()
