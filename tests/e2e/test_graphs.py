# SPDX-License-Identifier: MIT
# test_graphs.py - task graphs end to end, with remote agents leasing over HTTP. A task
# with `after` waits (scheduled, blocked, never leased) until its dependencies succeed,
# and fails with dependency_failed, in a cascade, when one fails for good; a parent
# created with children waits and is decided by them (fan_in all, any, quorum), the
# rest of its children cancelled, a running one's agent told; batches are atomic: a
# cycle, a repeated or unknown ref, a bad nested field refuse the whole batch, naming
# the task, and one sent again with its idempotency keys creates nothing; cancel
# cascades to children and dependents; a 1,000-task diamond lattice submitted in one
# batch runs in topological order (each task leased only after all its dependencies
# finished, by their timestamps); a daemon stopped (SIGTERM) and started in the middle
# of a graph finishes it, whose parent counts the children that ended before the stop;
# and `swarm task tree` draws the tree.

import datetime
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


def wall_ms(text):
    """Milliseconds of an RFC 3339 time of the API ("2026-11-23T19:27:13.783Z")."""
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000 + 0.5)


def lattice(layers, width, capability="job"):
    """A diamond lattice: node (l, k) runs after (l-1, k) and (l-1, k+1 mod width)."""
    tasks = []
    for layer in range(layers):
        for k in range(width):
            task = {"ref": "n%d_%d" % (layer, k), "capability": capability,
                    "payload": {"layer": layer, "k": k}}
            if layer:
                task["after"] = ["n%d_%d" % (layer - 1, k), "n%d_%d" % (layer - 1, (k + 1) % width)]
            tasks.append(task)
    return tasks


class Workers:
    """Remote agents in threads, each leasing (long polls) and completing every task
    of its capability until stopped; failures of the HTTP calls are kept in errors."""

    def __init__(self, d, capability, count=4, slots=8):
        self.agents = [Agent(d, "%s-worker-%d" % (capability, i), [capability], slots=slots)
                       for i in range(count)]
        self.slots = slots
        self.stopping = threading.Event()
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(a,), daemon=True)
                        for a in self.agents]
        for t in self.threads:
            t.start()

    def run(self, agent):
        while not self.stopping.is_set():
            try:
                status, reply = agent.lease(self.slots, wait_ms=200)
                if status != 200:
                    self.errors.append("lease: %d %r" % (status, reply))
                    return
                for task in reply["tasks"]:
                    status, body = agent.complete(task, {"done": task["id"]})
                    if status != 200:
                        self.errors.append("complete %s: %d %r" % (task["id"], status, body))
                        return
            except harness.CONNECTION_ERRORS as exc:
                self.errors.append("connection: %r" % exc)
                return

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(10)


class GraphsTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--task-cache", "20")

    def batch(self, tasks, expect=201):
        status, body = self.d.post("/v1/tasks:batch", {"tasks": tasks})
        self.assertEqual(status, expect, body)
        return body

    def cancel(self, task_id):
        status, body = self.d.post("/v1/tasks/%s/cancel" % task_id)
        self.assertEqual(status, 200, body)
        return body

    def wait_state(self, task_id, state, timeout=15):
        return self.d.wait_task(task_id, lambda t: t["state"] == state, timeout,
                                "state %s" % state)

    def run_tasks(self, agent, ids, fail=(), timeout=15):
        """Leases until each of ids came (in any order) and completes or fails it."""
        left = set(ids)

        def step():
            for task in agent.leased(len(left)):
                if task["id"] not in left:
                    raise RuntimeError("leased %s, not one of %s" % (task["id"], sorted(left)))
                if task["id"] in fail:
                    self.assertEqual(agent.fail(task, "it broke", retry=False)[0], 200)
                else:
                    self.assertEqual(agent.complete(task, {"done": task["id"]})[0], 200)
                left.discard(task["id"])
            return not left
        harness.wait_until(step, timeout, "tasks %s leased" % sorted(left))

    # -- dependencies ---------------------------------------------------------

    def test_after_blocks_then_dependency_failed(self):
        d = self.d
        agent = Agent(d, "w", ["job"], slots=8)
        a = d.submit("job", max_attempts=1)
        b = d.submit("job", after=[a["id"]])
        c = d.submit("job", after=[b["id"]])
        e = d.submit("job", after=[a["id"]])
        self.assertEqual(b["state"], "scheduled")
        self.assertTrue(b["blocked"])
        self.assertEqual(b["after"], [a["id"]])
        # only a is leased: the others wait however long
        leased = agent.leased(8)
        self.assertEqual([t["id"] for t in leased], [a["id"]])
        self.assertEqual(agent.leased(8), [])
        self.assertEqual(agent.fail(leased[0], "no", retry=False)[0], 200)
        for task, dep in ((b, a), (c, b), (e, a)):
            got = self.wait_state(task["id"], "failed")
            self.assertTrue(got["dead"])
            self.assertEqual(got["error"]["code"], "dependency_failed", got)
            self.assertEqual(got["error"]["task"], dep["id"], got)
            self.assertIsNone(got["started_at"])
        # a dependency already failed fails a new task at once; one that succeeded is met
        late = d.submit("job", after=[a["id"]])
        self.assertEqual(late["state"], "failed")
        self.assertEqual(late["error"]["code"], "dependency_failed")
        ok = d.submit("job")
        self.run_tasks(agent, [ok["id"]])
        met = d.submit("job", after=[ok["id"]])
        self.assertEqual(met["state"], "queued")
        self.assertNotIn("blocked", met)
        # refusals name the entry
        nobody = "t_0000000000000001"
        self.assertError(d.post("/v1/tasks", {"capability": "job", "after": [nobody]}),
                         400, "invalid_field", "after[0]")
        self.assertError(d.post("/v1/tasks", {"capability": "job", "after": [ok["id"], "nope"]}),
                         400, "invalid_field", "after[1]")
        self.assertError(d.post("/v1/tasks", {"capability": "job", "after": [ok["id"], ok["id"]]}),
                         400, "invalid_field", "after[1]")
        self.assertError(d.post("/v1/tasks", {"capability": "job", "after": ok["id"]}),
                         400, "invalid_field", "after")
        # a retry by hand runs a dependency_failed task at once
        status, body = d.post("/v1/tasks/%s/retry" % c["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "queued")
        self.run_tasks(agent, [met["id"], c["id"]])

    def test_after_then_delay(self):
        d = self.d
        agent = Agent(d, "w", ["job"])
        a = d.submit("job")
        b = d.submit("job", after=[a["id"]], delay_ms=4000)
        self.run_tasks(agent, [a["id"]])
        got = d.task(b["id"])
        self.assertEqual(got["state"], "scheduled")  # released, now waiting for its delay
        self.assertNotIn("blocked", got)
        self.assertEqual(agent.leased(1), [])
        queued = self.wait_state(b["id"], "queued", timeout=15)
        self.assertGreaterEqual(wall_ms(queued["updated_at"]), wall_ms(b["created_at"]) + 4000)
        self.run_tasks(agent, [b["id"]])

    # -- fan-in ---------------------------------------------------------------

    def group(self, fan_in, n, **extra):
        body = {"fan_in": fan_in, "children": [{"capability": "job", "payload": i}
                                               for i in range(n)]}
        body.update(extra)
        status, parent = self.d.post("/v1/tasks", body)
        self.assertEqual(status, 201, parent)
        self.assertEqual(parent["state"], "waiting")
        self.assertIsNone(parent["capability"])
        self.assertEqual(parent["fan_in"], fan_in)
        self.assertEqual(len(parent["children"]), n)
        self.assertEqual(parent["children_count"], n)
        for child in parent["children"]:
            self.assertEqual(self.d.task(child)["parent"], parent["id"])
        return parent

    def test_fan_in_all(self):
        d = self.d
        agent = Agent(d, "w", ["job"], slots=8)
        p = self.group("all", 3)
        kids = p["children"]
        self.run_tasks(agent, kids[:2])
        self.assertEqual(d.task(p["id"])["state"], "waiting")
        self.run_tasks(agent, kids[2:], fail=kids[2:])
        got = self.wait_state(p["id"], "failed")
        self.assertTrue(got["dead"])
        self.assertEqual(got["error"]["code"], "children_failed")
        self.assertEqual(got["error"]["task"], kids[2])
        res = got["result"]
        self.assertEqual((res["succeeded"], res["failed"], res["cancelled"]), (2, 1, 0))
        self.assertEqual([c["id"] for c in res["children"]], kids)
        self.assertEqual(res["children"][0]["result"], {"done": kids[0]})
        self.assertEqual(res["children"][2]["error"]["message"], "it broke")
        # a decided parent takes no more children
        self.assertError(d.post("/v1/tasks", {"capability": "job", "parent": p["id"]}),
                         409, "invalid_state", "parent")
        # all succeed: it succeeds
        p = self.group("all", 2)
        self.run_tasks(agent, p["children"])
        got = self.wait_state(p["id"], "succeeded")
        self.assertEqual(got["result"]["succeeded"], 2)
        self.assertNotIn("error", got)

    def test_fan_in_any(self):
        d = self.d
        agent = Agent(d, "w", ["job"], slots=1)
        p = self.group("any", 3)
        kids = p["children"]
        first = agent.lease_one()
        self.assertEqual(agent.complete(first, "first")[0], 200)
        got = self.wait_state(p["id"], "succeeded")
        states = {c["id"]: c["state"] for c in got["result"]["children"]}
        self.assertEqual(states[first["id"]], "succeeded")
        for kid in kids:
            if kid != first["id"]:
                self.assertEqual(states[kid], "cancelled")
                child = d.task(kid)
                self.assertEqual(child["state"], "cancelled")
                self.assertEqual(child["error"]["code"], "cancelled")
                self.assertEqual(child["error"]["task"], p["id"])
        self.assertEqual(agent.leased(1), [])
        # every child fails: it fails
        p = self.group("any", 2)
        self.run_tasks(agent, p["children"], fail=p["children"])
        self.assertEqual(self.wait_state(p["id"], "failed")["error"]["code"], "children_failed")

    def test_fan_in_quorum(self):
        d = self.d
        agent = Agent(d, "w", ["job"], slots=4)
        p = self.group("quorum", 4, quorum=2)
        self.assertEqual(p["quorum"], 2)
        leased = agent.leased(4)
        self.assertEqual(len(leased), 4)
        self.assertEqual(agent.fail(leased[0], "no", retry=False)[0], 200)
        self.assertEqual(agent.complete(leased[1], 1)[0], 200)
        self.assertEqual(d.task(p["id"])["state"], "waiting")
        self.assertEqual(agent.complete(leased[2], 2)[0], 200)
        got = self.wait_state(p["id"], "succeeded")
        res = got["result"]
        self.assertEqual((res["succeeded"], res["failed"], res["cancelled"]), (2, 1, 1))
        # the running fourth is cancelled: its agent hears it, its late result is refused
        status, beat = agent.heartbeat()
        self.assertEqual(status, 200, beat)
        self.assertIn(leased[3]["id"], beat["cancel"])
        self.assertError(agent.complete(leased[3], 3), 409, "stale_lease")
        # a child added later with parent joins the count while the parent waits
        p = self.group("all", 2)
        late = d.submit("job", parent=p["id"])
        self.assertEqual(d.task(p["id"])["children_count"], 3)
        self.run_tasks(agent, p["children"])
        self.assertEqual(d.task(p["id"])["state"], "waiting")
        self.run_tasks(agent, [late["id"]])
        self.assertEqual(self.wait_state(p["id"], "succeeded")["result"]["succeeded"], 3)
        # refusals
        self.assertError(d.post("/v1/tasks", {"fan_in": "quorum", "quorum": 3, "children": [
            {"capability": "job"}, {"capability": "job"}]}), 400, "invalid_field", "quorum")
        self.assertError(d.post("/v1/tasks", {"fan_in": "quorum", "children": []}),
                         400, "missing_field", "quorum")
        self.assertError(d.post("/v1/tasks", {"fan_in": "most", "children": []}),
                         400, "invalid_field", "fan_in")
        self.assertError(d.post("/v1/tasks", {"children": [{"capability": "job"}],
                                              "after": [late["id"]]}),
                         400, "invalid_field", "after")
        self.assertError(d.post("/v1/tasks", {"children": [{"payload": 1}]}),
                         400, "missing_field", "children[0].capability")

    # -- batches ----------------------------------------------------------------

    def test_batch_checks_everything_first(self):
        d = self.d
        err = self.assertError(d.post("/v1/tasks:batch", {"tasks": [
            {"ref": "a", "capability": "job", "after": ["c"]},
            {"ref": "b", "capability": "job", "after": ["a"]},
            {"ref": "c", "capability": "job", "after": ["b"]},
            {"ref": "free", "capability": "job"}]}), 400, "invalid_field")
        self.assertRegex(err["field"], r"^tasks\[[0-2]\]\.after$")
        self.assertRegex(err["message"],
                         r"cycle.*(a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)")
        self.assertError(d.post("/v1/tasks:batch", {"tasks": [
            {"ref": "a", "capability": "job", "after": ["a"]}]}), 400, "invalid_field",
            "tasks[0].after")
        self.assertError(d.post("/v1/tasks:batch", {"tasks": [
            {"ref": "a", "capability": "job"}, {"ref": "a", "capability": "job"}]}),
            400, "invalid_field", "tasks[1].ref")
        self.assertError(d.post("/v1/tasks:batch", {"tasks": [
            {"ref": "a", "capability": "job"}, {"capability": "job", "after": ["a", "zz"]}]}),
            400, "invalid_field", "tasks[1].after[1]")
        self.assertError(d.post("/v1/tasks:batch", {"tasks": [
            {"capability": "job"}, {"fan_in": "all", "children": [
                {"capability": "job"}, {"capability": "Bad Name"}]}]}),
            400, "invalid_field", "tasks[1].children[1].capability")
        self.assertError(d.post("/v1/tasks:batch", {"tasks": [{"capability": "job"}] * 10001}),
                         400, "invalid_field", "tasks")
        self.assertEqual(d.list_tasks(), [])  # nothing of the refused batches exists

        body = self.batch([
            {"ref": "sum", "fan_in": "all"},
            {"ref": "x", "capability": "job", "parent": "sum"},
            {"ref": "y", "capability": "job", "parent": "sum", "after": ["x"]},
            {"ref": "report", "capability": "job", "after": ["sum"]}])
        refs = body["refs"]
        self.assertEqual(sorted(refs), ["report", "sum", "x", "y"])
        self.assertEqual([t["id"] for t in body["tasks"]],
                         [refs["sum"], refs["x"], refs["y"], refs["report"]])
        self.assertEqual(body["tasks"][0]["children"], [refs["x"], refs["y"]])
        self.assertEqual(body["tasks"][2]["after"], [refs["x"]])
        agent = Agent(d, "w", ["job"], slots=4)
        self.run_tasks(agent, [refs["x"]])
        self.run_tasks(agent, [refs["y"]])
        self.run_tasks(agent, [refs["report"]])
        self.assertEqual(d.task(refs["sum"])["state"], "succeeded")

        # a batch whose tasks all have keys may be sent again: nothing new (200)
        keyed = [{"ref": "k1", "capability": "job", "idempotency_key": "batch-1"},
                 {"ref": "k2", "capability": "job", "idempotency_key": "batch-2",
                  "after": ["k1"]}]
        first = self.batch(keyed)
        again = self.batch(keyed, expect=200)
        self.assertEqual(again["refs"], first["refs"])
        self.assertEqual(len(d.list_tasks()), 6)

    # -- cancel -------------------------------------------------------------------

    def test_cancel_cascades(self):
        d = self.d
        agent = Agent(d, "w", ["job"], slots=4)
        body = self.batch([
            {"ref": "a", "capability": "job"},
            {"ref": "b", "capability": "job", "after": ["a"]},
            {"ref": "c", "capability": "job", "after": ["b"]},
            {"ref": "g", "fan_in": "all", "children": [
                {"capability": "job", "ref": "g1"},
                {"fan_in": "any", "ref": "g2", "children": [{"capability": "job", "ref": "g21"}]}]},
            {"ref": "after_g", "capability": "job", "after": ["g"]}])
        refs = body["refs"]
        running = {t["id"]: t for t in agent.leased(4)}
        self.assertEqual(sorted(running), sorted([refs["a"], refs["g1"], refs["g21"]]))
        self.cancel(refs["a"])
        for ref, cause in (("b", "a"), ("c", "b")):
            got = self.wait_state(refs[ref], "cancelled")
            self.assertEqual(got["error"]["code"], "cancelled")
            self.assertEqual(got["error"]["task"], refs[cause])
        self.cancel(refs["g"])
        for ref in ("g1", "g2", "g21", "after_g"):
            self.wait_state(refs[ref], "cancelled")
        status, beat = agent.heartbeat()
        self.assertEqual(status, 200)
        self.assertEqual(sorted(beat["cancel"]), sorted(running))
        # a chain 1,000 deep, cancelled from its head (cascades do not recurse)
        chain = [{"ref": "c0", "capability": "other"}] + [
            {"ref": "c%d" % i, "capability": "other", "after": ["c%d" % (i - 1)]}
            for i in range(1, 1000)]
        refs = self.batch(chain)["refs"]
        self.cancel(refs["c0"])
        tail = self.wait_state(refs["c999"], "cancelled")
        self.assertEqual(tail["error"]["task"], refs["c998"])
        self.assertEqual(len(d.list_tasks(state="cancelled", capability="other")), 1000)

    # -- scale and order ------------------------------------------------------------

    def check_topological(self, tasks_by_ref, batch):
        """Each task was leased (its last attempt) no sooner than each dependency ended."""
        for spec in batch:
            task = tasks_by_ref[spec["ref"]]
            self.assertEqual(task["state"], "succeeded", task)
            for dep in spec.get("after", []):
                before = tasks_by_ref[dep]
                self.assertGreaterEqual(wall_ms(task["started_at"]), wall_ms(before["finished_at"]),
                                        "%s started before %s finished" % (spec["ref"], dep))

    def test_lattice_1000_in_topological_order(self):
        d = self.d
        spec = lattice(40, 25)
        started = time.monotonic()
        body = self.batch(spec)
        submit_s = time.monotonic() - started
        self.assertEqual(len(body["tasks"]), 1000)
        refs = body["refs"]
        workers = Workers(d, "job", count=4, slots=8)
        self.addCleanup(workers.stop)
        last = [refs["n39_%d" % k] for k in range(25)]
        harness.wait_until(lambda: all(d.task(t)["state"] == "succeeded" for t in last), 120,
                           "the lattice's last layer")
        workers.stop()
        self.assertEqual(workers.errors, [])
        by_id = {t["id"]: t for t in d.list_tasks(limit=1000)}
        self.assertEqual(len(by_id), 1000)
        self.check_topological({r: by_id[i] for r, i in refs.items()}, spec)
        sys.stderr.write("lattice: 1000 tasks submitted in %.3fs, ran in %.3fs\n"
                         % (submit_s, time.monotonic() - started - submit_s))

    def test_restart_in_the_middle(self):
        d = self.d
        spec = lattice(6, 5) + [
            {"ref": "fan", "fan_in": "all",
             "children": [{"capability": "job", "ref": "k%d" % i} for i in range(6)]},
            {"ref": "end", "capability": "job", "after": ["fan", "n5_0"]}]
        refs = self.batch(spec)["refs"]
        agent = Agent(d, "w", ["job"], slots=40)
        # layers 0 and 1 and four of the six children end, k4 and k5 are left running;
        # of layer 2 only n2_0 ends, the rest is left running
        first = agent.leased(40)
        self.assertEqual(len(first), 11)
        for task in first:
            if task["id"] not in (refs["k4"], refs["k5"]):
                self.assertEqual(agent.complete(task, {"done": task["id"]})[0], 200)
        layer1 = agent.leased(40)
        self.assertEqual(sorted(t["id"] for t in layer1),
                         sorted(refs["n1_%d" % k] for k in range(5)))
        for task in layer1:
            self.assertEqual(agent.complete(task, {"done": task["id"]})[0], 200)
        layer2 = {t["id"]: t for t in agent.leased(40)}
        self.assertEqual(len(layer2), 5)
        self.assertEqual(agent.complete(layer2[refs["n2_0"]], {"done": refs["n2_0"]})[0], 200)
        self.assertEqual(d.task(refs["fan"])["state"], "waiting")

        d.stop()
        d.start()

        fan = d.task(refs["fan"])
        self.assertEqual(fan["state"], "waiting")
        self.assertEqual(fan["children_count"], 6)
        blocked = d.task(refs["n3_0"])  # after n2_0 (ended) and n2_1 (not yet)
        self.assertEqual(blocked["state"], "scheduled")
        self.assertTrue(blocked["blocked"])
        for ref in ("k4", "k5", "n2_1"):  # their attempts died with the daemon
            got = d.task(refs[ref])
            self.assertEqual(got["state"], "queued")
            self.assertEqual(got["error"]["code"], "daemon_restarted")
        workers = Workers(d, "job", count=2, slots=4)
        self.addCleanup(workers.stop)
        self.wait_state(refs["end"], "succeeded", timeout=60)
        workers.stop()
        self.assertEqual(workers.errors, [])
        fan = d.task(refs["fan"])
        self.assertEqual(fan["state"], "succeeded")
        self.assertEqual(fan["result"]["succeeded"], 6)
        self.assertEqual([c["id"] for c in fan["result"]["children"]],
                         [refs["k%d" % i] for i in range(6)])
        tasks = {r: d.task(i) for r, i in refs.items()}
        self.check_topological(tasks, [s for s in spec if "capability" in s])
        self.assertGreaterEqual(wall_ms(tasks["end"]["started_at"]),
                                wall_ms(tasks["fan"]["finished_at"]))

    # -- the tree ---------------------------------------------------------------------

    def test_tree_api_and_cli(self):
        d = self.d
        refs = self.batch([
            {"ref": "top", "fan_in": "all", "children": [
                {"capability": "job", "ref": "one"},
                {"fan_in": "any", "ref": "mid", "children": [
                    {"capability": "job", "ref": "deep1"}, {"capability": "job", "ref": "deep2"}]},
                {"capability": "job", "ref": "three", "after": ["one"]}]}])["refs"]
        agent = Agent(d, "w", ["job"], slots=1)
        self.run_tasks(agent, [refs["one"]])
        status, tree = d.get("/v1/tasks/%s/tree" % refs["top"])
        self.assertEqual(status, 200, tree)
        self.assertEqual(tree["root"], refs["top"])
        self.assertFalse(tree["truncated"])
        order = [(t["id"], t["depth"]) for t in tree["tasks"]]
        self.assertEqual(order, [(refs["top"], 0), (refs["one"], 1), (refs["mid"], 1),
                                 (refs["deep1"], 2), (refs["deep2"], 2), (refs["three"], 1)])
        self.assertEqual(tree["tasks"][1]["state"], "succeeded")
        self.assertEqual(tree["tasks"][0]["children_count"], 3)
        self.assertIsNotNone(tree["tasks"][1]["finished_at"])
        status, cut = d.get("/v1/tasks/%s/tree?limit=2" % refs["top"])
        self.assertEqual(status, 200)
        self.assertEqual(len(cut["tasks"]), 2)
        self.assertTrue(cut["truncated"])
        self.assertError(d.get("/v1/tasks/t_0000000000000001/tree"), 404, "not_found")

        env = dict(os.environ, SWARM_URL="unix:" + d.socket_path)
        env.pop("SWARM_TOKEN", None)
        out = subprocess.run([harness.swarm_bin(), "task", "tree", refs["top"]], env=env,
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = out.stdout.splitlines()
        self.assertEqual(len(lines), 6, out.stdout)
        self.assertTrue(lines[0].startswith(refs["top"] + "  waiting"), lines[0])
        self.assertTrue(lines[1].startswith("\u251c\u2500 " + refs["one"] + "  succeeded"), lines)
        self.assertTrue(lines[3].startswith("\u2502  \u251c\u2500 " + refs["deep1"]), lines)
        self.assertTrue(lines[4].startswith("\u2502  \u2514\u2500 " + refs["deep2"]), lines)
        self.assertTrue(lines[5].startswith("\u2514\u2500 " + refs["three"]), lines)
        self.assertIn("fan_in any", lines[2])
        self.assertIn("ran ", lines[1])
        out = subprocess.run([harness.swarm_bin(), "-o", "json", "task", "tree", refs["top"]],
                             env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout)["root"], refs["top"])


if __name__ == "__main__":
    harness.main()
