# SPDX-License-Identifier: MIT
# test_registry.py - the capability registry against a real daemon, with remote agents
# (harness.Agent) and managed swarms of stdio agents (examples/agents/stdio_agent.py):
# versions @1/@2 and bare names in discovery and in the capability views; label
# selectors; the order of discovery (ready with most free slots, then busy; the asking
# swarm first); an agent removed or lost leaves or sinks in the registry at once; a swarm
# scaled to zero or stopped is still a provider; statistics after tasks ran (counts,
# success rate, run-time percentiles); query errors naming the parameter; and the
# `swarm caps` and `swarm discover` commands.

import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, wait_until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STDIO_AGENT = os.path.join(ROOT, "examples", "agents", "stdio_agent.py")


class RegistryTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--heartbeat", "200ms")

    # -- helpers -----------------------------------------------------------------------

    def discover(self, capability, **query):
        q = dict(query, capability=capability)
        status, body = self.d.get("/v1/discover?" + urllib.parse.urlencode(q))
        self.assertEqual(status, 200, body)
        return body

    def agent_names(self, capability, **query):
        return [a["name"] for a in self.discover(capability, **query)["agents"]]

    def caps(self):
        status, body = self.d.get("/v1/capabilities")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["window_ms"], 300000)
        return {c["name"]: c for c in body["capabilities"]}

    def cap(self, name, expect=200):
        status, body = self.d.get("/v1/capabilities/" + urllib.parse.quote(name, safe=""))
        self.assertEqual(status, expect, body)
        return body

    def put(self, kind, name, spec):
        status, body = self.d.call("PUT", "/v1/%s/%s" % (kind, name), spec)
        self.assertIn(status, (200, 201), body)
        return body

    def swarm_agents(self, name):
        status, body = self.d.get("/v1/swarms/" + name)
        self.assertEqual(status, 200, body)
        return body["agents"]

    def wait_swarm_ready(self, name, count):
        wait_until(lambda: sum(a["state"] in ("ready", "busy") for a in self.swarm_agents(name))
                   == count, 15, "%d ready agents in %s" % (count, name))

    def swarm(self, *args):
        env = dict(os.environ)
        for name in ("SWARM_URL", "SWARM_HOME", "SWARM_TOKEN"):
            env.pop(name, None)
        proc = subprocess.run([harness.swarm_bin(), "--url", "unix:" + self.d.socket_path]
                              + list(args), env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30)
        err = proc.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err)
        return proc.returncode, proc.stdout.decode("utf-8", "replace"), err

    def ok(self, *args):
        rc, out, err = self.swarm(*args)
        self.assertEqual(rc, 0, "swarm %s: %d\n%s\n%s" % (args, rc, out, err))
        return out

    # -- remote agents -------------------------------------------------------------------

    def remote_fleet(self):
        """v1 (2 slots, gpu=false), v2big (3 slots, gpu=true), v2small (1 slot, gpu=true),
        bare (unversioned), other."""
        return {
            "v1": Agent(self.d, "v1", ["resize@1"], slots=2, labels={"gpu": "false"}),
            "v2big": Agent(self.d, "v2big", ["resize@2"], slots=3, labels={"gpu": "true"}),
            "v2small": Agent(self.d, "v2small", ["resize@2"], slots=1,
                             labels={"gpu": "true", "zone": "a"}),
            "bare": Agent(self.d, "bare", ["resize"], slots=4),
            "other": Agent(self.d, "other", ["crop"]),
        }

    def test_versions_and_order(self):
        fleet = self.remote_fleet()
        # a version: its providers only, most free slots first
        self.assertEqual(self.agent_names("resize@2"), ["v2big", "v2small"])
        self.assertEqual(self.agent_names("resize@1"), ["v1"])
        self.assertEqual(self.agent_names("resize@3"), [])
        # bare: every version, the highest first; the unversioned one last
        body = self.discover("resize")
        self.assertEqual([a["name"] for a in body["agents"]], ["v2big", "v2small", "v1", "bare"])
        self.assertEqual([a["capability"] for a in body["agents"]],
                         ["resize@2", "resize@2", "resize@1", "resize"])
        self.assertEqual([a["version"] for a in body["agents"]], [2, 2, 1, 0])
        first = body["agents"][0]
        self.assertEqual((first["kind"], first["state"], first["slots"], first["free_slots"]),
                         ("remote", "ready", 3, 3))
        self.assertEqual(first["id"], fleet["v2big"].id)
        self.assertEqual(first["labels"], {"gpu": "true"})
        self.assertEqual(first["breaker"], "closed")
        self.assertEqual(body["total"], {"swarms": 0, "agents": 4})
        self.assertIsNone(body["from"])
        # busy agents come after ready ones
        for _ in range(3):
            self.d.submit("resize@2")
        self.assertEqual(len(fleet["v2big"].leased(max=3)), 3)
        body = self.discover("resize@2")
        self.assertEqual([(a["name"], a["state"], a["free_slots"]) for a in body["agents"]],
                         [("v2small", "ready", 1), ("v2big", "busy", 0)])
        # labels
        self.assertEqual(self.agent_names("resize", labels="gpu=true"), ["v2small", "v2big"])
        self.assertEqual(self.agent_names("resize", labels="gpu=true,zone=a"), ["v2small"])
        self.assertEqual(self.agent_names("resize", labels="gpu=false"), ["v1"])
        self.assertEqual(self.agent_names("resize", labels="gpu=maybe"), [])
        self.assertEqual(self.agent_names("resize", limit=2), ["v2small", "v1"])

        caps = self.caps()
        self.assertEqual([n for n in caps if n.startswith("resize")],
                         ["resize", "resize@1", "resize@2"])
        r2 = caps["resize@2"]
        self.assertEqual(r2["version"], 2)
        self.assertEqual(r2["agents"], {"ready": 1, "busy": 1, "total": 2})
        self.assertEqual((r2["queued"], r2["running"]), (0, 3))
        self.assertEqual(r2["swarms"], [])
        self.assertEqual(caps["crop"]["agents"]["total"], 1)
        # what a bare request matches: every version, added up, agents counted once
        whole = self.cap("resize")
        self.assertEqual(whole["name"], "resize")
        self.assertEqual([v["name"] for v in whole["versions"]], ["resize@2", "resize@1", "resize"])
        self.assertEqual(whole["agents"], {"ready": 3, "busy": 1, "total": 4})
        self.assertEqual(whole["running"], 3)
        self.assertEqual([v["name"] for v in self.cap("resize@1")["versions"]], ["resize@1"])
        self.cap("resize@3", expect=404)
        self.cap("nothing", expect=404)

    def test_bad_queries(self):
        Agent(self.d, "a", ["resize@2"])
        cases = [
            ("/v1/discover", "capability"),
            ("/v1/discover?capability=", "capability"),
            ("/v1/discover?capability=Resize", "capability"),
            ("/v1/discover?capability=resize@x", "capability"),
            ("/v1/discover?capability=resize&labels=gpu", "labels"),
            ("/v1/discover?capability=resize&labels=%3Dtrue", "labels"),
            ("/v1/discover?capability=resize&swarm=atlantis", "swarm"),
            ("/v1/discover?capability=resize&limit=0", "limit"),
            ("/v1/discover?capability=resize&colour=red", "colour"),
            ("/v1/capabilities?verbose=1", "verbose"),
            ("/v1/capabilities/resize@2?x=1", "x"),
        ]
        for path, field in cases:
            self.assertError(self.d.get(path), 400, "invalid_query", field)
        self.assertError(self.d.get("/v1/capabilities/Bad%20Name"), 400, "invalid_field", "name")
        self.assertError(self.d.post("/v1/discover?capability=resize", {}), 405)

    def test_agent_going_away(self):
        keep = Agent(self.d, "keep", ["blur"], slots=2)
        gone = Agent(self.d, "gone", ["blur", "sharpen@3"])
        quiet = Agent(self.d, "quiet", ["blur"], slots=8)
        self.assertEqual(self.agent_names("blur"), ["quiet", "keep", "gone"])
        self.assertEqual(self.cap("sharpen")["agents"]["total"], 1)
        # removed: gone from every view at once
        status, body = self.d.delete("/v1/agents/" + gone.id)
        self.assertEqual(status, 200, body)
        self.assertNotIn("gone", self.agent_names("blur"))
        self.cap("sharpen", expect=404)
        self.cap("sharpen@3", expect=404)
        self.assertNotIn("sharpen@3", self.caps())
        # lost (no heartbeats): still a provider, after the live ones
        def quiet_lost():
            keep.heartbeat()
            agents = self.discover("blur")["agents"]
            return agents if agents[-1]["name"] == "quiet" and agents[-1]["state"] == "lost" \
                else None
        agents = wait_until(quiet_lost, 10, "the quiet agent lost and listed last")
        self.assertEqual([a["name"] for a in agents], ["keep", "quiet"])
        self.assertEqual(self.cap("blur")["agents"], {"ready": 1, "busy": 0, "total": 2})

    # -- statistics ------------------------------------------------------------------------

    def test_statistics(self):
        agent = Agent(self.d, "w", ["thumb@1"], slots=1)
        runs = []
        for i in range(5):
            task = self.d.submit("thumb@1", max_attempts=1)
            leased = agent.lease_one(task_id=task["id"])
            if i == 0:
                time.sleep(0.3)  # one long run: the daemon measures at least this much
            runs.append(leased)
            if i == 4:
                self.assertEqual(agent.fail(leased, "broken", retry=False)[0], 200)
            else:
                self.assertEqual(agent.complete(leased, {"i": i})[0], 200)
        stats = self.cap("thumb@1")["stats"]
        self.assertEqual(stats["window_ms"], 300000)
        self.assertEqual((stats["succeeded"], stats["failed"]), (4, 1))
        self.assertAlmostEqual(stats["success_rate"], 0.8)
        self.assertIsInstance(stats["p50_ms"], int)
        self.assertLess(stats["p50_ms"], 300)
        self.assertGreaterEqual(stats["p95_ms"], 280)  # the long run (bucket within 6.25%)
        # the list shows the same; a bare request adds up its versions
        self.assertEqual(self.caps()["thumb@1"]["stats"], stats)
        self.assertEqual(self.cap("thumb")["stats"], stats)
        # cancelled before running: not an attempt
        task = self.d.submit("thumb@1")
        self.assertEqual(self.d.post("/v1/tasks/%s/cancel" % task["id"])[0], 200)
        self.assertEqual(self.cap("thumb@1")["stats"]["failed"], 1)
        # a capability that only ran once stays known after its agent left
        self.assertEqual(self.d.delete("/v1/agents/" + agent.id)[0], 200)
        body = self.cap("thumb@1")
        self.assertEqual(body["agents"]["total"], 0)
        self.assertEqual(body["stats"]["succeeded"], 4)

    # -- managed swarms --------------------------------------------------------------------

    def test_swarms(self):
        self.put("templates", "up2", {"command": [sys.executable, STDIO_AGENT], "mode": "stdio",
                                      "capabilities": ["upper@2", "echo"], "slots": 2,
                                      "labels": {"gpu": "true"}})
        self.put("templates", "up1", {"command": [sys.executable, STDIO_AGENT], "mode": "stdio",
                                      "capabilities": ["upper@1"]})
        self.put("swarms", "root", {"template": "up1", "replicas": 0})
        self.put("swarms", "web", {"template": "up2", "replicas": 2, "parent": "root",
                                   "labels": {"zone": "eu"}})
        self.put("swarms", "old", {"template": "up1", "replicas": 1, "parent": "root"})
        self.wait_swarm_ready("web", 2)
        self.wait_swarm_ready("old", 1)
        done = self.d.submit("upper@2", payload={"text": "hi"})
        status, done = self.d.get("/v1/tasks/%s?wait_ms=10000" % done["id"], timeout=15)
        self.assertEqual((status, done["state"]), (200, "succeeded"), done)

        body = self.discover("upper")
        self.assertEqual(body["total"], {"swarms": 3, "agents": 3})
        names = [s["name"] for s in body["swarms"]]
        # fewest busy first (all idle), then the highest version, then name
        self.assertEqual(names, ["web", "old", "root"])
        web = body["swarms"][0]
        self.assertEqual((web["capability"], web["version"], web["state"], web["replicas"],
                          web["parent"]), ("upper@2", 2, "running", 2, "root"))
        self.assertEqual(web["agents"]["total"], 2)
        self.assertEqual(body["swarms"][2]["agents"], {"ready": 0, "busy": 0, "total": 0})
        agents = body["agents"]
        self.assertEqual([a["name"] for a in agents[:2]], sorted(["web-0", "web-1"]))
        self.assertEqual(agents[2]["name"], "old-0")
        self.assertEqual(agents[0]["kind"], "managed")
        self.assertEqual(agents[0]["labels"], {"gpu": "true"})
        # asked from old: its swarm and agent first
        body = self.discover("upper", swarm="old")
        self.assertEqual(body["from"], "old")
        self.assertEqual([s["name"] for s in body["swarms"]][0], "old")
        # by hops along the tree: old, its parent root, then web through root
        self.assertEqual([(s["name"], s["distance"]) for s in body["swarms"]][:3],
                         [("old", 0), ("root", 1), ("web", 2)])
        self.assertEqual(body["agents"][0]["name"], "old-0")
        # labels: a swarm's own, then its template's; an agent's own, then its swarm's
        body = self.discover("upper", labels="zone=eu,gpu=true")
        self.assertEqual([s["name"] for s in body["swarms"]], ["web"])
        self.assertEqual(sorted(a["name"] for a in body["agents"]), ["web-0", "web-1"])

        # scaled to zero: no agents, still a provider
        self.assertEqual(self.d.post("/v1/swarms/web/scale", {"replicas": 0})[0], 200)
        wait_until(lambda: self.swarm_agents("web") == [], 15, "web scaled to zero")
        body = self.discover("upper@2")
        self.assertEqual([s["name"] for s in body["swarms"]], ["web"])
        self.assertEqual(body["swarms"][0]["agents"]["total"], 0)
        self.assertEqual(body["agents"], [])
        entry = self.caps()["upper@2"]
        self.assertEqual(entry["swarms"], ["web"])
        self.assertEqual(entry["agents"]["total"], 0)
        self.assertEqual(entry["stats"]["succeeded"], 1)
        # stopped: still a provider, its agent stopped (listed after running ones)
        self.assertEqual(self.d.post("/v1/swarms/old/stop")[0], 200)
        wait_until(lambda: all(a["state"] == "stopped" for a in self.swarm_agents("old")), 15,
                   "old stopped")
        body = self.discover("upper@1")
        self.assertEqual(sorted(s["name"] for s in body["swarms"]), ["old", "root"])
        old = [s for s in body["swarms"] if s["name"] == "old"][0]
        self.assertEqual(old["state"], "stopped")
        self.assertEqual([(a["name"], a["state"]) for a in body["agents"]], [("old-0", "stopped")])
        self.assertEqual(self.cap("upper@1")["swarms"], ["old", "root"])

    # -- the command line ------------------------------------------------------------------

    def test_cli(self):
        self.remote_fleet()
        self.d.submit("resize@1")
        out = self.ok("caps")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["CAPABILITY", "SWARMS", "READY", "BUSY", "TOTAL",
                                            "QUEUED", "P50", "P95", "SUCCESS"])
        rows = {line.split()[0]: line.split() for line in lines[1:]}
        self.assertEqual(rows["resize@2"][1:], ["-", "2", "0", "2", "0", "-", "-", "-"])
        self.assertEqual(rows["resize@1"][5], "1")
        data = json.loads(self.ok("caps", "-o", "json"))
        self.assertEqual(sorted(c["name"] for c in data["capabilities"]),
                         ["crop", "resize", "resize@1", "resize@2"])
        out = self.ok("caps", "resize")
        self.assertIn("capability:", out)
        self.assertIn("4 in all", out)
        self.assertIn("no attempt ended in the last 5m", out)
        self.assertIn("resize@2", out)
        rc, out, err = self.swarm("caps", "resize@7")
        self.assertEqual(rc, 4, err)

        out = self.ok("discover", "resize", "-l", "gpu=true")
        self.assertIn("(no swarms)", out)
        agent_lines = [line.split() for line in out.splitlines() if line.startswith("a_")]
        self.assertEqual([row[1] for row in agent_lines], ["v2big", "v2small"])
        self.assertEqual(agent_lines[0][3:6], ["resize@2", "ready", "3/3"])
        out = self.ok("discover", "resize", "--label", "gpu=true", "-l", "zone=a")
        self.assertEqual([line.split()[1] for line in out.splitlines() if line.startswith("a_")],
                         ["v2small"])
        data = json.loads(self.ok("discover", "resize@1", "-o", "json"))
        self.assertEqual([a["name"] for a in data["agents"]], ["v1"])
        out = self.ok("discover", "resize", "--limit", "1")
        self.assertIn("4 agents in all", out)
        rc, out, err = self.swarm("discover", "resize", "-l", "gpu")
        self.assertEqual(rc, 2, err)
        rc, out, err = self.swarm("discover", "Resize")
        self.assertEqual(rc, 5, err)
        self.assertIn("capability", err)
        rc, out, err = self.swarm("discover", "resize", "--swarm", "atlantis")
        self.assertEqual(rc, 5, err)
        self.assertIn("swarm", err)


if __name__ == "__main__":
    harness.main()
