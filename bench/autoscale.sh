#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# autoscale.sh [ROUNDS] - autoscaler reaction: time from a queue burst to the first new
# agent ready (target < 1 s), two ways, each round on a swarm brought back to rest first:
#   zero:  a swarm at zero (scale {min: 0}) of bench/noop_agent.c agents; burst of 20
#          tasks -> the first agent up (its swarmd.agent.ready event, or .busy when it took
#          a task in the same loop turn), and -> the first task succeeded (the process is
#          up and answering);
#   grow:  a swarm of one examples/agents/stdio_agent.py agent at rest (scale {min: 1},
#          scale_up_after 0): burst of 16 `sleep` tasks of 3 s -> the autoscaler's decision
#          (its "at"), the first new agent up (all the new agents are spawned in that loop
#          turn), and the first task leased by a new agent.
# Times are wall-clock milliseconds from just before the first submit to the daemon's
# event time (same machine, same clock). Prints each round, then medians and maxima.
# SWARMD: the daemon (default build-bench/swarmd, else build/swarmd).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
if [ -z "${SWARMD:-}" ]; then
    for b in build-bench build; do
        if [ -x "$PWD/$b/swarmd" ]; then SWARMD=$PWD/$b/swarmd; break; fi
    done
fi
[ -x "${SWARMD:-}" ] || { echo "no swarmd: build it or set SWARMD" >&2; exit 1; }
work=$(mktemp -d /tmp/swarmd-autoscale.XXXXXX)
cc -O2 -o "$work/noop_agent" bench/noop_agent.c
(cd "$work" && exec "$SWARMD" --home "$work/.swarm" --log-level warn 2>"$work/log") &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
sock=$work/.swarm/swarm.sock
for _ in $(seq 500); do curl -fs --unix-socket "$sock" http://x/ready >/dev/null 2>&1 && break; sleep 0.01; done
SOCK=$sock ROUNDS=$rounds NOOP=$work/noop_agent PYAGENT=$PWD/examples/agents/stdio_agent.py \
    python3 - <<'PY'
import calendar, json, os, socket, sys, time

SOCK, ROUNDS = os.environ["SOCK"], int(os.environ["ROUNDS"])

def req(method, path, body=None):
    s = socket.socket(socket.AF_UNIX)
    s.connect(SOCK)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (method, path, len(data))).encode() + data)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return json.loads(buf.split(b"\r\n\r\n", 1)[1])

def wait_for(pred, what, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.005)
    sys.exit("timed out waiting for " + what)

def event_ms(ev):
    t = ev["time"]  # 2026-11-23T16:00:00.123Z
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1000 + int(t[20:23])

def last_seq():
    return req("GET", "/v1/events?limit=1")["last"]

def first_event(after, type_, pred, what):
    def find():
        evs = req("GET", "/v1/events?after=%d&limit=1000&type=%s" % (after, type_))["events"]
        return next((e for e in evs if pred(e)), None)
    return wait_for(find, what)

def is_up(e):
    # an agent that takes a task in the turn it comes up is told as busy, not ready
    return e["type"] in ("swarmd.agent.ready", "swarmd.agent.busy")

def up(swarm):
    return [a for a in req("GET", "/v1/swarms/" + swarm)["agents"] if a["state"] in ("ready", "busy")]

def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

req("PUT", "/v1/templates/noop", {"command": [os.environ["NOOP"]], "capabilities": ["noop"]})
req("PUT", "/v1/swarms/zero", {"template": "noop", "scale": {
    "min": 0, "max": 8, "scale_up_after": 0, "scale_down_after": "300ms"}})
req("PUT", "/v1/templates/py", {"command": [sys.executable, os.environ["PYAGENT"]],
                                "capabilities": ["sleep"]})
req("PUT", "/v1/swarms/grow", {"template": "py", "scale": {
    "min": 1, "max": 8, "scale_up_after": 0, "scale_down_after": "300ms"}})

zero_ready, zero_done, grow_ready, grow_leased, grow_decided = [], [], [], [], []
for r in range(ROUNDS):
    # zero -> first agent
    wait_for(lambda: req("GET", "/v1/swarms/zero")["agents"] == [], "zero to rest")
    after = last_seq()
    t0 = int(time.time() * 1000)
    ids = [req("POST", "/v1/tasks", {"capability": "noop"})["id"] for _ in range(20)]
    ready = first_event(after, "swarmd.agent.*",
                        lambda e: is_up(e) and e["data"].get("swarm") == "zero",
                        "an agent of zero up")
    done = first_event(after, "swarmd.task.succeeded", lambda e: e["data"]["id"] in ids,
                       "a task of the burst done")
    zero_ready.append(event_ms(ready) - t0)
    zero_done.append(event_ms(done) - t0)
    # one busy agent -> a second one
    wait_for(lambda: len(req("GET", "/v1/swarms/grow")["agents"]) == 1 and len(up("grow")) == 1,
             "grow to rest at one agent")
    first = up("grow")[0]["id"]
    after = last_seq()
    t0 = int(time.time() * 1000)
    ids = [req("POST", "/v1/tasks", {"capability": "sleep", "payload": {"ms": 3000}})["id"]
           for _ in range(16)]
    burst_ms = int(time.time() * 1000) - t0
    ready = first_event(after, "swarmd.agent.*",
                        lambda e: is_up(e) and e["data"].get("swarm") == "grow" and
                        e["data"]["id"] != first, "a new agent of grow up")
    leased = first_event(after, "swarmd.task.leased",
                         lambda e: e["data"]["id"] in ids and e["data"].get("agent") != first,
                         "a task leased by a new agent")
    grow_ready.append(event_ms(ready) - t0)
    grow_leased.append(event_ms(leased) - t0)
    ups = [d for d in req("GET", "/v1/swarms/grow/scaling")["decisions"]
           if d["to"] > d["from"] and event_ms({"time": d["at"]}) >= t0]
    grow_decided.append(event_ms({"time": ups[0]["at"]}) - t0)
    print("round %d: zero up %d ms, first done %d ms; grow decided %d ms, up %d ms, leased %d ms "
          "(the 16 submits took %d ms)" % (r + 1, zero_ready[-1], zero_done[-1], grow_decided[-1],
                                           grow_ready[-1], grow_leased[-1], burst_ms), flush=True)
    for i in ids:
        req("POST", "/v1/tasks/%s/cancel" % i, {})

print("RESULT mode=autoscale rounds=%d zero_ready_p50_ms=%d zero_ready_max_ms=%d "
      "zero_first_done_p50_ms=%d grow_decided_p50_ms=%d grow_ready_p50_ms=%d grow_ready_max_ms=%d "
      "grow_leased_p50_ms=%d grow_leased_max_ms=%d"
      % (ROUNDS, med(zero_ready), max(zero_ready), med(zero_done), med(grow_decided), med(grow_ready),
         max(grow_ready), med(grow_leased), max(grow_leased)))
PY
