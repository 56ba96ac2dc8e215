"""Small helpers shared by the benchmark and the soak: the emulator's control interface, the
mount table and a process's resident size."""
import json
import urllib.request


def control(url, method, path, body=None):
    """Call the emulator's /_control/PATH; the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + "/_control/" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def server_pid(mountpoint):
    """The process answering the mount's requests (status.json's pid), not the keeper."""
    with open("%s/.connectorfs/status.json" % mountpoint) as f:
        return int(json.load(f)["pid"])
