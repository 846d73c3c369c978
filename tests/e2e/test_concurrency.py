# SPDX-License-Identifier: MIT
# test_concurrency.py - many clients at once: eight threads each submit two hundred
# tasks as fast as they can over the Unix socket. Every submit must be answered 201
# with a distinct id, the list (walked page by page) must hold exactly the 1600 tasks,
# and the submitted counter in /metrics must agree. Then four agents drain the queue
# concurrently and every task is leased exactly once.

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, metric_sum  # noqa: E402

THREADS = 8
PER_THREAD = 200


class ConcurrencyTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def run_threads(self, count, target):
        errors = []

        def wrapped(n):
            try:
                target(n)
            except Exception as exc:  # reported below, in the main thread
                errors.append("thread %d: %r" % (n, exc))

        threads = [threading.Thread(target=wrapped, args=(n,)) for n in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "threads still running")
        self.assertEqual(errors, [])

    def test_parallel_submits(self):
        d = self.d
        ids = [[] for _ in range(THREADS)]

        def submitter(n):
            for i in range(PER_THREAD):
                status, body = d.post("/v1/tasks", {"capability": "par", "payload": [n, i]})
                if status != 201:
                    raise AssertionError("submit %d/%d: %d %r" % (n, i, status, body))
                ids[n].append(body["id"])

        t0 = time.monotonic()
        self.run_threads(THREADS, submitter)
        elapsed = time.monotonic() - t0
        sys.stderr.write("%d submits in %.2fs\n" % (THREADS * PER_THREAD, elapsed))

        every = [i for chunk in ids for i in chunk]
        self.assertEqual(len(every), THREADS * PER_THREAD)
        self.assertEqual(len(set(every)), THREADS * PER_THREAD, "duplicate task ids")

        listed = d.list_tasks(limit=250)
        listed_ids = [t["id"] for t in listed]
        self.assertEqual(len(listed_ids), THREADS * PER_THREAD)
        self.assertEqual(set(listed_ids), set(every))
        self.assertEqual(listed_ids, sorted(listed_ids))
        self.assertEqual(len(d.list_tasks(state="queued", capability="par")), THREADS * PER_THREAD)
        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_tasks_submitted_total", capability="par"),
                         THREADS * PER_THREAD)
        self.assertEqual(metric_sum(m, "swarmd_tasks", state="queued", capability="par"),
                         THREADS * PER_THREAD)

        # Four agents drain the queue concurrently; no task is handed out twice.
        agents = [Agent(d, "drain-%d" % n, ["par"], slots=8) for n in range(4)]
        got = [[] for _ in agents]

        def drainer(n):
            agent = agents[n]
            while True:
                tasks = agent.leased(8, wait_ms=0)
                if not tasks:
                    return
                for t in tasks:
                    got[n].append(t["id"])
                    status, body = agent.complete(t, {"by": n})
                    if status != 200:
                        raise AssertionError("complete %s: %d %r" % (t["id"], status, body))

        self.run_threads(len(agents), drainer)
        drained = [i for chunk in got for i in chunk]
        self.assertEqual(len(drained), len(set(drained)), "a task was leased twice")
        self.assertEqual(set(drained), set(every))
        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_tasks_succeeded_total"), THREADS * PER_THREAD)


if __name__ == "__main__":
    harness.main()
