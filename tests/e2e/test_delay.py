# SPDX-License-Identifier: MIT
# test_delay.py - delayed tasks: a task submitted with delay_ms is `scheduled` with a
# run_at, cannot be leased before its time, becomes `queued` and leasable after it, and
# an agent already waiting in a long-poll lease gets it as soon as it is due. Time is
# checked by bounded polling against the submit time, never by sleeping.

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402

DELAY_MS = 800


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class DelayTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def test_scheduled_then_queued(self):
        d = self.d
        agent = Agent(d, "delay-worker", ["later"])
        sent = time.monotonic()
        task = d.submit("later", payload="x", delay_ms=DELAY_MS)
        self.assertEqual(task["state"], "scheduled")
        self.assertIsNotNone(task.get("run_at"))
        ahead = parse_time(task["run_at"]) - parse_time(task["created_at"])
        self.assertAlmostEqual(ahead.total_seconds(), DELAY_MS / 1000.0, delta=0.05)

        self.assertEqual(agent.leased(1, wait_ms=0), [], "a delayed task was leased at once")
        self.assertEqual(d.task(task["id"])["state"], "scheduled")

        queued = d.wait_task(task["id"], lambda t: t["state"] != "scheduled", 10,
                             "leaving the scheduled state")
        became = time.monotonic() - sent
        self.assertEqual(queued["state"], "queued")
        self.assertNotIn("run_at", queued)
        self.assertGreaterEqual(became, DELAY_MS / 1000.0 - 0.02,
                                "queued %.3fs after submit, before its delay" % became)

        leased = agent.lease_one()
        self.assertEqual(leased["id"], task["id"])
        self.assertEqual(leased["attempt"], 1)

    def test_long_poll_lease_gets_it_when_due(self):
        d = self.d
        agent = Agent(d, "waiter", ["soon"])
        sent = time.monotonic()
        task = d.submit("soon", delay_ms=500)
        status, reply = agent.lease(1, wait_ms=5000)
        got = time.monotonic() - sent
        self.assertEqual(status, 200, reply)
        self.assertEqual([t["id"] for t in reply["tasks"]], [task["id"]])
        self.assertGreaterEqual(got, 0.48, "leased %.3fs after submit" % got)
        self.assertLess(got, 3.0, "a waiting lease got a due task only after %.3fs" % got)

    def test_earlier_due_goes_first(self):
        d = self.d
        agent = Agent(d, "order", ["due"])
        late = d.submit("due", delay_ms=900)["id"]
        early = d.submit("due", delay_ms=300)["id"]
        first = agent.lease_one(timeout=10)
        self.assertEqual(first["id"], early)
        self.assertEqual(agent.complete(first, None)[0], 200)
        self.assertEqual(agent.lease_one(timeout=10)["id"], late)


if __name__ == "__main__":
    harness.main()
