# SPDX-License-Identifier: MIT
# test_cli.py - the `swarm` command line against a real daemon. The daemon's home is
# `.swarm` inside a scratch directory and the CLI runs from a directory below it, so it
# must find the socket by walking up. Checked: submit prints an id, get -o json, task
# and agent listings, submit --wait with an in-test agent completing (exit 0, result
# printed) or failing (exit 1) the task, and the exit statuses for not found (4), a bad
# flag (2) and no reachable daemon (3).

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402

ID_RE = re.compile(r"\bt_[0-9a-f]{16}\b")


class CliTest(harness.DaemonTestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="swe2e-cli-")
        self.addCleanup(shutil.rmtree, self.base, True)
        self.cwd = os.path.join(self.base, "project", "sub", "dir")
        os.makedirs(self.cwd)
        self.d = self.start_daemon(home=os.path.join(self.base, ".swarm"))
        self.cli = harness.swarm_bin()

    def swarm(self, *args, cwd=None, env=None, timeout=30):
        full_env = dict(os.environ)
        for name in ("SWARM_URL", "SWARM_HOME", "SWARM_TOKEN"):
            full_env.pop(name, None)
        full_env.update(env or {})
        proc = subprocess.run([self.cli] + list(args), cwd=cwd or self.cwd, env=full_env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err, "sanitizer report from swarm %s" % (args,))
        return proc.returncode, out, err

    def ok(self, *args, **kw):
        rc, out, err = self.swarm(*args, **kw)
        self.assertEqual(rc, 0, "swarm %s exited %d\nstdout: %s\nstderr: %s" % (args, rc, out, err))
        return out

    def test_submit_get_ls(self):
        out = self.ok("task", "submit", "echo", "--payload", '{"a":1}')
        ids = ID_RE.findall(out)
        self.assertEqual(len(set(ids)), 1, out)
        task_id = ids[0]
        task = self.d.task(task_id)
        self.assertEqual(task["payload"], {"a": 1})
        self.assertEqual(task["capability"], "echo")

        got = json.loads(self.ok("task", "get", task_id, "-o", "json"))
        self.assertEqual(got["id"], task_id)
        self.assertEqual(got["payload"], {"a": 1})
        self.assertEqual(got["state"], "queued")
        human = self.ok("task", "get", task_id)
        self.assertIn(task_id, human)
        self.assertIn("queued", human)

        second = ID_RE.findall(self.ok("task", "submit", "other", "--priority", "5"))[0]
        listing = self.ok("task", "ls")
        self.assertIn(task_id, listing)
        self.assertIn(second, listing)
        listing = self.ok("task", "ls", "--capability", "other")
        self.assertIn(second, listing)
        self.assertNotIn(task_id, listing)
        data = json.loads(self.ok("task", "ls", "-o", "json"))
        tasks = data["tasks"] if isinstance(data, dict) else data
        self.assertEqual(sorted(t["id"] for t in tasks), sorted([task_id, second]))

    def test_agent_ls(self):
        self.ok("agent", "ls")
        agent = Agent(self.d, "cli-visible", ["echo"])
        out = self.ok("agent", "ls")
        self.assertIn("cli-visible", out)
        self.assertIn(agent.id, out)
        data = json.loads(self.ok("agent", "ls", "-o", "json"))
        agents = data["agents"] if isinstance(data, dict) else data
        self.assertIn(agent.id, [a["id"] for a in agents])

    def run_with_agent(self, capability, handle):
        """Runs `swarm task submit CAP --wait` while an agent thread leases the task and
        calls handle(agent, task). Returns (rc, out, err) of the CLI."""
        agent = Agent(self.d, "cli-" + capability, [capability])
        box = {}

        def work():
            try:
                task = agent.lease_one(timeout=20)
                box["task"] = task
                box["reply"] = handle(agent, task)
            except Exception as exc:  # checked in the main thread
                box["error"] = exc

        th = threading.Thread(target=work)
        th.start()
        try:
            result = self.swarm("task", "submit", capability, "--payload", '{"q":"?"}', "--wait",
                                timeout=60)
        finally:
            th.join(30)
        self.assertNotIn("error", box, box.get("error"))
        self.assertEqual(box["reply"][0], 200, box["reply"])
        return result

    def test_submit_wait_success(self):
        rc, out, err = self.run_with_agent("x", lambda a, t: a.complete(t, {"answer": 42}))
        self.assertEqual(rc, 0, "stdout: %s\nstderr: %s" % (out, err))
        self.assertIn("42", out)
        self.assertIn("answer", out)

    def test_submit_wait_failure(self):
        rc, out, err = self.run_with_agent("y", lambda a, t: a.fail(t, "kaput", retry=False))
        self.assertEqual(rc, 1, "stdout: %s\nstderr: %s" % (out, err))
        self.assertIn("kaput", out + err)

    def test_exit_statuses(self):
        rc, out, err = self.swarm("task", "get", "t_0000000000000000")
        self.assertEqual(rc, 4, out + err)
        rc, out, err = self.swarm("task", "submit", "echo", "--bogus-flag")
        self.assertEqual(rc, 2, out + err)
        self.assertIn("--bogus-flag", err)
        rc, out, err = self.swarm("task", "submit", "echo", "--payload", "{broken")
        self.assertEqual(rc, 2, out + err)
        rc, out, err = self.swarm("task", "frobnicate")
        self.assertEqual(rc, 2, out + err)
        rc, out, err = self.swarm("--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("task submit", out)
        self.assertEqual(len(self.d.list_tasks()), 0, "a refused command created a task")

    def test_no_daemon(self):
        rc, out, err = self.swarm("task", "ls",
                                  env={"SWARM_URL": "unix:" + os.path.join(self.base, "none.sock")})
        self.assertEqual(rc, 3, out + err)
        elsewhere = tempfile.mkdtemp(prefix="swe2e-nodaemon-")
        self.addCleanup(shutil.rmtree, elsewhere, True)
        above = [os.path.join(p, ".swarm", "swarm.sock") for p in self.ancestors(elsewhere)]
        if not any(os.path.exists(p) for p in above):
            rc, out, err = self.swarm("task", "ls", cwd=elsewhere)
            self.assertEqual(rc, 3, out + err)
        # A dead daemon leaves its socket file behind: still "unreachable".
        self.d.kill9()
        rc, out, err = self.swarm("task", "ls")
        self.assertEqual(rc, 3, out + err)

    @staticmethod
    def ancestors(path):
        while True:
            yield path
            parent = os.path.dirname(path)
            if parent == path:
                return
            path = parent


if __name__ == "__main__":
    harness.main()
