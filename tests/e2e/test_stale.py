# SPDX-License-Identifier: MIT
# test_stale.py - stale leases. An agent whose lease expired and whose task was leased
# again by another agent keeps its old lease_id; every call it makes with it (complete,
# fail, progress) is refused with 409 stale_lease and changes nothing, and the result
# that sticks is the second agent's.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


class StaleTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--lease", "500ms")

    def test_old_lease_is_refused(self):
        d = self.d
        task = d.submit("work", backoff={"initial_ms": 20, "max_ms": 20, "multiplier": 1})
        slow = Agent(d, "slow", ["work"])
        fast = Agent(d, "fast", ["work"])
        old = slow.lease_one()
        new = fast.lease_one(timeout=10, task_id=task["id"])
        self.assertEqual(new["attempt"], 2)
        self.assertNotEqual(new["lease_id"], old["lease_id"])
        self.assertEqual(fast.heartbeat()[0], 200)
        before = d.task(task["id"])

        self.assertError(slow.complete(old, {"from": "slow"}), 409, "stale_lease")
        self.assertError(slow.progress(old, {"pct": 10}), 409, "stale_lease")
        self.assertError(slow.fail(old, "slow gave up", retry=False), 409, "stale_lease")
        self.assertError(fast.complete(new, {"from": "bogus"}, lease_id="999999999"),
                         409, "stale_lease")
        got = d.task(task["id"])
        self.assertEqual(got["state"], "running")
        self.assertEqual(got["lease_id"], new["lease_id"])
        self.assertEqual(got["agent"], fast.id)
        self.assertEqual(got, before, "a refused call changed the task")

        status, done = fast.complete(new, {"from": "fast"})
        self.assertEqual(status, 200, done)
        self.assertEqual(done["result"], {"from": "fast"})

        status, body = slow.complete(old, {"from": "slow"})
        self.assertEqual(status, 409, body)
        final = d.task(task["id"])
        self.assertEqual(final["state"], "succeeded")
        self.assertEqual(final["result"], {"from": "fast"})
        self.assertEqual(final["attempt"], 2)
        # Completing twice with the right lease is refused too.
        self.assertEqual(fast.complete(new, {"from": "fast again"})[0], 409)
        self.assertEqual(d.task(task["id"])["result"], {"from": "fast"})


if __name__ == "__main__":
    harness.main()
