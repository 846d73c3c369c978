# SPDX-License-Identifier: MIT
# test_priority.py - the order in which the daemon hands out queued work: a higher
# priority goes first, tasks of one priority go in submission order (FIFO), and a
# lease of several tasks at once respects the same order and the agent's free slots.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


class PriorityTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def submit_mix(self, capability):
        """Submits a mix of priorities; returns the ids in the order they must run."""
        plan = [("a", 0), ("b", 0), ("c", 10), ("d", 5), ("e", 0), ("f", 10), ("g", -3),
                ("h", 5), ("i", 10), ("j", 0)]
        ids = {}
        for name, prio in plan:
            ids[name] = self.d.submit(capability, payload={"name": name}, priority=prio)["id"]
        order = sorted(range(len(plan)), key=lambda i: (-plan[i][1], i))
        return [ids[plan[i][0]] for i in order]

    def test_one_at_a_time(self):
        expected = self.submit_mix("prio")
        agent = Agent(self.d, "one-slot", ["prio"], slots=1)
        got = []
        for _ in expected:
            task = agent.lease_one()
            got.append(task["id"])
            self.assertEqual(agent.complete(task, None)[0], 200)
        self.assertEqual(got, expected)
        self.assertEqual(agent.leased(1, wait_ms=0), [])

    def test_batch_lease(self):
        expected = self.submit_mix("batch")
        agent = Agent(self.d, "four-slots", ["batch"], slots=4)
        first = agent.leased(max=10, wait_ms=0)
        self.assertEqual([t["id"] for t in first], expected[:4],
                         "a lease of max=10 by a 4-slot agent must give the 4 first tasks")
        # No free slot: nothing more until one is given back.
        self.assertEqual(agent.leased(max=10, wait_ms=0), [])
        self.assertEqual(agent.complete(first[0], None)[0], 200)
        self.assertEqual(agent.complete(first[1], None)[0], 200)
        second = agent.leased(max=10, wait_ms=0)
        self.assertEqual([t["id"] for t in second], expected[4:6])

    def test_capability_routing(self):
        mine = self.d.submit("cap.mine", priority=0)["id"]
        self.d.submit("cap.theirs", priority=100)
        agent = Agent(self.d, "picky", ["cap.mine"], slots=2)
        got = agent.leased(max=2, wait_ms=0)
        self.assertEqual([t["id"] for t in got], [mine],
                         "an agent got a task of a capability it does not have")


if __name__ == "__main__":
    harness.main()
