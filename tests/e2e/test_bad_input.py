# SPDX-License-Identifier: MIT
# test_bad_input.py - what the daemon does with bad requests: malformed JSON, wrong
# types, bad capability names, unknown fields, bodies over --max-payload (4 KiB here),
# a Content-Length it must not trust, headers of 64 KiB, garbage on the wire, unknown
# routes and methods, bad query parameters, and an agent using another agent's token.
# Each must get the documented error (status, JSON shape, code, field), and after each
# the daemon must still answer and the stored task count must be unchanged.

import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import CONNECTION_ERRORS, Agent  # noqa: E402


class BadInputTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon("--max-payload", "4KiB")
        self.baseline = self.d.submit("good", payload={"ok": True})
        self.count = 1

    def still_serving(self):
        """The daemon answers and holds exactly the tasks it held before."""
        self.assertEqual(self.d.get("/health"), (200, {"status": "ok"}))
        self.assertEqual(len(self.d.list_tasks()), self.count)
        self.assertEqual(self.d.task(self.baseline["id"])["state"], "queued")

    def post_raw(self, path, raw, **kw):
        r = self.d.request("POST", path, raw=raw, **kw)
        return r.status, r.json if r.json is not None else r.text

    def raw_exchange(self, data, timeout=10, allow_silence=False):
        """Sends bytes on a new Unix connection and reads until the daemon closes it or
        a full response head has come. Returns the bytes read (b"" if it just closed);
        None if it neither answered nor closed within timeout and allow_silence."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        got = b""
        try:
            sock.connect(self.d.socket_path)
            try:
                sock.sendall(data)
            except OSError:
                pass  # the daemon may close before reading everything
            while b"\r\n\r\n" not in got:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        except socket.timeout:
            if not allow_silence:
                raise AssertionError("no answer and no close within %ss to %r; read %r"
                                     % (timeout, data[:80], got[:200]))
            return None
        finally:
            sock.close()
        return got

    def test_malformed_json(self):
        for raw in (b"{not json", b'{"capability": "echo",}', b"", b"nul\x00l",
                    b'{"capability": "echo", "payload": "\xff\xfe"}', b'{"capability": "echo"} x'):
            with self.subTest(raw=raw):
                self.assertError(self.post_raw("/v1/tasks", raw), 400,
                                 ("invalid_json", "missing_field") if raw == b"" else "invalid_json")
                self.still_serving()
        for raw in (b"[1, 2]", b'"capability"', b"42", b"null"):
            with self.subTest(raw=raw):
                self.assertError(self.post_raw("/v1/tasks", raw), 400, ("invalid_json", "invalid_field"))
                self.still_serving()

    def test_wrong_types_and_values(self):
        cases = [
            ({"capability": 42}, "invalid_field", "capability"),
            ({"payload": 1}, "missing_field", "capability"),
            ({"capability": None}, ("invalid_field", "missing_field"), "capability"),
            ({"capability": "echo", "priority": "high"}, "invalid_field", "priority"),
            ({"capability": "echo", "priority": 1.5}, "invalid_field", "priority"),
            ({"capability": "echo", "delay_ms": -5}, "invalid_field", "delay_ms"),
            ({"capability": "echo", "delay_ms": "soon"}, "invalid_field", "delay_ms"),
            ({"capability": "echo", "timeout_ms": "x"}, "invalid_field", "timeout_ms"),
            ({"capability": "echo", "max_attempts": 0}, "invalid_field", "max_attempts"),
            ({"capability": "echo", "max_attempts": "3"}, "invalid_field", "max_attempts"),
            ({"capability": "echo", "labels": {"a": 1}}, "invalid_field", "labels"),
            ({"capability": "echo", "labels": "team=a"}, "invalid_field", "labels"),
            ({"capability": "echo", "backoff": "fast"}, "invalid_field", "backoff"),
            ({"capability": "echo", "idempotency_key": 7}, "invalid_field", "idempotency_key"),
        ]
        for body, code, field in cases:
            with self.subTest(body=body):
                self.assertError(self.d.post("/v1/tasks", body), 400, code, field)
                self.still_serving()

    def test_capability_format(self):
        bad = ["", "Echo", "has space", "-lead", ".lead", "a" * 129, "echo@", "echo@x",
               "echo@1@2", "ü", "echo\n", "a*b"]
        for cap in bad:
            with self.subTest(capability=cap):
                self.assertError(self.d.post("/v1/tasks", {"capability": cap}), 400,
                                 "invalid_field", "capability")
                self.still_serving()
        for cap in ["a", "0", "a" * 128, "resize@2", "img/resize.v2_x-y", "x@10"]:
            with self.subTest(capability=cap):
                self.d.submit(cap)
                self.count += 1
                self.still_serving()

    def test_unknown_field(self):
        self.assertError(self.d.post("/v1/tasks", {"capability": "echo", "colour": "red"}), 400,
                         "unknown_field", "colour")
        self.still_serving()

    def test_oversized_bodies(self):
        big_payload = {"capability": "echo", "payload": "x" * 8192}
        self.assertError(self.d.post("/v1/tasks", big_payload), 413, "payload_too_large")
        self.still_serving()
        try:
            r = self.d.request("POST", "/v1/tasks", raw=b'{"capability":"echo","payload":"'
                               + b"y" * (256 * 1024) + b'"}')
            self.assertError((r.status, r.json), 413, "payload_too_large")
        except CONNECTION_ERRORS:
            pass  # closing the connection on a huge body is allowed too
        self.still_serving()
        # Just under the limit is fine.
        fits = {"capability": "echo", "payload": "z" * 3000}
        self.d.submit(**fits)
        self.count += 1
        self.still_serving()

    def test_body_past_limit_with_huge_content_length(self):
        # Announces 10 GB and sends 256 KiB, past any body limit under 4 KiB payloads:
        # the daemon must answer 413 (or at least close), not read on for 10 GB.
        head = (b"POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000000\r\n\r\n")
        got = self.raw_exchange(head + b'{"capability":"echo","payload":"' + b"q" * (256 * 1024),
                                timeout=5)
        self.assertTrue(got == b"" or got.split(b" ", 2)[1] == b"413",
                        "10 GB announced, 256 KiB sent: got %r" % got[:200])
        self.still_serving()

    def test_content_length_over_limit_is_refused_at_once(self):
        # Announces 10 GB and sends a few bytes: a Content-Length over --max-payload is
        # refused from the header alone, without waiting for a body that will not fit.
        head = (b"POST /v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000000\r\n\r\n")
        got = self.raw_exchange(head + b'{"capability":"echo"', timeout=5)
        self.assertTrue(got.startswith(b"HTTP/1.1 413") or got.startswith(b"HTTP/1.0 413"),
                        "10 GB announced: wanted 413 at once, got %r" % got[:200])
        self.still_serving()

    def test_oversized_headers(self):
        head = (b"GET /v1/tasks HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"h" * (64 * 1024)
                + b"\r\n\r\n")
        got = self.raw_exchange(head)
        if got:
            status = int(got.split(b" ", 2)[1])
            self.assertTrue(400 <= status < 500, "64 KiB of headers got %r" % got[:200])
            self.assertIn(status, (400, 413, 431))
        self.still_serving()
        many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 60) for i in range(2000))
        got = self.raw_exchange(b"GET /health HTTP/1.1\r\nHost: localhost\r\n" + many + b"\r\n")
        if got:
            status = int(got.split(b" ", 2)[1])
            self.assertTrue(400 <= status < 500, "2000 headers got %r" % got[:200])
        self.still_serving()

    def test_garbage_on_the_wire(self):
        for data in (b"GARBAGE\r\n\r\n", b"\x00\x01\x02\x03" * 100 + b"\r\n\r\n",
                     b"GET / HTTP/9.9\r\n\r\n",
                     b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
                     b"POST /v1/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"zz\r\n{}\r\n0\r\n\r\n"):
            with self.subTest(data=data[:40]):
                # Bytes that are not HTTP may be answered, dropped, or left to time out;
                # what matters is that everyone else is still served.
                got = self.raw_exchange(data, timeout=3, allow_silence=True)
                if got:
                    self.assertRegex(got[:12], rb"^HTTP/1\.[01] [45]\d\d")
                self.still_serving()
        # A client that connects and sends half a request, then leaves.
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.d.socket_path)
        sock.sendall(b"POST /v1/tasks HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"capab")
        sock.close()
        self.still_serving()

    def test_routes_and_methods(self):
        d = self.d
        self.assertError(d.get("/v1/nope"), 404, "no_route")
        self.assertError(d.get("/nope"), 404, "no_route")
        self.assertError(d.post("/v1/tasks/%s/explode" % self.baseline["id"]), 404, "no_route")
        self.assertError(d.get("/v1/tasks/t_0000000000000000"), 404, "not_found")
        self.assertError(d.get("/v1/agents/a_0000000000000000"), 404, "not_found")
        self.assertError(d.post("/v1/tasks/t_0000000000000000/cancel"), 404, "not_found")
        self.assertError(d.delete("/v1/tasks"), 405, "method_not_allowed")
        self.assertError(d.call("PUT", "/health"), 405, "method_not_allowed")
        self.assertError(d.call("PATCH", "/v1/tasks/" + self.baseline["id"], {}), 405,
                         "method_not_allowed")
        self.assertError(d.get("/v1/tasks/%s/cancel" % self.baseline["id"]), 405, "method_not_allowed")
        self.still_serving()

    def test_bad_queries(self):
        d = self.d
        for query in ("state=bogus", "limit=-1", "limit=abc", "dead=maybe", "cursor=zzz"):
            with self.subTest(query=query):
                self.assertError(d.get("/v1/tasks?" + query), 400, "invalid_query")
                self.still_serving()
        self.assertError(d.get("/v1/tasks/%s?wait_ms=soon" % self.baseline["id"]), 400,
                         "invalid_query")
        self.still_serving()

    def test_error_shape(self):
        r = self.d.request("POST", "/v1/tasks", raw=b"{")
        self.assertEqual(r.status, 400)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/json"), r.headers)
        self.assertEqual(set(r.json), {"error"})
        self.assertLessEqual(set(r.json["error"]), {"code", "message", "field", "details"})

    def test_agent_inputs(self):
        d = self.d
        cases = [
            ({"name": "w", "capabilities": "echo", "slots": 1}, "invalid_field", "capabilities"),
            ({"name": "w", "capabilities": [1], "slots": 1}, "invalid_field", "capabilities"),
            ({"name": "w", "capabilities": ["Bad Cap"], "slots": 1}, "invalid_field", "capabilities"),
            ({"name": "w", "capabilities": ["echo"], "slots": 0}, "invalid_field", "slots"),
            ({"name": "w", "capabilities": ["echo"], "slots": "two"}, "invalid_field", "slots"),
            ({"name": 5, "capabilities": ["echo"], "slots": 1}, "invalid_field", "name"),
            ({"name": "w", "capabilities": ["echo"], "slots": 1, "colour": 1}, "unknown_field", "colour"),
        ]
        for body, code, field in cases:
            with self.subTest(body=body):
                self.assertError(d.post("/v1/agents", body), 400, code, field)
                self.still_serving()
        self.assertEqual(d.get("/v1/agents")[1]["agents"], [])

        a = Agent(d, "dup", ["good"])
        self.assertError(d.post("/v1/agents", {"name": "dup", "capabilities": ["good"], "slots": 1}),
                         409, "agent_exists")
        replaced = Agent(d, "dup", ["good"], replace=True)
        self.assertNotEqual(replaced.id, a.id)
        self.still_serving()

    def test_foreign_token(self):
        d = self.d
        task = d.submit("tok")
        self.count += 1
        mine = Agent(d, "mine", ["tok"])
        theirs = Agent(d, "theirs", ["tok"])
        status, body = d.post("/v1/agents/%s/lease" % mine.id, {"max": 1, "wait_ms": 0},
                              token=theirs.token)
        self.assertError((status, body), 403, "forbidden")
        status, body = d.post("/v1/agents/%s/heartbeat" % mine.id, {}, token=theirs.token)
        self.assertError((status, body), 403, "forbidden")
        self.assertEqual(d.task(task["id"])["state"], "queued")
        # The owner's own token works; the lease it gets cannot be used by the other.
        leased = mine.lease_one(task_id=task["id"])
        status, body = d.post("/v1/tasks/%s/complete" % task["id"],
                              {"lease_id": leased["lease_id"], "result": 1}, token=theirs.token)
        self.assertIn(status, (403, 409), body)
        self.assertEqual(d.task(task["id"])["state"], "running")
        for body in ({"max": "many"}, {"max": 1, "wait_ms": -1}, {"max": 1, "x": 1}):
            with self.subTest(body=body):
                status, reply = d.post("/v1/agents/%s/lease" % mine.id, body, token=mine.token)
                self.assertError((status, reply), 400, ("invalid_field", "unknown_field"))
        self.assertError(d.post("/v1/tasks/%s/complete" % task["id"], {"result": 1},
                                token=mine.token), 400, "missing_field", "lease_id")
        self.assertEqual(d.task(task["id"])["state"], "running")
        self.assertEqual(mine.complete(leased, [1])[0], 200)
        self.still_serving()

if __name__ == "__main__":
    harness.main()
