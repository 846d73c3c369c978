#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# cold_start.sh [ROUNDS] - cold start of a managed agent: a swarm scaled to zero (scale
# {min: 0}) whose agent also stops after 200 ms idle; each round waits until no agent
# runs, then times submit -> succeeded (the agent process is started for the task), then
# the same for a second task while the agent is warm. Uses bench/noop_agent.c (no
# sandbox). Prints medians and maxima.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-20}
work=$(mktemp -d /tmp/swarmd-cold.XXXXXX)
cc -O2 -o "$work/noop_agent" bench/noop_agent.c
(cd "$work" && exec "$OLDPWD/build/swarmd" --home "$work/.swarm" --log-level warn 2>"$work/log") &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
sock=$work/.swarm/swarm.sock
for _ in $(seq 200); do curl -fs --unix-socket "$sock" http://x/ready >/dev/null 2>&1 && break; sleep 0.01; done
curl -fs --unix-socket "$sock" -X PUT http://x/v1/templates/n \
    -d "{\"command\":[\"$work/noop_agent\"],\"capabilities\":[\"noop\"],\"idle_timeout\":\"200ms\"}" >/dev/null
curl -fs --unix-socket "$sock" -X PUT http://x/v1/swarms/z -d '{"template":"n","scale":{"min":0,"max":1}}' >/dev/null
SOCK=$sock ROUNDS=$rounds python3 - <<'PY'
import json, os, socket, time
SOCK = os.environ["SOCK"]
def req(method, path, body=None):
    s = socket.socket(socket.AF_UNIX); s.connect(SOCK)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (method, path, len(data))).encode() + data)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return json.loads(buf.split(b"\r\n\r\n", 1)[1])
def run_one():
    t0 = time.perf_counter()
    t = req("POST", "/v1/tasks", {"capability": "noop"})
    done = req("GET", "/v1/tasks/%s?wait_ms=5000" % t["id"])
    assert done["state"] == "succeeded", done
    return (time.perf_counter() - t0) * 1000
cold, warm = [], []
for _ in range(int(os.environ["ROUNDS"])):
    deadline = time.time() + 5  # bounded wait for the agent to rest
    while time.time() < deadline and not all(a["state"] == "stopped" for a in req("GET", "/v1/swarms/z")["agents"]):
        time.sleep(0.02)
    cold.append(run_one())
    warm.append(run_one())
cold.sort(); warm.sort()
print("RESULT mode=cold_start rounds=%d cold_p50_ms=%.1f cold_max_ms=%.1f warm_p50_ms=%.1f warm_max_ms=%.1f"
      % (len(cold), cold[len(cold) // 2], cold[-1], warm[len(warm) // 2], warm[-1]))
PY
