# SPDX-License-Identifier: MIT
# test_ws.py - GET /v1/ws at the level of bytes (a raw socket, frames made by hand): the
# handshake (101 with the RFC 6455 accept key; 400 naming the header that is wrong; 426
# with Sec-WebSocket-Version: 13 for another version; 401 on TCP without the admin token),
# frames that arrive together with the request, ping frames, the close handshake, an
# unmasked client frame (a protocol error: close 1002), a "gap" message when the asked
# position was pruned, pings after 30 s of silence (and a close when they go unanswered),
# and a daemon stop that closes every connection with 1001. tests/node/ws_test.mjs covers the protocol with a real client.

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode, payload, masked=True, fin=True):
    """A client frame (masked unless told otherwise)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Conn:
    """A socket past the handshake, reading server frames."""

    def __init__(self, sock, pending=b""):
        self.sock = sock
        self.buf = pending

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed by the daemon")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_frame(self):
        """(fin, opcode, payload) of the next frame; server frames are never masked."""
        b0, b1 = self._need(2)
        if b1 & 0x80:
            raise AssertionError("the server masked a frame")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._need(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._need(8))[0]
        return bool(b0 & 0x80), b0 & 0x0F, self._need(n)

    def read_json(self):
        fin, opcode, payload = self.read_frame()
        if opcode != TEXT or not fin:
            raise AssertionError("wanted a whole text frame, got opcode %d fin %s" % (opcode, fin))
        return json.loads(payload.decode("utf-8"))

    def send(self, data):
        self.sock.sendall(data)

    def at_eof(self, timeout=5.0):
        """True when the daemon closes the socket (after whatever it still sends)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def handshake_request(key=SAMPLE_KEY, version="13", upgrade="websocket", connection="Upgrade",
                      token=None, path="/v1/ws"):
    lines = ["GET %s HTTP/1.1" % path, "Host: localhost"]
    for name, value in (("Upgrade", upgrade), ("Connection", connection),
                        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", version)):
        if value is not None:
            lines.append("%s: %s" % (name, value))
    if token:
        lines.append("Authorization: Bearer " + token)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def open_socket(d, via="unix"):
    if via == "unix":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(d.socket_path)
    else:
        sock = socket.create_connection(("127.0.0.1", d.tcp_port or d.wait_tcp_port()))
    sock.settimeout(10)
    return sock


def handshake(d, via="unix", extra=b"", **kw):
    """Sends the request (and extra bytes right behind it); returns (status, headers, Conn)."""
    sock = open_socket(d, via)
    sock.sendall(handshake_request(**kw) + extra)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError("no complete response head: %r" % data)
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return status, headers, Conn(sock, rest)


def error_body(conn, headers):
    """The JSON error body of a refused handshake."""
    length = int(headers.get("content-length", "0"))
    return json.loads(conn._need(length).decode("utf-8"))


class WebSocketTest(harness.DaemonTestCase):
    def test_handshake_and_close(self):
        d = self.start_daemon()
        status, headers, conn = handshake(d)
        self.assertEqual(status, 101, headers)
        self.assertEqual(headers.get("upgrade", "").lower(), "websocket")
        self.assertEqual(headers.get("connection", "").lower(), "upgrade")
        self.assertEqual(headers.get("sec-websocket-accept"), SAMPLE_ACCEPT)
        # any key: base64(SHA-1(key + GUID))
        key = base64.b64encode(os.urandom(16)).decode()
        status, headers, other = handshake(d, key=key)
        self.assertEqual(status, 101)
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        self.assertEqual(headers.get("sec-websocket-accept"), want)
        other.close()

        conn.send(frame(TEXT, json.dumps({"op": "ping", "id": "raw"})))
        self.assertEqual(conn.read_json(), {"op": "pong", "id": "raw"})
        conn.send(frame(PING, b"are you there"))
        self.assertEqual(conn.read_frame(), (True, PONG, b"are you there"))
        conn.send(frame(CLOSE, struct.pack("!H", 1000) + b"done"))
        fin, opcode, payload = conn.read_frame()
        self.assertEqual(opcode, CLOSE)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1000)
        self.assertTrue(conn.at_eof(), "the socket stayed open after the close handshake")
        conn.close()
        # the daemon goes on serving
        self.assertEqual(d.get("/health")[0], 200)

    def test_handshake_errors(self):
        d = self.start_daemon()
        cases = [
            (dict(upgrade=None), 400, "Upgrade"),
            (dict(upgrade="h2c"), 400, "Upgrade"),
            (dict(connection="keep-alive"), 400, "Connection"),
            (dict(key=None), 400, "Sec-WebSocket-Key"),
            (dict(key="too-short"), 400, "Sec-WebSocket-Key"),
            (dict(version=None), 400, "Sec-WebSocket-Version"),
        ]
        for kw, want_status, field in cases:
            status, headers, conn = handshake(d, **kw)
            self.assertEqual(status, want_status, "%r: %d" % (kw, status))
            body = error_body(conn, headers)
            self.assertEqual(body["error"]["field"], field, body)
            self.assertEqual(body["error"]["code"], "invalid_argument", body)
            conn.close()
        status, headers, conn = handshake(d, version="8")
        self.assertEqual(status, 426)
        self.assertEqual(headers.get("sec-websocket-version"), "13")
        self.assertEqual(error_body(conn, headers)["error"]["field"], "Sec-WebSocket-Version")
        conn.close()
        # another method is 405
        self.assertError(d.post("/v1/ws", {}), 405, "method_not_allowed")

    def test_frames_sent_with_the_request(self):
        d = self.start_daemon()
        extra = (frame(TEXT, json.dumps({"op": "ping", "id": "early"})) +
                 frame(TEXT, json.dumps({"op": "subscribe", "id": "s", "filter": {"type": "raw.*"}})))
        status, _, conn = handshake(d, extra=extra)
        self.assertEqual(status, 101)
        self.assertEqual(conn.read_json(), {"op": "pong", "id": "early"})
        subscribed = conn.read_json()
        self.assertEqual(subscribed["op"], "subscribed")
        status, ev = d.post("/v1/events", {"type": "raw.one", "data": {"n": 1}})
        self.assertEqual(status, 201, ev)
        got = conn.read_json()
        self.assertEqual(got, {"op": "event", "sub": "s", "event": ev})
        conn.close()

    def test_gap_when_the_position_was_pruned(self):
        d = self.start_daemon("--events-max", "10")
        for i in range(30):
            self.assertEqual(d.post("/v1/events", {"type": "raw.gap", "data": {"i": i}})[0], 201)

        def pruned():
            status, page = d.get("/v1/events?limit=1")
            return page if status == 200 and page["first"] > 1 else None

        page = harness.wait_until(pruned, 10, "retention pruning the oldest events")
        status, _, conn = handshake(d)
        self.assertEqual(status, 101)
        conn.send(frame(TEXT, json.dumps({"op": "subscribe", "id": "old", "after": 0})))
        self.assertEqual(conn.read_json(), {"op": "subscribed", "id": "old", "after": 0})
        gap = conn.read_json()
        self.assertEqual(gap["op"], "gap")
        self.assertEqual(gap["sub"], "old")
        self.assertGreaterEqual(gap["first_available"], page["first"])
        event = conn.read_json()  # then on from the first event kept
        self.assertEqual(event["op"], "event")
        self.assertGreaterEqual(int(event["event"]["id"]), gap["first_available"])
        conn.close()

    def test_silence_brings_a_ping_and_no_answer_a_close(self):
        """30 s without a frame from the client: a ping; 30 s more without: closed (1001)."""
        d = self.start_daemon()
        status, _, conn = handshake(d)
        self.assertEqual(status, 101)
        conn.send(frame(TEXT, '{"op":"ping"}'))
        self.assertEqual(conn.read_json(), {"op": "pong"})
        conn.sock.settimeout(50)
        started = time.monotonic()
        self.assertEqual(conn.read_frame()[1], PING)
        self.assertGreaterEqual(time.monotonic() - started, 25)
        started = time.monotonic()
        fin, opcode, payload = conn.read_frame()  # not answered
        self.assertEqual(opcode, CLOSE)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1001)
        self.assertGreaterEqual(time.monotonic() - started, 25)
        self.assertTrue(conn.at_eof())
        conn.close()

    def test_unmasked_frame_is_a_protocol_error(self):
        d = self.start_daemon()
        status, _, conn = handshake(d)
        self.assertEqual(status, 101)
        conn.send(frame(TEXT, '{"op":"ping"}', masked=False))
        fin, opcode, payload = conn.read_frame()
        self.assertEqual(opcode, CLOSE)
        self.assertEqual(struct.unpack("!H", payload[:2])[0], 1002)
        self.assertTrue(conn.at_eof())
        conn.close()

    def test_tcp_needs_the_admin_token(self):
        d = self.start_daemon("--listen", "127.0.0.1:0", "--admin-token", "ws-token")
        d.wait_tcp_port()
        status, headers, conn = handshake(d, via="tcp")
        self.assertEqual(status, 401)
        self.assertEqual(error_body(conn, headers)["error"]["code"], "unauthorized")
        conn.close()
        status, _, conn = handshake(d, via="tcp", token="ws-token")
        self.assertEqual(status, 101)
        conn.send(frame(TEXT, '{"op":"ping"}'))
        self.assertEqual(conn.read_json(), {"op": "pong"})
        conn.close()

    def test_stop_closes_connections_with_1001(self):
        d = self.start_daemon()
        conns = []
        for i in range(3):
            status, _, conn = handshake(d)
            self.assertEqual(status, 101)
            conn.send(frame(TEXT, json.dumps({"op": "subscribe", "id": "s%d" % i})))
            self.assertEqual(conn.read_json()["op"], "subscribed")
            conns.append(conn)
        started = time.monotonic()
        d.stop()
        self.assertLess(time.monotonic() - started, 5, "open WebSockets held the stop back")
        for conn in conns:
            fin, opcode, payload = conn.read_frame()
            self.assertEqual(opcode, CLOSE)
            self.assertEqual(struct.unpack("!H", payload[:2])[0], 1001)
            self.assertTrue(conn.at_eof())
            conn.close()


if __name__ == "__main__":
    harness.main()
