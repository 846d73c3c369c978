# SPDX-License-Identifier: MIT
# test_shutdown.py - a clean stop. SIGTERM while a client waits in a long poll: the
# long poll is answered (not dropped) well before its wait_ms, a long-poll lease of an
# agent is answered too, the daemon exits 0 and removes nothing it must keep; started
# again on the same home it has every task with its state and result.

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402


class ShutdownTest(harness.DaemonTestCase):
    def test_sigterm_answers_long_polls(self):
        d = self.start_daemon()
        waiting = d.submit("sleepy", payload={"n": 1})
        agent_task = d.submit("other")
        agent = Agent(d, "worker", ["other"])
        leased = agent.lease_one()
        self.assertEqual(agent.complete(leased, {"kept": "yes"})[0], 200)
        idle = Agent(d, "idle", ["nothing-ever"])

        box = {}

        def long_poll():
            try:
                box["task"] = d.get("/v1/tasks/%s?wait_ms=20000" % waiting["id"], timeout=30)
            except Exception as exc:  # checked in the main thread
                box["task"] = exc
            box["task_at"] = time.monotonic()

        def long_lease():
            try:
                box["lease"] = idle.lease(1, wait_ms=20000)
            except Exception as exc:  # checked in the main thread
                box["lease"] = exc
            box["lease_at"] = time.monotonic()

        threads = [threading.Thread(target=long_poll), threading.Thread(target=long_lease)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(0.5)
            self.assertTrue(t.is_alive(), "a long poll came back before the stop")

        term_at = time.monotonic()
        d.stop()
        stopped = time.monotonic() - term_at
        for t in threads:
            t.join(10)
            self.assertFalse(t.is_alive(), "a long poll is still waiting after the stop")
        self.assertLess(stopped, 10, "SIGTERM took %.1fs" % stopped)

        reply = box["task"]
        self.assertIsInstance(reply, tuple, "the long poll got no answer: %r" % (reply,))
        status, body = reply
        self.assertEqual(status, 200, body)
        self.assertEqual(body["id"], waiting["id"])
        self.assertEqual(body["state"], "queued")
        self.assertLess(box["task_at"] - term_at, 10)

        reply = box["lease"]
        self.assertIsInstance(reply, tuple, "the long-poll lease got no answer: %r" % (reply,))
        status, body = reply
        self.assertTrue(status == 200 or status == 503, "lease at stop: %d %r" % reply)
        if status == 200:
            self.assertEqual(body["tasks"], [])

        self.assertTrue(os.path.exists(os.path.join(d.home, "swarmd.db")))

        d.start()
        self.assertEqual(d.task(waiting["id"])["state"], "queued")
        self.assertEqual(d.task(waiting["id"])["payload"], {"n": 1})
        done = d.task(agent_task["id"])
        self.assertEqual(done["state"], "succeeded")
        self.assertEqual(done["result"], {"kept": "yes"})
        self.assertEqual(len(d.list_tasks()), 2)

    def test_stop_when_idle_and_restart_twice(self):
        d = self.start_daemon("--sync", "normal")
        ids = [d.submit("keep", payload=i)["id"] for i in range(20)]
        for _ in range(2):
            d.restart()
            self.assertEqual(sorted(t["id"] for t in d.list_tasks()), sorted(ids))


if __name__ == "__main__":
    harness.main()
