# SPDX-License-Identifier: MIT
# test_cancel.py - cancelling tasks in each state. A queued or scheduled task is
# cancelled at once and never leased; cancelling twice is fine; a running task is
# cancelled and its agent learns it from its next heartbeat and from its next lease
# reply, after which its complete is refused with 409; finished tasks cannot be
# cancelled (409 invalid_state); a cancelled task can be retried by hand.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


class CancelTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def cancel(self, task_id):
        return self.d.post("/v1/tasks/%s/cancel" % task_id)

    def test_cancel_queued_and_scheduled(self):
        d = self.d
        queued = d.submit("job")
        scheduled = d.submit("job", delay_ms=60000)
        status, body = self.cancel(queued["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "cancelled")
        self.assertIsNotNone(body["finished_at"])
        status, body = self.cancel(queued["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "cancelled")
        status, body = self.cancel(scheduled["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "cancelled")
        self.assertNotIn("run_at", body)

        agent = Agent(d, "nothing-for-me", ["job"], slots=2)
        self.assertEqual(agent.leased(2, wait_ms=0), [])
        self.assertEqual(sorted(t["id"] for t in d.list_tasks(state="cancelled")),
                         sorted([queued["id"], scheduled["id"]]))

        self.assertError(self.cancel("t_0000000000000000"), 404, "not_found")

        # Retry by hand brings a cancelled task back.
        status, body = d.post("/v1/tasks/%s/retry" % queued["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "queued")
        self.assertEqual(agent.lease_one(task_id=queued["id"])["attempt"], 1)
        # Retrying a task that is not failed or cancelled is refused.
        self.assertError(d.post("/v1/tasks/%s/retry" % queued["id"]), 409, "invalid_state")

    def test_cancel_running(self):
        d = self.d
        agent = Agent(d, "runner", ["job"], slots=2)
        a = d.submit("job", payload="a")
        b = d.submit("job", payload="b")
        leased = {t["id"]: t for t in agent.leased(2, wait_ms=1000)}
        self.assertEqual(sorted(leased), sorted([a["id"], b["id"]]))

        # Cancel a: the agent sees it in its next heartbeat.
        status, body = self.cancel(a["id"])
        self.assertEqual(status, 200, body)
        self.assertEqual(body["state"], "cancelled")
        status, beat = agent.heartbeat()
        self.assertEqual(status, 200, beat)
        self.assertIn(a["id"], beat["cancel"])
        self.assertNotIn(b["id"], beat["cancel"])

        # Cancel b: the agent sees it in its next lease reply.
        self.assertEqual(self.cancel(b["id"])[0], 200)
        status, reply = agent.lease(2, wait_ms=0)
        self.assertEqual(status, 200, reply)
        self.assertIn(b["id"], reply["cancel"])
        self.assertEqual(reply["tasks"], [])

        # The agent's late results are refused and change nothing.
        for task_id in (a["id"], b["id"]):
            status, body = agent.complete(leased[task_id], {"late": True})
            self.assertError((status, body), 409, ("stale_lease", "invalid_state"))
            got = d.task(task_id)
            self.assertEqual(got["state"], "cancelled")
            self.assertIsNone(got.get("result"))
        status, body = agent.progress(leased[a["id"]], {"pct": 99})
        self.assertEqual(status, 409, body)

        # Its slots are free again.
        c = d.submit("job", payload="c")
        self.assertEqual(agent.lease_one(task_id=c["id"])["id"], c["id"])

    def test_cancel_finished_is_refused(self):
        d = self.d
        agent = Agent(d, "finisher", ["job"])
        ok = d.submit("job")
        t = agent.lease_one()
        self.assertEqual(agent.complete(t, 1)[0], 200)
        self.assertError(self.cancel(ok["id"]), 409, "invalid_state")
        self.assertEqual(d.task(ok["id"])["state"], "succeeded")

        bad = d.submit("job")
        t = agent.lease_one()
        self.assertEqual(agent.fail(t, "no", retry=False)[0], 200)
        self.assertError(self.cancel(bad["id"]), 409, "invalid_state")
        self.assertEqual(d.task(bad["id"])["state"], "failed")
        self.assertError(d.post("/v1/tasks/%s/retry" % ok["id"]), 409, "invalid_state")


if __name__ == "__main__":
    harness.main()
