# SPDX-License-Identifier: MIT
# test_breaker.py - agents' circuit breakers with two remote agents on one capability,
# one of which fails every task: after 5 failures in a row its breaker opens (agent JSON,
# an swarmd.agent.breaker event, the metrics, the BREAKER column of `swarm agent ls`) and
# the healthy agent takes all the work, while a task whose only provider is open waits
# queued; after the cool-down (short here, by option) the breaker is half-open and a
# waiting lease gets exactly one trial task though the agent has two free slots; the
# trial failing opens it again for twice the cool-down; the next trial succeeding closes
# it and the agent takes work at full width again. With both rules off, failures never
# open a breaker.

import datetime
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent, metric_sum, wait_until  # noqa: E402

COOLDOWN_MS = 3000
NO_BACKOFF = {"initial_ms": 0, "max_ms": 0, "multiplier": 1}


def wall_ms():
    return int(time.time() * 1000)


def parse_time_ms(text):
    """Milliseconds since the epoch of an RFC 3339 UTC time with milliseconds."""
    stamp = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(stamp.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


class BreakerTest(harness.DaemonTestCase):
    def breaker(self, agent):
        status, body = self.d.get("/v1/agents/" + agent.id)
        self.assertEqual(status, 200, body)
        return body["breaker"]

    def breaker_events(self):
        status, page = self.d.get("/v1/events?after=0&type=swarmd.agent.breaker")
        self.assertEqual(status, 200, page)
        return page["events"]

    def fail_all(self, agent, n):
        """agent leases n tasks one by one and fails each."""
        for _ in range(n):
            task = agent.lease_one()
            status, body = agent.fail(task, "cannot resize")
            self.assertEqual(status, 200, body)

    def complete_all(self, agent):
        """agent leases and completes tasks until none is left; returns their ids."""
        done = []
        while True:
            tasks = agent.leased(2, wait_ms=0)
            if not tasks:
                return done
            for task in tasks:
                status, body = agent.complete(task, {"by": "good"})
                self.assertEqual(status, 200, body)
                done.append(task["id"])

    def test_failing_agent_trips_and_recovers(self):
        self.d = d = self.start_daemon("--breaker-cooldown", "%dms" % COOLDOWN_MS,
                                       "--breaker-max-cooldown", "%dms" % (4 * COOLDOWN_MS))
        bad = Agent(d, "bad", ["resize"], slots=2)
        good = Agent(d, "good", ["resize"], slots=2)
        closed = self.breaker(bad)
        self.assertEqual(closed["state"], "closed")
        self.assertEqual(closed["trips"], 0)
        self.assertIsNone(closed["opened_at"])

        # Five failures in a row open the bad agent's breaker.
        first = [d.submit("resize", max_attempts=50, backoff=NO_BACKOFF)["id"] for _ in range(4)]
        self.fail_all(bad, 4)
        self.assertEqual(self.breaker(bad)["state"], "closed")
        self.assertEqual(self.breaker(bad)["consecutive_failures"], 4)
        first.append(d.submit("resize", max_attempts=50, backoff=NO_BACKOFF)["id"])
        self.fail_all(bad, 1)
        opened = self.breaker(bad)
        self.assertEqual(opened["state"], "open", opened)
        self.assertEqual(opened["reason"], "consecutive_failures")
        self.assertEqual(opened["consecutive_failures"], 5)
        self.assertEqual(opened["trips"], 1)
        self.assertEqual(opened["cooldown_ms"], COOLDOWN_MS)
        self.assertEqual(parse_time_ms(opened["half_open_at"]) - parse_time_ms(opened["opened_at"]),
                         COOLDOWN_MS)

        # Open: the bad agent gets nothing, the healthy one takes every task.
        self.assertEqual(bad.leased(2, wait_ms=0), [])
        more = [d.submit("resize", max_attempts=50, backoff=NO_BACKOFF)["id"] for _ in range(3)]
        self.assertEqual(bad.leased(2, wait_ms=0), [])
        done = []

        def good_took_all():
            done.extend(self.complete_all(good))
            return len(done) >= 8

        wait_until(good_took_all, 10, "the healthy agent to take the 8 tasks")
        self.assertEqual(sorted(done), sorted(first + more))
        self.assertEqual(bad.leased(2, wait_ms=0), [])
        self.assertLess(wall_ms(), parse_time_ms(opened["half_open_at"]),
                        "the open phase outlasted the cool-down: the checks above are void")
        for task_id in first + more:
            self.assertEqual(d.task(task_id)["state"], "succeeded")

        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_agent_breakers", state="open"), 1)
        self.assertEqual(metric_sum(m, "swarmd_agent_breakers", state="closed"), 1)
        self.assertEqual(metric_sum(m, "swarmd_breaker_trips_total"), 1)
        events = wait_until(self.breaker_events, 10, "the breaker event")
        self.assertEqual(events[0]["subject"], bad.id)
        self.assertEqual(events[0]["source"], "/agents/" + bad.id)
        self.assertEqual(events[0]["data"]["state"], "open")
        self.assertEqual(events[0]["data"]["reason"], "consecutive_failures")
        self.assertEqual(events[0]["data"]["name"], "bad")

        rc = subprocess.run([harness.swarm_bin(), "agent", "ls"], capture_output=True,
                            env=dict(os.environ, SWARM_URL="unix:" + d.socket_path),
                            stdin=subprocess.DEVNULL, timeout=30)
        self.assertEqual(rc.returncode, 0, rc.stderr)
        lines = rc.stdout.decode().splitlines()
        self.assertIn("BREAKER", lines[0])
        self.assertTrue([line for line in lines if " bad " in line and line.rstrip().endswith("open")],
                        rc.stdout)

        # Half-open after the cool-down: one trial for a waiting lease, though 2 slots
        # are free and 3 tasks wait. Only the bad agent leases now.
        waiting = [d.submit("resize", max_attempts=50, backoff=NO_BACKOFF)["id"] for _ in range(3)]
        for task_id in waiting:
            self.assertEqual(d.task(task_id)["state"], "queued")
        trial = bad.leased(2, wait_ms=COOLDOWN_MS + 10000)
        self.assertEqual(len(trial), 1, trial)
        self.assertGreaterEqual(wall_ms(), parse_time_ms(opened["half_open_at"]) - 5)
        half = self.breaker(bad)
        self.assertEqual(half["state"], "half_open")
        self.assertEqual(half["reason"], "cooldown_over")
        self.assertEqual(bad.leased(2, wait_ms=0), [], "a second task while the trial runs")

        # The trial fails: open again, for twice the cool-down.
        status, body = bad.fail(trial[0], "still broken")
        self.assertEqual(status, 200, body)
        reopened = self.breaker(bad)
        self.assertEqual(reopened["state"], "open")
        self.assertEqual(reopened["reason"], "trial_failed")
        self.assertEqual(reopened["cooldown_ms"], 2 * COOLDOWN_MS)
        self.assertEqual(reopened["trips"], 2)
        self.assertEqual(bad.leased(2, wait_ms=0), [])

        # The next trial succeeds: closed, and the agent takes two at a time again.
        trial = bad.leased(2, wait_ms=2 * COOLDOWN_MS + 10000)
        self.assertEqual(len(trial), 1, trial)
        self.assertGreaterEqual(wall_ms(), parse_time_ms(reopened["half_open_at"]) - 5)
        status, body = bad.complete(trial[0], {"by": "bad"})
        self.assertEqual(status, 200, body)
        self.assertEqual(self.breaker(bad)["state"], "closed")
        self.assertEqual(self.breaker(bad)["reason"], "trial_succeeded")
        self.assertEqual(len(bad.leased(2, wait_ms=0)), 2)

        states = wait_until(lambda: (lambda evs: [e["data"]["state"] for e in evs]
                                     if len(evs) >= 5 else None)(self.breaker_events()),
                            10, "five breaker events")
        self.assertEqual(states, ["open", "half_open", "open", "half_open", "closed"])
        m = d.metrics()
        self.assertEqual(metric_sum(m, "swarmd_agent_breakers", state="closed"), 2)
        self.assertEqual(metric_sum(m, "swarmd_breaker_trips_total"), 2)

    def test_rules_off(self):
        self.d = d = self.start_daemon("--breaker-failures", "0", "--breaker-rate", "0")
        agent = Agent(d, "flaky", ["resize"])
        for _ in range(12):
            d.submit("resize", max_attempts=1)
        self.fail_all(agent, 12)
        got = self.breaker(agent)
        self.assertEqual(got["state"], "closed")
        self.assertEqual(got["consecutive_failures"], 12)
        self.assertEqual(got["recent_failures"], 12)
        self.assertEqual(got["recent_outcomes"], 12)
        d.submit("resize")
        self.assertEqual(len(agent.leased(1, wait_ms=0)), 1)

    def test_bad_options(self):
        for args in (["--breaker-window", "65"], ["--breaker-rate", "101"],
                     ["--breaker-cooldown", "5"], ["--rate-limit", "-1"]):
            d = harness.Daemon(*args, start=False)
            self.addCleanup(d.close)
            proc = subprocess.run(d.command(), capture_output=True, env=d.environment(),
                                  stdin=subprocess.DEVNULL, timeout=30)
            self.assertEqual(proc.returncode, 2, args)
            self.assertIn(args[0], proc.stderr.decode(), args)


if __name__ == "__main__":
    harness.main()
