# SPDX-License-Identifier: MIT
# test_cli_memory.py - `swarm memory` and `swarm events` against a real daemon. Checked:
# set/get/ls/rm/history with keys that need percent-encoding, labels and a TTL; the
# compare-and-swap conditions (--if-version, --create-only) refused with exit 5 and the
# current version shown; values from @file and stdin; a value that is not JSON refused
# with exit 2 and nothing written; a page of events as a table and as JSON lines;
# `events -f` printing events published while it runs, and resuming after a restart of
# the daemon without losing or repeating any; `memory watch` printing the changes under
# its prefix only. Followers run as subprocesses whose stdout lines are read with a
# bounded wait.

import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LINE_TIMEOUT = 20.0
RESTART_TIMEOUT = 40.0  # the follower's reconnection pauses grow up to 8 s

SET_RE = re.compile(r"^[^/]+/(.+): version (\d+), revision (\d+)$")


class Follower:
    """A `swarm` command that runs until stopped; its stdout lines are read by a thread."""

    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = queue.Queue()
        self.err = []
        self.threads = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put)),
                        threading.Thread(target=self._pump, args=(self.proc.stderr, self.err.append))]
        for t in self.threads:
            t.daemon = True
            t.start()

    @staticmethod
    def _pump(stream, put):
        for raw in iter(stream.readline, b""):
            put(raw.decode("utf-8", "replace").rstrip("\n"))

    def stderr(self):
        return "\n".join(self.err)

    def line(self, what, timeout=LINE_TIMEOUT):
        """The next line of stdout, waiting at most timeout seconds for it."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise harness.HarnessError("no line from %s within %.0fs (exit %s); stderr:\n%s"
                                       % (what, timeout, self.proc.poll(), self.stderr()))

    def no_line(self, timeout):
        """Fails when a line comes within timeout seconds."""
        try:
            extra = self.lines.get(timeout=timeout)
        except queue.Empty:
            return
        raise harness.HarnessError("unexpected line: %r" % extra)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for t in self.threads:
            t.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            stream.close()
        for marker in harness.SANITIZER_MARKERS:
            if marker in self.stderr():
                raise harness.HarnessError("sanitizer report from swarm:\n" + self.stderr())


class CliMemoryTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()
        self.cli = harness.swarm_bin()
        self.scratch = tempfile.mkdtemp(prefix="swe2e-climem-")
        self.addCleanup(shutil.rmtree, self.scratch, True)

    def env(self):
        env = dict(os.environ)
        for name in ("SWARM_HOME", "SWARM_TOKEN"):
            env.pop(name, None)
        env["SWARM_URL"] = "unix:" + self.d.socket_path
        return env

    def swarm(self, *args, stdin=None, timeout=30):
        proc = subprocess.run([self.cli] + list(args), env=self.env(), cwd=self.scratch,
                              input=stdin.encode("utf-8") if stdin is not None else None,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err, "sanitizer report from swarm %s" % (args,))
        return proc.returncode, out, err

    def ok(self, *args, **kw):
        rc, out, err = self.swarm(*args, **kw)
        self.assertEqual(rc, 0, "swarm %s exited %d\nstdout: %s\nstderr: %s" % (args, rc, out, err))
        return out

    def follow(self, *args):
        f = Follower([self.cli] + list(args), self.env())
        self.addCleanup(f.stop)
        return f

    def entry(self, ns, key):
        """The entry as the daemon has it (None when absent), asked over HTTP."""
        path = "/v1/memory/%s/%s" % (ns, "/".join(urllib.parse.quote(s, safe="")
                                                  for s in key.split("/")))
        status, body = self.d.get(path)
        if status == 404:
            return None
        self.assertEqual(status, 200, body)
        return body

    def set_line(self, out):
        m = SET_RE.match(out.strip())
        self.assertIsNotNone(m, "not the line of a set: %r" % out)
        return m.group(1), int(m.group(2)), int(m.group(3))

    def publish(self, type_, **fields):
        status, ev = self.d.post("/v1/events", dict(fields, type=type_))
        self.assertEqual(status, 201, ev)
        return ev

    # -- memory ------------------------------------------------------------------

    def test_set_get_ls_rm_history(self):
        key, version, revision = self.set_line(self.ok("memory", "set", "global", "x", '{"a":1}'))
        self.assertEqual((key, version), ("x", 1))
        self.assertEqual(json.loads(self.ok("memory", "get", "global", "x")), {"a": 1})
        entry = json.loads(self.ok("memory", "get", "global", "x", "-o", "json"))
        self.assertEqual((entry["key"], entry["version"], entry["revision"]), ("x", 1, revision))

        odd = "dir/sub key/50%/é#1?q=2"  # every segment must be percent-encoded
        self.set_line(self.ok("memory", "set", "global", odd, '"text"', "--label", "team=a",
                              "--ttl", "1h"))
        got = self.entry("global", odd)
        self.assertIsNotNone(got, "the key was not stored under its own name")
        self.assertEqual((got["key"], got["value"], got["labels"]), (odd, "text", {"team": "a"}))
        self.assertIn("expire_at", got)
        self.assertEqual(json.loads(self.ok("memory", "get", "global", odd)), "text")

        _, version, _ = self.set_line(self.ok("memory", "set", "global", "x", "[1,2]"))
        self.assertEqual(version, 2)

        spaces = self.ok("memory", "ls")
        self.assertRegex(spaces, r"(?m)^NAMESPACE\s+KEYS$")
        self.assertRegex(spaces, r"(?m)^global\s+2$")
        listing = self.ok("memory", "ls", "global")
        rows = listing.strip().splitlines()
        self.assertEqual(rows[0].split(), ["KEY", "VERSION", "REVISION", "UPDATED", "TTL", "VALUE"])
        self.assertEqual([r.split()[0] for r in rows[1:]], ["dir/sub", "x"])
        self.assertRegex(rows[1], r"\s(59m|1h)\s+text$")  # TTL: the time left
        self.assertRegex(rows[2], r"^x\s+2\s+\d+\s+\d+s\s+-\s+\[1,2\]$")
        self.assertNotIn("dir/", self.ok("memory", "ls", "global", "--prefix", "x"))
        rc, out, err = self.swarm("memory", "ls", "global", "--limit", "1")
        self.assertEqual((rc, len(out.strip().splitlines())), (0, 2), out + err)
        self.assertIn("more keys", err)
        page = json.loads(self.ok("memory", "ls", "global", "--limit", "1", "-o", "json"))
        self.assertEqual([e["key"] for e in page["items"]], [odd])
        self.assertEqual(page["next_cursor"], odd)
        whole = json.loads(self.ok("memory", "ls", "global", "-o", "json"))
        self.assertEqual(sorted(e["key"] for e in whole["items"]), sorted([odd, "x"]))
        self.assertIsNone(whole["next_cursor"])

        out = self.ok("memory", "rm", "global", "x")
        self.assertRegex(out, r"^global/x deleted \(revision \d+\)$")
        rc, out, err = self.swarm("memory", "get", "global", "x")
        self.assertEqual(rc, 4, out + err)
        rc, out, err = self.swarm("memory", "rm", "global", "x")
        self.assertEqual(rc, 4, out + err)

        history = self.ok("memory", "history", "global", "x").strip().splitlines()
        self.assertEqual(history[0].split(), ["VERSION", "REVISION", "OP", "UPDATED", "VALUE"])
        self.assertEqual([r.split()[2] for r in history[1:]], ["delete", "put", "put"])
        self.assertTrue(history[2].endswith("[1,2]"), history)
        again = self.ok("memory", "get", "global", "x", "--history").strip().splitlines()
        self.assertEqual([r.split()[:3] for r in again], [r.split()[:3] for r in history])
        as_json = json.loads(self.ok("memory", "history", "global", "x", "-o", "json"))
        self.assertEqual([h["op"] for h in as_json["history"]], ["delete", "put", "put"])

    def test_ttl_expires(self):
        self.ok("memory", "set", "global", "brief", "1", "--ttl", "300ms")
        harness.wait_until(lambda: self.swarm("memory", "get", "global", "brief")[0] == 4, 10,
                           "the key to expire")

    def test_conditions(self):
        self.ok("memory", "set", "global", "c", "1")
        rc, out, err = self.swarm("memory", "set", "global", "c", "2", "--if-version", "7")
        self.assertEqual(rc, 5, out + err)
        self.assertIn("conflict", err)
        self.assertIn("current version: 1", err)
        rc, out, err = self.swarm("memory", "set", "global", "c", "2", "--create-only")
        self.assertEqual(rc, 5, out + err)
        self.assertIn("current version: 1", err)
        rc, out, err = self.swarm("memory", "set", "global", "new", "2", "--if-version", "3")
        self.assertEqual(rc, 5, out + err)
        self.assertIn("does not exist", err)
        self.assertIsNone(self.entry("global", "new"))
        self.assertEqual(self.entry("global", "c")["value"], 1)

        _, version, _ = self.set_line(self.ok("memory", "set", "global", "c", "2", "--if-version", "1"))
        self.assertEqual(version, 2)
        self.set_line(self.ok("memory", "set", "global", "new", "3", "--create-only"))
        rc, out, err = self.swarm("memory", "rm", "global", "c", "--if-version", "1")
        self.assertEqual(rc, 5, out + err)
        self.assertIn("current version: 2", err)
        self.ok("memory", "rm", "global", "c", "--if-version", "2")
        self.assertIsNone(self.entry("global", "c"))
        rc, out, err = self.swarm("memory", "set", "global", "c", "1", "--if-version", "x")
        self.assertEqual(rc, 2, out + err)

    def test_value_sources(self):
        path = os.path.join(self.scratch, "value.json")
        with open(path, "w") as f:
            json.dump({"from": "file", "n": [1, 2]}, f)
        self.ok("memory", "set", "agent:a_1", "cfg", "@" + path)
        self.assertEqual(self.entry("agent:a_1", "cfg")["value"], {"from": "file", "n": [1, 2]})
        self.ok("memory", "set", "agent:a_1", "in", "-", stdin='{"from": "stdin"}\n')
        self.assertEqual(self.entry("agent:a_1", "in")["value"], {"from": "stdin"})
        self.ok("memory", "set", "agent:a_1", "neg", "--", "-5")
        self.assertEqual(self.entry("agent:a_1", "neg")["value"], -5)

        rc, out, err = self.swarm("memory", "set", "global", "word", "hello")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("not valid JSON", err)
        self.assertIn("'\"text\"'", err)
        rc, out, err = self.swarm("memory", "set", "global", "broken", "{\"a\":")
        self.assertEqual(rc, 2, out + err)
        rc, out, err = self.swarm("memory", "set", "global", "nofile", "@" + path + ".missing")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("cannot open", err)
        for key in ("word", "broken", "nofile"):
            self.assertIsNone(self.entry("global", key), key)
        rc, out, err = self.swarm("memory", "get", "NOT A NS", "k")
        self.assertEqual(rc, 5, out + err)

    def test_watch(self):
        w = self.follow("memory", "watch", "team", "--prefix", "jobs/")
        self.assertEqual(w.line("the watch header").split(), ["REVISION", "OP", "KEY", "VERSION", "VALUE"])
        _, _, revision = self.set_line(self.ok("memory", "set", "team", "jobs/1", '{"state":"new"}'))
        self.ok("memory", "set", "team", "other", "1")  # outside the prefix
        self.ok("memory", "rm", "team", "jobs/1")
        put = w.line("the put").split()
        self.assertEqual(put, [str(revision), "put", "jobs/1", "1", '{"state":"new"}'])
        delete = w.line("the delete").split()
        self.assertEqual(delete[1:3], ["delete", "jobs/1"])
        self.assertGreater(int(delete[0]), revision)
        w.no_line(0.3)

        # From a revision, as JSON lines, until --limit changes.
        rc, out, err = self.swarm("memory", "watch", "team", "-o", "json", "--after-revision",
                                  str(revision - 1), "--limit", "2")
        self.assertEqual(rc, 0, out + err)
        changes = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([(c["op"], c["key"]) for c in changes], [("put", "jobs/1"), ("put", "other")])
        self.assertEqual(changes[0]["revision"], revision)

    # -- events ------------------------------------------------------------------

    def test_events_page(self):
        first = self.publish("test.hello", subject="s-1", data={"n": 1})
        self.publish("test.other", data="two")
        out = self.ok("events", "--type", "test.*")
        rows = out.strip().splitlines()
        self.assertEqual(rows[0].split(), ["SEQ", "TIME", "TYPE", "SOURCE", "SUBJECT", "DATA"])
        self.assertEqual(rows[1].split()[0], first["id"])
        self.assertEqual(rows[1].split()[2:], ["test.hello", first["source"], "s-1", '{"n":1}'])
        self.assertEqual(rows[2].split()[2], "test.other")
        lines = self.ok("events", "--type", "test.*", "-o", "json").splitlines()
        events = [json.loads(line) for line in lines]
        self.assertEqual([e["type"] for e in events], ["test.hello", "test.other"])
        self.assertEqual(events[0], first)
        after = self.ok("events", "--after", first["id"], "--type", "test.*", "-o", "json")
        self.assertEqual([json.loads(l)["type"] for l in after.splitlines()], ["test.other"])
        rc, out, err = self.swarm("events", "--type", "test.*", "--limit", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.strip().splitlines()), 2, out)
        self.assertIn("more events", err)
        rc, out, err = self.swarm("events", "--limit", "0")
        self.assertEqual(rc, 2, out + err)

    def test_events_follow(self):
        self.publish("test.before")  # not shown: -f starts from now
        f = self.follow("events", "-f", "--type", "test.*")
        self.assertEqual(f.line("the events header").split()[:3], ["SEQ", "TIME", "TYPE"])
        ev = self.publish("test.live", subject="t-9", data={"k": "v"})
        row = f.line("the published event").split()
        self.assertEqual(row[0], ev["id"])
        self.assertEqual(row[2:], ["test.live", ev["source"], "t-9", '{"k":"v"}'])
        self.publish("other.kind")  # filtered out
        f.no_line(0.3)

        # JSON lines from a position; resumed after a restart without loss or repeat.
        j = self.follow("events", "-f", "-o", "json", "--after", str(int(ev["id"]) - 1),
                        "--type", "test.*")
        self.assertEqual(json.loads(j.line("the event after the position")), ev)
        self.d.restart()
        after = self.publish("test.after-restart")
        got = json.loads(j.line("the event after the restart", timeout=RESTART_TIMEOUT))
        self.assertEqual(got, after)
        self.assertIn("resuming after %s" % ev["id"], j.stderr())
        row = f.line("the event after the restart", timeout=RESTART_TIMEOUT).split()
        self.assertEqual(row[:3], [after["id"], after["time"], "test.after-restart"])

        rc, out, err = self.swarm("events", "-f", "-o", "json", "--after", "0", "--type",
                                  "test.*", "--limit", "2")
        self.assertEqual(rc, 0, err)
        self.assertEqual([json.loads(l)["type"] for l in out.splitlines()],
                         ["test.before", "test.live"])


if __name__ == "__main__":
    harness.main()
