# SPDX-License-Identifier: MIT
# test_shedding.py - load shedding at submit. A swarm's max_queue counts its queued and
# scheduled tasks (not running ones): past it a submit is refused with 429 queue_full,
# field "swarm" and a Retry-After header, and nothing of it is stored (no task, no event,
# no idempotency key taken, the counters say so), also after a daemon restart; a slot
# freed lets the next submit in. A stdio agent's task.submit over its pipe is refused the
# same way (-32000, data.code queue_full). Token-bucket rate limits answer 429
# rate_limited: per caller token (--rate-limit/--rate-burst: the Unix client and each
# agent token have their own bucket) and per swarm (rate_limit in its spec); a refused
# submit charges nothing and, by bounded polling, submits go in again once the bucket
# refills. Spec errors name the field.

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, metric_sum, wait_until  # noqa: E402

HOUR_MS = 3600000

# A stdio agent whose "spawn" task submits params.payload.n delayed "child" tasks into its
# own swarm over the pipe and returns every answer it got.
SPAWNER = r'''
import json, sys

def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()

def read():
    line = sys.stdin.readline()
    if not line:
        sys.exit(0)
    return json.loads(line)

def call(call_id, method, params):
    send({"jsonrpc": "2.0", "id": call_id, "method": method, "params": params})
    while True:
        msg = read()
        if msg.get("id") == call_id and "method" not in msg:
            return msg

while True:
    msg = read()
    if msg.get("method") == "task.run":
        n = msg["params"]["payload"]["n"]
        answers = [call("c%d" % i, "task.submit",
                        {"capability": "child", "delay_ms": 3600000}) for i in range(n)]
        send({"jsonrpc": "2.0", "id": msg["id"], "result": {"answers": answers}})
    elif msg.get("method") == "ping":
        send({"jsonrpc": "2.0", "id": msg.get("id"), "result": "pong"})
'''


class SheddingTest(harness.DaemonTestCase):
    def put(self, kind, name, spec, expect=(200, 201)):
        status, body = self.d.call("PUT", "/v1/%s/%s" % (kind, name), spec)
        self.assertIn(status, expect, body)
        return status, body

    def media_swarm(self, **extra):
        """Swarm media of template img (capability resize) with no agent of its own."""
        self.put("templates", "img", {"command": [sys.executable, "-c", "pass"],
                                      "capabilities": ["resize"]})
        spec = {"template": "img", "replicas": 0}
        spec.update(extra)
        self.put("swarms", "media", spec)

    def post_task(self, body, **kw):
        r = self.d.request("POST", "/v1/tasks", body, **kw)
        return r.status, r.json, r.headers

    def assertRefused(self, status, body, headers, code, field):
        self.assertError((status, body), 429, code, field)
        retry_after = headers.get("retry-after")
        self.assertIsNotNone(retry_after, headers)
        self.assertTrue(retry_after.isdigit() and int(retry_after) >= 1, retry_after)
        return int(retry_after)

    def test_max_queue(self):
        self.d = d = self.start_daemon()
        self.media_swarm(max_queue=3)
        worker = Agent(d, "worker", ["resize"], swarm="media")
        other = Agent(d, "other", ["thumb"])
        running = d.submit("resize", swarm="media")
        lease = worker.lease_one()
        self.assertEqual(lease["id"], running["id"])
        # queued and scheduled tasks count, the running one does not: three more fit
        kept = [d.submit("resize", swarm="media")["id"],
                d.submit("resize", swarm="media")["id"],
                d.submit("resize", swarm="media", delay_ms=HOUR_MS)["id"]]
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media"})
        self.assertRefused(status, body, headers, "queue_full", "swarm")
        self.assertIn("max_queue", body["error"]["message"])
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media",
                                                "idempotency_key": "refused-once"})
        self.assertRefused(status, body, headers, "queue_full", "swarm")
        # other swarms and tasks of no swarm go on
        free = d.submit("thumb")
        self.assertEqual(other.lease_one()["id"], free["id"])

        # nothing of the refused submits was stored or told
        resize = d.list_tasks(capability="resize")
        self.assertEqual(sorted(t["id"] for t in resize), sorted([running["id"]] + kept))
        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_tasks_submitted_total", capability="resize"), 4)
        self.assertEqual(metric_sum(m, "swarmd_submits_refused_total", reason="queue_full"), 2)
        self.assertEqual(metric_sum(m, "swarmd_http_requests_total", route="/v1/tasks",
                                    status="429"), 2)
        submitted = wait_until(
            lambda: (lambda evs: evs if len(evs) >= 5 else None)(
                d.get("/v1/events?after=0&type=swarmd.task.submitted")[1]["events"]),
            10, "the submitted events")
        self.assertEqual(sorted(e["subject"] for e in submitted),
                         sorted([running["id"], free["id"]] + kept))

        # the running task finishing frees nothing: it did not count
        self.assertEqual(worker.complete(lease, {"ok": 1})[0], 200)
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media"})
        self.assertRefused(status, body, headers, "queue_full", "swarm")

        # the count survives a restart (rebuilt from the stored tasks)
        d.restart()
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media"})
        self.assertRefused(status, body, headers, "queue_full", "swarm")

        # a cancelled task frees a place; the refused idempotency key was never taken
        self.assertEqual(d.post("/v1/tasks/%s/cancel" % kept[2])[0], 200)
        status, created, headers = self.post_task({"capability": "resize", "swarm": "media",
                                                   "idempotency_key": "refused-once"})
        self.assertEqual(status, 201, created)
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media"})
        self.assertRefused(status, body, headers, "queue_full", "swarm")
        # a repeated key answers with its task, full or not
        status, again, headers = self.post_task({"capability": "resize", "swarm": "media",
                                                 "idempotency_key": "refused-once"})
        self.assertEqual(status, 200, again)
        self.assertEqual(again["id"], created["id"])

    def test_max_queue_over_the_pipe(self):
        self.d = d = self.start_daemon()
        workdir = tempfile.mkdtemp(prefix="swe2e-spawner-")
        self.addCleanup(shutil.rmtree, workdir, True)
        script = os.path.join(workdir, "spawner.py")
        with open(script, "w") as f:
            f.write(SPAWNER)
        self.put("templates", "spawner", {"command": [sys.executable, script], "mode": "stdio",
                                          "capabilities": ["spawn", "child"]})
        self.put("swarms", "pipeline", {"template": "spawner", "replicas": 1, "max_queue": 2})
        task = d.submit("spawn", swarm="pipeline", payload={"n": 3})
        done = d.wait_task(task["id"], lambda t: t["state"] in ("succeeded", "failed"), 30,
                           "the spawner's answers")
        self.assertEqual(done["state"], "succeeded", done)
        answers = done["result"]["answers"]
        self.assertEqual([("result" in a) for a in answers], [True, True, False], answers)
        for a in answers[:2]:
            self.assertEqual(a["result"]["swarm"], "pipeline")
            self.assertEqual(a["result"]["state"], "scheduled")
        err = answers[2]["error"]
        self.assertEqual(err["code"], -32000, err)
        self.assertEqual(err["data"]["code"], "queue_full")
        self.assertEqual(err["data"]["field"], "swarm")
        self.assertGreaterEqual(err["data"]["retry_after"], 1)
        self.assertEqual(len(d.list_tasks(capability="child")), 2)

    def test_rate_limit_per_token(self):
        self.d = d = self.start_daemon("--rate-limit", "1", "--rate-burst", "3")
        agent = Agent(d, "submitter", ["thumb"])

        def drain(token=None):
            """Submits until refused; returns (accepted, seconds taken, retry_after)."""
            start, accepted = time.monotonic(), 0
            for _ in range(30):
                status, body, headers = self.post_task({"capability": "thumb"}, token=token)
                if status == 429:
                    retry = self.assertRefused(status, body, headers, "rate_limited", None)
                    self.assertNotIn("field", body["error"])
                    return accepted, time.monotonic() - start, retry
                self.assertEqual(status, 201, body)
                accepted += 1
            self.fail("30 submits at 1 per second were never refused")

        accepted, took, retry = drain()
        # the burst of 3, plus at most what refilled meanwhile (1 per second)
        self.assertGreaterEqual(accepted, 3)
        self.assertLessEqual(accepted, 3 + int(took) + 1)
        self.assertLessEqual(retry, 1)
        # an agent's token has a bucket of its own
        accepted, took, retry = drain(token=agent.token)
        self.assertGreaterEqual(accepted, 3)
        self.assertLessEqual(accepted, 3 + int(took) + 1)
        # refused submits charge nothing: the bucket refills and a submit goes in
        wait_until(lambda: self.post_task({"capability": "thumb"})[0] == 201, 5,
                   "a submit accepted once the bucket refilled")
        m = d.metrics()
        self.assertGreaterEqual(metric_sum(m, "swarmd_submits_refused_total",
                                           reason="rate_limited"), 2)
        self.assertEqual(metric_sum(m, "swarmd_submits_refused_total", reason="queue_full"), 0)
        stored = len(d.list_tasks(capability="thumb"))
        self.assertEqual(stored, metric_sum(m, "swarmd_tasks_submitted_total", capability="thumb"))

    def test_rate_limit_per_swarm(self):
        self.d = d = self.start_daemon()
        self.media_swarm(rate_limit={"per_second": 1, "burst": 2})
        self.assertEqual(d.submit("resize", swarm="media", delay_ms=HOUR_MS)["state"], "scheduled")
        d.submit("resize", swarm="media", delay_ms=HOUR_MS)
        status, body, headers = self.post_task({"capability": "resize", "swarm": "media",
                                                "delay_ms": HOUR_MS})
        if status == 201:  # a token refilled between the submits: the bucket is empty now
            status, body, headers = self.post_task({"capability": "resize", "swarm": "media",
                                                    "delay_ms": HOUR_MS})
        self.assertRefused(status, body, headers, "rate_limited", "swarm")
        self.assertIn("media", body["error"]["message"])
        # the client itself is not limited: other swarms and no swarm go on
        Agent(d, "other", ["thumb"])
        for _ in range(5):
            d.submit("thumb")
        wait_until(lambda: self.post_task({"capability": "resize", "swarm": "media",
                                           "delay_ms": HOUR_MS})[0] == 201,
                   5, "a submit into media accepted once its bucket refilled")
        # without rate_limit in its spec the swarm takes submits at any pace again
        self.media_swarm()
        for _ in range(5):
            d.submit("resize", swarm="media", delay_ms=HOUR_MS)

    def test_spec_errors(self):
        self.d = d = self.start_daemon()
        self.put("templates", "img", {"command": [sys.executable, "-c", "pass"],
                                      "capabilities": ["resize"]})
        bad = [
            ({"max_queue": 0}, "invalid_field", "max_queue"),
            ({"max_queue": "10"}, "invalid_field", "max_queue"),
            ({"rate_limit": 5}, "invalid_field", "rate_limit"),
            ({"rate_limit": {"burst": 2}}, "missing_field", "rate_limit.per_second"),
            ({"rate_limit": {"per_second": None}}, "missing_field", "rate_limit.per_second"),
            ({"rate_limit": {"per_second": 0}}, "invalid_field", "rate_limit.per_second"),
            ({"rate_limit": {"per_second": 1, "burst": 0}}, "invalid_field", "rate_limit.burst"),
            ({"rate_limit": {"per_second": 1, "colour": 1}}, "unknown_field", "rate_limit.colour"),
        ]
        for extra, code, field in bad:
            spec = {"template": "img", "replicas": 0}
            spec.update(extra)
            err = self.assertError(d.call("PUT", "/v1/swarms/media", spec), 400, code, field)
            self.assertIn(field, err["message"])
        self.assertEqual(d.get("/v1/swarms/media")[0], 404)
        self.put("swarms", "media", {"template": "img", "replicas": 0, "max_queue": 5,
                                     "rate_limit": {"per_second": 0.5}})


if __name__ == "__main__":
    harness.main()
