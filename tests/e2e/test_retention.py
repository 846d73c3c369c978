# SPDX-License-Identifier: MIT
# test_retention.py - --task-retention: finished tasks created longer ago than the
# retention disappear from memory and from the store (GET answers 404, lists skip them),
# while unfinished tasks of the same age stay, across a restart too.

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, wait_until  # noqa: E402


class RetentionTest(harness.DaemonTestCase):
    def test_finished_tasks_are_pruned(self):
        d = self.start_daemon("--task-retention", "1s")
        done = d.submit("keep.short", payload={"n": 1})
        waiting = d.submit("keep.queued", payload={"n": 2})
        agent = Agent(d, "pruner", ["keep.short"])
        task = agent.lease_one(timeout=10, task_id=done["id"])
        self.assertEqual(agent.complete(task, {"ok": True})[0], 200)
        self.assertEqual(d.task(done["id"])["state"], "succeeded")
        wait_until(lambda: d.get("/v1/tasks/" + done["id"])[0] == 404, 15,
                   "the finished task pruned")
        ids = [t["id"] for t in d.list_tasks()]
        self.assertNotIn(done["id"], ids)
        self.assertIn(waiting["id"], ids)
        self.assertEqual(d.task(waiting["id"])["state"], "queued")
        d.stop()
        d.start()
        self.assertEqual(d.get("/v1/tasks/" + done["id"])[0], 404)
        self.assertEqual(d.task(waiting["id"])["state"], "queued")

    def test_default_keeps_everything(self):
        d = self.start_daemon()
        t = d.submit("keep.all")
        agent = Agent(d, "keeper", ["keep.all"])
        self.assertEqual(agent.complete(agent.lease_one(timeout=10), 1)[0], 200)
        time.sleep(0.3)  # nothing is pruned without --task-retention (checked once)
        self.assertEqual(d.task(t["id"])["state"], "succeeded")


if __name__ == "__main__":
    harness.main()
