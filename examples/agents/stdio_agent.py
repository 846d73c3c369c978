#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""stdio_agent.py - a complete stdio agent for swarmd, Python standard library only.

swarmd starts it (template mode: stdio) and speaks JSON-RPC 2.0 with it, one JSON object
per line: swarmd calls task.run with the task as params; the agent answers with a
result (or a JSON-RPC error to fail the attempt). The agent may call swarmd back on the
same pipe (task.submit, task.get, task.progress, log); answers to its calls come back
on stdin with the id it chose. Capabilities served here: echo, upper, sum, sleep, fail.
"""
import json
import sys
import threading
import time

out_lock = threading.Lock()
next_id = [0]


def send(msg):
    with out_lock:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()


def call(method, params):
    """A call to swarmd whose answer we do not wait for (answers arrive on stdin)."""
    next_id[0] += 1
    send({"jsonrpc": "2.0", "id": "agent-%d" % next_id[0], "method": method, "params": params})


def run(task):
    cap, payload = task["capability"].split("@")[0], task.get("payload")
    if cap == "echo":
        return payload
    if cap == "upper":
        return {"text": str((payload or {}).get("text", "")).upper()}
    if cap == "sum":
        return {"sum": sum((payload or {}).get("numbers", []))}
    if cap == "sleep":
        ms = int((payload or {}).get("ms", 100))
        call("task.progress", {"id": task["id"], "progress": {"percent": 0}})
        time.sleep(ms / 1000.0)
        return {"slept_ms": ms}
    if cap == "fail":
        raise RuntimeError("asked to fail")
    raise RuntimeError("no handler for " + cap)


def handle(msg):
    if msg.get("method") == "task.run":
        task = msg["params"]
        try:
            send({"jsonrpc": "2.0", "id": msg["id"], "result": run(task)})
        except Exception as e:  # the attempt fails; swarmd retries per the task's policy
            send({"jsonrpc": "2.0", "id": msg["id"],
                  "error": {"code": 1, "message": str(e)}})
    elif msg.get("method") == "task.cancel":
        sys.stderr.write("cancelled %s\n" % msg["params"]["id"])
    elif msg.get("method") == "ping":
        send({"jsonrpc": "2.0", "id": msg.get("id"), "result": "pong"})
    # answers to our own calls ("result"/"error" with our ids) need no action here


def main():
    sys.stderr.write("stdio agent up\n")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        threading.Thread(target=handle, args=(msg,), daemon=True).start()


if __name__ == "__main__":
    main()
