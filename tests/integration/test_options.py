"""The command line and signals: refused options stop the program before mounting with status 2
and one line naming them, --help/--version, token_file=, audit=, SIGHUP and SIGTERM."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import (SERVICE_TOKEN, TestCase, base_env, mounted_fstype, read_file, run_binary,
                     wait_until)

SLACK = "xoxb-demo-slack-token-0001"

# (case, extra args, environment overrides, regex the one stderr line must match, secret
# that must not appear in the output)
REFUSED = [
    ("token option", ["-o", "token=abc-secret-0001"], {},
     r"BASE44_SERVICE_TOKEN.*token_file|token_file.*BASE44_SERVICE_TOKEN", "abc-secret-0001"),
    ("service_token option", ["-o", "service_token=abc-secret-0002"], {},
     r"BASE44_SERVICE_TOKEN.*token_file|token_file.*BASE44_SERVICE_TOKEN", "abc-secret-0002"),
    ("no app id", [], {"BASE44_APP_ID": None}, r"(?i)app.?id", None),
    ("no service token", [], {"BASE44_SERVICE_TOKEN": None},
     r"BASE44_SERVICE_TOKEN|token_file", None),
    ("plain http to a non-loopback host", ["-o", "api_url=http://example.com"], {},
     r"api_url|http", None),
    ("ttl not a number", ["-o", "ttl=abc"], {}, r"\bttl\b", None),
    ("timeout zero", ["-o", "timeout=0"], {}, r"\btimeout\b", None),
    ("mode not octal", ["-o", "mode=999"], {}, r"\bmode\b", None),
    ("token_file missing", ["-o", "token_file=/nonexistent/service-token"],
     {"BASE44_SERVICE_TOKEN": None}, r"token_file|/nonexistent/service-token", None),
    ("unknown option", ["-o", "bogus_option=1"], {}, r"bogus_option", None),
]

HELP_OPTIONS = ("app_id", "api_url", "token_file", "connectors", "ttl", "negative_ttl",
                "max_stale", "timeout", "uid", "gid", "mode", "dir_mode", "access", "cacert",
                "proxy", "proxy_auth_file")


class CommandLineTest(TestCase):

    def scratch_dir(self):
        d = tempfile.mkdtemp(prefix="cfs-opt-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_refused_options_exit_2_with_one_line_before_mounting(self):
        for case, args, env, pattern, secret in REFUSED:
            with self.subTest(case=case):
                mnt = os.path.join(self.scratch_dir(), "mnt")
                os.mkdir(mnt)
                rc, out, err = run_binary(["-f"] + args + [mnt],
                                          base_env(self.emu.url, **env), timeout=5)
                self.assertIsNone(mounted_fstype(mnt), "it mounted")
                self.assertEqual(2, rc, "stderr: %r" % err)
                lines = err.strip().splitlines()
                self.assertEqual(1, len(lines), "want one line, got: %r" % err)
                self.assertRegex(lines[0], pattern)
                for text in (out, err):
                    self.assertNotIn(SERVICE_TOKEN, text)
                    if secret:
                        self.assertNotIn(secret, text)
        self.assertNoRequests()

    def test_help_exits_0_and_names_every_option(self):
        rc, out, err = run_binary(["--help"], base_env(self.emu.url), timeout=5)
        self.assertEqual(0, rc, err)
        for name in HELP_OPTIONS:
            with self.subTest(option=name):
                self.assertRegex(out, r"(?<![A-Za-z_])%s=" % name)

    def test_version_exits_0_and_prints_a_version(self):
        rc, out, err = run_binary(["--version"], base_env(self.emu.url), timeout=5)
        self.assertEqual(0, rc, err)
        self.assertRegex(out, r"connectorfs \d+\.\d+")

    def test_token_file_option_supplies_the_service_token(self):
        d = self.scratch_dir()
        token_file = os.path.join(d, "service-token")
        with open(token_file, "w") as f:
            f.write(SERVICE_TOKEN + "\n")
        os.chmod(token_file, 0o600)
        mnt = self.mount(["ttl=60", "token_file=" + token_file],
                         env={"BASE44_SERVICE_TOKEN": None})
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        reqs = self.emu.requests("slack")
        self.assertEqual("Bearer " + SERVICE_TOKEN, reqs[-1]["headers"]["authorization"])

    def test_mount8_generic_options_are_accepted_and_ignored(self):
        mnt = self.mount(["rw", "dev", "suid", "_netdev", "noauto", "ttl=60"])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))

    def test_audit_option_writes_one_json_line_per_token_open_without_the_value(self):
        d = self.scratch_dir()
        audit = os.path.join(d, "audit.log")
        mnt = self.mount(["ttl=60", "audit=" + audit])
        path = os.path.join(mnt.path, "slack", "access_token")
        for _ in range(3):
            self.assertEqual(SLACK.encode(), read_file(path))
        self.assertTrue(wait_until(lambda: os.path.exists(audit) and
                                   open(audit).read().count("\n") >= 3, 2.0),
                        "audit file missing or short")
        with open(audit) as f:
            text = f.read()
        self.assertNotIn(SLACK, text)
        lines = text.splitlines()
        self.assertEqual(3, len(lines), text)
        for line in lines:
            rec = json.loads(line)
            for field in ("time", "uid", "gid", "pid", "exe", "path"):
                self.assertIn(field, rec)
            self.assertEqual(os.getuid(), rec["uid"])
            self.assertEqual(os.getpid(), rec["pid"])
            self.assertEqual(os.path.realpath("/proc/self/exe"), rec.get("exe"))
            self.assertIn("slack/access_token", rec["path"])


class SignalTest(TestCase):

    def test_sighup_rereads_the_token_file_and_drops_cached_connections(self):
        d = tempfile.mkdtemp(prefix="cfs-hup-")
        self.addCleanup(shutil.rmtree, d, True)
        token_file = os.path.join(d, "service-token")
        rotated = "demo-service-token-rotated-42"

        def write_token(value):
            with open(token_file + ".tmp", "w") as f:
                f.write(value + "\n")
            os.replace(token_file + ".tmp", token_file)

        write_token(SERVICE_TOKEN)
        mnt = self.mount(["ttl=60", "token_file=" + token_file],
                         env={"BASE44_SERVICE_TOKEN": None})
        mnt.extra_secrets.add(rotated)
        path = os.path.join(mnt.path, "slack", "access_token")
        self.assertEqual(SLACK.encode(), read_file(path))
        self.assertEqual(1, self.emu.count("slack"))

        # A token the emulator refuses: the next fetch must carry it (and so get a 401).
        mnt.expect_log(r"^connectorfs: slack: access denied by the API \(HTTP 401")
        write_token(rotated)
        os.kill(mnt.pid, signal.SIGHUP)
        self.assertTrue(mnt.wait_log(r"SIGHUP: cached connections dropped$"),
                        "no SIGHUP log line:\n" + mnt.log_text())

        def read_after_hup():
            try:
                read_file(path)
            except PermissionError:
                pass
            return self.emu.count("slack") >= 2

        # kill() is asynchronous; the kernel's caches are invalidated from a queue.
        self.assertTrue(wait_until(read_after_hup, 1.0, 0.05),
                        "no new request after SIGHUP: the cached connection was served")
        last = self.emu.requests("slack")[-1]
        self.assertEqual("Bearer " + rotated, last["headers"]["authorization"])
        self.assertEqual(401, last["status"])
        self.assertRaises(PermissionError, read_file, path)

        # The right token back: the refusal is forgotten at once, no negative_ttl wait.
        write_token(SERVICE_TOKEN)
        hups = mnt.log_text().count("SIGHUP: cached connections dropped")
        os.kill(mnt.pid, signal.SIGHUP)
        self.assertTrue(wait_until(lambda: mnt.log_text().count(
            "SIGHUP: cached connections dropped") > hups, 5.0))
        self.assertTrue(wait_until(lambda: self._reads(path) == SLACK.encode(), 1.0, 0.05),
                        "token not readable after the service token was fixed and SIGHUP sent")
        self.assertEqual("Bearer " + SERVICE_TOKEN,
                         self.emu.requests("slack")[-1]["headers"]["authorization"])

    @staticmethod
    def _reads(path):
        try:
            return read_file(path)
        except OSError:
            return None

    def test_sigterm_unmounts_and_exits_0(self):
        mnt = self.mount(["ttl=60"])
        self.assertEqual(SLACK.encode(), read_file(os.path.join(mnt.path, "slack",
                                                                "access_token")))
        started = time.monotonic()
        os.kill(mnt.pid, signal.SIGTERM)
        try:
            rc = mnt.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            self.fail("daemon still running 2 s after SIGTERM")
        self.assertEqual(0, rc)
        self.assertTrue(wait_until(lambda: not mnt.is_mounted(),
                                   max(0.0, 2.0 - (time.monotonic() - started))),
                        "still mounted 2 s after SIGTERM")
        self.assertIn("unmounting", mnt.log_text())
