#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# routing.py - what routing costs at submit: a swarm tree root -> east -> east-a and
# root -> west -> west-a (no managed agents), an agent of east-a submitting over one
# keep-alive connection, alternately, a task its own swarm serves (route [east-a]) and a
# task only west-a serves (routed across the tree: east-a, east, root, west, west-a).
# Prints RESULT lines: submit latency p50/p99 of each and the difference of medians.
# usage: routing.py SOCKET [N]
import http.client
import json
import socket
import sys
import time


class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(conn, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    conn.request(method, path, json.dumps(body) if body is not None else None, headers)
    r = conn.getresponse()
    data = r.read()
    return r.status, json.loads(data) if data else None


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    sock, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    c = Unix(sock)
    call(c, "PUT", "/v1/templates/idle", {"command": ["true"], "capabilities": ["idle"]})
    for name, parent in (("root", None), ("east", "root"), ("west", "root"),
                         ("east-a", "east"), ("west-a", "west")):
        spec = {"template": "idle", "replicas": 0}
        if parent:
            spec["parent"] = parent
        status, body = call(c, "PUT", "/v1/swarms/" + name, spec)
        assert status in (200, 201), body
    agents = {}
    for name, caps, swarm in (("leaf", ["local"], "east-a"), ("far", ["render"], "west-a")):
        status, body = call(c, "POST", "/v1/agents",
                            {"name": name, "capabilities": caps, "swarm": swarm})
        assert status == 201, body
        agents[name] = body["token"]
    token = agents["leaf"]
    own, across = [], []
    for i in range(n):
        for cap, out, want in (("local", own, 1), ("render", across, 5)):
            t0 = time.perf_counter()
            status, task = call(c, "POST", "/v1/tasks", {"capability": cap}, token)
            out.append((time.perf_counter() - t0) * 1e6)
            assert status == 201 and len(task["route"]) == want, (status, task)
    for name, lat in (("own_swarm", own), ("across_tree", across)):
        print("RESULT case=%s n=%d p50_us=%.0f p99_us=%.0f" % (name, n, pct(lat, 0.5),
                                                               pct(lat, 0.99)))
    print("RESULT case=difference p50_us=%.0f p99_us=%.0f" %
          (pct(across, 0.5) - pct(own, 0.5), pct(across, 0.99) - pct(own, 0.99)))


if __name__ == "__main__":
    main()
