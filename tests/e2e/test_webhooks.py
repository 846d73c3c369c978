# SPDX-License-Identifier: MIT
# test_webhooks.py - webhook delivery against a local HTTP receiver (http.server in a
# thread). Checked: events reach the receiver in sequence order, none missing and only
# the subscribed types; every request is signed (the HMAC is recomputed here) and
# carries a fresh X-Swarm-Timestamp; a receiver that fails its first deliveries gets
# the same event again with growing gaps; a daemon stopped (SIGTERM) in the middle of
# retries resumes them after a restart, skipping nothing, and a clean stop keeps the
# position (no event delivered twice); a receiver that never accepts gets its webhook
# disabled, with a swarmd.webhook.disabled event in the log (and delivered to another
# webhook), and enable resumes with the failed event; deleted webhooks stay deleted;
# bad input is refused naming the field; and `swarm webhook add/ls/get/enable/rm`.
# SWARMD_WEBHOOK_RETRY_MS and SWARMD_WEBHOOK_GIVE_UP_MS shrink the delays.

import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

SECRET = "s3cret-0123456789-abcdef"
WEBHOOK_ID_RE = r"^w_[0-9a-f]{16}$"
TIMEOUT = 30.0


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request. The first `fail_first`
    requests are answered 500; while `accepting` is False every request is."""

    def __init__(self, fail_first=0, accepting=True, delay=0.0):
        self.fail_first = fail_first
        self.accepting = accepting
        self.delay = delay  # seconds before each answer
        self.lock = threading.Lock()
        self.requests = []  # dicts: at (monotonic), wall, headers, body, status
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    n = len(receiver.requests)
                    ok = receiver.accepting and n >= receiver.fail_first
                    status = 200 if ok else 500
                    receiver.requests.append({
                        "at": time.monotonic(), "wall": time.time(), "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body, "status": status})
                reply = b"ok" if ok else b"receiver says no"
                time.sleep(receiver.delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the daemon gave up on this request

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def all(self):
        with self.lock:
            return list(self.requests)

    def accepted_ids(self):
        """Event ids (X-Swarm-Event-Id) of the accepted requests, in arrival order."""
        return [int(r["headers"]["x-swarm-event-id"]) for r in self.all() if r["status"] == 200]


class WebhookTest(harness.DaemonTestCase):
    def daemon(self, retry_ms=200, give_up_ms=None, home=None):
        env = {"SWARMD_WEBHOOK_RETRY_MS": str(retry_ms)}
        if give_up_ms is not None:
            env["SWARMD_WEBHOOK_GIVE_UP_MS"] = str(give_up_ms)
        return self.start_daemon(env=env, home=home)

    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.close)
        return r

    def add_webhook(self, d, url, types=None):
        body = {"url": url, "secret": SECRET}
        if types is not None:
            body["types"] = types
        status, w = d.post("/v1/webhooks", body)
        self.assertEqual(status, 201, w)
        self.assertRegex(w["id"], WEBHOOK_ID_RE)
        return w

    def publish(self, d, type_, data=None):
        status, ev = d.post("/v1/events", {"type": type_, "data": data})
        self.assertEqual(status, 201, ev)
        return int(ev["id"])

    def webhook(self, d, wid):
        status, w = d.get("/v1/webhooks/" + wid)
        self.assertEqual(status, 200, w)
        self.assertNotIn(SECRET, json.dumps(w))
        return w

    def wait_webhook(self, d, wid, pred, what):
        """Polls GET /v1/webhooks/{id} until pred(webhook); returns the webhook."""
        def check():
            w = self.webhook(d, wid)
            return w if pred(w) else None
        return wait_until(check, TIMEOUT, what)

    def wait_accepted(self, rcv, ids, what):
        """Waits until every id in ids was accepted; returns the accepted ids."""
        def check():
            got = rcv.accepted_ids()
            return got if set(ids) <= set(got) else None
        return wait_until(check, TIMEOUT, what)

    def check_signed(self, req):
        """The signature is HMAC-SHA256(secret, "<timestamp>.<body>") and the time is now."""
        h = req["headers"]
        ts = h["x-swarm-timestamp"]
        self.assertRegex(ts, r"^[0-9]+$")
        self.assertLess(abs(int(ts) - req["wall"]), 30, "stale X-Swarm-Timestamp %s" % ts)
        mac = hmac.new(SECRET.encode(), ts.encode() + b"." + req["body"], hashlib.sha256)
        self.assertEqual(h["x-swarm-signature"], "sha256=" + mac.hexdigest())
        self.assertTrue(h["content-type"].startswith("application/json"), h)
        self.assertTrue(h["user-agent"].startswith("swarmd/"), h)
        event = json.loads(req["body"])
        self.assertEqual(event["specversion"], "1.0")
        self.assertEqual(event["id"], h["x-swarm-event-id"])
        return event

    def test_order_signature_and_backoff(self):
        d = self.daemon(retry_ms=200)
        rcv = self.receiver(fail_first=3)
        w = self.add_webhook(d, rcv.url, types=["demo.*", "exact.one"])
        self.assertEqual(w["state"], "active")
        self.assertEqual(w["types"], ["demo.*", "exact.one"])
        self.assertIsNone(w["pending"])
        wanted = []
        for i in range(8):
            wanted.append(self.publish(d, "demo.step", {"i": i}))
            self.publish(d, "other.noise", {"i": i})  # not subscribed
        wanted.append(self.publish(d, "exact.one", {"last": True}))
        self.publish(d, "exact.one.not", None)
        got = self.wait_accepted(rcv, wanted, "all demo events accepted")
        self.assertEqual(got, wanted, "order, or an event missing or extra")

        reqs = rcv.all()
        first = [r for r in reqs if int(r["headers"]["x-swarm-event-id"]) == wanted[0]]
        self.assertEqual([r["status"] for r in first], [500, 500, 500, 200])
        for r in reqs:
            event = self.check_signed(r)
            self.assertIn(event["type"], ("demo.step", "exact.one"))
        self.assertEqual(json.loads(reqs[-1]["body"])["data"], {"last": True})
        # the same event again after ~base/2..base, then twice, then four times that
        gaps = [b["at"] - a["at"] for a, b in zip(first, first[1:])]
        for k, gap in enumerate(gaps):
            self.assertGreaterEqual(gap, 0.09 * 2 ** k,
                                    "retry %d came too soon: %r" % (k + 1, gaps))
        self.assertGreater(gaps[2], gaps[0], "backoff does not grow: %r" % gaps)

        # the position passes over the last event too (not subscribed)
        w = self.wait_webhook(d, w["id"], lambda x: x["delivered_seq"] == wanted[-1] + 1,
                              "delivered_seq past the last event")
        self.assertIsNone(w["pending"])
        self.assertEqual(w["failures"], 0)
        self.assertTrue(w["last_error"].startswith("HTTP 500"), w)

    def test_restart_in_the_middle_of_retries(self):
        d = self.daemon(retry_ms=150)
        rcv = self.receiver(accepting=False)
        w = self.add_webhook(d, rcv.url, types=["demo.*"])
        wanted = [self.publish(d, "demo.r", {"i": i}) for i in range(3)]
        wait_until(lambda: len(rcv.all()) >= 3, TIMEOUT, "three failed attempts")
        before = self.webhook(d, w["id"])
        self.assertEqual(before["pending"]["seq"], wanted[0], before)
        self.assertGreaterEqual(before["pending"]["attempts"], 2, before)
        self.assertIsNotNone(before["pending"]["next_attempt_at"], before)
        d.stop()
        seen = len(rcv.all())
        d.start()
        after = self.webhook(d, w["id"])
        self.assertGreaterEqual(after["pending"]["attempts"], before["pending"]["attempts"], after)
        self.assertEqual(after["pending"]["first_failure_at"],
                         before["pending"]["first_failure_at"])
        wait_until(lambda: len(rcv.all()) > seen, TIMEOUT, "a retry after the restart")
        self.assertEqual(int(rcv.all()[seen]["headers"]["x-swarm-event-id"]), wanted[0])
        rcv.accepting = True
        wanted.append(self.publish(d, "demo.r", {"after": "restart"}))
        got = self.wait_accepted(rcv, wanted, "every event after the restart")
        self.assertEqual(got, wanted)

    def test_clean_stop_keeps_the_position(self):
        d = self.daemon()
        rcv = self.receiver()
        w = self.add_webhook(d, rcv.url)
        wanted = [self.publish(d, "demo.p", {"i": i}) for i in range(5)]
        self.wait_accepted(rcv, wanted, "five events")
        # the daemon has seen the last answer (else the stop abandons it: sent again)
        self.wait_webhook(d, w["id"], lambda x: x["delivered_seq"] == wanted[-1],
                          "the last delivery acknowledged")
        d.restart()
        wanted.append(self.publish(d, "demo.p", {"i": 5}))
        got = self.wait_accepted(rcv, wanted, "the event after the restart")
        self.assertEqual(got, wanted, "an event delivered twice or out of order across a stop")

    def test_give_up_disables_and_enable_resumes(self):
        d = self.daemon(retry_ms=100, give_up_ms=1500)
        bad = self.receiver(accepting=False)
        watcher = self.receiver()
        w = self.add_webhook(d, bad.url, types=["demo.*"])
        other = self.add_webhook(d, watcher.url, types=["swarmd.webhook.*"])
        seq = self.publish(d, "demo.g", {"n": 1})
        w = self.wait_webhook(d, w["id"], lambda x: x["state"] == "disabled",
                              "the webhook disabled")
        self.assertTrue(w["disabled_reason"], w)
        self.assertGreaterEqual(w["failures"], 2, w)
        self.assertTrue(w["last_error"].startswith("HTTP 500"), w)
        self.assertIsNone(w["pending"])
        self.assertEqual(w["delivered_seq"], seq - 1)
        attempts = len(bad.all())
        self.assertEqual({int(r["headers"]["x-swarm-event-id"]) for r in bad.all()}, {seq})
        first, last = bad.all()[0]["at"], bad.all()[-1]["at"]
        self.assertGreaterEqual(last - first, 1.4, "gave up before the window")

        status, page = d.get("/v1/events?type=swarmd.webhook.disabled")
        self.assertEqual(status, 200, page)
        self.assertEqual(len(page["events"]), 1, page)
        event = page["events"][0]
        self.assertEqual(event["source"], "/webhooks/" + w["id"])
        self.assertEqual(event["data"]["id"], w["id"])
        self.assertEqual(event["data"]["url"], bad.url)
        self.assertEqual(event["data"]["reason"], w["disabled_reason"])
        self.assertEqual(event["data"]["failures"], w["failures"])
        self.assertEqual(event["data"]["last_error"], w["last_error"])
        self.assertNotIn(SECRET, json.dumps(event))
        told = self.wait_accepted(watcher, [int(event["id"])], "the disabled event at the watcher")
        self.assertEqual(told, [int(event["id"])])

        # disabled: no attempts while new events come; kept across a restart
        later = self.publish(d, "demo.g", {"n": 2})
        d.restart()
        self.assertEqual(self.webhook(d, w["id"])["state"], "disabled")
        self.assertEqual(len(bad.all()), attempts)

        bad.accepting = True
        status, w = d.post("/v1/webhooks/%s/enable" % w["id"])
        self.assertEqual(status, 200, w)
        self.assertEqual(w["state"], "active")
        self.assertIsNone(w["disabled_reason"])
        got = self.wait_accepted(bad, [seq, later], "the failed event and the next after enable")
        self.assertEqual(got, [seq, later])
        self.assertEqual(self.webhook(d, other["id"])["state"], "active")

    def test_delete(self):
        d = self.daemon()
        gone, kept = self.receiver(), self.receiver()
        a = self.add_webhook(d, gone.url)
        b = self.add_webhook(d, kept.url)
        self.assertEqual(d.delete("/v1/webhooks/" + a["id"]),
                         (200, {"id": a["id"], "deleted": True}))
        self.assertError(d.delete("/v1/webhooks/" + a["id"]), 404, "not_found")
        seq = self.publish(d, "demo.d")
        self.wait_accepted(kept, [seq], "the event at the webhook that stays")
        self.assertEqual(gone.all(), [])
        d.restart()
        status, page = d.get("/v1/webhooks")
        self.assertEqual(status, 200, page)
        self.assertEqual([x["id"] for x in page["webhooks"]], [b["id"]])

    def test_stop_and_delete_with_a_request_in_flight(self):
        d = self.daemon()
        slow = self.receiver(delay=1.5)
        doomed = self.receiver(delay=1.5)
        w = self.add_webhook(d, slow.url)
        x = self.add_webhook(d, doomed.url)
        seq = self.publish(d, "demo.slow")
        wait_until(lambda: slow.all() and doomed.all(), TIMEOUT, "both requests in flight")
        self.assertTrue(self.webhook(d, w["id"])["pending"]["in_flight"])
        self.assertEqual(d.delete("/v1/webhooks/" + x["id"])[0], 200)
        d.stop()  # abandons the request: made again after the restart
        slow.delay = 0
        d.start()
        self.wait_webhook(d, w["id"], lambda x: x["delivered_seq"] >= seq,
                          "the abandoned event delivered after the restart")
        # the receiver answered the abandoned request too late: it got the event twice
        self.assertEqual([int(r["headers"]["x-swarm-event-id"]) for r in slow.all()], [seq, seq])
        self.assertEqual(len(doomed.all()), 1)

    def test_connection_refused(self):
        d = self.daemon(retry_ms=100)
        rcv = self.receiver()
        url = rcv.url
        rcv.close()  # nothing listens on its port any more
        w = self.add_webhook(d, url)
        self.publish(d, "demo.refused")
        w = self.wait_webhook(d, w["id"], lambda x: (x["pending"] or {}).get("attempts", 0) >= 2,
                              "two failed attempts")
        self.assertEqual(w["state"], "active")
        self.assertIn("connect", w["last_error"].lower(), w)

    def test_bad_input(self):
        d = self.daemon()
        good = {"url": "http://127.0.0.1:9/x", "secret": SECRET}
        cases = [
            ({"secret": SECRET}, "missing_field", "url"),
            ({"url": "http://127.0.0.1:9/x"}, "missing_field", "secret"),
            (dict(good, url="ftp://example.com/x"), "invalid_field", "url"),
            (dict(good, url="http://"), "invalid_field", "url"),
            (dict(good, url="http://exa mple.com/"), "invalid_field", "url"),
            (dict(good, url="example.com/hook"), "invalid_field", "url"),
            (dict(good, url=42), "invalid_field", "url"),
            (dict(good, url="http://x/" + "a" * 3000), "invalid_field", "url"),
            (dict(good, secret="short"), "invalid_field", "secret"),
            (dict(good, secret="x" * 257), "invalid_field", "secret"),
            (dict(good, secret=["x" * 20]), "invalid_field", "secret"),
            (dict(good, types="demo.x"), "invalid_field", "types"),
            (dict(good, types=[]), "invalid_field", "types"),
            (dict(good, types=["demo.*.x"]), "invalid_field", "types"),
            (dict(good, types=["demo x"]), "invalid_field", "types"),
            (dict(good, types=[1]), "invalid_field", "types"),
            (dict(good, types=["t%d" % i for i in range(33)]), "invalid_field", "types"),
            (dict(good, filter={"type": "x"}), "unknown_field", "filter"),
        ]
        for body, code, field in cases:
            with self.subTest(body=body):
                self.assertError(d.post("/v1/webhooks", body), 400, code, field)
        r = d.request("POST", "/v1/webhooks", raw=b'{"url": ')
        self.assertError((r.status, r.json), 400, "invalid_json")
        status, page = d.get("/v1/webhooks")
        self.assertEqual((status, page), (200, {"webhooks": []}))
        for method, path in (("GET", "/v1/webhooks/w_0000000000000001"),
                             ("GET", "/v1/webhooks/a_0000000000000001"),
                             ("GET", "/v1/webhooks/nope"),
                             ("DELETE", "/v1/webhooks/w_0000000000000001"),
                             ("POST", "/v1/webhooks/w_0000000000000001/enable")):
            with self.subTest(method=method, path=path):
                self.assertError(d.call(method, path, {} if method == "POST" else None), 404,
                                 "not_found")
        status, w = d.post("/v1/webhooks", good)
        self.assertEqual(status, 201, w)
        self.assertEqual(w["types"], ["*"])
        for text in (json.dumps(w), d.request("GET", "/v1/webhooks").text):
            self.assertNotIn(SECRET, text)
            self.assertNotIn("secret", text)

    def test_cli(self):
        d = self.daemon()
        rcv = self.receiver()
        cli = harness.swarm_bin()
        env = dict(os.environ, SWARM_URL="unix:" + d.socket_path)
        env.pop("SWARM_TOKEN", None)

        def swarm(*args, stdin=None):
            p = subprocess.run([cli] + list(args), env=env, input=stdin, capture_output=True,
                               timeout=30)
            err = p.stderr.decode()
            for marker in harness.SANITIZER_MARKERS:
                self.assertNotIn(marker, err)
            return p.returncode, p.stdout.decode(), err

        rc, out, err = swarm("webhook", "add", rcv.url, "--secret", SECRET, "--type", "demo.*",
                             "--type", "cli.x")
        self.assertEqual(rc, 0, err)
        wid = out.strip()
        self.assertRegex(wid, WEBHOOK_ID_RE)
        rc, out, err = swarm("webhook", "add", rcv.url, "--secret", "-", "-o", "json",
                             stdin=(SECRET + "\n").encode())
        self.assertEqual(rc, 0, err)
        second = json.loads(out)
        self.assertEqual(second["types"], ["*"])
        self.assertEqual(second["state"], "active")

        rc, out, err = swarm("webhook", "ls")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "URL", "TYPES", "STATE", "DELIVERED", "FAILURES",
                                            "LAST-ERROR"])
        row = [l for l in lines if l.startswith(wid)]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0].split()[1:4], [rcv.url, "demo.*,cli.x", "active"])
        rc, out, err = swarm("webhook", "ls", "-o", "json")
        self.assertEqual(rc, 0, err)
        self.assertEqual([w["id"] for w in json.loads(out)["webhooks"]], [wid, second["id"]])
        self.assertNotIn(SECRET, out)

        seq = self.publish(d, "cli.x", {"via": "cli"})
        self.wait_accepted(rcv, [seq], "the event at the receiver")
        rc, out, err = swarm("webhook", "get", wid)
        self.assertEqual(rc, 0, err)
        self.assertIn("state:", out)
        self.assertIn(rcv.url, out)
        rc, out, err = swarm("webhook", "enable", wid)
        self.assertEqual((rc, out.strip()), (0, wid + " active"), err)

        rc, out, err = swarm("webhook", "rm", wid)
        self.assertEqual((rc, out.strip()), (0, wid + " removed"), err)
        rc, out, err = swarm("webhook", "rm", wid)
        self.assertEqual(rc, 4, (out, err))
        rc, out, err = swarm("webhook", "add", rcv.url)
        self.assertEqual(rc, 2, (out, err))
        self.assertIn("--secret", err)
        rc, out, err = swarm("webhook", "add", rcv.url, "--secret", "short")
        self.assertEqual(rc, 5, (out, err))
        self.assertIn("secret", err)
        rc, out, err = swarm("webhook", "--help")
        self.assertEqual(rc, 0, err)
        for verb in ("add", "ls", "get", "rm", "enable"):
            self.assertIn("webhook " + verb, out)
        rc, out, err = swarm("--help")
        self.assertIn("webhook add", out)
        status, page = d.get("/v1/webhooks")
        self.assertEqual([w["id"] for w in page["webhooks"]], [second["id"]])


if __name__ == "__main__":
    harness.main()
