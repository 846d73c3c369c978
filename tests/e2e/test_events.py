# SPDX-License-Identifier: MIT
# test_events.py - the event log: every task change as a CloudEvent in the same commit,
# published events, pages with filters, Server-Sent Events (live, resumed with
# Last-Event-ID or ?after= with nothing missed or repeated, a gap after pruning),
# many subscribers beside one that never reads, durability across kill -9, bad input.

import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CONNECTION_ERRORS, Agent, wait_until  # noqa: E402


def events(d, **query):
    q = "&".join("%s=%s" % kv for kv in query.items())
    status, page = d.get("/v1/events?" + q)
    assert status == 200, (status, page)
    return page


def all_events(d, after=0, **query):
    out = []
    while True:
        page = events(d, after=after, limit=1000, **query)
        out.extend(page["events"])
        if page["next_after"] == after or not page["events"] and page["next_after"] >= page["last"]:
            return out
        after = page["next_after"]


class EventsTest(harness.DaemonTestCase):
    def test_task_lifecycle_is_told_in_order(self):
        d = self.start_daemon()
        task = d.submit("ev.work", payload={"n": 1}, labels={"team": "a"})
        agent = Agent(d, "ev-agent", ["ev.work"])
        leased = agent.lease_one()
        self.assertEqual(agent.progress(leased, {"pct": 50})[0], 200)
        self.assertEqual(agent.complete(leased, {"ok": True})[0], 200)
        evs = [e for e in all_events(d, type="swarmd.task.*") if e["subject"] == task["id"]]
        self.assertEqual([e["type"] for e in evs],
                         ["swarmd.task.submitted", "swarmd.task.leased",
                          "swarmd.task.progressed", "swarmd.task.succeeded"])
        for e in evs:
            self.assertEqual(e["specversion"], "1.0")
            self.assertEqual(e["source"], "/swarmd")
            self.assertEqual(e["datacontenttype"], "application/json")
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertRegex(e["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")
            self.assertIsInstance(e["id"], str)
            self.assertEqual(e["data"]["id"], task["id"])
        ids = [int(e["id"]) for e in evs]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(evs[-1]["data"]["result"], {"ok": True})
        self.assertEqual(evs[2]["data"]["progress"], {"pct": 50})
        self.assertEqual(evs[0]["data"]["labels"], {"team": "a"})
        # the agent's own events: registered, then busy and ready as it worked
        agent_evs = [e["type"] for e in all_events(d, type="swarmd.agent.*")
                     if e["subject"] == agent.id]
        self.assertEqual(agent_evs[0], "swarmd.agent.registered")
        self.assertIn("swarmd.agent.busy", agent_evs)
        self.assertEqual(agent_evs[-1], "swarmd.agent.ready")

    def test_publish_and_filters(self):
        d = self.start_daemon()
        for i in range(5):
            status, ev = d.post("/v1/events", {"type": "demo.tick", "subject": "s%d" % i,
                                               "data": {"i": i}})
            self.assertEqual(status, 201, ev)
            self.assertEqual(ev["type"], "demo.tick")
            self.assertEqual(ev["source"], "/clients")
        status, ev = d.post("/v1/events", {"type": "other.kind", "source": "/my/app"})
        self.assertEqual((status, ev["source"], ev["data"]), (201, "/my/app", None))
        got = events(d, after=0, type="demo.*")
        self.assertEqual([e["data"]["i"] for e in got["events"]], [0, 1, 2, 3, 4])
        self.assertEqual(events(d, after=0, type="demo.tick", subject="s3")["events"][0]["data"],
                         {"i": 3})
        self.assertEqual(len(events(d, after=0, source="/my/*")["events"]), 1)
        # pages: limit and next_after walk the log without overlap
        page1 = events(d, after=0, type="demo.*", limit=2)
        page2 = events(d, after=page1["next_after"], type="demo.*", limit=2)
        self.assertEqual([e["data"]["i"] for e in page1["events"] + page2["events"]], [0, 1, 2, 3])
        # an agent's event is sourced from the agent
        agent = Agent(d, "pub-agent", ["x"])
        status, ev = d.post("/v1/events", {"type": "demo.agent"}, token=agent.token)
        self.assertEqual((status, ev["source"]), (201, "/agents/" + agent.id))

    def test_bad_input(self):
        d = self.start_daemon()
        self.assertError(d.post("/v1/events", {"type": "swarmd.task.succeeded"}), 400,
                         "invalid_field", "type")
        self.assertError(d.post("/v1/events", {}), 400, "missing_field", "type")
        self.assertError(d.post("/v1/events", {"type": "has space"}), 400, "invalid_field", "type")
        self.assertError(d.post("/v1/events", {"type": "a.b", "colour": 1}), 400, "unknown_field")
        self.assertError(d.post("/v1/events", {"type": "a.b", "specversion": "0.3"}), 400,
                         "invalid_field", "specversion")
        self.assertError(d.get("/v1/events?colour=red"), 400, "invalid_query", "colour")
        self.assertError(d.get("/v1/events?after=-1"), 400, "invalid_query", "after")
        self.assertError(d.get("/v1/events?type=a*b"), 400, "invalid_query", "type")
        self.assertError(d.get("/v1/events?limit=0"), 400, "invalid_query", "limit")
        self.assertError(d.get("/v1/events/stream?nope=1"), 400, "invalid_query", "nope")
        r = d.request("GET", "/v1/events/stream", headers={"Last-Event-ID": "abc"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["error"]["field"], "Last-Event-ID")

    def test_sse_live_and_resume(self):
        d = self.start_daemon()
        s = d.sse("/v1/events/stream?type=demo.*")
        self.addCleanup(s.close)
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers["content-type"].startswith("text/event-stream"))
        s.wait_ready()
        for i in range(10):
            d.post("/v1/events", {"type": "demo.n", "data": {"i": i}})
            d.post("/v1/events", {"type": "noise.n", "data": {"i": i}})
        got = s.take(10)
        self.assertEqual([m["data"]["data"]["i"] for m in got], list(range(10)))
        for m in got:
            self.assertNotIn("event", m)  # onmessage sees every event
            self.assertEqual(m["id"], m["data"]["id"])
        # drop the connection in the middle, publish more, resume from Last-Event-ID
        last = got[4]["id"]
        s.close()
        for i in range(10, 15):
            d.post("/v1/events", {"type": "demo.n", "data": {"i": i}})
        r = d.sse("/v1/events/stream?type=demo.*", headers={"Last-Event-ID": last})
        self.addCleanup(r.close)
        got = r.take(10)
        self.assertEqual([m["data"]["data"]["i"] for m in got], list(range(5, 15)))
        # ?after= does the same, and nothing comes twice
        a = d.sse("/v1/events/stream?type=demo.*&after=%s" % got[-1]["id"])
        self.addCleanup(a.close)
        d.post("/v1/events", {"type": "demo.n", "data": {"i": 15}})
        self.assertEqual(a.next_message()["data"]["data"]["i"], 15)
        self.assertEqual(r.next_message()["data"]["data"]["i"], 15)

    def test_catch_up_from_store_and_gap(self):
        # a small in-memory window and a small log: readers behind the window read the
        # store; readers behind the log get a gap and go on from the first kept event
        d = self.start_daemon("--events-window", "16", "--events-max", "200")
        for i in range(150):
            d.post("/v1/events", {"type": "demo.c", "data": {"i": i}})
        s = d.sse("/v1/events/stream?type=demo.*&after=0")
        self.addCleanup(s.close)
        got = s.take(150)
        self.assertEqual([m["data"]["data"]["i"] for m in got], list(range(150)))
        for i in range(150, 400):
            d.post("/v1/events", {"type": "demo.c", "data": {"i": i}})
        first = wait_until(lambda: (lambda p: p["first"] if p["first"] > 150 else None)(
            events(d, after=0, limit=1)), 10, "the log to be pruned to --events-max")
        page = events(d, after=0, limit=5)
        self.assertEqual(page["gap"]["first_available"], first)
        self.assertEqual(int(page["events"][0]["id"]), first)
        g = d.sse("/v1/events/stream?after=1")
        self.addCleanup(g.close)
        m = g.next_message()
        self.assertEqual(m["event"], "gap")
        self.assertGreaterEqual(m["data"]["first_available"], first)
        self.assertEqual(int(g.next_message()["id"]), m["data"]["first_available"])

    def test_many_subscribers_and_one_that_never_reads(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 1200:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        d = self.start_daemon()
        # one reader that never reads, with a tiny receive buffer
        stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect(d.socket_path)
        stuck.sendall(b"GET /v1/events/stream?after=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        self.addCleanup(stuck.close)
        subs = []
        for _ in range(1000):
            s = d.sse("/v1/events/stream?type=demo.*")
            self.addCleanup(s.close)
            subs.append(s)
        for s in subs:
            s.wait_ready()
        rss0 = rss_kib(d)
        for i in range(300):
            d.post("/v1/events", {"type": "demo.m", "data": {"i": i}})
        for s in subs[::20] + subs[-3:]:
            got = s.take(300)
            self.assertEqual([m["data"]["data"]["i"] for m in got], list(range(300)))
        # 4 MB more go by: the stuck reader holds its position, not a copy of them
        big = "x" * 2000
        for i in range(2000):
            d.post("/v1/events", {"type": "other.m", "data": {"i": i, "pad": big}})
        for s in subs[:60:20]:  # read to the end above
            d.post("/v1/events", {"type": "demo.last"})
            self.assertEqual(s.next_message()["data"]["type"], "demo.last")
        if not harness.sanitized(d.binary):  # ASan keeps freed memory in quarantine
            self.assertLess(rss_kib(d) - rss0, 64 * 1024)
        self.assertEqual(d.get("/health")[0], 200)
        metrics = harness.parse_metrics(d.request("GET", "/metrics").text)
        self.assertGreaterEqual(harness.metric_sum(metrics, "swarmd_event_streams",
                                                   transport="sse"), 1001)

    def test_events_survive_kill9(self):
        d = self.start_daemon()
        acked = []
        for i in range(300):
            status, ev = d.post("/v1/events", {"type": "demo.k", "data": {"i": i}})
            self.assertEqual(status, 201)
            acked.append(int(ev["id"]))
        task = d.submit("k.cap")
        d.kill9()
        d.start()
        got = [int(e["id"]) for e in all_events(d, type="demo.k")]
        self.assertEqual(got, acked)
        subs = [e for e in all_events(d, type="swarmd.task.submitted")
                if e["subject"] == task["id"]]
        self.assertEqual(len(subs), 1)
        # numbering goes on after the restart
        status, ev = d.post("/v1/events", {"type": "demo.k"})
        self.assertGreater(int(ev["id"]), acked[-1])


def rss_kib(d):
    with open("/proc/%d/status" % d.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


if __name__ == "__main__":
    harness.main()
