# SPDX-License-Identifier: MIT
# test_memory.py - the shared memory: put/get/delete with versions and revisions,
# compare-and-swap under 16 concurrent writers (no lost update), create-only, history,
# prefix listing with cursors, transactions all or nothing, TTL expiry with its event,
# watches over SSE resumed by revision, limits, bad input, and every acknowledged write
# still there after kill -9.

import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CONNECTION_ERRORS, wait_until  # noqa: E402


def put(d, ns, key, value, headers=None, **fields):
    body = {"value": value}
    body.update(fields)
    r = d.request("PUT", "/v1/memory/%s/%s" % (ns, key), body, headers=headers)
    return r.status, r.json


class MemoryTest(harness.DaemonTestCase):
    def test_put_get_delete(self):
        d = self.start_daemon()
        status, e = put(d, "global", "cfg/db/url", "postgres://x", labels={"env": "prod"})
        self.assertEqual(status, 201, e)
        self.assertEqual((e["ns"], e["key"], e["value"], e["version"]),
                         ("global", "cfg/db/url", "postgres://x", 1))
        self.assertEqual(e["labels"], {"env": "prod"})
        rev1 = e["revision"]
        status, e = put(d, "global", "cfg/db/url", {"url": "postgres://y", "pool": 4})
        self.assertEqual((status, e["version"]), (200, 2))
        self.assertGreater(e["revision"], rev1)
        self.assertNotIn("labels", e)
        status, got = d.get("/v1/memory/global/cfg/db/url")
        self.assertEqual((status, got["value"], got["version"]), (200, {"url": "postgres://y",
                                                                        "pool": 4}, 2))
        # any JSON value, keys with odd characters (percent-encoded in the URL)
        for value in [None, 0, -1.5, True, "", [1, [2]], {"a": {"b": "ü"}}]:
            key = urllib.parse.quote("odd key/ü %", safe="/")
            status, e = put(d, "swarm:web", key, value)
            self.assertIn(status, (200, 201), e)
            self.assertEqual(d.get("/v1/memory/swarm:web/" + key)[1]["value"], value)
        self.assertEqual(e["key"], "odd key/ü %")
        status, gone = d.delete("/v1/memory/global/cfg/db/url")
        self.assertEqual((status, gone["deleted"], gone["version"]), (200, True, 2))
        self.assertError(d.get("/v1/memory/global/cfg/db/url"), 404, "not_found")
        self.assertError(d.delete("/v1/memory/global/cfg/db/url"), 404, "not_found")
        # created again: version starts over, revision goes on
        status, e = put(d, "global", "cfg/db/url", 1)
        self.assertEqual((status, e["version"]), (201, 1))
        self.assertGreater(e["revision"], gone["revision"])
        status, spaces = d.get("/v1/memory")
        names = {n["name"]: n["keys"] for n in spaces["namespaces"]}
        self.assertEqual(names, {"global": 1, "swarm:web": 1})

    def test_cas_and_create_only(self):
        d = self.start_daemon()
        self.assertEqual(put(d, "global", "k", 1, headers={"If-None-Match": "*"})[0], 201)
        status, body = put(d, "global", "k", 2, headers={"If-None-Match": "*"})
        self.assertEqual(status, 409)
        self.assertEqual(body["error"]["code"], "conflict")
        self.assertEqual(body["current"]["value"], 1)
        self.assertEqual(put(d, "global", "k", 2, headers={"If-Match": "1"})[0], 200)
        status, body = put(d, "global", "k", 3, headers={"If-Match": "1"})
        self.assertEqual((status, body["current"]["version"], body["current"]["value"]),
                         (409, 2, 2))
        self.assertEqual(put(d, "global", "k", 3, headers={"If-Match": '"2"'})[0], 200)
        self.assertEqual(put(d, "global", "k", 4, expect_version=3)[0], 200)
        status, body = put(d, "global", "new", 1, expect_version=1)
        self.assertEqual((status, body["current"]), (409, None))
        self.assertEqual(put(d, "global", "new", 1, expect_version=0)[0], 201)
        r = d.request("DELETE", "/v1/memory/global/k", headers={"If-Match": "1"})
        self.assertEqual((r.status, r.json["current"]["version"]), (409, 4))
        r = d.request("DELETE", "/v1/memory/global/k", headers={"If-Match": "4"})
        self.assertEqual(r.status, 200)

    def test_concurrent_counter_has_no_lost_update(self):
        d = self.start_daemon()
        put(d, "global", "counter", 0)
        writers, increments = 16, 500
        errors, conflicts = [], [0]
        lock = threading.Lock()

        def writer():
            conn_errors = 0
            done = 0
            while done < increments:
                try:
                    status, e = d.get("/v1/memory/global/counter")
                    status, body = put(d, "global", "counter", e["value"] + 1,
                                       headers={"If-Match": str(e["version"])})
                except CONNECTION_ERRORS as exc:
                    conn_errors += 1
                    if conn_errors > 5:
                        errors.append(repr(exc))
                        return
                    continue
                if status == 200:
                    done += 1
                elif status == 409:
                    with lock:
                        conflicts[0] += 1
                else:
                    errors.append((status, body))
                    return

        threads = [threading.Thread(target=writer) for _ in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        self.assertEqual(errors, [])
        status, e = d.get("/v1/memory/global/counter")
        self.assertEqual(e["value"], writers * increments)
        self.assertEqual(e["version"], writers * increments + 1)
        self.assertGreater(conflicts[0], 0)  # the writers did race

    def test_history_and_list(self):
        d = self.start_daemon("--memory-history", "3")
        for i in range(5):
            put(d, "global", "h", i)
        d.delete("/v1/memory/global/h")
        status, h = d.get("/v1/memory/global/h?history=1")
        self.assertEqual(status, 200)
        self.assertEqual([(v["op"], v["value"]) for v in h["history"]],
                         [("delete", None), ("put", 4), ("put", 3)])
        for i in range(25):
            put(d, "ns1", "jobs/%02d" % i, i)
        put(d, "ns1", "other", "x")
        keys, cursor = [], None
        while True:
            q = "prefix=jobs/&limit=10" + ("&cursor=" + urllib.parse.quote(cursor) if cursor else "")
            status, page = d.get("/v1/memory/ns1?" + q)
            self.assertEqual(status, 200, page)
            keys += [e["key"] for e in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        self.assertEqual(keys, ["jobs/%02d" % i for i in range(25)])
        status, page = d.get("/v1/memory/ns1")
        self.assertEqual([e["key"] for e in page["items"]][-1], "other")
        self.assertEqual(d.get("/v1/memory/empty-ns")[1]["items"], [])

    def test_txn_all_or_nothing(self):
        d = self.start_daemon()
        put(d, "global", "a", 1)
        put(d, "global", "b", 1)
        status, body = d.post("/v1/memory:txn", {"ops": [
            {"op": "check", "ns": "global", "key": "a", "expect_version": 1},
            {"op": "put", "ns": "global", "key": "b", "value": 2, "expect_version": 1},
            {"op": "put", "ns": "global", "key": "c", "value": 3},
            {"op": "delete", "ns": "global", "key": "a"}]})
        self.assertEqual(status, 200, body)
        self.assertEqual([r["op"] for r in body["results"]], ["check", "put", "put", "delete"])
        self.assertEqual(body["revision"], body["results"][3]["revision"])
        self.assertEqual(d.get("/v1/memory/global/b")[1]["value"], 2)
        self.assertEqual(d.get("/v1/memory/global/c")[1]["value"], 3)
        self.assertEqual(d.get("/v1/memory/global/a")[0], 404)
        before = d.get("/v1/events?after=0&limit=1000")[1]["last"]
        # a failing check: nothing at all happens
        status, body = d.post("/v1/memory:txn", {"ops": [
            {"op": "put", "ns": "global", "key": "b", "value": 99},
            {"op": "put", "ns": "global", "key": "d", "value": 99},
            {"op": "check", "ns": "global", "key": "c", "expect_version": 7}]})
        self.assertEqual((status, body["error"]["code"], body["error"]["field"]),
                         (409, "conflict", "ops[2]"))
        self.assertEqual(body["current"]["version"], 1)
        self.assertEqual(d.get("/v1/memory/global/b")[1]["value"], 2)
        self.assertEqual(d.get("/v1/memory/global/d")[0], 404)
        self.assertEqual(d.get("/v1/events?after=0")[1]["last"], before)
        self.assertError(d.post("/v1/memory:txn", {"ops": [
            {"op": "put", "ns": "global", "key": "x", "value": 1},
            {"op": "put", "ns": "global", "key": "x", "value": 2}]}), 400, "invalid_field",
            "ops[1].key")
        self.assertError(d.post("/v1/memory:txn", {"ops": [{"op": "put", "ns": "global",
                                                            "key": "x"}]}),
                         400, "missing_field", "ops[0].value")
        self.assertError(d.post("/v1/memory:txn", {"ops": [{"op": "zap", "ns": "g", "key": "x"}]}),
                         400, None, "ops[0].op")
        self.assertError(d.post("/v1/memory:txn", {"ops": []}), 400, "invalid_field", "ops")

    def test_ttl_expiry_with_event(self):
        d = self.start_daemon()
        status, e = put(d, "global", "lease", "me", ttl_ms=400)
        self.assertEqual(status, 201)
        written = time.monotonic()
        s = d.sse("/v1/memory/global?watch=1&after_revision=%d" % (e["revision"] - 1))
        self.addCleanup(s.close)
        m = s.next_message()
        self.assertEqual((m["data"]["op"], m["data"]["value"]), ("put", "me"))
        m = s.next_message(timeout=5)
        expired_after = time.monotonic() - written
        self.assertEqual(m["data"]["op"], "expire")
        self.assertEqual(m["data"]["key"], "lease")
        self.assertGreater(expired_after, 0.3)
        self.assertLess(expired_after, 0.4 + 0.5)  # 100 ms precision plus a loaded machine
        self.assertEqual(d.get("/v1/memory/global/lease")[0], 404)
        evs = d.get("/v1/events?after=0&type=swarmd.memory.expired")[1]["events"]
        self.assertEqual(len(evs), 1)
        self.assertEqual(evs[0]["subject"], "global/lease")
        self.assertEqual(evs[0]["data"]["revision"], int(evs[0]["id"]))
        # a TTL survives a restart: it still expires on time
        put(d, "global", "later", 1, ttl_ms=1500)
        d.stop()
        d.start()
        self.assertEqual(d.get("/v1/memory/global/later")[0], 200)
        wait_until(lambda: d.get("/v1/memory/global/later")[0] == 404, 5, "expiry after restart")

    def test_watch_resume(self):
        d = self.start_daemon()
        w = d.sse("/v1/memory/jobs?watch=1&prefix=q/")
        self.addCleanup(w.close)
        w.wait_ready()
        put(d, "jobs", "q/1", "a")
        put(d, "jobs", "other", "x")
        put(d, "jobs", "q/2", "b")
        got = w.take(2)
        self.assertEqual([(m["data"]["key"], m["data"]["value"]) for m in got],
                         [("q/1", "a"), ("q/2", "b")])
        self.assertEqual(int(got[1]["id"]), got[1]["data"]["revision"])
        w.close()
        put(d, "jobs", "q/3", "c")
        d.delete("/v1/memory/jobs/q/1")
        r = d.sse("/v1/memory/jobs?watch=1&prefix=q/",
                  headers={"Last-Event-ID": got[1]["id"]})
        self.addCleanup(r.close)
        got = r.take(2)
        self.assertEqual([(m["data"]["op"], m["data"]["key"]) for m in got],
                         [("put", "q/3"), ("delete", "q/1")])
        self.assertError(d.get("/v1/memory/jobs?watch=1&after_revision=x"), 400,
                         "invalid_query", "after_revision")

    def test_limits_and_bad_input(self):
        d = self.start_daemon("--memory-max-value", "1KiB", "--memory-max-keys", "3",
                              "--memory-max-key", "64")
        self.assertError(put(d, "global", "big", "x" * 2000), 413, "payload_too_large", "value")
        self.assertError(put(d, "global", "k" * 65, 1), 422, "limit_exceeded", "key")
        for i in range(3):
            self.assertEqual(put(d, "small", "k%d" % i, i)[0], 201)
        self.assertError(put(d, "small", "k9", 1), 422, "limit_exceeded", "key")
        self.assertEqual(put(d, "small", "k1", "update is fine")[0], 200)
        self.assertError(put(d, "Bad_NS", "k", 1), 400, "invalid_field", "ns")
        self.assertError(put(d, "global", "a//b", 1), 400, "invalid_field", "key")
        self.assertError(put(d, "global", "x", 1, headers={"If-Match": "v1"}), 400,
                         "invalid_field", "If-Match")
        self.assertError(put(d, "global", "x", 1, headers={"If-None-Match": "3"}), 400,
                         "invalid_field", "If-None-Match")
        self.assertError(d.call("PUT", "/v1/memory/global/x", {"val": 1}), 400, "unknown_field")
        self.assertError(d.call("PUT", "/v1/memory/global/x", {"ttl_ms": 5}), 400,
                         "missing_field", "value")
        self.assertError(put(d, "global", "x", 1, ttl_ms=-1), 400, "invalid_field", "ttl_ms")
        r = d.request("PUT", "/v1/memory/global/x", raw=b"{not json")
        self.assertEqual(r.status, 400)
        self.assertError(d.get("/v1/memory/global?limit=0"), 400, "invalid_query", "limit")
        self.assertError(d.get("/v1/memory/global/x?foo=1"), 400, "invalid_query", "foo")
        # nothing stored was touched by the refused writes
        self.assertEqual(d.get("/v1/memory/small/k1")[1]["value"], "update is fine")

    def test_acknowledged_writes_survive_kill9(self):
        d = self.start_daemon()
        acked = {}
        lock = threading.Lock()
        stop = threading.Event()

        def writer(w):
            i = 0
            while not stop.is_set():
                key = "w%d/%d" % (w, i)
                try:
                    status, e = put(d, "crash", key, {"i": i})
                except CONNECTION_ERRORS:
                    return
                if status == 201:
                    with lock:
                        acked[key] = e["revision"]
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        wait_until(lambda: len(acked) >= 400, 30, "400 acknowledged writes")
        d.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        d.start()
        for key, revision in acked.items():
            status, e = d.get("/v1/memory/crash/" + key)
            self.assertEqual(status, 200, key)
            self.assertEqual(e["revision"], revision)
        # and each has its event, committed with it
        written, after = set(), 0
        while True:
            page = d.get("/v1/events?limit=1000&type=swarmd.memory.written&after=%d" % after)[1]
            written |= {e["subject"] for e in page["events"]}
            if not page["events"]:
                break
            after = page["next_after"]
        self.assertLessEqual({"crash/" + k for k in acked}, written)

if __name__ == "__main__":
    harness.main()
