# SPDX-License-Identifier: MIT
# test_autoscale.py - autoscaling, budgets and costs with real stdio agents: a burst of
# `sleep` tasks scales a swarm from zero up (never past scale.max), then back to zero
# once idle, every decision recorded with its reason (GET /v1/swarms/{name}/scaling and
# swarmd.swarm.scaled events); a budget's max_agents stops scale-up and says so; the
# autoscaled count survives a daemon restart; costs accrue per running agent second and
# are reported per swarm and template, rolled up the tree, filtered by swarm and since,
# kept across a restart; max_cost_total spent stops the swarm's agents with the reason
# shown; bad spec fields and queries are refused naming the field.

import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
STDIO_AGENT = os.path.join(ROOT, "examples", "agents", "stdio_agent.py")


class Watcher(threading.Thread):
    """Polls a swarm while a test runs and keeps the most agents it ever saw."""

    def __init__(self, daemon, swarm):
        super().__init__(daemon=True)
        self.d, self.swarm = daemon, swarm
        self.most = 0
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                status, body = self.d.get("/v1/swarms/" + self.swarm)
                if status == 200:
                    self.most = max(self.most, body["swarm"]["agents"]["total"])
            except harness.CONNECTION_ERRORS:
                pass
            self.done.wait(0.02)

    def stop(self):
        self.done.set()
        self.join(10)
        return self.most


class AutoscaleTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def put(self, kind, name, spec, expect=(200, 201)):
        status, body = self.d.call("PUT", "/v1/%s/%s" % (kind, name), spec)
        self.assertIn(status, expect if isinstance(expect, tuple) else (expect,), body)
        return body

    def template(self, name="py", cost_per_hour=36.0, slots=1):
        return self.put("templates", name, {
            "command": [sys.executable, STDIO_AGENT], "mode": "stdio",
            "capabilities": ["sleep", "echo"], "slots": slots, "cost_per_hour": cost_per_hour})

    def agents(self, swarm):
        status, body = self.d.get("/v1/swarms/" + swarm)
        self.assertEqual(status, 200, body)
        return body["agents"]

    def scaling(self, swarm):
        status, body = self.d.get("/v1/swarms/%s/scaling" % swarm)
        self.assertEqual(status, 200, body)
        return body

    def costs(self, query=""):
        status, body = self.d.get("/v1/costs" + query)
        self.assertEqual(status, 200, body)
        return body

    def swarm_cli(self, *args):
        """Runs the swarm CLI against the daemon: (exit status, stdout, stderr)."""
        env = dict(os.environ, SWARM_URL="unix:" + self.d.socket_path)
        env.pop("SWARM_TOKEN", None)
        proc = subprocess.run([harness.swarm_bin()] + list(args), env=env, capture_output=True,
                              stdin=subprocess.DEVNULL, text=True, timeout=30)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, proc.stderr)
        return proc.returncode, proc.stdout, proc.stderr

    def burst(self, n, ms):
        return [self.d.submit("sleep", payload={"ms": ms})["id"] for _ in range(n)]

    def wait_done(self, ids, timeout=60):
        def done():
            return all(self.d.task(i)["state"] == "succeeded" for i in ids)
        wait_until(done, timeout, "%d tasks to succeed" % len(ids))

    def test_burst_scales_from_zero_up_and_back_to_zero(self):
        self.template()
        self.put("swarms", "burst", {"template": "py", "scale": {
            "min": 0, "max": 4, "target_queue_per_agent": 1,
            "scale_up_after": "300ms", "scale_down_after": "1s"}}, expect=201)
        self.assertEqual(self.agents("burst"), [])
        before = self.scaling("burst")
        self.assertEqual((before["autoscaled"], before["min"], before["max"], before["desired"]),
                         (True, 0, 4, 0))
        watcher = Watcher(self.d, "burst")
        watcher.start()
        ids = self.burst(12, 1500)
        # cold start at once, then more agents after scale_up_after, never past max
        wait_until(lambda: len(self.agents("burst")) >= 1, 10, "the first agent")
        wait_until(lambda: self.scaling("burst")["desired"] == 4, 15, "scaling up to max 4")
        self.wait_done(ids)
        wait_until(lambda: self.agents("burst") == [], 30, "scaling back to zero")
        self.assertLessEqual(watcher.stop(), 4)
        sc = self.scaling("burst")
        self.assertEqual((sc["desired"], sc["current"], sc["queued"]), (0, 0, 0))
        decisions = sc["decisions"]
        self.assertGreaterEqual(len(decisions), 3, decisions)
        for d in decisions:
            self.assertEqual(sorted(d), ["at", "from", "reason", "to"], d)
            self.assertTrue(d["reason"], d)
            self.assertLessEqual(d["to"], 4, d)
        self.assertEqual((decisions[0]["from"], decisions[0]["to"]), (0, 1), decisions)
        self.assertIn("cold start", decisions[0]["reason"])
        ups = [d for d in decisions if d["to"] > d["from"]]
        downs = [d for d in decisions if d["to"] < d["from"]]
        self.assertTrue(any("above 1 per agent" in d["reason"] for d in ups), decisions)
        self.assertTrue(downs and all("below 1 per agent" in d["reason"] for d in downs), decisions)
        self.assertEqual(downs[-1]["to"], 0, decisions)
        # each decision is an event too
        status, page = self.d.get("/v1/events?after=0&type=swarmd.swarm.scaled&subject=burst")
        self.assertEqual(status, 200, page)
        told = [(e["data"]["from"], e["data"]["to"], e["data"]["reason"]) for e in page["events"]]
        self.assertEqual(told, [(d["from"], d["to"], d["reason"]) for d in decisions])

    def test_budget_max_agents_stops_scale_up(self):
        self.template()
        self.put("swarms", "capped", {"template": "py",
                                      "scale": {"min": 0, "max": 10, "scale_up_after": "200ms"},
                                      "budget": {"max_agents": 2}})
        watcher = Watcher(self.d, "capped")
        watcher.start()
        ids = self.burst(8, 1500)

        def refused():
            return [d for d in self.scaling("capped")["decisions"]
                    if "budget: max_agents 2 reached" in d["reason"]]
        found = wait_until(refused, 15, "a decision naming the budget")
        self.assertLessEqual(max(d["to"] for d in found), 2, found)
        sc = self.scaling("capped")
        self.assertEqual(sc["budget"]["max_agents"], 2)
        self.assertEqual(sc["desired"], 2)
        wait_until(lambda: len([a for a in self.agents("capped")
                                if a["state"] in ("ready", "busy")]) == 2, 10, "two agents up")
        # the first two tasks end while six still wait: many autoscaler rounds went by
        wait_until(lambda: sum(self.d.task(i)["state"] == "succeeded" for i in ids) >= 2, 15,
                   "two tasks done")
        self.assertGreaterEqual(self.scaling("capped")["queued"], 4)
        self.assertEqual(self.scaling("capped")["desired"], 2)
        self.assertLessEqual(watcher.stop(), 2)
        # the budget is told once while the queue stays long, not at every round
        self.assertEqual(len([d for d in self.scaling("capped")["decisions"]
                              if "budget" in d["reason"]]), 1)

    def test_autoscaled_count_survives_restart(self):
        self.template()
        self.put("swarms", "keep", {"template": "py", "scale": {
            "min": 0, "max": 3, "scale_up_after": "200ms", "scale_down_after": "10m"}})
        ids = self.burst(6, 800)
        wait_until(lambda: self.scaling("keep")["desired"] == 3, 15, "scaling up to 3")
        self.wait_done(ids)
        self.d.restart()
        sc = self.scaling("keep")
        self.assertEqual(sc["desired"], 3, sc)
        wait_until(lambda: len(self.agents("keep")) == 3, 10, "three agents after the restart")
        # applying the same spec again changes nothing; a lower max brings it down, recorded
        self.assertEqual(self.put("swarms", "keep", {"template": "py", "scale": {
            "min": 0, "max": 3, "scale_up_after": "200ms", "scale_down_after": "10m"}})["action"],
            "unchanged")
        self.put("swarms", "keep", {"template": "py", "scale": {
            "min": 0, "max": 1, "scale_up_after": "200ms", "scale_down_after": "10m"}})
        sc = self.scaling("keep")
        self.assertEqual(sc["desired"], 1, sc)
        self.assertEqual(sc["decisions"][-1]["reason"], "scale.max is 1")
        wait_until(lambda: len(self.agents("keep")) == 1, 10, "one agent")
        # scaling by hand makes the count fixed, and is recorded too
        status, body = self.d.post("/v1/swarms/keep/scale", {"replicas": 2})
        self.assertEqual(status, 200, body)
        sc = self.scaling("keep")
        self.assertEqual((sc["autoscaled"], sc["desired"]), (False, 2))
        self.assertEqual(sc["decisions"][-1]["reason"], "scaled by request")

    def test_costs_per_swarm_template_and_tree(self):
        self.template("py", cost_per_hour=3600.0)      # 1 per agent second
        self.template("cheap", cost_per_hour=360.0)    # 0.1 per agent second
        self.put("swarms", "top", {"template": "py", "replicas": 1})
        self.put("swarms", "mid", {"template": "cheap", "replicas": 2, "parent": "top"})
        self.put("swarms", "leaf", {"template": "py", "replicas": 1, "parent": "mid"})
        self.put("swarms", "other", {"template": "cheap", "replicas": 0})
        wait_until(lambda: all(len(self.agents(n)) == k for n, k in
                               (("top", 1), ("mid", 2), ("leaf", 1))), 10, "agents up")
        started = time.monotonic()

        def enough():
            c = self.costs()
            return c if c["total"]["agent_seconds"] >= 4 * 1.2 else None
        c = wait_until(enough, 20, "1.2 s of cost on 4 agents")
        elapsed = time.monotonic() - started
        by = {s["swarm"]: s for s in c["swarms"]}
        self.assertEqual(sorted(by), ["leaf", "mid", "other", "top"])
        self.assertEqual((by["mid"]["parent"], by["leaf"]["parent"], by["top"]["parent"]),
                         ("top", "mid", None))
        for name, agents, price in (("top", 1, 1.0), ("mid", 2, 0.1), ("leaf", 1, 1.0)):
            s = by[name]
            self.assertGreater(s["agent_seconds"], 0, s)
            self.assertAlmostEqual(s["cost"], s["agent_seconds"] * price, places=3)
            # no agent ran longer than since its start before the first look, plus the wait
            self.assertLessEqual(s["agent_seconds"], agents * (elapsed + 15), s)
        self.assertEqual(by["other"]["cost"], 0)
        self.assertAlmostEqual(by["leaf"]["total"]["cost"], by["leaf"]["cost"], places=6)
        self.assertAlmostEqual(by["mid"]["total"]["cost"], by["mid"]["cost"] + by["leaf"]["cost"],
                               places=6)
        self.assertAlmostEqual(by["top"]["total"]["cost"],
                               by["top"]["cost"] + by["mid"]["cost"] + by["leaf"]["cost"],
                               places=6)
        self.assertAlmostEqual(c["total"]["cost"], by["top"]["total"]["cost"], places=6)
        tmpl = {t["template"]: t for t in c["templates"]}
        self.assertEqual(sorted(tmpl), ["cheap", "py"])
        self.assertAlmostEqual(tmpl["py"]["cost"], by["top"]["cost"] + by["leaf"]["cost"], places=6)
        self.assertEqual([t["template"] for t in by["mid"]["templates"]], ["cheap"])
        # a subtree, and a window
        sub = self.costs("?swarm=mid")
        self.assertEqual(sorted(s["swarm"] for s in sub["swarms"]), ["leaf", "mid"])
        self.assertGreaterEqual(sub["total"]["cost"], by["mid"]["total"]["cost"])
        self.assertEqual(sub["swarm"], "mid")
        recent = self.costs("?since=1h")
        self.assertIsNotNone(recent["since"])
        self.assertGreaterEqual(recent["total"]["cost"], c["total"]["cost"])
        future = self.costs("?since=2999-01-01T00:00:00Z")
        self.assertEqual(future["total"]["cost"], 0)
        self.assertError(self.d.get("/v1/costs?since=yesterday"), 400, "invalid_query", "since")
        self.assertError(self.d.get("/v1/costs?swarm=nope"), 404, "not_found", "swarm")
        self.assertError(self.d.get("/v1/costs?colour=red"), 400)
        # the CLI: a tree of swarms, the templates, the total; JSON with -o json
        rc, out, err = self.swarm_cli("costs")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["SWARM", "COST", "TOTAL", "AGENT-TIME"])
        self.assertTrue(any(line.startswith("    leaf ") for line in lines), out)
        self.assertTrue(any(line.startswith("TEMPLATE") for line in lines), out)
        self.assertTrue(lines[-1].startswith("total: "), out)
        rc, out, err = self.swarm_cli("-o", "json", "costs", "--swarm", "leaf", "--since", "1h")
        self.assertEqual(rc, 0, err)
        self.assertEqual([s["swarm"] for s in json.loads(out)["swarms"]], ["leaf"])
        self.assertEqual(self.swarm_cli("costs", "--since", "lately")[0], 2)
        self.assertEqual(self.swarm_cli("costs", "--swarm", "nope")[0], 4)
        # the costs are kept across a restart
        self.d.restart()
        after = self.costs()
        self.assertGreaterEqual(after["total"]["cost"], c["total"]["cost"])
        by_after = {s["swarm"]: s for s in after["swarms"]}
        self.assertGreaterEqual(by_after["leaf"]["cost"], by["leaf"]["cost"])

    def test_max_cost_total_stops_the_swarm(self):
        self.template("dear", cost_per_hour=36000.0)  # 10 per agent second
        self.put("swarms", "spender", {"template": "dear", "replicas": 1,
                                       "budget": {"max_cost_total": 5}})

        def stopped():
            status, body = self.d.get("/v1/swarms/spender")
            return body if body["swarm"]["state"] == "stopped" else None
        body = wait_until(stopped, 15, "the budget to stop the swarm")
        self.assertIn("budget: max_cost_total 5 spent", body["swarm"]["failure"])
        wait_until(lambda: all(a["state"] == "stopped" for a in self.agents("spender")), 15,
                   "its agents to stop")
        status, page = self.d.get("/v1/events?after=0&type=swarmd.swarm.stopped&subject=spender")
        self.assertEqual(status, 200, page)
        self.assertEqual(len(page["events"]), 1, page)
        self.assertIn("max_cost_total", page["events"][0]["data"]["reason"])
        sc = self.scaling("spender")
        self.assertGreaterEqual(sc["cost"]["spent"], 5)
        self.assertIn("max_cost_total", sc["decisions"][-1]["reason"])
        # it stays stopped, with its reason, across a restart
        self.d.restart()
        status, body = self.d.get("/v1/swarms/spender")
        self.assertEqual(body["swarm"]["state"], "stopped", body)
        wait_until(lambda: "max_cost_total" in (self.d.get("/v1/swarms/spender")[1]["swarm"]
                                                ["failure"] or ""), 5, "the reason again")

    def test_spec_errors_name_the_field(self):
        self.template()
        cases = [
            ({"scale": {"min": 0, "max": 2, "target_queue_per_agent": 0}},
             "scale.target_queue_per_agent"),
            ({"scale": {"min": 0, "max": 2, "scale_up_after": "soon"}}, "scale.scale_up_after"),
            ({"scale": {"min": 0, "max": 2, "scale_down_after": -1}}, "scale.scale_down_after"),
            ({"scale": {"min": 3, "max": 5}, "budget": {"max_agents": 2}}, "budget.max_agents"),
            ({"replicas": 1, "budget": {"max_cost_per_hour": -1}}, "budget.max_cost_per_hour"),
            ({"replicas": 1, "budget": {"max_cost_total": "a lot"}}, "budget.max_cost_total"),
            ({"replicas": 1, "budget": {"max_spend": 1}}, "budget.max_spend"),
            ({"replicas": 1, "budget": 5}, "budget"),
        ]
        for extra, field in cases:
            spec = {"template": "py"}
            spec.update(extra)
            err = self.assertError(self.d.call("PUT", "/v1/swarms/bad", spec), 400, field=field)
            self.assertTrue(err["message"].startswith(field) or field in err["message"], err)
        self.assertError(self.d.get("/v1/swarms/nope/scaling"), 404, "not_found")


if __name__ == "__main__":
    harness.main()
