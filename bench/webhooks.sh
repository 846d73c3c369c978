#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# webhooks.sh [N] [WEBHOOKS] - webhook delivery rate: N events (default 20000) are
# published through POST /v1/events (8 keep-alive connections) while the local receiver
# holds the first delivery of each webhook (default 1) unanswered, so a backlog of N
# builds; then the receiver answers everything at once and the time to drain the
# backlog gives deliveries/s (per webhook and in total). The receiver is a small
# asyncio HTTP/1.1 server that checks every signature, and that each webhook gets the
# events in order with none missing. Daemon: $SWARMD, else build-bench/swarmd, else
# build/swarmd.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20000}
hooks=${2:-1}
swarmd=${SWARMD:-}
[ -n "$swarmd" ] || { [ -x build-bench/swarmd ] && swarmd=build-bench/swarmd; } || swarmd=build/swarmd
swarmd=$(realpath "$swarmd")
work=$(mktemp -d /tmp/swarmd-webhooks.XXXXXX)
(cd "$work" && SWARMD_WEBHOOK_RETRY_MS=10 exec "$swarmd" --home "$work/.swarm" --log-level warn \
    2>"$work/log") &
pid=$!
rpid=
trap 'kill $pid $rpid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
sock=$work/.swarm/swarm.sock
for _ in $(seq 500); do curl -fs --unix-socket "$sock" http://x/ready >/dev/null 2>&1 && break; sleep 0.01; done

# The receiver: holds requests until $work/release exists (at most 8 s: the daemon's
# timeout is 10 s), then answers 200 at once; prints the drain time when every webhook
# has N events.
WORK=$work N=$n HOOKS=$hooks python3 - >"$work/receiver.out" 2>&1 <<'PY' &
import asyncio, hashlib, hmac, os, time
WORK, N, HOOKS = os.environ["WORK"], int(os.environ["N"]), int(os.environ["HOOKS"])
SECRET = b"bench-secret-0123456789"
got = {}  # path -> last event id
state = {"released": None, "bad": 0}
done = asyncio.Event()

async def released():
    deadline = time.monotonic() + 8
    while state["released"] is None:
        if os.path.exists(WORK + "/release") or time.monotonic() > deadline:
            state["released"] = time.monotonic()
            break
        await asyncio.sleep(0.001)

async def serve(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            path = lines[0].split(" ")[1]
            h = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
            body = await reader.readexactly(int(h["content-length"]))
            await released()
            mac = hmac.new(SECRET, h["x-swarm-timestamp"].encode() + b"." + body, hashlib.sha256)
            if h["x-swarm-signature"] != "sha256=" + mac.hexdigest():
                state["bad"] += 1
            seq, last = int(h["x-swarm-event-id"]), got.get(path)
            if last is not None and seq != last + 1:
                state["bad"] += 1
            got[path] = seq
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            if len(got) == HOOKS and all(v == N for v in got.values()):
                done.set()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()

async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    with open(WORK + "/port.tmp", "w") as f:
        f.write(str(server.sockets[0].getsockname()[1]))
    os.rename(WORK + "/port.tmp", WORK + "/port")
    await done.wait()
    secs = time.monotonic() - state["released"]
    print("RESULT mode=webhooks events=%d webhooks=%d drain_s=%.3f deliveries_per_s=%.0f "
          "per_webhook_per_s=%.0f bad=%d" % (N, HOOKS, secs, N * HOOKS / secs, N / secs, state["bad"]),
          flush=True)
    os._exit(0)  # the daemon's keep-alive connections stay open: no orderly teardown

asyncio.run(main())
PY
rpid=$!
for _ in $(seq 500); do [ -f "$work/port" ] && break; sleep 0.01; done
port=$(cat "$work/port")
for i in $(seq "$hooks"); do
    curl -fs --unix-socket "$sock" -X POST http://x/v1/webhooks \
        -d "{\"url\":\"http://127.0.0.1:$port/h$i\",\"secret\":\"bench-secret-0123456789\",\"types\":[\"bench.*\"]}" \
        >/dev/null
done

SOCK=$sock N=$n python3 - <<'PY'
import http.client, json, os, socket, threading, time
SOCK, N = os.environ["SOCK"], int(os.environ["N"])

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(SOCK)

def publish(count):
    c = Conn("x")
    body = json.dumps({"type": "bench.tick", "data": {"pad": "x" * 64}})
    for _ in range(count):
        c.request("POST", "/v1/events", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        assert r.status == 201, r.status

t0 = time.monotonic()
threads = [threading.Thread(target=publish, args=(N // 8 + (i < N % 8),)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
secs = time.monotonic() - t0
print("RESULT mode=publish events=%d s=%.3f events_per_s=%.0f" % (N, secs, N / secs))
PY
touch "$work/release"
wait $rpid || true
rpid=
cat "$work/receiver.out"
