"""Through an HTTPS proxy: proxy= and https_proxy/HTTPS_PROXY/NO_PROXY for an https:// API, always
a CONNECT tunnel with TLS to the API verified inside it, so the proxy relays bytes it cannot read
and never a token; proxy credentials only from proxy_auth_file= (never argv, never a log); a
plain http:// (loopback) API never through a proxy. A USER:PASSWORD@ in https_proxy is taken
out of the URL by the daemon (libcurl names a proxy URL in some error messages, and those reach
the log and status.json) and still sent to the proxy, with a warning naming proxy_auth_file=.
The proxy is a small recording CONNECT proxy in a thread of this process; the API is the
emulator over TLS with a throwaway CA."""

import base64
import errno
import os
import select
import shutil
import signal
import socket
import ssl
import tempfile
import threading

import harness
from harness import (SERVICE_TOKEN, Mount, TestCase, base_env, mount_status, mounted_fstype,
                     read_file, run_binary, wait_until)
from test_security import TLSCase, make_server_cert, memory_hits, sanitized

SLACK = b"xoxb-demo-slack-token-0001"
GITHUB = b"gho_demoGithubToken0001"
PROXY_USER = "cfs-proxy-user"
PROXY_PASSWORD = "pr0xy-Pa55word with:colon "   # a ':' and a trailing space, both kept
OTHER_PASSWORD = "an0ther-pr0xy-passw0rd"
# In https_proxy's URL. Holds "secret": that word must appear in no log line and no status.json.
ENV_PASSWORD = "env-secret-pw"
ENV_WARNING = (r"^connectorfs: %s holds the proxy's user name and password: they are used, "
               r"but the environment can be read in /proc/PID/environ; put USER:PASSWORD in "
               r"a file and use proxy_auth_file=FILE$")
ENV_IGNORED = (r"^connectorfs: https_proxy: the user name and password in the proxy URL are "
               r"ignored: proxy_auth_file= gives them$")
UNDECODABLE = (r"https_proxy: the user name or password in the proxy URL decodes to a control "
               r"character")
KILLED = r"^connectorfs: server \d+ was killed by signal 9; starting another to take over$"
REFUSED_407 = (r"^connectorfs: %s: connection refused \(HTTP 0\): "
               r"CONNECT tunnel failed, response 407$")


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1, one thread per client connection. It records each
    request line, each Proxy-Authorization it was sent, and every byte it received from either
    side (the request heads and everything it relayed). With credentials (a set of
    "USER:PASSWORD"), a CONNECT without a matching Basic Proxy-Authorization gets 407. With
    tls (an ssl.SSLContext), clients speak TLS to the proxy itself (an https:// proxy URL)."""

    def __init__(self, credentials=None, tls=None):
        self.credentials = credentials
        self.tls = tls
        self.lock = threading.Lock()
        self.request_lines = []
        self.auth_headers = []
        self.received = bytearray()
        self.connections = 0
        self.tls_failures = 0
        self._socks = set()
        self._threads = []
        self._stopping = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
        self._accepter = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepter.start()

    def _record(self, data):
        with self.lock:
            self.received += data

    def _track(self, sock):
        with self.lock:
            if self._stopping:
                sock.close()
                return False
            self._socks.add(sock)
            return True

    def _accept_loop(self):
        while not self._stopping:
            try:
                client, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if not self._track(client):
                return
            with self.lock:
                self.connections += 1
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, client):
        upstream = None
        try:
            client.settimeout(10)
            if self.tls is not None:
                try:
                    client = self.tls.wrap_socket(client, server_side=True)
                except (OSError, ssl.SSLError):
                    with self.lock:
                        self.tls_failures += 1
                    return
                self._track(client)
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data or len(head) > 65536:
                    return
                self._record(data)
                head += data
            head, _, early = head.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            auth = headers.get("proxy-authorization")
            with self.lock:
                self.request_lines.append(lines[0])
                if auth is not None:
                    self.auth_headers.append(auth)
            method, _, rest = lines[0].partition(" ")
            target = rest.partition(" ")[0]
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
                return
            if self.credentials is not None and \
                    auth not in {basic(*c.split(":", 1)) for c in self.credentials}:
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                               b"Proxy-Authenticate: Basic realm=\"connectorfs test\"\r\n"
                               b"Content-Length: 0\r\nConnection: close\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            if not self._track(upstream):
                return
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if early:
                upstream.sendall(early)
            self._relay(client, upstream)
        except (OSError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass

    def _relay(self, client, upstream):
        client.settimeout(None)
        upstream.settimeout(None)
        while not self._stopping:
            ready = [client] if isinstance(client, ssl.SSLSocket) and client.pending() else []
            if not ready:
                ready, _, _ = select.select([client, upstream], [], [], 0.2)
            for s in ready:
                data = s.recv(65536)
                if not data:
                    return
                self._record(data)
                (upstream if s is client else client).sendall(data)

    def seen(self):
        """(request lines, Proxy-Authorization values, bytes received) so far."""
        with self.lock:
            return list(self.request_lines), list(self.auth_headers), bytes(self.received)

    def stop(self):
        with self.lock:
            self._stopping = True
            socks = list(self._socks)
        try:
            self.listener.close()
        except OSError:
            pass
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        self._accepter.join(2)
        for t in self._threads:
            t.join(2)


class ProxyTest(TLSCase):
    """The emulator over TLS (its own CA, given with cacert=) reached through ConnectProxy."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tls_port = int(cls.tls.url.rpartition(":")[2])

    def proxy(self, **kw):
        p = ConnectProxy(**kw)
        self.addCleanup(p.stop)
        return p

    def scratch(self):
        d = tempfile.mkdtemp(prefix="cfs-proxy-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def auth_file(self, user, password, ending="\n"):
        path = os.path.join(self.scratch(), "proxy-auth")
        with open(path, "w") as f:
            f.write("%s:%s%s" % (user, password, ending))
        os.chmod(path, 0o600)
        return path

    def mount_tls(self, options, env=None, args=()):
        """Mount against the TLS emulator, trusting its CA; extra secrets checked at cleanup."""
        m = Mount(self.tls, options=["ttl=60", "cacert=" + self.ca] + list(options), env=env,
                  args=args)
        m.extra_secrets |= {PROXY_PASSWORD, OTHER_PASSWORD, ENV_PASSWORD,
                            basic(PROXY_USER, PROXY_PASSWORD).split()[1],
                            basic(PROXY_USER, OTHER_PASSWORD).split()[1],
                            basic(PROXY_USER, ENV_PASSWORD).split()[1]}
        m.start()
        self.addCleanup(m.finish)
        return m

    def read(self, mnt, name="slack"):
        return read_file(os.path.join(mnt.path, name, "access_token"))

    def assertTunnelledWithoutTokens(self, proxy, want_requests=None):
        """Every request the proxy got was CONNECT 127.0.0.1:PORT of the TLS emulator, and no
        token, service token or plaintext request crossed it."""
        lines, _, received = proxy.seen()
        self.assertTrue(lines, "the proxy saw no request")
        self.assertEqual(["CONNECT 127.0.0.1:%d HTTP/1.1" % self.tls_port] * len(lines), lines)
        if want_requests is not None:
            self.assertEqual(want_requests, len(lines), lines)
        # A TLS handshake went through the tunnel (records start 0x16 0x03).
        self.assertIn(b"\r\n\r\n\x16\x03", received, "no TLS handshake in the tunnel")
        secrets = {s.encode() for s in self.tls.all_secrets() if len(s) >= 4}
        secrets |= {SERVICE_TOKEN.encode(), SLACK, GITHUB}
        leaked = sorted(len(s) for s in secrets if s in received)
        self.assertEqual([], leaked, "the proxy saw token value(s) of length(s) %s" % leaked)
        for plain in (b"Bearer", b"\nAuthorization:", b"/external-auth/", b"X-App-Id"):
            self.assertFalse(plain in received, "the proxy saw plaintext HTTP to the API: %r"
                             % plain)

    # ---- proxy= ----------------------------------------------------------------------------

    def test_proxy_option_tunnels_to_the_api_and_the_proxy_never_sees_a_token(self):
        proxy = self.proxy()
        mnt = self.mount_tls(["proxy=" + proxy.url])
        self.assertEqual(SLACK, self.read(mnt))
        self.assertEqual(GITHUB, self.read(mnt, "github"))
        self.assertTunnelledWithoutTokens(proxy)
        # The API got the request itself, Bearer and all, from inside the tunnel.
        reqs = self.tls.requests("slack")
        self.assertEqual(1, len(reqs))
        self.assertEqual("Bearer " + SERVICE_TOKEN, reqs[0]["headers"]["authorization"])
        # No credentials were configured: none were sent.
        self.assertEqual([], proxy.seen()[1])

    def test_proxy_option_wins_over_the_environment_proxy(self):
        chosen, ignored = self.proxy(), self.proxy()
        mnt = self.mount_tls(["proxy=" + chosen.url],
                             env={"https_proxy": ignored.url, "HTTPS_PROXY": ignored.url})
        self.assertEqual(SLACK, self.read(mnt))
        self.assertTunnelledWithoutTokens(chosen)
        self.assertEqual(0, ignored.connections, "the environment's proxy was used")

    def test_no_proxy_still_applies_with_the_proxy_option(self):
        proxy = self.proxy()
        mnt = self.mount_tls(["proxy=" + proxy.url], env={"NO_PROXY": "127.0.0.1"})
        self.assertEqual(SLACK, self.read(mnt))
        self.assertEqual(1, len(self.tls.requests("slack")))
        self.assertEqual(0, proxy.connections, "NO_PROXY=127.0.0.1 went through the proxy")

    def test_https_proxy_certificate_is_verified_against_the_system_cas_not_cacert(self):
        # The proxy's certificate comes from the API's private CA: cacert= trusts that CA for
        # the API only, so the handshake with the proxy itself fails and nothing is sent.
        cert, key = make_server_cert(self.certdir, "ca", "proxy")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        proxy = self.proxy(tls=ctx)
        mnt = self.mount_tls(["proxy=" + proxy.url])
        mnt.expect_log(r"^connectorfs: slack: TLS ")
        self.assertErrno(errno.EPROTO, self.read, mnt)
        self.assertEqual(([], [], b""), proxy.seen(), "the proxy read a request")
        self.assertGreaterEqual(proxy.tls_failures, 1)
        self.assertEqual([], self.tls.requests("slack"), "a request got through")

    # ---- the environment -------------------------------------------------------------------

    def test_https_proxy_environment_tunnels_like_the_option(self):
        for var in ("https_proxy", "HTTPS_PROXY"):
            with self.subTest(variable=var):
                proxy = self.proxy()
                mnt = self.mount_tls([], env={var: proxy.url})
                self.assertEqual(SLACK, self.read(mnt))
                self.assertTunnelledWithoutTokens(proxy)
                mnt.finish()

    def test_no_proxy_environment_bypasses_the_https_proxy(self):
        proxy = self.proxy()
        mnt = self.mount_tls([], env={"https_proxy": proxy.url, "NO_PROXY": "127.0.0.1"})
        self.assertEqual(SLACK, self.read(mnt))
        self.assertEqual(1, len(self.tls.requests("slack")))
        self.assertEqual(0, proxy.connections, "NO_PROXY=127.0.0.1 went through the proxy")

    # ---- a password in https_proxy ---------------------------------------------------------

    def env_proxy_url(self, port, password=ENV_PASSWORD, scheme="http"):
        return "%s://%s:%s@127.0.0.1:%d" % (scheme, PROXY_USER, password, port)

    def status_text(self, mnt):
        return read_file(os.path.join(mnt.path, ".connectorfs", "status.json")).decode()

    def assertNoSecretShown(self, mnt):
        """Neither the daemon's log so far nor status.json holds the word "secret"."""
        self.assertNotIn("secret", mnt.log_text(), "the log shows the proxy password")
        self.assertNotIn("secret", self.status_text(mnt), "status.json shows the proxy password")
        for pid in (mnt.pid, mnt.server_pid()):
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                self.assertNotIn(b"secret", f.read())

    def test_a_password_in_https_proxy_goes_to_the_proxy_and_never_to_a_log(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, ENV_PASSWORD)})
        # -d: every request is logged too.
        mnt = self.mount_tls([], env={"https_proxy": self.env_proxy_url(proxy.port)},
                             args=["-d"])
        mnt.expect_log(r".")
        self.assertEqual(SLACK, self.read(mnt))
        self.assertEqual(GITHUB, self.read(mnt, "github"))
        lines, auths, _ = proxy.seen()
        self.assertEqual([basic(PROXY_USER, ENV_PASSWORD)] * len(lines), auths)
        self.assertTunnelledWithoutTokens(proxy)
        self.assertTrue(mnt.wait_log(ENV_WARNING % "https_proxy"), mnt.log_text())
        self.assertNoSecretShown(mnt)

    def test_a_password_in_https_proxy_never_reaches_the_log_or_status_json_when_it_fails(self):
        refusing = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        cases = [
            # name, https_proxy, errno, the log line's end
            ("closed port", self.env_proxy_url(closed_port), errno.ECONNREFUSED,
             r"connection refused \(HTTP 0\): Failed to connect to 127\.0\.0\.1 port %d "
             % closed_port),
            # libcurl quotes the whole proxy URL in these two: it must have none to quote.
            ("bad port", self.env_proxy_url(99999), errno.EHOSTUNREACH,
             r"host unreachable or unknown \(HTTP 0\): Unsupported proxy syntax in "
             r"'http://127\.0\.0\.1:99999'$"),
            ("unsupported scheme", self.env_proxy_url(closed_port, scheme="ftp"),
             errno.ECONNREFUSED, r"connection refused \(HTTP 0\): Unsupported proxy scheme "
             r"for 'ftp://127\.0\.0\.1:%d'$" % closed_port),
            ("wrong password, 407", self.env_proxy_url(refusing.port), errno.ECONNREFUSED,
             r"connection refused \(HTTP 0\): CONNECT tunnel failed, response 407$"),
        ]
        for case, url, want, line in cases:
            with self.subTest(case=case):
                mnt = self.mount_tls([], env={"https_proxy": url})
                mnt.expect_log(ENV_WARNING % "https_proxy")
                mnt.expect_log(r"^connectorfs: slack: " + line)
                self.assertErrno(want, self.read, mnt)
                self.assertTrue(mnt.wait_log(r"^connectorfs: slack: " + line), mnt.log_text())
                self.assertTrue(mnt.wait_log(ENV_WARNING % "https_proxy"), mnt.log_text())
                self.assertIn("slack", self.status_text(mnt))
                self.assertNoSecretShown(mnt)
                self.assertEqual([], self.tls.requests("slack"), "a request got through")
                mnt.finish()
        self.assertEqual([basic(PROXY_USER, ENV_PASSWORD)], refusing.seen()[1])

    def test_an_undecodable_password_in_https_proxy_fails_reads_without_showing_it(self):
        proxy = self.proxy()
        mnt = self.mount_tls([], env={"https_proxy": self.env_proxy_url(
            proxy.port, password="env-secret%00-pw")})
        warning = (r"^connectorfs: %s; every request through the proxy fails \(put "
                   r"USER:PASSWORD in a file and use proxy_auth_file=FILE\)$" % UNDECODABLE)
        failed = r"^connectorfs: slack: host unreachable or unknown \(HTTP 0\): %s$" % UNDECODABLE
        mnt.expect_log(warning)
        mnt.expect_log(failed)
        self.assertErrno(errno.EHOSTUNREACH, self.read, mnt)
        self.assertTrue(mnt.wait_log(warning), mnt.log_text())
        self.assertTrue(mnt.wait_log(failed), mnt.log_text())
        self.assertIn("decodes to a control character", self.status_text(mnt))
        self.assertNoSecretShown(mnt)
        self.assertEqual(0, proxy.connections, "the proxy was used")
        self.assertEqual([], self.tls.requests("slack"), "a request got through")

    def test_proxy_auth_file_wins_over_a_password_in_https_proxy(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        path = self.auth_file(PROXY_USER, PROXY_PASSWORD)
        mnt = self.mount_tls(["proxy_auth_file=" + path],
                             env={"https_proxy": self.env_proxy_url(proxy.port)})
        mnt.expect_log(ENV_IGNORED)
        self.assertEqual(SLACK, self.read(mnt))
        lines, auths, _ = proxy.seen()
        self.assertEqual([basic(PROXY_USER, PROXY_PASSWORD)] * len(lines), auths)
        self.assertTunnelledWithoutTokens(proxy)
        self.assertTrue(mnt.wait_log(ENV_IGNORED), mnt.log_text())
        self.assertNoSecretShown(mnt)

    # ---- proxy_auth_file= ------------------------------------------------------------------

    def test_proxy_auth_file_sends_basic_proxy_authorization_and_never_logs_it(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        path = self.auth_file(PROXY_USER, PROXY_PASSWORD)
        # -d: every request is logged; the harness fails the test if a password is among them.
        mnt = self.mount_tls(["proxy=" + proxy.url, "proxy_auth_file=" + path], args=["-d"])
        mnt.expect_log(r".")
        self.assertEqual(SLACK, self.read(mnt))
        self.assertEqual(GITHUB, self.read(mnt, "github"))
        lines, auths, _ = proxy.seen()
        self.assertEqual([basic(PROXY_USER, PROXY_PASSWORD)] * len(lines), auths)
        self.assertTunnelledWithoutTokens(proxy)
        for pid in (mnt.pid, mnt.server_pid()):
            for name in ("cmdline", "environ"):
                with open("/proc/%d/%s" % (pid, name), "rb") as f:
                    self.assertNotIn(PROXY_PASSWORD.encode(), f.read(),
                                     "/proc/%d/%s holds the proxy password" % (pid, name))

    def test_wrong_proxy_password_gets_407_and_the_read_fails_econnrefused(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        path = self.auth_file(PROXY_USER, OTHER_PASSWORD)
        mnt = self.mount_tls(["proxy=" + proxy.url, "proxy_auth_file=" + path])
        mnt.expect_log(REFUSED_407 % "slack")
        self.assertErrno(errno.ECONNREFUSED, self.read, mnt)
        lines, auths, _ = proxy.seen()
        self.assertEqual(["CONNECT 127.0.0.1:%d HTTP/1.1" % self.tls_port], lines)
        self.assertEqual([basic(PROXY_USER, OTHER_PASSWORD)], auths)
        self.assertEqual([], self.tls.requests("slack"), "a request got through")
        self.assertTrue(mnt.wait_log(REFUSED_407 % "slack"), mnt.log_text())
        st = mount_status(mnt.path)
        self.assertNotIn(OTHER_PASSWORD, str(st))

    def test_without_proxy_auth_file_a_proxy_that_demands_it_is_econnrefused(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        mnt = self.mount_tls(["proxy=" + proxy.url])
        mnt.expect_log(REFUSED_407 % "slack")
        self.assertErrno(errno.ECONNREFUSED, self.read, mnt)
        self.assertEqual([], proxy.seen()[1])

    def test_proxy_password_in_daemon_memory_is_only_in_locked_pages(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        path = self.auth_file(PROXY_USER, PROXY_PASSWORD)
        mnt = self.mount_tls(["proxy=" + proxy.url, "proxy_auth_file=" + path])
        if sanitized(mnt.server_pid()):
            self.skipTest("AddressSanitizer intercepts mlock() and makes it a no-op")
        self.assertEqual(SLACK, self.read(mnt))
        needles = [PROXY_PASSWORD.encode(), basic(PROXY_USER, PROXY_PASSWORD).encode()]
        hits = [(pid, n[:6], hex(addr), name, locked)
                for pid in (mnt.pid, mnt.server_pid())
                for n, addr, name, locked in memory_hits(pid, needles)]
        self.assertTrue(any(h[0] == mnt.server_pid() for h in hits),
                        "the password is not in the server's memory: the scan is broken")
        self.assertEqual([], [h for h in hits if not h[4]],
                         "proxy password outside mlock'ed memory")

    def test_a_server_the_keeper_starts_again_reads_proxy_auth_file_again(self):
        proxy = self.proxy(credentials={"%s:%s" % (PROXY_USER, PROXY_PASSWORD)})
        path = self.auth_file(PROXY_USER, PROXY_PASSWORD)
        mnt = self.mount_tls(["proxy=" + proxy.url, "proxy_auth_file=" + path])
        self.assertEqual(SLACK, self.read(mnt))
        # The proxy's password is rotated: the file first, then the proxy.
        with open(path + ".new", "w") as f:
            f.write("%s:%s\n" % (PROXY_USER, OTHER_PASSWORD))
        os.replace(path + ".new", path)
        proxy.credentials = {"%s:%s" % (PROXY_USER, OTHER_PASSWORD)}
        before = mount_status(mnt.path)
        mnt.expect_log(KILLED)
        os.kill(before["pid"], signal.SIGKILL)
        self.assertTrue(wait_until(lambda: mount_status(mnt.path)["pid"] != before["pid"], 5.0),
                        "no new server within 5 s")
        # A connector not read before: the new server must fetch it, through the proxy.
        self.assertEqual(GITHUB, self.read(mnt, "github"))
        _, auths, _ = proxy.seen()
        self.assertEqual(basic(PROXY_USER, OTHER_PASSWORD), auths[-1])
        self.assertTunnelledWithoutTokens(proxy)

    # ---- refusals at start -----------------------------------------------------------------

    def run_refused(self, args, env=None, secret=None):
        mnt = os.path.join(self.scratch(), "mnt")
        os.mkdir(mnt)
        rc, out, err = run_binary(["-f"] + args + [mnt], base_env(self.tls.url, **(env or {})),
                                  timeout=5)
        self.assertIsNone(mounted_fstype(mnt), "it mounted")
        self.assertEqual(2, rc, "stderr: %r" % err)
        lines = err.strip().splitlines()
        self.assertEqual(1, len(lines), "want one line, got: %r" % err)
        self.assertNotIn(SERVICE_TOKEN, out + err)
        if secret:
            self.assertNotIn(secret, out + err)
        return lines[0]

    def test_proxy_url_with_credentials_is_refused_at_start_pointing_at_proxy_auth_file(self):
        for url in ("http://%s:%s@127.0.0.1:3128" % (PROXY_USER, "s3cr3t-in-argv"),
                    "https://only-a-user@127.0.0.1:3128", "http://127.0.0.1:3128/@s3cr3t-in-argv"):
            with self.subTest(url=url):
                line = self.run_refused(["-o", "proxy=" + url], secret="s3cr3t-in-argv")
                self.assertRegex(line, r"proxy=.*proxy_auth_file=")
        self.assertEqual([], self.tls.requests())

    def test_proxy_urls_other_than_http_or_https_to_a_host_are_refused_at_start(self):
        for url in ("socks5://127.0.0.1:1080", "127.0.0.1:3128", "ftp://127.0.0.1",
                    "http://", "https://:3128", "http://127.0.0.1:0", "http://127.0.0.1:65536",
                    "http://127.0.0.1:31x8", "http://proxy.example/path", "http://[::1",
                    "http://proxy.example?x=1", "http://prox y.example"):
            with self.subTest(url=url):
                self.assertRegex(self.run_refused(["-o", "proxy=" + url]), r"proxy=")

    def test_proxy_password_options_are_refused_at_start_pointing_at_proxy_auth_file(self):
        for key in ("proxy_password", "proxy_auth", "proxy_user"):
            with self.subTest(option=key):
                line = self.run_refused(["-o", "%s=s3cr3t-in-argv" % key],
                                        secret="s3cr3t-in-argv")
                self.assertRegex(line, r"%s=.*proxy_auth_file=" % key)

    def test_bad_proxy_auth_files_are_refused_at_start_without_their_content(self):
        d = self.scratch()
        cases = [("no colon", "justauser-s3cr3t\n"), ("no user", ":s3cr3t-pw\n"),
                 ("no password", "user-s3cr3t:\n"), ("two lines", "u:s3cr3t-pw\nmore\n"),
                 ("empty", "\n")]
        for case, content in cases:
            with self.subTest(case=case):
                path = os.path.join(d, case.replace(" ", "-"))
                with open(path, "w") as f:
                    f.write(content)
                line = self.run_refused(["-o", "proxy=http://127.0.0.1:9,proxy_auth_file=" +
                                         path], secret="s3cr3t")
                self.assertRegex(line, r"proxy_auth_file")
        line = self.run_refused(["-o", "proxy_auth_file=/nonexistent/proxy-auth"])
        self.assertRegex(line, r"proxy_auth_file.*/nonexistent/proxy-auth")


class PlainHttpProxyTest(TestCase):
    """A plain http:// loopback API carries the service token in clear: never through a proxy."""

    def test_plain_http_api_goes_direct_whatever_proxy_is_given(self):
        proxy = ConnectProxy()
        self.addCleanup(proxy.stop)
        mnt = self.mount(["ttl=60", "proxy=" + proxy.url],
                         env={"https_proxy": proxy.url, "HTTPS_PROXY": proxy.url,
                              "http_proxy": proxy.url, "HTTP_PROXY": proxy.url,
                              "all_proxy": proxy.url, "ALL_PROXY": proxy.url})
        self.assertEqual(SLACK, read_file(os.path.join(mnt.path, "slack", "access_token")))
        self.assertEqual(1, len(self.emu.requests("slack")))
        self.assertEqual((0, ([], [], b"")), (proxy.connections, proxy.seen()),
                         "a plain http request went to the proxy")
