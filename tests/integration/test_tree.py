"""The tree: names, exact bytes, sizes, modes, owners and inode numbers of every file, what
the root lists, the request connectorfs sends, and the .connectorfs status files."""

import errno
import json
import os
import stat

import harness
from harness import SERVICE_TOKEN, TestCase, read_file

SLACK = "xoxb-demo-slack-token-0001"
SHARE_POINT = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkZW1vIn0.sp-demo-token"
GITHUB = "gho_demoGithubToken0001"
NOTION = "secret_demoNotionToken"

CONNECTOR_FILES = ("access_token", "connection.json", "env")


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# type -> (files relative to the connector folder -> exact bytes); a folder maps to a list
# of its names.
EXPECTED = {
    "slack": {
        "access_token": SLACK,
        "connectionConfig": [],
        "connection.json": '{"accessToken":"%s","connectionConfig":null}\n' % SLACK,
        "env": "SLACK_ACCESS_TOKEN=%s\n" % SLACK,
    },
    "share_point": {
        "access_token": SHARE_POINT,
        "connectionConfig": ["subdomain"],
        "connectionConfig/subdomain": "contoso",
        "connection.json": '{"accessToken":"%s","connectionConfig":{"subdomain":"contoso"}}\n'
                           % SHARE_POINT,
        "env": "SHARE_POINT_ACCESS_TOKEN=%s\nSHARE_POINT_SUBDOMAIN=contoso\n" % SHARE_POINT,
    },
    # github's seed omits connection_config altogether: absent means null.
    "github": {
        "access_token": GITHUB,
        "connectionConfig": [],
        "connection.json": '{"accessToken":"%s","connectionConfig":null}\n' % GITHUB,
        "env": "GITHUB_ACCESS_TOKEN=%s\n" % GITHUB,
    },
    "notion": {
        "access_token": NOTION,
        "connectionConfig": ["workspace", "workspace_id"],
        "connectionConfig/workspace": "Acme Docs",
        "connectionConfig/workspace_id": "ws-123",
        "connection.json": '{"accessToken":"%s","connectionConfig":{"workspace":"Acme Docs",'
                           '"workspace_id":"ws-123"}}\n' % NOTION,
        "env": "NOTION_ACCESS_TOKEN=%s\nNOTION_WORKSPACE='Acme Docs'\n"
               "NOTION_WORKSPACE_ID=ws-123\n" % NOTION,
    },
}

# A connection whose config holds every JSON kind: key -> (JSON value, file bytes, env value).
TYPED_TYPE = "typed_conn-1"
TYPED_TOKEN = "typed-token-0123456789"
TYPED_CONFIG = [
    ("count", 42, "42", "42"),
    ("ratio", 1.5, "1.5", "1.5"),
    ("negative", -7, "-7", "-7"),
    ("enabled", True, "true", "true"),
    ("disabled", False, "false", "false"),
    ("nothing", None, "", None),  # env: empty, bare or ''
    ("nested", {"a": [1, 2, {"b": "c"}], "d": "e f"}, '{"a":[1,2,{"b":"c"}],"d":"e f"}',
     "'{\"a\":[1,2,{\"b\":\"c\"}],\"d\":\"e f\"}'"),
    ("list", ["x", "y"], '["x","y"]', "'[\"x\",\"y\"]'"),
    ("quote", "it's", "it's", "'it'\\''s'"),
    ("bare.chars", "A-z0-9._+/=:@%", "A-z0-9._+/=:@%", "A-z0-9._+/=:@%"),
    # sh would expand a bare "~" when the file is sourced: quoted (README).
    ("home", "~/data:~", "~/data:~", "'~/data:~'"),
    ("empty_string", "", "", None),
]


class TreeTest(TestCase):

    def refresh(self, mnt, name):
        """Force a re-fetch by reading .connectorfs/refresh/NAME; it must succeed."""
        text, err = harness.refresh(mnt, name)
        self.assertIsNone(err, "refresh/%s: %s" % (name, harness.errname(err)))
        self.assertRegex(text, r"^%s generation \d+\n$" % name)

    def assertTree(self, mnt, type, expected):
        base = os.path.join(mnt.path, type)
        self.assertEqual(sorted(["access_token", "connectionConfig", "connection.json", "env"]),
                         sorted(os.listdir(base)))
        for rel, want in expected.items():
            path = os.path.join(base, rel)
            with self.subTest(type=type, file=rel):
                if isinstance(want, list):
                    self.assertEqual(sorted(want), sorted(os.listdir(path)))
                    continue
                want = want.encode()
                got = read_file(path)
                self.assertEqual(want, got)
                self.assertEqual(len(got), os.stat(path).st_size, "st_size != bytes read")

    def test_every_file_has_the_exact_bytes_of_the_seeded_connections(self):
        mnt = self.mount(["ttl=60"])
        for type, expected in EXPECTED.items():
            self.assertTree(mnt, type, expected)

    def test_config_values_of_every_json_kind_become_files_and_env_lines(self):
        config = {k: v for k, v, _, _ in TYPED_CONFIG}
        self.emu.set(TYPED_TYPE, TYPED_TOKEN, config=config)
        mnt = self.mount(["ttl=60"])
        base = os.path.join(mnt.path, TYPED_TYPE)
        self.assertEqual(sorted(config), sorted(os.listdir(base + "/connectionConfig")))
        for key, _, want, _ in TYPED_CONFIG:
            with self.subTest(key=key):
                path = os.path.join(base, "connectionConfig", key)
                got = read_file(path)
                self.assertEqual(want.encode(), got)
                self.assertEqual(len(got), os.stat(path).st_size)
        doc = read_file(base + "/connection.json")
        self.assertEqual(('{"accessToken":"%s","connectionConfig":%s}\n'
                          % (TYPED_TOKEN, compact(config))).encode(), doc)
        self.assertEqual(len(doc), os.stat(base + "/connection.json").st_size)

        env = read_file(base + "/env").decode()
        self.assertEqual(len(env.encode()), os.stat(base + "/env").st_size)
        lines = env.split("\n")
        self.assertEqual("", lines[-1], "env must end with a newline")
        lines = lines[:-1]
        self.assertEqual("TYPED_CONN_1_ACCESS_TOKEN=" + TYPED_TOKEN, lines[0])
        want_lines = []
        for key, _, _, env_value in TYPED_CONFIG:
            name = "TYPED_CONN_1_" + "".join(c if c.isalnum() else "_" for c in key.upper())
            want_lines.append((name, env_value))
        self.assertEqual(len(want_lines), len(lines) - 1, env)
        for (name, env_value), line in zip(want_lines, lines[1:]):
            with self.subTest(env=name):
                if env_value is None:  # an empty value may be bare or quoted
                    self.assertIn(line, (name + "=", name + "=''"))
                else:
                    self.assertEqual(name + "=" + env_value, line)

    def test_config_key_that_is_not_a_safe_file_name_is_left_out_and_logged(self):
        self.emu.set("unsafe", "unsafe-token-0123456789",
                     config={"../escape": "x", "a/b": "y", "ok_key": "z"})
        mnt = self.mount(["ttl=60"])
        mnt.expect_log(r"^connectorfs: unsafe: config key that is not a safe file name")
        base = os.path.join(mnt.path, "unsafe")
        self.assertEqual(["ok_key"], os.listdir(base + "/connectionConfig"))
        self.assertEqual(b"z", read_file(base + "/connectionConfig/ok_key"))
        env = read_file(base + "/env").decode()
        self.assertEqual("UNSAFE_ACCESS_TOKEN=unsafe-token-0123456789\nUNSAFE_OK_KEY=z\n", env)

    def test_files_are_regular_0400_and_folders_0500_owned_by_the_mounting_user(self):
        mnt = self.mount(["ttl=60"])
        uid, gid = os.getuid(), os.getgid()
        folders = ["", "share_point", "share_point/connectionConfig", ".connectorfs"]
        files = ["share_point/" + f for f in CONNECTOR_FILES] + \
            ["share_point/connectionConfig/subdomain"]
        for rel in folders:
            with self.subTest(folder=rel):
                st = os.lstat(os.path.join(mnt.path, rel))
                self.assertTrue(stat.S_ISDIR(st.st_mode), oct(st.st_mode))
                self.assertEqual(0o500, stat.S_IMODE(st.st_mode), oct(st.st_mode))
                self.assertEqual((uid, gid), (st.st_uid, st.st_gid))
        for rel in files:
            with self.subTest(file=rel):
                st = os.lstat(os.path.join(mnt.path, rel))
                self.assertTrue(stat.S_ISREG(st.st_mode), oct(st.st_mode))
                self.assertEqual(0o400, stat.S_IMODE(st.st_mode), oct(st.st_mode))
                self.assertEqual((uid, gid), (st.st_uid, st.st_gid))

    def test_mode_uid_gid_options_set_modes_and_owner(self):
        mnt = self.mount(["ttl=60", "mode=0440", "dir_mode=0550", "uid=1234", "gid=4321"])
        st = os.stat(os.path.join(mnt.path, "slack", "access_token"))
        self.assertEqual((0o440, 1234, 4321), (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))
        st = os.stat(os.path.join(mnt.path, "slack"))
        self.assertEqual((0o550, 1234, 4321), (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid))

    def test_inode_numbers_are_stable_while_the_value_is_and_files_are_replaced_on_change(self):
        mnt = self.mount(["ttl=60"])
        folders = ["share_point", "share_point/connectionConfig"]
        files = ["share_point/connectionConfig/subdomain"] + \
            ["share_point/" + f for f in CONNECTOR_FILES]
        paths = [os.path.join(mnt.path, n) for n in folders + files]
        first = [os.stat(p).st_ino for p in paths]
        self.assertEqual(len(set(first)), len(first), "inode numbers must be distinct")
        self.assertEqual(first, [os.stat(p).st_ino for p in paths])
        self.refresh(mnt, "share_point")  # same value again: nothing is replaced
        self.assertEqual(first, [os.stat(p).st_ino for p in paths])
        new = self.emu.rotate("share_point", length=80)
        self.refresh(mnt, "share_point")
        self.assertEqual(new.encode(), read_file(os.path.join(mnt.path, "share_point",
                                                              "access_token")))
        after = [os.stat(p).st_ino for p in paths]
        # Folders keep their inode; a changed value is a replaced file, as after an
        # atomic rename: a new inode number, never one used before.
        self.assertEqual(first[:len(folders)], after[:len(folders)])
        self.assertTrue(set(after[len(folders):]).isdisjoint(first))
        self.assertEqual(after, [os.stat(p).st_ino for p in paths])

    def test_a_file_opened_before_a_change_reads_the_old_value_to_the_end(self):
        mnt = self.mount(["ttl=60"])
        path = os.path.join(mnt.path, "slack", "access_token")
        old = read_file(path)
        for length in (90, 5):  # longer, then shorter than the open file's value
            fd = os.open(path, os.O_RDONLY)
            try:
                head = os.read(fd, 4)
                new = self.emu.rotate("slack", length=length)
                self.refresh(mnt, "slack")
                rest = b""
                while True:
                    chunk = os.read(fd, 3)
                    if not chunk:
                        break
                    rest += chunk
                self.assertEqual(old, head + rest, "an open file mixed two values")
                self.assertEqual(len(old), os.fstat(fd).st_size)
            finally:
                os.close(fd)
            self.assertEqual(new.encode(), read_file(path))
            self.assertEqual(len(new), os.stat(path).st_size)
            old = new.encode()

    def test_request_carries_the_sdk_path_and_headers(self):
        mnt = self.mount(["ttl=60"])
        for type in ("slack", "share_point"):
            with self.subTest(type=type):
                read_file(os.path.join(mnt.path, type, "access_token"))
                reqs = self.emu.requests(type)
                self.assertEqual(1, len(reqs), reqs)
                r = reqs[0]
                self.assertEqual("GET", r["method"])
                self.assertEqual("/api/apps/demo-app/external-auth/tokens/" + type, r["path"])
                self.assertEqual(200, r["status"])
                h = r["headers"]
                self.assertEqual("Bearer " + SERVICE_TOKEN, h.get("authorization"))
                self.assertEqual("demo-app", h.get("x-app-id"))
                self.assertEqual("application/json", h.get("accept"))
                self.assertNotIn("content-length", {k for k, v in h.items() if v != "0"})

    def test_root_lists_configured_connectors_before_any_read_and_fetched_ones_after(self):
        mnt = self.mount(["ttl=60", "connectors=slack:github"])
        mnt.expect_log(r"^connectorfs: notconnected: connector not connected \(HTTP 404")
        self.assertEqual([".connectorfs", "connectors", "github", "slack"],
                         sorted(os.listdir(mnt.path)))
        self.assertNoRequests()
        self.assertEqual(NOTION.encode(), read_file(os.path.join(mnt.path, "notion",
                                                                 "access_token")))
        self.assertEqual([".connectorfs", "connectors", "github", "notion", "slack"],
                         sorted(os.listdir(mnt.path)))
        self.assertFalse(os.path.exists(os.path.join(mnt.path, "notconnected")))
        self.assertNotIn("notconnected", os.listdir(mnt.path))
        self.assertEqual(["metrics", "refresh", "status.json"],
                         sorted(os.listdir(os.path.join(mnt.path, ".connectorfs"))))
        self.assertTrue(stat.S_ISDIR(os.stat(harness.refresh_path(mnt, "")).st_mode),
                        ".connectorfs/refresh must be a folder")

    def test_status_json_and_metrics_report_each_connector(self):
        # notion is known (connectors=) and failing: it has a row with its last error. A name
        # that turned out not to exist (a 404 on lookup) has none, in either file.
        mnt = self.mount(["ttl=60", "connectors=slack:notion"])
        mnt.expect_log(r"^connectorfs: notconnected: connector not connected \(HTTP 404")
        mnt.expect_log(r"^connectorfs: notion: server error \(HTTP 500")
        read_file(os.path.join(mnt.path, "slack", "access_token"))
        self.emu.fail(type="notion", count=1, status=500)
        self.assertErrno(errno.EIO, read_file, os.path.join(mnt.path, "notion", "access_token"))
        self.assertFalse(os.path.exists(os.path.join(mnt.path, "notconnected",
                                                     "access_token")))
        raw = read_file(os.path.join(mnt.path, ".connectorfs", "status.json"))
        self.assertEqual(len(raw), os.stat(os.path.join(mnt.path, ".connectorfs",
                                                        "status.json")).st_size)
        status = json.loads(raw)
        conns = status["connectors"]
        self.assertNotIn("notconnected", conns, "a name that does not exist has a status row")
        slack = conns["slack"]
        for field in ("state", "fetched_at", "changed_at", "generation", "requests",
                      "failures", "last_error"):
            self.assertIn(field, slack)
            self.assertIn(field, conns["notion"])
        self.assertEqual(1, slack["requests"])
        self.assertEqual(0, slack["failures"])
        self.assertGreaterEqual(slack["generation"], 1)
        self.assertIsNotNone(slack["fetched_at"])
        self.assertIsNotNone(slack["changed_at"])
        self.assertIsNone(slack["last_error"])
        failing = conns["notion"]
        self.assertIsNotNone(failing["last_error"])
        self.assertEqual(1, failing["failures"])
        self.assertIn("500", json.dumps(failing["last_error"]))

        metrics = read_file(os.path.join(mnt.path, ".connectorfs", "metrics")).decode()
        lines = metrics.splitlines()
        self.assertIn("# TYPE connectorfs_requests_total counter", lines)
        self.assertIn('connectorfs_requests_total{connector="slack"} 1', lines)
        self.assertNotIn("notconnected", metrics)
        for text in (raw.decode(), metrics):
            for secret in self.emu.all_secrets():
                self.assertNotIn(secret, text)
