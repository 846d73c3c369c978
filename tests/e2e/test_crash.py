# SPDX-License-Identifier: MIT
# test_crash.py - durability across kill -9. Four client threads submit tasks as fast
# as they can; the daemon is killed with SIGKILL in the middle of the burst and started
# again on the same home. Every task whose submit was acknowledged must be there, no id
# may appear twice, and at most the requests that were in flight may have left extra
# tasks. A task that was leased when the daemon died comes back to be retried, its
# lost attempt counted, and a completed task keeps its result.

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CONNECTION_ERRORS, Agent, wait_until  # noqa: E402

THREADS = 4
KILL_AFTER = 400  # acknowledged submits before the kill


class CrashTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def test_kill9_mid_burst(self):
        d = self.d
        backoff = {"initial_ms": 20, "max_ms": 20, "multiplier": 1}
        running = d.submit("crash.lease", payload="held", backoff=backoff)
        finished = d.submit("crash.lease", payload="done")
        agent = Agent(d, "before-crash", ["crash.lease"], slots=2)
        leased = {t["id"]: t for t in agent.leased(2, wait_ms=1000)}
        self.assertEqual(sorted(leased), sorted([running["id"], finished["id"]]))
        self.assertEqual(agent.complete(leased[finished["id"]], {"kept": True})[0], 200)

        acked = [[] for _ in range(THREADS)]
        in_flight = [0] * THREADS
        unexpected = []
        enough = threading.Event()
        lock = threading.Lock()
        total = [0]

        def submitter(n):
            i = 0
            while True:
                try:
                    status, body = d.post("/v1/tasks", {"capability": "crash.burst",
                                                        "payload": {"t": n, "i": i}}, timeout=10)
                except CONNECTION_ERRORS:
                    in_flight[n] = 1  # the request may or may not have been committed
                    return
                if status != 201:
                    unexpected.append((n, i, status, body))
                    return
                acked[n].append(body["id"])
                i += 1
                with lock:
                    total[0] += 1
                    if total[0] >= KILL_AFTER:
                        enough.set()

        threads = [threading.Thread(target=submitter, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        self.assertTrue(enough.wait(60), "the burst did not reach %d submits" % KILL_AFTER)
        d.kill9()
        for t in threads:
            t.join(30)
        self.assertFalse([t for t in threads if t.is_alive()], "submitters still running")
        self.assertEqual(unexpected, [])

        d.start()
        acked_ids = [i for chunk in acked for i in chunk]
        self.assertGreaterEqual(len(acked_ids), KILL_AFTER)
        stored = d.list_tasks(capability="crash.burst", limit=500)
        stored_ids = [t["id"] for t in stored]
        self.assertEqual(len(stored_ids), len(set(stored_ids)), "an id is listed twice")
        missing = set(acked_ids) - set(stored_ids)
        sys.stderr.write("crash: %d acknowledged, %d in flight, %d stored\n"
                         % (len(acked_ids), sum(in_flight), len(stored_ids)))
        self.assertEqual(missing, set(), "%d acknowledged tasks lost" % len(missing))
        self.assertLessEqual(len(stored_ids), len(acked_ids) + sum(in_flight),
                             "more tasks than submits")
        for t in stored:
            self.assertEqual(t["state"], "queued", t)
            self.assertEqual(t["capability"], "crash.burst")
        by_id = {t["id"]: t for t in stored}
        for n in range(THREADS):
            for i, task_id in enumerate(acked[n]):
                self.assertEqual(by_id[task_id]["payload"], {"t": n, "i": i})

        done = d.task(finished["id"])
        self.assertEqual(done["state"], "succeeded")
        self.assertEqual(done["result"], {"kept": True})

        back = d.task(running["id"])
        self.assertIn(back["state"], ("queued", "scheduled"), back)
        self.assertEqual(back["attempt"], 1, back)
        after = Agent(d, "after-crash", ["crash.lease"])
        again = after.lease_one(timeout=10, task_id=running["id"])
        self.assertEqual(again["attempt"], 2)
        self.assertEqual(after.complete(again, "second time")[0], 200)

        # A second crash right after: nothing acknowledged is lost either.
        d.kill9()
        d.start()
        self.assertEqual(d.task(running["id"])["result"], "second time")
        self.assertEqual(len(d.list_tasks(capability="crash.burst", limit=500)), len(stored_ids))
        wait_until(lambda: d.get("/health")[0] == 200, 5, "health after restart")


if __name__ == "__main__":
    harness.main()
