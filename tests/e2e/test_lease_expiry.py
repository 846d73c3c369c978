# SPDX-License-Identifier: MIT
# test_lease_expiry.py - leases that run out. With `--lease 500ms`, an agent that leases
# a task and then goes silent loses it: the task is retried (the next lease is attempt
# 2); once max_attempts leases have expired the task is failed and dead; a manual retry
# puts it back in the queue with its attempt count reset. Heartbeats, on the other hand,
# keep a lease alive past its length.

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402

FAST_BACKOFF = {"initial_ms": 50, "max_ms": 100, "multiplier": 2}


class LeaseExpiryTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--lease", "500ms")

    def test_expiry_retry_dead_and_manual_retry(self):
        d = self.d
        task = d.submit("slow", max_attempts=2, backoff=FAST_BACKOFF)
        fresh_attempt = task["attempt"]
        silent = Agent(d, "silent", ["slow"])
        self.assertEqual(silent.lease_ms, 500)
        other = Agent(d, "other", ["slow"])

        first = silent.lease_one()
        self.assertEqual(first["attempt"], 1)
        leased_at = time.monotonic()

        second = other.lease_one(timeout=10, task_id=task["id"])
        self.assertGreaterEqual(time.monotonic() - leased_at, 0.45,
                                "the task was leased again before its lease ran out")
        self.assertEqual(second["attempt"], 2)
        self.assertNotEqual(second["lease_id"], first["lease_id"])

        # The second lease expires too: that was the last attempt.
        dead = d.wait_task(task["id"], lambda t: t["state"] not in ("running", "queued", "scheduled"),
                           10, "failing after its last lease expired")
        self.assertEqual(dead["state"], "failed")
        self.assertIs(dead["dead"], True)
        self.assertEqual(dead["attempt"], 2)
        self.assertIsInstance(dead["error"], dict)
        self.assertIsInstance(dead["error"].get("code"), str)
        self.assertIn(task["id"], [t["id"] for t in d.list_tasks(dead="true")])
        self.assertEqual(other.leased(1, wait_ms=0), [])

        status, retried = d.post("/v1/tasks/%s/retry" % task["id"])
        self.assertEqual(status, 200, retried)
        self.assertEqual(retried["state"], "queued")
        self.assertEqual(retried["attempt"], fresh_attempt)
        self.assertIs(retried["dead"], False)
        self.assertNotIn(task["id"], [t["id"] for t in d.list_tasks(dead="true")])

        again = other.lease_one(task_id=task["id"])
        self.assertEqual(again["attempt"], 1)
        self.assertEqual(other.complete(again, "finally")[0], 200)
        self.assertEqual(d.task(task["id"])["state"], "succeeded")

    def test_heartbeat_keeps_the_lease(self):
        d = self.d
        task = d.submit("kept", backoff=FAST_BACKOFF)
        agent = Agent(d, "beating", ["kept"])
        leased = agent.lease_one()
        start = time.monotonic()
        while time.monotonic() - start < 1.5:  # three lease lengths
            status, reply = agent.heartbeat()
            self.assertEqual(status, 200, reply)
            self.assertEqual(reply.get("cancel", []), [])
            self.assertEqual(d.task(task["id"])["state"], "running")
            time.sleep(0.1)  # heartbeat pacing, well inside the 500ms lease
        got = d.task(task["id"])
        self.assertEqual(got["lease_id"], leased["lease_id"])
        self.assertEqual(got["attempt"], 1)
        status, done = agent.complete(leased, {"ok": True})
        self.assertEqual(status, 200, done)
        self.assertEqual(done["state"], "succeeded")


if __name__ == "__main__":
    harness.main()
