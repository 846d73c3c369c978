# SPDX-License-Identifier: MIT
# test_agent_lost.py - agents that stop heartbeating. With `--heartbeat 200ms` agents
# are told heartbeat_ms=200; one that keeps beating stays live and keeps its task, one
# that holds a task and goes quiet is marked lost within a few intervals (long before
# its 30 s lease would expire) and its task goes back to the queue, to be leased by
# another agent as attempt 2. Removing an agent with DELETE requeues its leases too.

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, metric_sum, wait_until  # noqa: E402


class AgentLostTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--heartbeat", "200ms")

    def agent_state(self, agent_id):
        status, info = self.d.get("/v1/agents/" + agent_id)
        self.assertEqual(status, 200, info)
        return info

    def test_quiet_agent_is_lost(self):
        d = self.d
        task = d.submit("hold", backoff={"initial_ms": 20, "max_ms": 20, "multiplier": 1})
        quiet = Agent(d, "quiet", ["hold"])
        self.assertEqual(quiet.heartbeat_ms, 200)
        self.assertEqual(quiet.lease_ms, 30000)
        leased = quiet.lease_one()

        # While it beats, it stays and keeps the task.
        start = time.monotonic()
        while time.monotonic() - start < 1.2:  # six heartbeat intervals
            self.assertEqual(quiet.heartbeat()[0], 200)
            time.sleep(0.05)  # heartbeat pacing, well inside the interval
        self.assertNotEqual(self.agent_state(quiet.id)["state"], "lost")
        self.assertEqual(d.task(task["id"])["state"], "running")

        # It goes quiet: lost after three missed intervals, the task requeued.
        silent_at = time.monotonic()
        info = wait_until(lambda: (lambda a: a if a["state"] == "lost" else None)(self.agent_state(quiet.id)),
                          5, "agent %s to be marked lost" % quiet.id)
        lost_after = time.monotonic() - silent_at
        self.assertGreaterEqual(lost_after, 0.35, "lost after only %.3fs of silence" % lost_after)
        self.assertEqual(info["running"], 0, info)
        requeued = d.wait_task(task["id"], lambda t: t["state"] in ("queued", "scheduled"), 5,
                               "requeued after its agent was lost")
        self.assertLess(time.monotonic() - silent_at, 5.0)
        self.assertEqual(requeued["attempt"], 1)
        self.assertNotIn("lease_id", requeued)

        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_agents", state="lost"), 1)

        helper = Agent(d, "helper", ["hold"])
        again = helper.lease_one(task_id=task["id"])
        self.assertEqual(again["attempt"], 2)
        self.assertEqual(again["agent"], helper.id)

        # The lost agent's late result is refused.
        self.assertEqual(quiet.complete(leased, "late")[0], 409)
        self.assertEqual(helper.complete(again, "on time")[0], 200)
        self.assertEqual(d.task(task["id"])["result"], "on time")

    def test_lost_name_can_register_again(self):
        d = self.d
        first = Agent(d, "phoenix", ["x"])
        wait_until(lambda: self.agent_state(first.id)["state"] == "lost", 5,
                   "agent %s to be marked lost" % first.id)
        second = Agent(d, "phoenix", ["x"])
        self.assertEqual(second.heartbeat()[0], 200)

    def test_delete_requeues(self):
        d = self.d
        task = d.submit("gone", backoff={"initial_ms": 20, "max_ms": 20, "multiplier": 1})
        agent = Agent(d, "doomed", ["gone"])
        agent.lease_one()
        status, body = d.delete("/v1/agents/" + agent.id)
        self.assertIn(status, (200, 204), body)
        got = d.task(task["id"])
        self.assertIn(got["state"], ("queued", "scheduled"), got)
        status, body = d.get("/v1/agents/" + agent.id)
        self.assertEqual(status, 404, body)
        self.assertNotIn(agent.id, [a["id"] for a in d.get("/v1/agents")[1]["agents"]])
        other = Agent(d, "survivor", ["gone"])
        self.assertEqual(other.lease_one(task_id=task["id"])["attempt"], 2)


if __name__ == "__main__":
    harness.main()
