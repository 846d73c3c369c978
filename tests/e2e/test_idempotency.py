# SPDX-License-Identifier: MIT
# test_idempotency.py - idempotency keys under concurrency: eight threads submit the
# same fifty keys at once, each in its own order. The daemon must create exactly one
# task per key, answer 201 to exactly one submit of each key and 200 with that same
# task to every other, and the store must hold exactly fifty tasks afterwards.

import os
import random
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

THREADS = 8
KEYS = 50


class IdempotencyTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def test_same_key_same_task(self):
        d = self.d
        first = d.submit("idem", payload={"v": 1}, idempotency_key="k-single")
        status, again = d.post("/v1/tasks", {"capability": "idem", "payload": {"v": 1},
                                             "idempotency_key": "k-single"})
        self.assertEqual(status, 200, again)
        self.assertEqual(again["id"], first["id"])
        self.assertEqual(again["idempotency_key"], "k-single")
        self.assertEqual(len(d.list_tasks(capability="idem")), 1)

    def test_concurrent_keys(self):
        d = self.d
        keys = ["key-%03d" % i for i in range(KEYS)]
        results = [dict() for _ in range(THREADS)]
        errors = []
        barrier = threading.Barrier(THREADS)

        def worker(n):
            order = list(keys)
            random.Random(n).shuffle(order)
            try:
                barrier.wait(10)
                for key in order:
                    status, body = d.post("/v1/tasks", {"capability": "burst", "payload": {"k": key},
                                                        "idempotency_key": key})
                    results[n][key] = (status, body.get("id") if isinstance(body, dict) else body)
            except Exception as exc:  # reported below, in the main thread
                errors.append("thread %d: %r" % (n, exc))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertFalse([t for t in threads if t.is_alive()], "submitters still running")
        self.assertEqual(errors, [])

        for key in keys:
            answers = [results[n][key] for n in range(THREADS)]
            statuses = sorted(s for s, _ in answers)
            ids = {i for _, i in answers}
            self.assertEqual(statuses, [200] * (THREADS - 1) + [201],
                             "key %s answered %r" % (key, answers))
            self.assertEqual(len(ids), 1, "key %s got several tasks: %r" % (key, answers))
            self.assertRegex(ids.pop(), harness.TASK_ID_RE)

        stored = d.list_tasks(capability="burst")
        self.assertEqual(len(stored), KEYS)
        by_key = {t["idempotency_key"]: t["id"] for t in stored}
        self.assertEqual(sorted(by_key), keys)
        for key in keys:
            self.assertEqual(by_key[key], results[0][key][1])

        # Still the same after a restart (the keys are in the store, not only in memory).
        d.restart()
        status, body = d.post("/v1/tasks", {"capability": "burst", "payload": {"k": keys[7]},
                                             "idempotency_key": keys[7]})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["id"], results[0][keys[7]][1])
        self.assertEqual(len(d.list_tasks(capability="burst")), KEYS)


if __name__ == "__main__":
    harness.main()
