# SPDX-License-Identifier: MIT
# test_auth.py - who may call what. With `--listen 127.0.0.1:0 --admin-token T`, TCP
# calls need `Authorization: Bearer T` (401 without it or with a wrong one) while an
# agent's own calls work with its agent token; the Unix socket (mode 0600) needs no
# token at all. A non-loopback --listen without an admin token must stop start-up with
# a message, and SWARMD_ADMIN_TOKEN in the environment counts as --admin-token.

import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402

TOKEN = "e2e-admin-secret-4f1c"


class AuthTest(harness.DaemonTestCase):
    def test_tcp_needs_admin_token(self):
        d = self.start_daemon("--listen", "127.0.0.1:0", "--admin-token", TOKEN)
        port = d.wait_tcp_port()
        self.assertGreater(port, 0)

        self.assertError(d.get("/v1/tasks", via="tcp", token=""), 401, "unauthorized")
        self.assertError(d.get("/v1/tasks", via="tcp", token="wrong"), 401, "unauthorized")
        self.assertError(d.get("/v1/tasks", via="tcp", token="",
                               headers={"Authorization": "Basic " + TOKEN}), 401, "unauthorized")
        self.assertError(d.post("/v1/tasks", {"capability": "echo"}, via="tcp", token=""),
                         401, "unauthorized")
        self.assertError(d.post("/v1/agents", {"name": "x", "capabilities": ["echo"], "slots": 1},
                                via="tcp", token=""), 401, "unauthorized")
        self.assertEqual(d.list_tasks(), [], "an unauthorized submit created a task")

        status, body = d.get("/v1/tasks", via="tcp", token=TOKEN)
        self.assertEqual(status, 200, body)
        status, task = d.post("/v1/tasks", {"capability": "echo", "payload": 1}, via="tcp",
                              token=TOKEN)
        self.assertEqual(status, 201, task)

        # The Unix socket needs no token.
        self.assertEqual(d.get("/v1/tasks/" + task["id"])[0], 200)
        mode = stat.S_IMODE(os.stat(d.socket_path).st_mode)
        self.assertEqual(mode, 0o600, "swarm.sock mode is %o" % mode)

        # An agent registered over the Unix socket works over TCP with its own token.
        agent = Agent(d, "tcp-agent", ["echo"], via="tcp")
        status, reply = agent.lease(1, wait_ms=1000)
        self.assertEqual(status, 200, reply)
        self.assertEqual([t["id"] for t in reply["tasks"]], [task["id"]])
        leased = reply["tasks"][0]
        self.assertEqual(agent.heartbeat()[0], 200)
        self.assertEqual(agent.progress(leased, {"pct": 1})[0], 200)

        # ...but not with no token, an unknown one, or another agent's.
        other = Agent(d, "other-agent", ["echo"], via="tcp")
        self.assertError(agent.call("/v1/agents/%s/lease" % agent.id, {"max": 1}, token=""),
                         401, "unauthorized")
        self.assertError(agent.call("/v1/agents/%s/lease" % agent.id, {"max": 1},
                                    token="not-a-token"), 401, "unauthorized")
        self.assertError(agent.call("/v1/agents/%s/heartbeat" % agent.id, {}, token=other.token),
                         403, "forbidden")
        # An agent token is not an admin token.
        status, body = d.get("/v1/tasks", via="tcp", token=agent.token)
        self.assertIn(status, (401, 403), body)
        self.assertError((status, body), status, ("unauthorized", "forbidden"))
        self.assertEqual(agent.complete(leased, {"over": "tcp"})[0], 200)
        status, done = d.get("/v1/tasks/" + task["id"], via="tcp", token=TOKEN)
        self.assertEqual(status, 200, done)
        self.assertEqual(done["result"], {"over": "tcp"})

    def test_non_loopback_needs_token(self):
        home = tempfile.mkdtemp(prefix="swe2e-")
        self.addCleanup(shutil.rmtree, home, True)
        env = dict(os.environ)
        env.pop("SWARMD_ADMIN_TOKEN", None)
        proc = subprocess.run([harness.swarmd_bin(), "--home", home, "--listen", "0.0.0.0:0"],
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        err = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        self.assertNotEqual(proc.returncode, 0, "swarmd listened on 0.0.0.0 without a token")
        self.assertRegex(err, r"admin.token|listen", err)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err)

    def test_env_token_allows_non_loopback(self):
        d = self.start_daemon("--listen", "0.0.0.0:0", env={"SWARMD_ADMIN_TOKEN": TOKEN})
        d.wait_tcp_port()
        self.assertError(d.get("/v1/tasks", via="tcp", token=""), 401, "unauthorized")
        self.assertEqual(d.get("/v1/tasks", via="tcp", token=TOKEN)[0], 200)
        self.assertEqual(d.get("/v1/tasks")[0], 200)


if __name__ == "__main__":
    harness.main()
