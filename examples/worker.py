#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""worker.py - an example remote agent for swarmd, Python standard library only.

It registers itself (POST /v1/agents), then loops: lease tasks with a long poll
(POST /v1/agents/{id}/lease), run each one, and report it (POST /v1/tasks/{id}/complete
or /fail). A background thread heartbeats every heartbeat_ms so the daemon keeps its
leases alive and tells it about cancelled tasks. Capabilities it serves:

  echo      returns the payload as the result
  upper     {"text": "..."} -> {"text": "..."} upper-cased
  sum       {"numbers": [1, 2, 3]} -> {"sum": 6}
  sleep     {"ms": 500} sleeps, reporting progress, then returns {"slept_ms": 500}
  fail      always fails (retry: true unless the payload says {"retry": false})

Usage: worker.py [--name NAME] [--slots N] [--url URL] [--token T] [--once N]
The daemon is found as the swarm CLI finds it: --url or SWARM_URL ("unix:/path/swarm.sock"
or "http://host:port"), else the nearest .swarm/swarm.sock walking up from the current
directory, else $SWARM_HOME/swarm.sock.
"""
import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def find_daemon(url):
    url = url or os.environ.get("SWARM_URL")
    if url:
        return url
    d = os.getcwd()
    while True:
        candidate = os.path.join(d, ".swarm", "swarm.sock")
        if os.path.exists(candidate):
            return "unix:" + candidate
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    home = os.environ.get("SWARM_HOME")
    if home:
        return "unix:" + os.path.join(home, "swarm.sock")
    sys.exit("worker: no daemon found: start swarmd here, or pass --url / SWARM_URL")


class Client:
    """One keep-alive HTTP connection to the daemon (one per thread)."""

    def __init__(self, url, token=None):
        self.url, self.token, self.conn = url, token, None

    def _connect(self, timeout):
        if self.url.startswith("unix:"):
            return UnixHTTPConnection(self.url[5:], timeout)
        host = self.url.split("://", 1)[-1].rstrip("/")
        return http.client.HTTPConnection(host, timeout=timeout)

    def call(self, method, path, body=None, timeout=60):
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect(timeout)
            try:
                self.conn.timeout = timeout
                self.conn.request(method, path, body=data, headers=headers)
                resp = self.conn.getresponse()
                return resp.status, json.loads(resp.read() or b"null")
            except (ConnectionError, http.client.HTTPException, socket.timeout):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def run_task(task, progress):
    cap, payload = task["capability"], task.get("payload")
    if cap == "echo":
        return payload
    if cap == "upper":
        return {"text": str((payload or {}).get("text", "")).upper()}
    if cap == "sum":
        return {"sum": sum((payload or {}).get("numbers", []))}
    if cap == "sleep":
        ms = int((payload or {}).get("ms", 100))
        for step in range(10):
            time.sleep(ms / 10000.0)
            progress({"percent": (step + 1) * 10})
        return {"slept_ms": ms}
    if cap == "fail":
        raise TaskError("asked to fail", retry=(payload or {}).get("retry", True))
    raise TaskError("this worker has no handler for " + cap, retry=False)


class TaskError(Exception):
    def __init__(self, message, retry=True):
        super().__init__(message)
        self.retry = retry


def main():
    ap = argparse.ArgumentParser(description="example swarmd remote agent")
    ap.add_argument("--name", default="py-worker-%d" % os.getpid())
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--url")
    ap.add_argument("--token", default=os.environ.get("SWARM_TOKEN"))
    ap.add_argument("--capabilities", default="echo,upper,sum,sleep,fail")
    ap.add_argument("--once", type=int, default=0, help="exit after N tasks (0 = never)")
    args = ap.parse_args()

    url = find_daemon(args.url)
    admin = Client(url, args.token)
    status, reg = admin.call("POST", "/v1/agents", {
        "name": args.name, "capabilities": args.capabilities.split(","),
        "slots": args.slots, "replace": True})
    if status != 201:
        sys.exit("worker: register failed: %s %s" % (status, reg))
    agent_id, token = reg["id"], reg["token"]
    beat = reg["heartbeat_ms"] / 1000.0
    print("worker %s registered as %s (%s)" % (args.name, agent_id, url), flush=True)

    cancelled = set()
    stop = threading.Event()

    def heartbeat():
        hb = Client(url, token)
        while not stop.wait(beat):
            try:
                status, reply = hb.call("POST", "/v1/agents/%s/heartbeat" % agent_id, {})
                cancelled.update(reply.get("cancel", []) if status == 200 else [])
            except OSError:
                pass

    threading.Thread(target=heartbeat, daemon=True).start()
    me = Client(url, token)
    done = 0
    try:
        while not args.once or done < args.once:
            status, reply = me.call("POST", "/v1/agents/%s/lease" % agent_id,
                                    {"max": args.slots, "wait_ms": 20000}, timeout=30)
            if status != 200:
                sys.exit("worker: lease failed: %s %s" % (status, reply))
            cancelled.update(reply.get("cancel", []))
            for task in reply["tasks"]:
                done += 1
                report(me, task, cancelled)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        admin.call("DELETE", "/v1/agents/%s" % agent_id)


def report(client, task, cancelled):
    tid, lease = task["id"], task["lease_id"]

    def progress(p):
        client.call("POST", "/v1/tasks/%s/progress" % tid, {"lease_id": lease, "progress": p})

    try:
        result = run_task(task, progress)
        if tid in cancelled:
            return
        status, reply = client.call("POST", "/v1/tasks/%s/complete" % tid,
                                    {"lease_id": lease, "result": result})
        verdict = "done" if status == 200 else "refused (%s)" % reply["error"]["code"]
    except TaskError as e:
        client.call("POST", "/v1/tasks/%s/fail" % tid,
                    {"lease_id": lease, "error": {"message": str(e)}, "retry": e.retry})
        verdict = "failed: %s" % e
    print("  %s %-6s attempt %d: %s" % (tid, task["capability"], task["attempt"], verdict),
          flush=True)


if __name__ == "__main__":
    main()
