# SPDX-License-Identifier: MIT
# test_lifecycle.py - the whole life of a task through the real daemon: submit, read
# it back, an agent leases it, reports progress and completes it; then the task list
# with its filters (state, capability) and cursor paging in id order, the health and
# readiness routes, and the Prometheus metrics that must count what happened.

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import AGENT_ID_RE, TASK_ID_RE, Agent, metric_sum  # noqa: E402


class LifecycleTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()

    def test_health_and_ready(self):
        self.assertEqual(self.d.get("/health"), (200, {"status": "ok"}))
        status, _ = self.d.get("/ready")
        self.assertEqual(status, 200)

    def test_submit_lease_progress_complete(self):
        d = self.d
        task = d.submit("echo", payload={"text": "hi", "n": [1, 2]}, labels={"team": "e2e"},
                        priority=3)
        self.assertRegex(task["id"], TASK_ID_RE)
        self.assertEqual(task["capability"], "echo")
        self.assertEqual(task["state"], "queued")
        self.assertEqual(task["payload"], {"text": "hi", "n": [1, 2]})
        self.assertEqual(task["labels"], {"team": "e2e"})
        self.assertEqual(task["priority"], 3)
        self.assertEqual(task["max_attempts"], 3)
        self.assertIs(task["dead"], False)
        self.assertIsNone(task["agent"])
        self.assertIsNone(task["swarm"])
        self.assertIsNone(task["parent"])
        self.assertIsNotNone(task["created_at"])
        self.assertNotIn("lease_id", task)
        fresh_attempt = task["attempt"]

        self.assertEqual(d.task(task["id"]), task)

        agent = Agent(d, "worker-1", ["echo"], slots=2)
        self.assertRegex(agent.id, AGENT_ID_RE)
        self.assertIsInstance(agent.token, str)
        self.assertTrue(agent.token)
        self.assertEqual(agent.heartbeat_ms, 5000)
        self.assertEqual(agent.lease_ms, 30000)
        self.assertEqual(agent.reply["agent"]["id"], agent.id)

        status, reply = agent.lease(max=1, wait_ms=2000)
        self.assertEqual(status, 200, reply)
        self.assertEqual(len(reply["tasks"]), 1, reply)
        self.assertEqual(reply.get("cancel", []), [])
        leased = reply["tasks"][0]
        self.assertEqual(leased["id"], task["id"])
        self.assertEqual(leased["state"], "running")
        self.assertEqual(leased["attempt"], fresh_attempt + 1)
        self.assertEqual(leased["attempt"], 1)
        self.assertIsInstance(leased["lease_id"], str)
        self.assertEqual(leased["agent"], agent.id)
        self.assertEqual(leased["payload"], task["payload"])
        self.assertIsNotNone(leased["started_at"])
        self.assertIsNotNone(leased["lease_expires_at"])

        got = d.task(task["id"])
        self.assertEqual(got["state"], "running")
        self.assertEqual(got["lease_id"], leased["lease_id"])
        self.assertEqual(got["agent"], agent.id)

        status, info = d.get("/v1/agents/" + agent.id)
        self.assertEqual(status, 200, info)
        self.assertEqual(info["id"], agent.id)
        self.assertIn(info["state"], ("ready", "busy"))
        self.assertEqual(info["running"], 1, info)
        held = [t if isinstance(t, str) else t["id"] for t in info["tasks"]]
        self.assertEqual(held, [task["id"]])

        status, listed = d.get("/v1/agents")
        self.assertEqual(status, 200)
        self.assertIn(agent.id, [a["id"] for a in listed["agents"]])

        status, body = agent.progress(leased, {"pct": 50, "step": "half"})
        self.assertEqual(status, 200, body)
        self.assertEqual(d.task(task["id"])["progress"], {"pct": 50, "step": "half"})

        status, done = agent.complete(leased, {"echo": "hi"})
        self.assertEqual(status, 200, done)
        self.assertEqual(done["id"], task["id"])
        self.assertEqual(done["state"], "succeeded")
        self.assertEqual(done["result"], {"echo": "hi"})
        self.assertIsNotNone(done["finished_at"])
        self.assertNotIn("lease_id", done)

        # A long poll on a finished task answers at once.
        t0 = time.monotonic()
        status, final = d.get("/v1/tasks/%s?wait_ms=5000" % task["id"])
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertEqual(final["state"], "succeeded")
        self.assertEqual(final["result"], {"echo": "hi"})

        status, info = d.get("/v1/agents/" + agent.id)
        self.assertEqual(info["running"], 0, info)

    def test_long_polls_time_out(self):
        d = self.d
        task = d.submit("echo", payload=1)
        agent = Agent(d, "worker-to", ["echo"])
        agent.lease_one()
        t0 = time.monotonic()
        try:
            status, same = d.get("/v1/tasks/%s?wait_ms=300" % task["id"], timeout=5)
        except harness.CONNECTION_ERRORS as exc:
            self.fail("GET ?wait_ms=300 on a running task: no answer within 5s (%r)" % exc)
        waited = time.monotonic() - t0
        self.assertEqual(status, 200)
        self.assertEqual(same["state"], "running")
        self.assertGreaterEqual(waited, 0.25, "wait_ms=300 on a running task came back early")

        t0 = time.monotonic()
        try:
            status, reply = d.post("/v1/agents/%s/lease" % agent.id, {"max": 1, "wait_ms": 300},
                                   token=agent.token, timeout=5)
        except harness.CONNECTION_ERRORS as exc:
            self.fail("a lease with wait_ms=300 and no work: no answer within 5s (%r)" % exc)
        waited = time.monotonic() - t0
        self.assertEqual(status, 200, reply)
        self.assertEqual(reply["tasks"], [])
        self.assertGreaterEqual(waited, 0.25, "wait_ms=300 lease came back early")

    def test_long_poll_wakes_on_completion(self):
        d = self.d
        task = d.submit("echo", payload=1)
        agent = Agent(d, "worker-lp", ["echo"])
        leased = agent.lease_one()
        box = {}

        def poll():
            box["reply"] = d.get("/v1/tasks/%s?wait_ms=10000" % task["id"])
            box["at"] = time.monotonic()

        th = threading.Thread(target=poll)
        th.start()
        th.join(0.3)
        self.assertTrue(th.is_alive(), "long poll answered before the task finished")
        done_at = time.monotonic()
        self.assertEqual(agent.complete(leased, "ok")[0], 200)
        th.join(10)
        self.assertFalse(th.is_alive())
        status, final = box["reply"]
        self.assertEqual(status, 200)
        self.assertEqual(final["state"], "succeeded")
        self.assertLess(box["at"] - done_at, 3.0)

    def test_list_filters_and_paging(self):
        d = self.d
        echo = [d.submit("echo", payload=i)["id"] for i in range(5)]
        other = [d.submit("other.kind@2", payload=i)["id"] for i in range(3)]
        agent = Agent(d, "worker-2", ["echo"])
        leased = agent.lease_one()
        self.assertEqual(agent.complete(leased, None)[0], 200)

        everything = d.list_tasks()
        ids = [t["id"] for t in everything]
        self.assertEqual(sorted(ids), sorted(echo + other))
        self.assertEqual(ids, sorted(ids), "list is not ordered by id")

        self.assertEqual(sorted(t["id"] for t in d.list_tasks(capability="other.kind@2")),
                         sorted(other))
        self.assertEqual([t["id"] for t in d.list_tasks(state="succeeded")], [leased["id"]])
        queued_echo = d.list_tasks(state="queued", capability="echo")
        self.assertEqual(sorted(t["id"] for t in queued_echo),
                         sorted(set(echo) - {leased["id"]}))
        self.assertEqual(d.list_tasks(state="failed"), [])
        self.assertEqual(d.list_tasks(dead="true"), [])

        # Paging two at a time: every task once, in id order, last page has no cursor.
        pages, cursor, seen = 0, None, []
        while True:
            path = "/v1/tasks?limit=2" + ("&cursor=" + cursor if cursor else "")
            status, page = d.get(path)
            self.assertEqual(status, 200, page)
            self.assertLessEqual(len(page["tasks"]), 2)
            seen += [t["id"] for t in page["tasks"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
            self.assertLess(pages, 20, "paging does not end")
        self.assertEqual(seen, sorted(echo + other))
        self.assertGreaterEqual(pages, 4)

        status, body = d.get("/v1/tasks?state=bogus")
        self.assertError((status, body), 400, "invalid_query")
        status, body = d.get("/v1/tasks?limit=abc")
        self.assertError((status, body), 400, "invalid_query")

    def test_metrics_count(self):
        d = self.d
        for i in range(4):
            d.submit("echo", payload=i)
        for i in range(2):
            d.submit("other", payload=i)
        agent = Agent(d, "worker-m", ["echo"])
        leased = agent.lease_one()
        self.assertEqual(agent.complete(leased, "done")[0], 200)
        leased = agent.lease_one()
        self.assertEqual(agent.fail(leased, "nope", retry=False)[0], 200)

        r = d.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        m = harness.parse_metrics(r.text)
        self.assertEqual(metric_sum(m, "swarmd_tasks_submitted_total", capability="echo"), 4)
        self.assertEqual(metric_sum(m, "swarmd_tasks_submitted_total", capability="other"), 2)
        self.assertEqual(metric_sum(m, "swarmd_tasks_succeeded_total"), 1)
        self.assertEqual(metric_sum(m, "swarmd_tasks_failed_total"), 1)
        self.assertEqual(metric_sum(m, "swarmd_tasks", state="queued", capability="echo"), 2)
        self.assertEqual(metric_sum(m, "swarmd_tasks", state="queued", capability="other"), 2)
        self.assertEqual(metric_sum(m, "swarmd_tasks", state="running", capability="echo"), 0)
        # The gauge may leave out finished states (the *_total counters count those);
        # when it has them, they must be right.
        for state in ("succeeded", "failed"):
            self.assertIn(metric_sum(m, "swarmd_tasks", state=state, capability="echo"), (None, 1))
        self.assertEqual(metric_sum(m, "swarmd_task_dispatch_latency_seconds_count"), 2)
        self.assertIsNotNone(metric_sum(m, "swarmd_task_dispatch_latency_seconds_bucket", le="+Inf"))
        # One attempt succeeded and one failed: at least the success is timed.
        self.assertIn(metric_sum(m, "swarmd_task_run_seconds_count"), (1, 2))
        self.assertGreaterEqual(metric_sum(m, "swarmd_agents") or 0, 1)
        self.assertIsNotNone(metric_sum(m, "swarmd_http_requests_total"))
        routes = {l.get("route") for n, l, v in m if n == "swarmd_http_requests_total"}
        statuses = {l.get("status") for n, l, v in m if n == "swarmd_http_requests_total"}
        self.assertTrue(routes - {None}, "swarmd_http_requests_total has no route label")
        self.assertIn("201", statuses)


if __name__ == "__main__":
    harness.main()
