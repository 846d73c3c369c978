#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# shared_agent.py - a stdio agent for test_agent_shared.py: at start it calls swarmd's
# memory.* and event.publish methods over its pipe, checking each answer, and records
# what it saw under memory key "report/<check>"; it watches namespace "jobs" and
# publishes a "demo.seen" event for every change it is told of.
import json
import sys

next_id = [0]
pending = []  # messages read while waiting for an answer


def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def call(method, params):
    next_id[0] += 1
    my_id = next_id[0]
    send({"jsonrpc": "2.0", "id": my_id, "method": method, "params": params})
    while True:
        msg = json.loads(sys.stdin.readline())
        if msg.get("id") == my_id and "method" not in msg:
            return msg
        pending.append(msg)


def report(name, ok, detail=None):
    call("memory.put", {"ns": "report", "key": name, "value": {"ok": bool(ok), "detail": detail}})


r = call("memory.put", {"ns": "global", "key": "agent/k", "value": {"n": 1}})
report("put", r.get("result", {}).get("version") == 1, r)
r = call("memory.put", {"ns": "global", "key": "agent/k", "value": {"n": 2}, "expect_version": 7})
report("cas_conflict", r.get("error", {}).get("data", {}).get("code") == "conflict"
       and r["error"]["data"]["current"]["version"] == 1, r)
r = call("memory.get", {"ns": "global", "key": "agent/k"})
report("get", r.get("result", {}).get("value") == {"n": 1}, r)
r = call("memory.txn", {"ops": [{"op": "check", "ns": "global", "key": "agent/k", "expect_version": 1},
                                {"op": "put", "ns": "global", "key": "agent/t", "value": True}]})
report("txn", len(r.get("result", {}).get("results", [])) == 2, r)
r = call("memory.list", {"ns": "global", "prefix": "agent/"})
report("list", [e["key"] for e in r.get("result", {}).get("items", [])] == ["agent/k", "agent/t"], r)
r = call("memory.delete", {"ns": "global", "key": "agent/t"})
report("delete", r.get("result", {}).get("deleted") is True, r)
r = call("memory.get", {"ns": "Bad NS", "key": "x"})
report("bad_ns", r.get("error", {}).get("data", {}).get("field") == "ns", r)
r = call("event.publish", {"type": "demo.hello", "subject": "hi", "data": {"from": "agent"}})
report("publish", isinstance(r.get("result", {}).get("id"), int), r)
r = call("event.publish", {"type": "swarmd.fake"})
report("publish_reserved", "error" in r, r)
r = call("memory.watch", {"ns": "jobs", "prefix": "q/"})
report("watch", r.get("result", {}).get("watch", "").startswith("w"), r)
report("ready", True)


def handle(msg):
    if msg.get("method") == "memory.changed":
        change = msg["params"]["change"]
        call("event.publish", {"type": "demo.seen", "subject": change["key"],
                               "data": {"op": change["op"], "value": change.get("value")}})
    elif msg.get("method") == "task.run":
        send({"jsonrpc": "2.0", "id": msg["id"], "result": msg["params"].get("payload")})
    elif "method" in msg and "id" in msg:
        send({"jsonrpc": "2.0", "id": msg["id"], "result": "pong"})


while True:
    while pending:
        handle(pending.pop(0))
    line = sys.stdin.readline()
    if not line:
        break
    handle(json.loads(line))
