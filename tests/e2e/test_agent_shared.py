# SPDX-License-Identifier: MIT
# test_agent_shared.py - a stdio agent using the shared memory and the event bus over
# its JSON-RPC pipe (memory.get|put|delete|list|txn|watch, event.publish): each call's
# answer is checked by the agent and reported back through memory; its watch tells it
# of changes made over HTTP, which it answers with events of its own.

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agents", "shared_agent.py")
CHECKS = ["put", "cas_conflict", "get", "txn", "list", "delete", "bad_ns", "publish",
          "publish_reserved", "watch"]


class AgentSharedTest(harness.DaemonTestCase):
    def test_stdio_agent_memory_and_events(self):
        d = self.start_daemon()
        status, body = d.call("PUT", "/v1/templates/shared",
                              {"command": [sys.executable, AGENT], "mode": "stdio",
                               "capabilities": ["shared.echo"]})
        self.assertIn(status, (200, 201), body)
        status, body = d.call("PUT", "/v1/swarms/mem", {"template": "shared", "replicas": 1})
        self.assertEqual(status, 201, body)
        wait_until(lambda: d.get("/v1/memory/report/ready")[0] == 200, 20, "the agent's checks")
        for name in CHECKS:
            status, e = d.get("/v1/memory/report/" + name)
            self.assertEqual(status, 200, name)
            self.assertTrue(e["value"]["ok"], (name, e["value"]["detail"]))
        agent_id = d.get("/v1/swarms/mem")[1]["agents"][0]["id"]
        hello = d.get("/v1/events?after=0&type=demo.hello")[1]["events"]
        self.assertEqual(len(hello), 1)
        self.assertEqual(hello[0]["source"], "/agents/" + agent_id)
        self.assertEqual(hello[0]["data"], {"from": "agent"})
        written = d.get("/v1/events?after=0&type=swarmd.memory.written&subject=global/agent/k")
        self.assertEqual(written[1]["events"][0]["source"], "/agents/" + agent_id)
        # changes made over HTTP reach the agent's watch, in order
        for i in range(3):
            d.call("PUT", "/v1/memory/jobs/q/%d" % i, {"value": i})
        d.call("PUT", "/v1/memory/jobs/elsewhere", {"value": "not watched"})
        d.delete("/v1/memory/jobs/q/0")

        def seen():
            evs = d.get("/v1/events?after=0&type=demo.seen")[1]["events"]
            return evs if len(evs) >= 4 else None
        evs = wait_until(seen, 10, "the agent to see 4 changes")
        self.assertEqual([(e["subject"], e["data"]["op"]) for e in evs],
                         [("q/0", "put"), ("q/1", "put"), ("q/2", "put"), ("q/0", "delete")])


if __name__ == "__main__":
    harness.main()
