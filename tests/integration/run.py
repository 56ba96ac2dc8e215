#!/usr/bin/env python3
"""Run the integration tests: mount the real connectorfs binary against the emulator.

Usage: python3 tests/integration/run.py [--binary PATH] [-k PATTERN] [-v]
Prints one line per test (ok|FAIL|ERROR|skip  name (seconds)), the failures, and last a line
"N passed, N failed" (", N skipped" when some were). Exit status 1 if any test failed.
Must run as root. Whatever happens (failure, Ctrl-C, SIGTERM) every mount is undone.
"""

import argparse
import re
import atexit
import os
import signal
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


class Result(unittest.TestResult):
    """One line per test as it ends; failures are kept for the end."""

    def __init__(self, stream, verbose):
        super().__init__()
        self.stream = stream
        self.verbose = verbose
        self.passed = 0
        self.failed_ids = set()  # tests (not subtests, not reports) that failed
        self.reports = []
        self._start = {}
        self._outcome = {}

    @staticmethod
    def name(test):
        return getattr(test, "_testMethodName", None) or str(test)

    def startTest(self, test):
        super().startTest(test)
        self._start[test.id()] = time.monotonic()
        self._outcome[test.id()] = "ok"
        if self.verbose:
            self.stream.write("..    %s\n" % test.id())
            self.stream.flush()

    def _mark(self, test, outcome, err):
        # ERROR beats FAIL beats ok (a cleanup can fail after the body passed).
        rank = {"ok": 0, "skip": 0, "FAIL": 1, "ERROR": 2}
        self.failed_ids.add(test.id())
        if rank[outcome] >= rank[self._outcome.get(test.id(), "ok")]:
            self._outcome[test.id()] = outcome
        if err is not None:
            self.reports.append((outcome, test.id(), self._exc_info_to_string(err, test)))

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.suite._ErrorHolder):  # setUpClass / module failure
            self.reports.append(("ERROR", str(test), self._exc_info_to_string(err, test)))
            self.failed_ids.add(str(test))
            self.stream.write("ERROR  %s\n" % test)
            self.stream.flush()
            return
        self._mark(test, "ERROR", err)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._mark(test, "FAIL", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._outcome[test.id()] = "skip"

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._mark(test, "FAIL" if failed else "ERROR", None)
            self.reports.append(("FAIL" if failed else "ERROR", subtest.id(),
                                 self._exc_info_to_string(err, test)))

    def stopTest(self, test):
        super().stopTest(test)
        outcome = self._outcome.pop(test.id(), "ok")
        took = time.monotonic() - self._start.pop(test.id(), time.monotonic())
        if outcome == "ok":
            self.passed += 1
        self.stream.write("%-5s  %s (%.2fs)\n" % (outcome, self.name(test), took))
        self.stream.flush()


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


def install_signal_handlers():
    def on_signal(signum, frame):
        sys.stderr.write("\nrun.py: %s: unmounting and stopping everything\n"
                         % signal.Signals(signum).name)
        harness.cleanup_all()
        os._exit(128 + signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    atexit.register(harness.cleanup_all)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=os.path.join(harness.REPO, "build", "default",
                                                    "connectorfs"),
                   help="the connectorfs binary to mount (default build/default/connectorfs)")
    p.add_argument("-k", dest="patterns", action="append", default=[],
                   help="run only tests whose id contains PATTERN (or matches it as a glob)")
    p.add_argument("-v", "--verbose", action="store_true", help="say when each test starts")
    p.add_argument("--unit-log", metavar="FILE",
                   help="output of the Check unit run: its counts join the closing line")
    args = p.parse_args()
    unit_passed = unit_failed = 0
    if args.unit_log:
        try:
            with open(args.unit_log) as f:
                m = re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", f.read())
        except OSError as e:
            sys.stderr.write("run.py: --unit-log %s: %s\n" % (args.unit_log, e.strerror))
            return 2
        if m is None:
            sys.stderr.write("run.py: --unit-log %s has no Check summary line\n" % args.unit_log)
            return 2
        unit_failed = int(m.group(2)) + int(m.group(3))
        unit_passed = int(m.group(1)) - unit_failed

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        sys.stderr.write("run.py: %s is not an executable; build it with make\n" % binary)
        return 2
    if os.geteuid() != 0:
        sys.stderr.write("run.py: the integration tests mount FUSE filesystems; run as root\n")
        return 2
    if not os.path.exists("/dev/fuse"):
        sys.stderr.write("run.py: /dev/fuse is missing\n")
        return 2
    harness.BINARY = binary
    os.environ["CONNECTORFS_BINARY"] = binary
    install_signal_handlers()

    loader = unittest.TestLoader()
    if args.patterns:
        loader.testNamePatterns = [pat if any(c in pat for c in "*?[") else "*%s*" % pat
                                   for pat in args.patterns]
    suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    ntests = sum(1 for _ in iter_tests(suite))
    sys.stdout.write("connectorfs integration tests: %d test(s), binary %s\n"
                     % (ntests, os.path.relpath(binary, harness.REPO)))
    sys.stdout.flush()

    result = Result(sys.stdout, args.verbose)
    started = time.monotonic()
    try:
        suite.run(result)
    finally:
        harness.cleanup_all()
    took = time.monotonic() - started

    for outcome, name, text in result.reports:
        sys.stdout.write("\n%s\n%s: %s\n%s\n%s" % ("=" * 70, outcome, name, "-" * 70, text))
    # Count tests, not reports: a test whose body and cleanup both failed is one failure.
    failed = len(result.failed_ids)
    skipped = len(result.skipped)
    sys.stdout.write("\nran %d test(s) in %.1f s\n" % (result.testsRun, took))
    if args.unit_log:
        sys.stdout.write("unit tests: %d passed, %d failed; integration tests: %d passed, "
                         "%d failed\n" % (unit_passed, unit_failed, result.passed, failed))
    line = "%d passed, %d failed" % (result.passed + unit_passed, failed + unit_failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 1 if failed or unit_failed or not result.wasSuccessful() else 0


if __name__ == "__main__":
    sys.exit(main())
