"""The rotation soak, short: readers hammer many connectors while tokens rotate every 30 ms
and 10% of requests fail; every value read must be one the emulator issued for that
connector, and the daemon's memory must not grow. `make soak` runs the long version."""

import os
import subprocess
import sys

from harness import BINARY, REPO, SANITIZED, TestCase


class SoakTest(TestCase):

    def test_fifteen_second_rotation_soak_reads_only_issued_tokens(self):
        args = ["--binary", BINARY, "--seconds", "15"]
        if SANITIZED:
            args.append("--no-memory-check")  # ASan's quarantine grows by design
        proc = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "soak.py")] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        self.assertEqual(0, proc.returncode, out)
        self.assertIn("wrong reads:       0", out)
