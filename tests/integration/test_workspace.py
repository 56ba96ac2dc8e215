"""Workspace connectors: MOUNT/connectors/ID/, fetched by id as the SDK's
getWorkspaceConnection(connectorId) does, with the tree, caching, errors, notifications and
takeovers of app connectors."""

import errno
import json
import os
import signal
import subprocess
import time

import harness
from harness import BINARY, TestCase, read_file, refresh, wait_until

HANG = 20.0 if harness.SANITIZED else 10.0
CID = "69aBc-12_x"
WS_TOKEN = "ws-demo-token-0001"
WS_NAME = "connectors/" + CID  # the emulator's (and the daemon's) name for it


class WorkspaceTest(TestCase):

    def setUp(self):
        super().setUp()
        self.emu.set_workspace(CID, WS_TOKEN, {"region": "eu", "tier": 2})

    def folder(self, mnt, cid=CID):
        return os.path.join(mnt.path, "connectors", cid)

    def test_a_workspace_connector_has_the_tree_of_an_app_connector(self):
        mnt = self.mount(["ttl=300"])
        d = self.folder(mnt)
        self.assertEqual(WS_TOKEN.encode(), read_file(os.path.join(d, "access_token")))
        self.assertEqual(b"eu", read_file(os.path.join(d, "connectionConfig", "region")))
        self.assertEqual(b"2", read_file(os.path.join(d, "connectionConfig", "tier")))
        self.assertEqual({"accessToken": WS_TOKEN, "connectionConfig": {"region": "eu", "tier": 2}},
                         json.loads(read_file(os.path.join(d, "connection.json"))))
        self.assertEqual(("CONNECTORS_69ABC_12_X_ACCESS_TOKEN=%s\nCONNECTORS_69ABC_12_X_REGION=eu\n"
                          "CONNECTORS_69ABC_12_X_TIER=2\n" % WS_TOKEN).encode(),
                         read_file(os.path.join(d, "env")))
        self.assertEqual(["access_token", "connection.json", "connectionConfig", "env"],
                         sorted(os.listdir(d)))
        self.assertEqual([CID], os.listdir(os.path.join(mnt.path, "connectors")))
        self.assertIn("connectors", os.listdir(mnt.path))
        # Exactly the SDK's request, once: cached like any connector.
        for _ in range(3):
            read_file(os.path.join(d, "access_token"))
        reqs = self.emu.requests(WS_NAME)
        self.assertEqual(1, len(reqs))
        self.assertEqual(("GET", "/api/apps/%s/external-auth/tokens/connectors/%s"
                          % (harness.APP_ID, CID)), (reqs[0]["method"], reqs[0]["path"]))
        headers = {k.lower(): v for k, v in reqs[0]["headers"].items()}
        self.assertEqual("Bearer " + harness.SERVICE_TOKEN, headers.get("authorization"))
        self.assertEqual(harness.APP_ID, headers.get("x-app-id"))

    def test_ids_outside_the_alphabet_are_enoent_without_a_request(self):
        mnt = self.mount(["ttl=300"])
        for bad in ("a.b", "-.", "x" * 129, "sp ace", "caf\u00e9"):
            self.assertErrno(errno.ENOENT, os.stat, os.path.join(mnt.path, "connectors", bad))
        self.assertNoRequests()
        # 128 characters is an id: it is asked for (404 here).
        mnt.expect_log(r"connectors/x{128}: connector not connected \(HTTP 404")
        self.assertErrno(errno.ENOENT, os.stat, os.path.join(mnt.path, "connectors", "x" * 128))
        self.assertEqual(1, len(self.emu.requests()))

    def test_an_unknown_id_is_enoent_and_the_name_connectors_is_never_an_app_connector(self):
        mnt = self.mount(["ttl=300", "connectors=slack"])
        mnt.expect_log(r"connectors/nope: connector not connected \(HTTP 404")
        self.assertErrno(errno.ENOENT, os.stat, self.folder(mnt, "nope"))
        self.assertTrue(os.path.isdir(os.path.join(mnt.path, "connectors")))
        self.assertEqual([], os.listdir(os.path.join(mnt.path, "connectors")))
        self.assertEqual([".connectorfs", "connectors", "slack"], sorted(os.listdir(mnt.path)))
        self.assertEqual([], self.emu.requests("connectors"))
        r = subprocess.run([BINARY, "-f", "-o", "connectors=connectors", mnt.path + "-x"],
                           capture_output=True, text=True, timeout=HANG)
        self.assertEqual(2, r.returncode)
        self.assertIn("workspace connectors' folder", r.stderr)

    def test_a_rotation_reaches_the_files_and_wait_and_inotify_see_it(self):
        mnt = self.mount(["ttl=300"])
        d = self.folder(mnt)
        token_path = os.path.join(d, "access_token")
        read_file(token_path)
        w = subprocess.Popen([BINARY, "wait", d, token_path], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: w.poll() is None and w.kill())
        ino = os.stat(token_path).st_ino
        time.sleep(0.3)
        rotated = self.emu.rotate(WS_NAME)
        text, err = refresh(mnt, "all")
        self.assertIsNone(err)
        self.assertIn("%s generation 2\n" % WS_NAME, text)
        self.assertEqual(rotated.encode(), read_file(token_path))
        self.assertNotEqual(ino, os.stat(token_path).st_ino)
        out, errtext = w.communicate(timeout=HANG)
        # The kernel is told of the files one by one: wait may wake with one of them seen.
        self.assertEqual((0, ""), (w.returncode, errtext))
        self.assertTrue(out.splitlines() and set(out.splitlines()) <= {d, token_path}, out)

    def test_errors_are_those_of_app_connectors(self):
        mnt = self.mount(["ttl=1", "max_stale=0"])
        d = self.folder(mnt)
        mnt.expect_log(r"connectors/%s: .*(HTTP 503|server error)" % CID)
        self.emu.fail(WS_NAME, count=-1, status=503)
        self.assertErrno(errno.EIO, read_file, os.path.join(d, "access_token"))
        self.emu.clear_faults()
        self.emu.delete_workspace(CID)
        mnt.expect_log(r"connectors/%s: connector not connected" % CID)
        self.assertTrue(wait_until(lambda: harness.errno_of(os.stat, d) == errno.ENOENT, HANG))

    def test_a_takeover_keeps_workspace_values_without_asking_the_api(self):
        mnt = self.mount(["ttl=300"])
        mnt.expect_log(r"server \d+ (was killed by signal 9|crashed)")
        path = os.path.join(self.folder(mnt), "access_token")
        self.assertEqual(WS_TOKEN.encode(), read_file(path))
        held = open(path, "rb")
        self.addCleanup(held.close)
        self.emu.clear_requests()
        os.kill(mnt.server_pid(), signal.SIGKILL)
        self.assertTrue(wait_until(lambda: harness.mount_status(mnt.path).get("takeovers") == 1,
                                   HANG))
        self.assertEqual(WS_TOKEN.encode(), read_file(path))
        self.assertEqual(WS_TOKEN.encode(), held.read())
        self.assertEqual([], self.emu.requests(WS_NAME))

    def test_access_rules_name_a_workspace_connector_as_connectors_slash_id(self):
        mnt = self.mount(["allow_other", "access=connectors/%s:61101::0440" % CID])
        st = os.stat(os.path.join(self.folder(mnt), "access_token"))
        self.assertEqual((61101, 0o440), (st.st_uid, st.st_mode & 0o777))
        self.assertEqual(0o550, os.stat(self.folder(mnt)).st_mode & 0o777)
        # The tenant passes connectors/ as it passes the root, and reads its own.
        os.chmod(os.path.dirname(mnt.path), 0o711)
        r = subprocess.run(["setpriv", "--reuid", "61101", "--regid", "61101", "--clear-groups",
                            "cat", os.path.join(self.folder(mnt), "access_token")],
                           capture_output=True, text=True, timeout=HANG)
        self.assertEqual((0, WS_TOKEN), (r.returncode, r.stdout))
        # refresh/ lists app connectors only (a workspace name holds a '/').
        self.assertNotIn(WS_NAME, os.listdir(os.path.join(mnt.path, ".connectorfs", "refresh")))
