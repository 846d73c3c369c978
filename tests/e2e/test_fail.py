# SPDX-License-Identifier: MIT
# test_fail.py - an agent reporting failure. `fail` with retry:false ends the task at
# once (failed, dead); `fail` with retry waits out the backoff (the task is scheduled,
# not leasable) and then queues it again with the attempt counted, until max_attempts,
# after which it is failed and dead. The error message is kept on the task and the
# failure and retry counters move in /metrics.

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, metric_sum  # noqa: E402


class FailTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()
        self.agent = Agent(self.d, "failer", ["flaky"], slots=4)

    def test_fail_without_retry_is_dead(self):
        d, agent = self.d, self.agent
        task = d.submit("flaky", max_attempts=5)
        leased = agent.lease_one()
        status, body = agent.fail(leased, "disk on fire", retry=False)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "failed")
        self.assertIs(body["dead"], True)
        got = d.task(task["id"])
        self.assertEqual(got["state"], "failed")
        self.assertIs(got["dead"], True)
        self.assertEqual(got["attempt"], 1)
        self.assertEqual(got["error"]["message"], "disk on fire")
        self.assertIsNotNone(got["finished_at"])
        self.assertEqual([t["id"] for t in d.list_tasks(dead="true")], [task["id"]])
        self.assertEqual(agent.leased(4, wait_ms=0), [])
        # A second report on the finished task is refused and changes nothing.
        status, body = agent.fail(leased, "again", retry=False)
        self.assertEqual(status, 409, body)
        self.assertEqual(d.task(task["id"])["error"]["message"], "disk on fire")

    def test_fail_with_retry_backs_off(self):
        d, agent = self.d, self.agent
        backoff = {"initial_ms": 600, "max_ms": 600, "multiplier": 1}
        task = d.submit("flaky", max_attempts=3, backoff=backoff)
        first = agent.lease_one()
        status, body = agent.fail(first, "try later", retry=True)
        failed_at = time.monotonic()
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "scheduled", body)
        self.assertIs(body["dead"], False)
        self.assertIsNotNone(body.get("run_at"))
        self.assertEqual(body["error"]["message"], "try later")

        self.assertEqual(agent.leased(4, wait_ms=0), [], "leased again inside the backoff")
        second = agent.lease_one(timeout=10, task_id=task["id"])
        waited = time.monotonic() - failed_at
        # Backoff may be jittered down to half its value, never less.
        self.assertGreaterEqual(waited, 0.29, "re-leased %.3fs after the failure" % waited)
        self.assertEqual(second["attempt"], 2)
        self.assertNotEqual(second["lease_id"], first["lease_id"])
        self.assertEqual(agent.complete(second, {"fine": 1})[0], 200)
        done = d.task(task["id"])
        self.assertEqual(done["state"], "succeeded")
        self.assertEqual(done["result"], {"fine": 1})

    def test_retries_run_out(self):
        d, agent = self.d, self.agent
        task = d.submit("flaky", max_attempts=2,
                        backoff={"initial_ms": 20, "max_ms": 40, "multiplier": 2})
        first = agent.lease_one()
        self.assertEqual(agent.fail(first, "one")[0], 200)
        second = agent.lease_one(task_id=task["id"])
        self.assertEqual(second["attempt"], 2)
        status, body = agent.fail(second, "two", retry=True)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "failed")
        self.assertIs(body["dead"], True)
        self.assertEqual(body["error"]["message"], "two")

        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_tasks_failed_total"), 1)
        self.assertEqual(metric_sum(m, "swarmd_tasks_retried_total"), 1)
        self.assertIn(metric_sum(m, "swarmd_tasks", state="failed", capability="flaky"), (None, 1))

        status, again = d.post("/v1/tasks/%s/retry" % task["id"])
        self.assertEqual(status, 200, again)
        self.assertEqual(again["state"], "queued")
        self.assertIs(again["dead"], False)
        third = agent.lease_one(task_id=task["id"])
        self.assertEqual(third["attempt"], 1)

    def test_fail_needs_a_lease(self):
        d, agent = self.d, self.agent
        task = d.submit("flaky")
        leased = agent.lease_one()
        status, body = agent.call("/v1/tasks/%s/fail" % task["id"], {"error": {"message": "x"}})
        self.assertError((status, body), 400, "missing_field", "lease_id")
        self.assertEqual(d.task(task["id"])["state"], "running")
        self.assertEqual(agent.fail(leased, "real")[0], 200)


if __name__ == "__main__":
    harness.main()
