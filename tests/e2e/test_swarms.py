# SPDX-License-Identifier: MIT
# test_swarms.py - templates, swarms and supervised agents, with real processes: a stdio
# agent in Python and an exec agent in shell run tasks; kill -9 of an agent restarts it
# and its task is retried; a crash loop backs off, exceeds the swarm's intensity, fails
# the swarm and escalates to the parent; one_for_all and rest_for_one restart the right
# siblings; apply twice = unchanged; spec errors name the field; scale, stop and start;
# a daemon restart brings the swarms back; an agent that writes garbage or huge lines or
# closes its pipes never hurts the daemon.

import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STDIO_AGENT = os.path.join(ROOT, "examples", "agents", "stdio_agent.py")


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


class SwarmTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def put(self, kind, name, spec, expect=(200, 201), query=""):
        status, body = self.d.call("PUT", "/v1/%s/%s%s" % (kind, name, query), spec)
        self.assertIn(status, expect if isinstance(expect, tuple) else (expect,), body)
        return body

    def py_template(self, name="py", **extra):
        spec = {"command": [sys.executable, STDIO_AGENT], "mode": "stdio",
                "capabilities": ["echo", "upper", "sleep", "fail"], "slots": 2}
        spec.update(extra)
        return self.put("templates", name, spec)

    def swarm(self, name):
        status, body = self.d.get("/v1/swarms/" + name)
        self.assertEqual(status, 200, body)
        return body

    def agents(self, name):
        return self.swarm(name)["agents"]

    def wait_ready(self, name, count, timeout=10):
        wait_until(lambda: sum(a["state"] in ("ready", "busy") for a in self.agents(name)) == count,
                   timeout, "%d ready agents in %s" % (count, name))
        return self.agents(name)

    def run_task(self, capability, payload, timeout=10, **fields):
        task = self.d.submit(capability, payload=payload, **fields)
        status, done = self.d.get("/v1/tasks/%s?wait_ms=%d" % (task["id"], timeout * 1000),
                                  timeout=timeout + 5)
        self.assertEqual(status, 200, done)
        return done

    def test_apply_run_and_idempotence(self):
        self.assertEqual(self.py_template()["action"], "created")
        self.assertEqual(self.py_template()["action"], "unchanged")
        body = self.put("swarms", "web", {"template": "py", "replicas": 2}, expect=201)
        self.assertEqual(body["action"], "created")
        self.assertEqual(self.put("swarms", "web", {"template": "py", "replicas": 2})["action"],
                         "unchanged")
        dry = self.put("swarms", "web", {"template": "py", "replicas": 3}, query="?dry_run=1")
        self.assertEqual(dry["action"], "updated")
        agents = self.wait_ready("web", 2)
        self.assertEqual(sorted(a["name"] for a in agents), ["web-0", "web-1"])
        for a in agents:
            self.assertGreater(a["pid"], 0)
            self.assertTrue(alive(a["pid"]))
        done = self.run_task("upper", {"text": "swarm"})
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["result"], {"text": "SWARM"})
        self.assertIn(done["agent"], [a["id"] for a in agents])
        # a spec error names the field
        status, body = self.d.call("PUT", "/v1/swarms/bad", {"template": "py", "replicas": -1})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"]["field"], "replicas")
        status, body = self.d.call("PUT", "/v1/swarms/bad", {"template": "nope"})
        self.assertEqual((status, body["error"]["field"]), (400, "template"))
        status, body = self.d.call("PUT", "/v1/templates/t2", {"mode": "exec", "capabilities": ["a"]})
        self.assertEqual((status, body["error"]["field"]), (400, "command"))

    def test_queen_agent(self):
        self.py_template()
        self.put("templates", "planner", {"command": [sys.executable, STDIO_AGENT],
                                           "capabilities": ["sum"]})
        self.put("swarms", "q", {"template": "py", "replicas": 2, "queen": "planner"})
        agents = self.wait_ready("q", 3)
        roles = sorted((a["name"], a["role"]) for a in agents)
        self.assertEqual(roles, [("q-0", "worker"), ("q-1", "worker"), ("q-queen", "queen")])
        done = self.run_task("sum", {"numbers": [1, 2]})
        self.assertEqual(done["result"], {"sum": 3})
        self.assertEqual(done["agent"], [a["id"] for a in agents if a["role"] == "queen"][0])
        status, body = self.d.call("DELETE", "/v1/templates/planner")
        self.assertEqual((status, body["error"]["code"]), (409, "in_use"))

    def test_shell_and_c_stdio_agents_and_long_tasks(self):
        import shutil
        d = self.start_daemon("--lease", "1s", "--heartbeat", "300ms")
        self.d = d
        agents = {"sh": [os.path.join(ROOT, "examples", "agents", "stdio_agent.sh")],
                  "c": [os.path.join(os.path.dirname(harness.swarmd_bin()), "examples",
                                     "stdio_agent_c")]}
        if shutil.which("jq") is None:
            del agents["sh"]
        for version, (name, command) in enumerate(sorted(agents.items()), start=2):
            self.assertTrue(os.access(command[0], os.X_OK), command)
            cap = "upper@%d" % version  # the example agents serve upper@N as upper
            self.put("templates", name, {"command": command, "mode": "stdio",
                                          "capabilities": [cap]})
            self.put("swarms", "s" + name, {"template": name, "replicas": 1})
            self.wait_ready("s" + name, 1)
            done = self.run_task(cap, {"text": "from " + name})
            self.assertEqual(done["state"], "succeeded", done)
            self.assertEqual(done["result"], {"text": "FROM " + name.upper()})
        # a task three times longer than the lease: the agent's process keeps it alive
        self.py_template()
        self.put("swarms", "long", {"template": "py", "replicas": 1})
        self.wait_ready("long", 1)
        done = self.run_task("sleep", {"ms": 3000}, timeout=20)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["attempt"], 1)

    def test_exec_agent(self):
        self.put("templates", "shout", {"command": "tr a-z A-Z", "mode": "exec",
                                         "capabilities": ["shout"], "slots": 2})
        self.put("templates", "boom", {"command": "echo broken >&2; exit 3", "mode": "exec",
                                        "capabilities": ["boom"]})
        self.put("swarms", "ex", {"template": "shout", "replicas": 1})
        self.put("swarms", "bx", {"template": "boom", "replicas": 1})
        self.wait_ready("ex", 1)
        done = self.run_task("shout", {"text": "abc"})
        self.assertEqual(done["result"], {"TEXT": "ABC"})
        done = self.run_task("shout", "plain words")
        self.assertEqual(done["result"], "PLAIN WORDS")
        failed = self.run_task("boom", None, max_attempts=1)
        self.assertEqual(failed["state"], "failed")
        self.assertEqual(failed["error"]["code"], "exit_3")
        self.assertIn("broken", failed["error"]["message"])

    def test_kill9_restarts_and_retries(self):
        self.py_template()
        self.put("swarms", "w", {"template": "py", "replicas": 1})
        agent = self.wait_ready("w", 1)[0]
        task = self.d.submit("sleep", payload={"ms": 30000})
        wait_until(lambda: self.d.task(task["id"])["state"] == "running", 10, "task running")
        os.kill(agent["pid"], signal.SIGKILL)
        t0 = time.time()
        wait_until(lambda: self.d.task(task["id"])["state"] in ("queued", "running") and
                   self.d.task(task["id"])["attempt"] >= 1 and
                   self.d.task(task["id"]).get("error") is not None, 5, "task requeued")
        back = self.d.task(task["id"])
        self.assertEqual(back["error"]["code"], "agent_exited")
        wait_until(lambda: self.agents("w")[0]["pid"] not in (0, agent["pid"]) and
                   self.agents("w")[0]["state"] in ("ready", "busy"), 10, "agent restarted")
        restarted = self.agents("w")[0]
        self.assertEqual(restarted["restarts"], 1)
        self.assertEqual(restarted["exit"]["signal"], 9)
        self.assertLess(time.time() - t0, 5)
        wait_until(lambda: self.d.task(task["id"])["attempt"] == 2, 10, "task retried")

    def test_crash_loop_fails_swarm_and_escalates(self):
        self.put("templates", "crash", {"command": "exit 3", "mode": "stdio",
                                         "capabilities": ["never"],
                                         "backoff": {"initial": "100ms", "max": "200ms"}})
        self.py_template()
        self.put("swarms", "top", {"template": "py", "replicas": 1,
                                   "intensity": {"restarts": 1, "period": "60s"}})
        self.put("swarms", "leaf", {"template": "crash", "replicas": 1, "parent": "top",
                                    "intensity": {"restarts": 1, "period": "60s"}})
        t0 = time.time()
        wait_until(lambda: self.swarm("top")["swarm"]["state"] == "failed", 30, "escalation to root")
        leaf = self.swarm("leaf")["swarm"]
        self.assertEqual(leaf["state"], "failed")
        self.assertEqual(self.agents("leaf")[0]["state"], "failed")
        self.assertIn("restarts", leaf["failure"])
        self.assertIn("leaf", self.swarm("top")["swarm"]["failure"])
        # at least one second between restarts of a crash-looping agent
        restarts = self.swarm("leaf")["swarm"]["restarts"]
        self.assertGreaterEqual(time.time() - t0, restarts - 1)
        # the root's own agent was stopped, and the daemon still serves
        wait_until(lambda: all(a["state"] in ("stopped", "failed") for a in self.agents("top")),
                   10, "root swarm agents stopped")
        self.assertEqual(self.d.get("/health")[0], 200)
        # failed stays failed across a daemon restart, until started
        self.d.stop()
        self.d.start()
        self.assertEqual(self.swarm("top")["swarm"]["state"], "failed")
        self.assertEqual(self.swarm("leaf")["swarm"]["state"], "failed")
        self.assertTrue(all(a["state"] != "ready" for a in self.agents("top")))
        # start brings it back
        self.d.post("/v1/swarms/top/start", {})
        self.wait_ready("top", 1)

    def strategy_case(self, strategy, expect_restarted):
        self.py_template()
        self.put("swarms", "s", {"template": "py", "replicas": 3, "strategy": strategy})
        before = {a["name"]: a["pid"] for a in self.wait_ready("s", 3)}
        os.kill(before["s-1"], signal.SIGKILL)
        wait_until(lambda: all(a["state"] in ("ready", "busy") and a["pid"] not in (0, before["s-1"])
                               for a in self.agents("s") if a["name"] == "s-1"), 10,
                   "s-1 back")
        wait_until(lambda: sum(a["state"] in ("ready", "busy") for a in self.agents("s")) == 3, 10,
                   "all back")
        after = {a["name"]: a["pid"] for a in self.agents("s")}
        restarted = sorted(n for n in before if before[n] != after[n])
        self.assertEqual(restarted, expect_restarted)

    def test_one_for_all(self):
        self.strategy_case("one_for_all", ["s-0", "s-1", "s-2"])

    def test_rest_for_one(self):
        self.strategy_case("rest_for_one", ["s-1", "s-2"])

    def test_one_for_one(self):
        self.strategy_case("one_for_one", ["s-1"])

    def test_scale_stop_start_and_daemon_restart(self):
        self.py_template()
        self.put("swarms", "sc", {"template": "py", "replicas": 1})
        self.wait_ready("sc", 1)
        status, body = self.d.post("/v1/swarms/sc/scale", {"replicas": 3})
        self.assertEqual(status, 200, body)
        self.wait_ready("sc", 3)
        pids = [a["pid"] for a in self.agents("sc")]
        self.d.post("/v1/swarms/sc/scale", {"replicas": 1})
        wait_until(lambda: len(self.agents("sc")) == 1, 10, "scaled down")
        wait_until(lambda: not any(alive(p) for p in pids[1:]), 15, "extra processes gone")
        self.d.post("/v1/swarms/sc/stop", {})
        wait_until(lambda: self.agents("sc")[0]["state"] == "stopped", 15, "stopped")
        self.d.post("/v1/swarms/sc/start", {})
        self.wait_ready("sc", 1)
        old_pid = self.agents("sc")[0]["pid"]
        self.d.stop()
        self.assertFalse(alive(old_pid), "daemon stop left the agent running")
        self.d.start()
        agents = self.wait_ready("sc", 1)
        self.assertNotEqual(agents[0]["pid"], old_pid)
        self.assertEqual(self.run_task("echo", {"back": True})["result"], {"back": True})

    def test_misbehaving_stdio_agent(self):
        script = ("import sys, json\n"
                  "sys.stdout.write('not json\\n'); sys.stdout.write('x' * 3000000 + '\\n')\n"
                  "sys.stdout.write('[1,2]\\n'); sys.stdout.flush()\n"
                  "for line in sys.stdin:\n"
                  "    m = json.loads(line)\n"
                  "    if m.get('method') == 'task.run':\n"
                  "        sys.stdout.write(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': 'ok'}) + '\\n')\n"
                  "        sys.stdout.flush()\n"
                  "        sys.stdout.close(); sys.stdin.close(); break\n")
        self.put("templates", "rude", {"command": [sys.executable, "-c", script], "mode": "stdio",
                                        "capabilities": ["rude"], "restart": "never"})
        self.put("swarms", "r", {"template": "rude", "replicas": 1})
        done = self.run_task("rude", None)
        self.assertEqual(done["result"], "ok")
        self.assertEqual(self.d.get("/health")[0], 200)
        logs = self.d.request("GET", "/v1/agents/%s/logs?tail=50" % self.agents("r")[0]["id"])
        self.assertEqual(logs.status, 200)
        self.assertIn("not json", logs.text)

    def test_health_checks_restart_unhealthy_agents(self):
        flag = os.path.join(self.d.home, "healthy")
        open(flag, "w").close()
        self.py_template("hx", health={"exec": ["test", "-f", flag], "interval": "100ms",
                                       "timeout": "1s", "failures": 2})
        silent = ("import sys, json\n"
                  "for line in sys.stdin:\n"
                  "    m = json.loads(line)\n"
                  "    if m.get('method') == 'task.run':\n"
                  "        print(json.dumps({'jsonrpc': '2.0', 'id': m['id'], 'result': 1}), flush=True)\n")
        self.put("templates", "deaf", {"command": [sys.executable, "-c", silent], "mode": "stdio",
                                        "capabilities": ["deaf"],
                                        "health": {"rpc": True, "interval": "100ms",
                                                   "timeout": "200ms", "failures": 2}})
        self.put("swarms", "h", {"template": "hx", "replicas": 1})
        self.put("swarms", "d", {"template": "deaf", "replicas": 1})
        first = self.wait_ready("h", 1)[0]
        time.sleep(0.5)  # healthy checks pass: no restart (asserted below)
        self.assertEqual(self.agents("h")[0]["restarts"], 0)
        os.unlink(flag)
        wait_until(lambda: self.agents("h")[0]["restarts"] >= 1, 10, "unhealthy exec agent restarted")
        self.assertNotEqual(self.agents("h")[0]["pid"], first["pid"])
        wait_until(lambda: self.agents("d")[0]["restarts"] >= 1, 10,
                   "agent that never answers ping restarted")

    def test_idle_stop_and_cold_start(self):
        self.py_template("idle", idle_timeout="300ms")
        self.put("swarms", "lazy", {"template": "idle", "replicas": 1})
        self.wait_ready("lazy", 1)
        wait_until(lambda: self.agents("lazy")[0]["state"] == "stopped", 10, "idle agent stopped")
        t0 = time.time()
        done = self.run_task("echo", {"wake": 1})
        self.assertEqual(done["result"], {"wake": 1})
        self.assertLess(time.time() - t0, 5)
        # a swarm scaled to zero starts its first agent when a task arrives
        self.put("templates", "z", {"command": "cat", "mode": "exec", "capabilities": ["zero"]})
        self.put("swarms", "zero", {"template": "z", "scale": {"min": 0, "max": 2}})
        self.assertEqual(self.agents("zero"), [])
        done = self.run_task("zero", {"from": "zero"})
        self.assertEqual(done["result"], {"from": "zero"})
        self.assertEqual(len(self.agents("zero")), 1)

    def test_logs_follow_and_connect(self):
        import threading
        self.put("templates", "talk", {"command": "echo said $SWARM_TASK >&2; cat", "mode": "exec",
                                        "capabilities": ["talk"]})
        status, agent = self.d.post("/v1/agents", {"name": "talker", "template": "talk"})
        self.assertEqual(status, 201, agent)
        received = []
        conn = self.d.connection()
        conn.request("GET", "/v1/agents/%s/logs?follow=1&tail=10" % agent["id"])
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)

        def reader():
            while True:
                chunk = resp.read1(4096)
                if not chunk:
                    return
                received.append(chunk.decode())
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        ids = [self.run_task("talk", i)["id"] for i in range(3)]
        wait_until(lambda: all(i in "".join(received) for i in ids), 10, "followed log lines")
        status, spec = self.d.get("/v1/agents/%s/connect" % agent["id"])
        self.assertEqual(status, 200, spec)
        self.assertEqual(spec["env"]["SWARM_AGENT"], agent["id"])
        self.assertNotIn("SWARM_TOKEN", spec["env"])
        self.assertTrue(os.path.isdir(spec["cwd"]))
        self.d.stop()  # ends the stream: the reader sees the end
        thread.join(10)
        self.assertFalse(thread.is_alive())

    def test_paranoid_sandbox(self):
        import shutil
        import subprocess
        bwrap = shutil.which("bwrap")
        if bwrap is None or subprocess.run([bwrap, "--ro-bind", "/", "/", "true"],
                                           capture_output=True).returncode != 0:
            self.skipTest("bwrap cannot run here")
        d = self.start_daemon("--listen", "127.0.0.1:0")
        port = d.wait_tcp_port()
        outside = "/var/tmp/swarmd-e2e-escape-%d" % os.getpid()  # on the read-only root
        probe = ("import socket, sys\n"
                 "out = []\n"
                 "try:\n"
                 "    open(%r, 'w').write('x'); out.append('wrote-outside')\n"
                 "except OSError:\n"
                 "    out.append('outside-refused')\n"
                 "open('inside.txt', 'w').write('ok'); out.append('wrote-inside')\n"
                 "try:\n"
                 "    socket.create_connection(('127.0.0.1', %d), timeout=2); out.append('net-open')\n"
                 "except OSError:\n"
                 "    out.append('net-refused')\n"
                 "try:\n"
                 "    u = socket.socket(socket.AF_UNIX); u.connect(%r); out.append('socket-open')\n"
                 "except OSError:\n"
                 "    out.append('socket-hidden')\n"
                 "print(' '.join(out))\n") % (outside, port, d.socket_path)
        status, body = d.call("PUT", "/v1/templates/jail", {
            "command": [sys.executable, "-c", probe], "mode": "exec", "capabilities": ["jail"],
            "sandbox": "paranoid", "workdir": os.path.join(d.home, "work"),
            "limits": {"memory": "1GiB", "open_files": 256}})
        self.assertIn(status, (200, 201), body)
        status, body = d.post("/v1/agents", {"name": "jailed", "template": "jail"})
        self.assertEqual(status, 201, body)
        task = d.submit("jail", max_attempts=1)
        status, done = d.get("/v1/tasks/%s?wait_ms=10000" % task["id"], timeout=15)
        self.assertEqual(done["state"], "succeeded", done)
        self.assertEqual(done["result"], "outside-refused wrote-inside net-refused socket-hidden")
        self.assertFalse(os.path.exists(outside))
        # /tmp is private: the daemon's home (under /tmp here) is not the host's
        probe2 = "open(%r, 'w').write('x'); print('done')" % os.path.join(d.home, "escaped")
        d.call("PUT", "/v1/templates/jail2", {"command": [sys.executable, "-c", probe2],
                                              "mode": "exec", "capabilities": ["jail2"],
                                              "sandbox": "paranoid",
                                              "workdir": os.path.join(d.home, "work")})
        d.post("/v1/agents", {"name": "jailed2", "template": "jail2"})
        task = d.submit("jail2", max_attempts=1)
        d.get("/v1/tasks/%s?wait_ms=10000" % task["id"], timeout=15)
        self.assertFalse(os.path.exists(os.path.join(d.home, "escaped")))
        self.assertTrue(os.path.exists(os.path.join(d.home, "work", "inside.txt")))
        # the same port is open outside the sandbox
        import socket
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


if __name__ == "__main__":
    harness.main()
