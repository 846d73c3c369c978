# SPDX-License-Identifier: MIT
# harness.py - the shared machinery of the end-to-end tests: it starts the real swarmd
# binary in a fresh temporary home, waits for `GET /ready` by bounded polling, talks
# HTTP/1.1 to it over its Unix socket or over TCP with the standard library only, and
# offers JSON helpers, a Prometheus text parser, a small remote-agent client and a
# `wait_until` for bounded polling. Stopping the daemon (SIGTERM, exit 0 expected) or
# closing it checks its stderr, kept in a file inside the home, for sanitizer reports
# and fails the test when one is there. Each test file imports this module and ends
# with `harness.main()`, so it runs on its own as `python3 test_<topic>.py`.

import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")

TASK_ID_RE = re.compile(r"^t_[0-9a-f]{16}$")
AGENT_ID_RE = re.compile(r"^a_[0-9a-f]+$")

# Network errors a client sees when the daemon dies or drops a connection.
CONNECTION_ERRORS = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


class HarnessError(AssertionError):
    """A failure found by the harness; an AssertionError so unittest reports a failure."""


def _find_binary(env_name, name):
    value = os.environ.get(env_name)
    if value:
        if not os.access(value, os.X_OK):
            raise HarnessError("%s=%s is not an executable file" % (env_name, value))
        return value
    pattern = os.path.join(HERE, "..", "..", "build*", name)
    found = [p for p in glob.glob(pattern) if os.access(p, os.X_OK) and os.path.isfile(p)]
    if not found:
        raise HarnessError("no %s binary: set %s or build into ../../build*/" % (name, env_name))
    return max(found, key=os.path.getmtime)


def swarmd_bin():
    """Path of the daemon: $SWARMD_BIN, else the newest ../../build*/swarmd."""
    return _find_binary("SWARMD_BIN", "swarmd")


def swarm_bin():
    """Path of the CLI: $SWARM_BIN, else the newest ../../build*/swarm."""
    return _find_binary("SWARM_BIN", "swarm")


def sanitized(binary):
    """True for a binary built with AddressSanitizer (its memory use means little)."""
    with open(binary, "rb") as f:
        return b"__asan_init" in f.read()


def wait_until(predicate, timeout, what, interval=0.02):
    """Calls predicate until it returns something true and returns that value.
    Fails with `what` in the message when timeout seconds pass first."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except AssertionError as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = "; last: %s" % last_error if last_error else ""
            raise HarnessError("timed out after %.1fs waiting for %s%s" % (timeout, what, detail))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.2)


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection whose transport is an AF_UNIX stream socket."""

    def __init__(self, path, timeout=REQUEST_TIMEOUT):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.unix_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class Response:
    """One HTTP answer: status, headers (lower-case names), raw body and its JSON."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.json = None
        if raw:
            try:
                self.json = json.loads(raw.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    def __repr__(self):
        return "<%d %s>" % (self.status, self.text[:300])


class SSEStream:
    """A Server-Sent Events reader on its own connection. messages() yields dicts with
    "id", "event", "data" (parsed JSON when it is JSON) as they arrive; next_message()
    waits at most `timeout` seconds for one. Comments (": ...") are kept in .comments."""

    def __init__(self, daemon, path, headers=None, timeout=10.0):
        self.conn = daemon.connection(timeout=timeout)
        hdrs = {"Accept": "text/event-stream"}
        hdrs.update(headers or {})
        self.conn.request("GET", path, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = {k.lower(): v for k, v in self.resp.getheaders()}
        self.comments = []
        self.last_id = None
        if self.status != 200:
            self.body = self.resp.read()

    def next_message(self, timeout=10.0):
        """The next message, or raises socket.timeout after timeout seconds."""
        self.conn.sock.settimeout(timeout)
        msg = {}
        while True:
            line = self.resp.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode("utf-8").rstrip("\n")
            if line == "":
                if msg:
                    if "data" in msg:
                        try:
                            msg["data"] = json.loads(msg["data"])
                        except ValueError:
                            pass
                    if "id" in msg:
                        self.last_id = msg["id"]
                    return msg
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data" and "data" in msg:
                msg["data"] += "\n" + value
            else:
                msg[name] = value

    def take(self, n, timeout=10.0):
        """The next n messages (each waited for within timeout)."""
        return [self.next_message(timeout) for _ in range(n)]

    def wait_ready(self, timeout=10.0):
        """Waits for the stream's first comment (the daemon writes one at the start)."""
        self.conn.sock.settimeout(timeout)
        while not self.comments:
            line = self.resp.readline()
            if not line:
                raise EOFError("the stream ended")
            line = line.decode("utf-8").strip()
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
        return self

    def close(self):
        try:
            self.conn.close()
        except OSError:
            pass


def parse_metrics(text):
    """Parses Prometheus text format into a list of (name, labels dict, float)."""
    samples = []
    line_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = line_re.match(line)
        if not m:
            raise HarnessError("not a Prometheus sample line: %r" % line)
        labels = dict(label_re.findall(m.group(3) or ""))
        value = m.group(4)
        samples.append((m.group(1), labels, float(value.replace("+Inf", "inf"))))
    return samples


def metric_sum(samples, name, **labels):
    """Sum of the samples called name whose labels include every given label;
    None when there is no such sample."""
    values = [v for n, l, v in samples
              if n == name and all(l.get(k) == str(w) for k, w in labels.items())]
    return sum(values) if values else None


class Daemon:
    """One swarmd process in its own home directory.

    Daemon(*args) starts `swarmd --home HOME *args` and waits for readiness. The home
    is a fresh temporary directory unless home= is given; home_flag=False leaves out
    --home (the caller points the daemon somewhere through env= or args)."""

    def __init__(self, *args, home=None, env=None, home_flag=True, start=True):
        self.binary = swarmd_bin()
        self.owns_home = home is None
        self.home = home or tempfile.mkdtemp(prefix="swe2e-")
        os.makedirs(self.home, exist_ok=True)
        self.args = list(args)
        self.extra_env = dict(env or {})
        self.home_flag = home_flag
        self.stderr_path = os.path.join(self.home, "swarmd.stderr")
        self.proc = None
        self.ended_by_us = False  # the last exit was our SIGTERM or SIGKILL
        self.log_offset = 0
        self.tcp_port = None
        self.token = None  # default admin token sent on TCP calls
        self.checked_upto = 0
        if start:
            self.start()

    # -- process control ---------------------------------------------------------

    @property
    def socket_path(self):
        return os.path.join(self.home, "swarm.sock")

    def command(self):
        argv = [self.binary]
        if self.home_flag:
            argv += ["--home", self.home]
        return argv + self.args

    def environment(self):
        env = dict(os.environ)
        for name in ("SWARM_HOME", "SWARMD_ADMIN_TOKEN", "SWARM_URL", "SWARM_TOKEN"):
            env.pop(name, None)
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        # Tests submit before their agents register: such tasks wait for a provider unless
        # a test asks for --no-provider refuse (test_routing.py).
        env.setdefault("SWARMD_NO_PROVIDER", "wait")
        env.update(self.extra_env)
        return env

    def start(self):
        """Starts the process and waits until GET /ready answers 200."""
        if self.running():
            raise HarnessError("daemon already running (pid %d)" % self.proc.pid)
        self.log_offset = os.path.getsize(self.stderr_path) if os.path.exists(self.stderr_path) else 0
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, env=self.environment(), cwd=self.home)
        finally:
            err.close()
        self.tcp_port = None
        self.ended_by_us = False
        try:
            self.wait_ready()
        except BaseException:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            raise
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr_text(self, since_start=False):
        try:
            with open(self.stderr_path, "rb") as f:
                if since_start:
                    f.seek(self.log_offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def _exited_error(self, what):
        return HarnessError("swarmd exited with status %s %s; stderr:\n%s"
                            % (self.proc.returncode, what, self.stderr_text(True)[-4000:]))

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        interval = 0.01
        while True:
            if self.proc.poll() is not None:
                raise self._exited_error("before it was ready")
            try:
                r = self.request("GET", "/ready", timeout=2)
                if r.status == 200:
                    return
            except CONNECTION_ERRORS:
                pass
            if time.monotonic() >= deadline:
                raise HarnessError("swarmd not ready after %.0fs; stderr:\n%s"
                                   % (timeout, self.stderr_text(True)[-4000:]))
            time.sleep(interval)
            interval = min(interval * 2, 0.1)

    def check_sanitizers(self):
        """Fails when the daemon's stderr holds a sanitizer report."""
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                at = text.index(marker)
                raise HarnessError("sanitizer report in swarmd stderr (%s):\n%s"
                                   % (self.stderr_path, text[max(0, at - 200):at + 4000]))

    def stop(self, timeout=STOP_TIMEOUT, expect_status=0):
        """SIGTERM; expects exit status 0 within timeout seconds. Returns the status."""
        if not self.running():
            raise self._exited_error("before it was told to stop")
        self.ended_by_us = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HarnessError("swarmd did not exit within %.0fs of SIGTERM; stderr:\n%s"
                               % (timeout, self.stderr_text(True)[-4000:]))
        self.check_sanitizers()
        if expect_status is not None and rc != expect_status:
            raise self._exited_error("after SIGTERM (wanted %d)" % expect_status)
        return rc

    def kill9(self):
        """SIGKILL, as a crash would."""
        if not self.running():
            raise self._exited_error("before kill -9")
        self.ended_by_us = True
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.check_sanitizers()

    def restart(self):
        """Starts a new process in the same home (stops the current one first)."""
        if self.running():
            self.stop()
        return self.start()

    def close(self):
        """Stops the daemon if it runs (a failure to stop cleanly fails the test),
        checks for sanitizer reports and for an exit nobody asked for, and removes
        the home."""
        try:
            if self.running():
                self.stop()
            elif self.proc is not None:
                self.check_sanitizers()
                if not self.ended_by_us:
                    raise self._exited_error("on its own during the test")
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            if self.owns_home and not os.environ.get("SWARM_E2E_KEEP"):
                shutil.rmtree(self.home, ignore_errors=True)
            elif self.owns_home:
                sys.stderr.write("kept daemon home %s\n" % self.home)

    # -- TCP listener --------------------------------------------------------------

    def wait_tcp_port(self, timeout=10.0):
        """The TCP port from the `msg="listening" ... addr=HOST:PORT` log line."""
        line_re = re.compile(r'msg="?listening"?.*?\baddr="?(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:.]+\]|localhost):(\d+)')

        def find():
            for line in self.stderr_text(True).splitlines():
                m = line_re.search(line)
                if m:
                    return int(m.group(1))
            if not self.running():
                raise self._exited_error("while looking for its TCP port")
            return None

        self.tcp_port = wait_until(find, timeout, "the 'listening' log line with a TCP addr")
        return self.tcp_port

    # -- HTTP ----------------------------------------------------------------------

    def connection(self, via="unix", timeout=REQUEST_TIMEOUT):
        if via == "unix":
            return UnixHTTPConnection(self.socket_path, timeout=timeout)
        if via == "tcp":
            if self.tcp_port is None:
                self.wait_tcp_port()
            return http.client.HTTPConnection("127.0.0.1", self.tcp_port, timeout=timeout)
        raise ValueError(via)

    def request(self, method, path, body=None, token=None, via="unix", headers=None,
                timeout=REQUEST_TIMEOUT, raw=None):
        """One request on a new connection. body is encoded as JSON unless raw (bytes)
        is given. token, when not None, goes in `Authorization: Bearer`. Raises one of
        CONNECTION_ERRORS when the connection fails."""
        hdrs = {}
        if raw is None and body is not None:
            raw = json.dumps(body).encode("utf-8")
        if raw is not None:
            hdrs["Content-Type"] = "application/json"
        if token is None and via == "tcp":
            token = self.token
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        conn = self.connection(via, timeout)
        try:
            conn.request(method, path, body=raw, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def call(self, method, path, body=None, **kw):
        r = self.request(method, path, body, **kw)
        return r.status, r.json if r.json is not None else r.text

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, {} if body is None else body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    # -- task helpers ----------------------------------------------------------------

    def submit(self, capability, expect=201, **fields):
        body = {"capability": capability}
        body.update(fields)
        status, task = self.post("/v1/tasks", body)
        if status != expect:
            raise HarnessError("POST /v1/tasks %r: wanted %d, got %d %r"
                               % (body, expect, status, task))
        return task

    def task(self, task_id, **kw):
        status, task = self.get("/v1/tasks/" + task_id, **kw)
        if status != 200:
            raise HarnessError("GET /v1/tasks/%s: %d %r" % (task_id, status, task))
        return task

    def wait_task(self, task_id, pred, timeout, what):
        """Polls GET /v1/tasks/{id} until pred(task); returns the task."""
        return wait_until(lambda: (lambda t: t if pred(t) else None)(self.task(task_id)),
                          timeout, "task %s: %s" % (task_id, what))

    def list_tasks(self, limit=200, max_pages=1000, **query):
        """Every task that matches query, following next_cursor page by page."""
        tasks, cursor = [], None
        for _ in range(max_pages):
            q = dict(query, limit=limit)
            if cursor:
                q["cursor"] = cursor
            status, page = self.get("/v1/tasks?" + urllib.parse.urlencode(q))
            if status != 200:
                raise HarnessError("GET /v1/tasks?%s: %d %r" % (urllib.parse.urlencode(q), status, page))
            tasks.extend(page["tasks"])
            cursor = page.get("next_cursor")
            if not cursor:
                return tasks
        raise HarnessError("GET /v1/tasks did not reach the last page in %d pages" % max_pages)

    def sse(self, path, headers=None, timeout=10.0):
        """Opens a Server-Sent Events stream (see SSEStream)."""
        return SSEStream(self, path, headers, timeout)

    def metrics(self):
        r = self.request("GET", "/metrics")
        if r.status != 200:
            raise HarnessError("GET /metrics: %r" % r)
        return parse_metrics(r.text)


class Agent:
    """A remote agent driven by the test: register, lease, heartbeat, complete, fail."""

    def __init__(self, daemon, name, capabilities, slots=1, via="unix", **extra):
        self.d = daemon
        self.via = via
        body = {"name": name, "capabilities": list(capabilities), "slots": slots}
        body.update(extra)
        status, reply = daemon.post("/v1/agents", body)
        if status != 201:
            raise HarnessError("POST /v1/agents %r: %d %r" % (body, status, reply))
        self.reply = reply
        self.id = reply["id"]
        self.token = reply["token"]
        self.heartbeat_ms = reply.get("heartbeat_ms")
        self.lease_ms = reply.get("lease_ms")

    def call(self, path, body, token=None):
        kw = {"token": token if token is not None else self.token, "via": self.via}
        wait_ms = body.get("wait_ms", 0)
        timeout = wait_ms / 1000.0 + 10 if isinstance(wait_ms, int) and wait_ms > 0 else REQUEST_TIMEOUT
        return self.d.call("POST", path, body, timeout=timeout, **kw)

    def lease(self, max=1, wait_ms=0):
        """POST /v1/agents/{id}/lease; returns (status, reply)."""
        return self.call("/v1/agents/%s/lease" % self.id, {"max": max, "wait_ms": wait_ms})

    def leased(self, max=1, wait_ms=0):
        """The tasks of a lease that must answer 200."""
        status, reply = self.lease(max, wait_ms)
        if status != 200:
            raise HarnessError("lease by %s: %d %r" % (self.id, status, reply))
        return reply["tasks"]

    def lease_one(self, timeout=10.0, task_id=None):
        """Leases (without long polls, so that only the tests of long polls depend on
        them) until a task (task_id, if given) comes; returns it."""
        def attempt():
            for t in self.leased(1, wait_ms=0):
                if task_id is None or t["id"] == task_id:
                    return t
                raise HarnessError("leased %s while waiting for %s" % (t["id"], task_id))
            return None
        return wait_until(attempt, timeout, "a lease by agent %s" % self.id)

    def heartbeat(self):
        return self.call("/v1/agents/%s/heartbeat" % self.id, {})

    def complete(self, task, result, lease_id=None):
        lease_id = lease_id or task["lease_id"]
        return self.call("/v1/tasks/%s/complete" % task["id"], {"lease_id": lease_id, "result": result})

    def fail(self, task, message, retry=True, lease_id=None):
        lease_id = lease_id or task["lease_id"]
        return self.call("/v1/tasks/%s/fail" % task["id"],
                         {"lease_id": lease_id, "error": {"message": message}, "retry": retry})

    def progress(self, task, progress, lease_id=None):
        lease_id = lease_id or task["lease_id"]
        return self.call("/v1/tasks/%s/progress" % task["id"], {"lease_id": lease_id, "progress": progress})


class DaemonTestCase(unittest.TestCase):
    """A TestCase whose daemons are closed (and checked) when each test ends."""

    def start_daemon(self, *args, start=True, **kw):
        d = Daemon(*args, start=False, **kw)
        self.addCleanup(d.close)
        if start:
            d.start()
        return d

    def assertError(self, status_body, status, code=None, field=None):
        """Checks an error reply: the status, the JSON error shape, the code and field."""
        got_status, body = status_body
        self.assertEqual(got_status, status, "wanted %d, got %d %r" % (status, got_status, body))
        self.assertIsInstance(body, dict, "error body is not JSON: %r" % (body,))
        self.assertIn("error", body, body)
        err = body["error"]
        self.assertIsInstance(err.get("code"), str, body)
        self.assertIsInstance(err.get("message"), str, body)
        self.assertTrue(err["message"], body)
        if code is not None:
            if isinstance(code, (tuple, list)):
                self.assertIn(err["code"], code, body)
            else:
                self.assertEqual(err["code"], code, body)
        if field is not None:
            self.assertEqual(err.get("field"), field, body)
        return err


def main():
    """Runs the unittest tests of the calling script; exit status 0 on success."""
    unittest.main(module="__main__", verbosity=2)
