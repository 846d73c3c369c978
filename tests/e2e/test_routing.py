# SPDX-License-Identifier: MIT
# test_routing.py - routing between swarms, with real remote agents registered into the
# swarms of a three-level tree (root -> east, west -> east-a, west-a) applied with PUT
# /v1/swarms: a task submitted by a leaf agent goes to its own swarm when it provides the
# capability, else to the nearest providing swarm (its route shows each hop, is stored and
# survives a restart), and only that swarm's agents take it; a client's task goes to the
# providing swarm nearest the root; hierarchical vs mesh routes; delegation: down_only and
# isolated swarms refuse the route with 403 route_forbidden naming both swarms; versions
# @1/@2 routed to their providers; an unknown swarm is 404; a capability nothing serves is
# 422 no_provider unless the task asks to wait_for_provider (then it waits queued, says so,
# and the first provider to come takes it). Delegation: a stdio agent's task.submit for a
# capability its swarm lacks becomes a child of the task it runs, routed up the tree, and
# the child's result reaches the agent through task.get. A task's label selector keeps it
# for agents with those labels, without holding up the tasks behind it. A swarm with
# routing {"hash": "payload.user"} sends each user's tasks to one agent.

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


# A stdio agent whose "plan" task submits a "render" task over its pipe, polls it with
# task.get (bounded) until it ends, and returns what it saw.
PLANNER = r'''
import json, sys, time

def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()

def call(call_id, method, params):
    send({"jsonrpc": "2.0", "id": call_id, "method": method, "params": params})
    while True:
        msg = json.loads(sys.stdin.readline())
        if msg.get("id") == call_id and "method" not in msg:
            return msg

while True:
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    msg = json.loads(line)
    if msg.get("method") == "task.run":
        child = call("s", "task.submit", {"capability": "render", "payload": {"n": 7}})
        seen = child
        for i in range(600):
            if "result" not in child:
                break
            seen = call("g%d" % i, "task.get", {"id": child["result"]["id"]})
            if seen["result"]["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(0.05)
        send({"jsonrpc": "2.0", "id": msg["id"], "result": {"submitted": child, "seen": seen}})
    elif msg.get("method") == "ping":
        send({"jsonrpc": "2.0", "id": msg.get("id"), "result": "pong"})
'''


class RoutingTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--no-provider", "refuse")
        self.put("templates", "idle", {"command": [sys.executable, "-c", "pass"],
                                       "capabilities": ["idle"]})
        self.tree()

    def put(self, kind, name, spec):
        status, body = self.d.call("PUT", "/v1/%s/%s" % (kind, name), spec)
        self.assertIn(status, (200, 201), body)
        return body

    def tree(self, root=None, east=None, west=None):
        """root -> east -> east-a, root -> west -> west-a; no managed agents."""
        for name, parent, extra in (("root", None, root), ("east", "root", east),
                                    ("west", "root", west), ("east-a", "east", None),
                                    ("west-a", "west", None)):
            spec = {"template": "idle", "replicas": 0}
            if parent:
                spec["parent"] = parent
            spec.update(extra or {})
            self.put("swarms", name, spec)

    def submit_as(self, agent, body, expect=201):
        status, task = self.d.call("POST", "/v1/tasks", body,
                                   token=agent.token if agent else None)
        if expect is not None:
            self.assertEqual(status, expect, task)
        return task if expect is not None else (status, task)

    def assertNothingFor(self, *agents):
        for a in agents:
            self.assertEqual(a.leased(4), [], "agent %s leased a task not routed to it" % a.id)

    def test_nearest_provider(self):
        d = self.d
        leaf = Agent(d, "leaf", ["local"], swarm="east-a")
        near = Agent(d, "near", ["render"], swarm="east")
        far = Agent(d, "far", ["render"], swarm="west-a")
        loose = Agent(d, "loose", ["plain"])

        # its own swarm first
        own = self.submit_as(leaf, {"capability": "local"})
        self.assertEqual((own["swarm"], own["route"]), ("east-a", ["east-a"]))
        self.assertEqual(leaf.lease_one()["id"], own["id"])

        # else the nearest swarm that provides it: east (1 hop) before west-a (4)
        task = self.submit_as(leaf, {"capability": "render", "payload": {"n": 1}})
        self.assertEqual(task["swarm"], "east")
        self.assertEqual(task["route"], ["east-a", "east"])
        self.assertNothingFor(far)
        self.assertEqual(near.lease_one()["id"], task["id"])

        # named: up to the common ancestor, then down; only that swarm's agents take it
        named = self.submit_as(leaf, {"capability": "render", "swarm": "west-a"})
        self.assertEqual(named["route"], ["east-a", "east", "root", "west", "west-a"])
        self.assertNothingFor(near)
        self.assertEqual(far.lease_one()["id"], named["id"])

        # a client's task: the providing swarm nearest the root, routed from the root
        client = self.submit_as(None, {"capability": "render"})
        self.assertEqual((client["swarm"], client["route"]), ("east", ["root", "east"]))
        # a capability an agent of no swarm provides: unrouted, any provider
        free = self.submit_as(leaf, {"capability": "plain"})
        self.assertIsNone(free["swarm"])
        self.assertIsNone(free["route"])
        self.assertEqual(loose.lease_one()["id"], free["id"])

        # the route is stored: the same after a restart
        d.restart()
        for t in (task, named):
            status, again = d.get("/v1/tasks/%s" % t["id"])
            self.assertEqual(status, 200, again)
            self.assertEqual((again["swarm"], again["route"]), (t["swarm"], t["route"]))

    def test_hierarchical_then_mesh(self):
        d = self.d
        leaf = Agent(d, "leaf", ["local"], swarm="east-a")
        Agent(d, "far", ["render"], swarm="west-a")
        hier = self.submit_as(leaf, {"capability": "render"})
        self.assertEqual(hier["route"], ["east-a", "east", "root", "west", "west-a"])
        # the same tree as a mesh: any swarm of root's subtree reaches any directly
        self.put("swarms", "root", {"template": "idle", "replicas": 0, "topology": "mesh"})
        mesh = self.submit_as(leaf, {"capability": "render"})
        self.assertEqual((mesh["swarm"], mesh["route"]), ("west-a", ["east-a", "west-a"]))
        status, body = d.get("/v1/discover?capability=render&swarm=east-a")
        self.assertEqual(status, 200, body)
        self.assertEqual([(s["name"], s["distance"]) for s in body["swarms"]], [("west-a", 1)])

    def test_forbidden_routes(self):
        d = self.d
        leaf = Agent(d, "leaf", ["local"], swarm="east-a")
        Agent(d, "far", ["render"], swarm="west-a")
        Agent(d, "up", ["audit"], swarm="root")
        self.tree(east={"delegation": "down_only"})
        status, body = self.submit_as(leaf, {"capability": "render"}, expect=None)
        err = self.assertError((status, body), 403, "route_forbidden", "swarm")
        self.assertIn('"east-a"', err["message"])
        self.assertIn('"west-a"', err["message"])
        self.assertIn('"east"', err["message"])
        status, body = self.submit_as(leaf, {"capability": "audit", "swarm": "root"}, expect=None)
        self.assertError((status, body), 403, "route_forbidden", "swarm")
        # down from the root into east is fine
        root_agent = Agent(d, "boss", ["local"], swarm="root")
        down = self.submit_as(root_agent, {"capability": "local", "swarm": "east-a"})
        self.assertEqual(down["route"], ["root", "east", "east-a"])
        # isolated: nothing enters or leaves
        self.tree(west={"isolated": True})
        status, body = self.submit_as(leaf, {"capability": "render"}, expect=None)
        err = self.assertError((status, body), 403, "route_forbidden", "swarm")
        self.assertIn("isolated", err["message"])
        self.assertIn('"west"', err["message"])
        # nothing of the refused submits was created
        self.assertEqual(d.list_tasks(capability="render"), [])
        # spec errors name the field
        for spec, field in (({"isolated": "yes"}, "isolated"), ({"delegation": "up"}, "delegation")):
            body = dict({"template": "idle"}, **spec)
            status, reply = d.call("PUT", "/v1/swarms/bad", body)
            self.assertError((status, reply), 400, "invalid_field", field)

    def test_versions(self):
        d = self.d
        leaf = Agent(d, "leaf", ["local"], swarm="east-a")
        one = Agent(d, "one", ["resize@1"], slots=4, swarm="east")
        two = Agent(d, "two", ["resize@2"], swarm="west-a")
        t2 = self.submit_as(leaf, {"capability": "resize@2"})
        self.assertEqual((t2["swarm"], t2["route"][-1]), ("west-a", "west-a"))
        t1 = self.submit_as(leaf, {"capability": "resize@1"})
        self.assertEqual(t1["swarm"], "east")
        bare = self.submit_as(leaf, {"capability": "resize"})  # the nearest of any version
        self.assertEqual(bare["swarm"], "east")
        self.assertEqual(sorted(t["id"] for t in one.leased(4)), sorted([t1["id"], bare["id"]]))
        self.assertEqual([t["id"] for t in two.leased(4)], [t2["id"]])
        status, body = self.submit_as(leaf, {"capability": "resize@3"}, expect=None)
        self.assertError((status, body), 422, "no_provider", "capability")

    def test_no_provider_and_waiting(self):
        d = self.d
        leaf = Agent(d, "leaf", ["local"], swarm="east-a")
        status, body = self.submit_as(None, {"capability": "ghost"}, expect=None)
        self.assertError((status, body), 422, "no_provider", "capability")
        status, body = self.submit_as(leaf, {"capability": "ghost"}, expect=None)
        self.assertError((status, body), 422, "no_provider", "capability")
        status, body = self.submit_as(None, {"capability": "local", "swarm": "atlantis"},
                                      expect=None)
        self.assertError((status, body), 404, "not_found", "swarm")
        status, body = self.submit_as(None, {"capability": "ghost", "swarm": "west"}, expect=None)
        self.assertError((status, body), 422, "no_provider", "swarm")
        # in a batch: the item is named, nothing is created
        status, body = d.post("/v1/tasks:batch", {"tasks": [{"capability": "local"},
                                                             {"capability": "ghost"}]})
        self.assertError((status, body), 422, "no_provider", "tasks[1].capability")
        self.assertEqual(d.list_tasks(capability="local"), [])

        waiting = self.submit_as(None, {"capability": "ghost", "wait_for_provider": True})
        self.assertEqual(waiting["state"], "queued")
        self.assertTrue(waiting["wait_for_provider"])
        served = self.submit_as(None, {"capability": "local", "wait_for_provider": True})
        self.assertNotIn("wait_for_provider", served)  # a provider was there
        ghost = Agent(d, "ghost", ["ghost"])
        self.assertEqual(ghost.lease_one()["id"], waiting["id"])

    def test_selector(self):
        d = self.d
        cpu = Agent(d, "cpu", ["render"], slots=4)
        card = Agent(d, "card", ["render"], labels={"gpu": "true"})
        task = d.submit("render", selector={"gpu": "true"}, priority=5)
        self.assertEqual(task["selector"], {"gpu": "true"})
        other = d.submit("render")
        # the task behind it is not held up; the selector keeps the head for the card
        self.assertEqual([t["id"] for t in cpu.leased(4)], [other["id"]])
        self.assertEqual(card.lease_one()["id"], task["id"])
        d.restart()
        self.assertEqual(d.task(task["id"])["selector"], {"gpu": "true"})
        status, body = d.post("/v1/tasks", {"capability": "render", "selector": {"gpu": 1}})
        self.assertError((status, body), 400, "invalid_field", "selector")

    def test_hash_affinity(self):
        d = self.d
        self.put("swarms", "shard", {"template": "idle", "replicas": 0, "parent": "root",
                                     "routing": {"hash": "payload.user"}})
        agents = [Agent(d, "shard-%d" % i, ["count"], slots=40, swarm="shard") for i in range(3)]
        users = ["u%d" % i for i in range(12)]
        tasks = [d.submit("count", payload={"user": u, "n": k})
                 for k in range(3) for u in users]
        self.assertEqual({t["affinity"] for t in tasks}, set(users))
        by_agent = {a.id: [t["id"] for t in a.leased(40)]
                    for a in agents}
        leased = sorted(i for ids in by_agent.values() for i in ids)
        self.assertEqual(leased, sorted(t["id"] for t in tasks))  # every key has a live owner
        owner = {}
        for agent_id, ids in by_agent.items():
            for t in tasks:
                if t["id"] in ids:
                    self.assertEqual(owner.setdefault(t["payload"]["user"], agent_id), agent_id,
                                     "one user's tasks went to two agents")
        self.assertGreater(len(set(owner.values())), 1, "the keys did not spread")
        status, body = d.call("PUT", "/v1/swarms/bad", {"template": "idle",
                                                         "routing": {"hash": "user"}})
        self.assertError((status, body), 400, "invalid_field", "routing.hash")

    def test_delegation_from_a_stdio_agent(self):
        d = self.d
        workdir = tempfile.mkdtemp(prefix="swe2e-planner-")
        self.addCleanup(shutil.rmtree, workdir, True)
        script = os.path.join(workdir, "planner.py")
        with open(script, "w") as f:
            f.write(PLANNER)
        self.put("templates", "planner", {"command": [sys.executable, script], "mode": "stdio",
                                          "capabilities": ["plan"]})
        self.put("swarms", "planners", {"template": "planner", "replicas": 1, "parent": "east-a"})
        near = Agent(d, "near", ["render"], swarm="east")
        plan = d.submit("plan")
        self.assertEqual((plan["swarm"], plan["route"]), ("planners",
                                                          ["root", "east", "east-a", "planners"]))
        child = near.lease_one(timeout=30)
        self.assertEqual(child["capability"], "render")
        self.assertEqual(child["parent"], plan["id"])  # a child of the planner's task
        self.assertEqual(child["route"], ["planners", "east-a", "east"])
        self.assertEqual(near.complete(child, {"rendered": 7})[0], 200)
        done = d.wait_task(plan["id"], lambda t: t["state"] in ("succeeded", "failed"), 30,
                           "the planner's answer")
        self.assertEqual(done["state"], "succeeded", done)
        seen = done["result"]["seen"]["result"]
        self.assertEqual((seen["state"], seen["result"]), ("succeeded", {"rendered": 7}))
        status, tree = d.get("/v1/tasks/%s/tree" % plan["id"])
        self.assertEqual(status, 200, tree)
        self.assertIn(child["id"], json.dumps(tree))


if __name__ == "__main__":
    harness.main()
