"""Many connectors: 1000 connections in the emulator, each read once and then again. The
second pass is served with no request, the root lists exactly the fetched ones, and the
daemon's memory stays within a few MiB (lookups are hash lookups, not scans)."""

import os
import time

from harness import SANITIZED, TestCase, read_file

COUNT = 1000


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ScaleTest(TestCase):

    def test_a_thousand_connectors_are_read_listed_and_cached_within_a_few_mib(self):
        names = ["bulk%04d" % i for i in range(COUNT)]
        for n in names:
            self.emu.set(n, "tok-" + n + "-0123456789abcdef")
        mnt = self.mount(["ttl=600"])
        read_file(os.path.join(mnt.path, "slack", "access_token"))
        rss_before = rss_kib(mnt.server_pid())
        for n in names:
            self.assertEqual(("tok-" + n + "-0123456789abcdef").encode(),
                             read_file(os.path.join(mnt.path, n, "access_token")))
        requests = sum(self.emu.counts().values())
        started = time.monotonic()
        for n in names:
            self.assertEqual(("tok-" + n + "-0123456789abcdef").encode(),
                             read_file(os.path.join(mnt.path, n, "access_token")))
        second = time.monotonic() - started
        self.assertEqual(requests, sum(self.emu.counts().values()),
                         "the second pass over cached connectors made requests")
        listing = sorted(os.listdir(mnt.path))
        self.assertEqual(sorted(names + ["slack"]), [x for x in listing if x not in (".connectorfs", "connectors")])
        grown = rss_kib(mnt.server_pid()) - rss_before
        if not SANITIZED:
            # The handover state keeps a copy of every value (memfd pages, counted in
            # the server's RSS): about 2 MiB of the bound for 1000 connectors.
            self.assertLess(grown, 6144, "1000 connectors cost %d KiB" % grown)
        # Not a timing assertion: printed for the record of the run.
        print("\n    1000 cached reads: %.3f s; daemon grew %d KiB" % (second, grown))
