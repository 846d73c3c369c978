# SPDX-License-Identifier: MIT
# test_logs.py - the daemon's log: one logfmt line per event with ts, level and sub(system),
# a req=<id> field on lines written while a request is handled, level filtering, and
# SIGHUP reopening --log-file (as log rotation does: rename the file, send SIGHUP, new
# lines go to a new file at the original path). Also: /metrics over TCP with an admin
# token needs the token, and counts HTTP requests by route and status.

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

LOGFMT = re.compile(r'^ts=\S+Z level=(error|warn|info|debug) sub=[a-z]+ ')


class LogTest(harness.DaemonTestCase):
    def test_sighup_reopens_log_file(self):
        d = self.start_daemon("--log-level", "debug", start=False)
        log = os.path.join(d.home, "swarmd.log")
        d.args += ("--log-file", log)
        d.start()
        d.submit("logs.one")
        wait_until(lambda: os.path.exists(log) and "msg=\"ready\"" in open(log).read(), 5,
                   "the ready line in the log file")
        lines = open(log).read().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, LOGFMT)
        self.assertTrue([l for l in lines if re.search(r' req=\d+ ', l)],
                        "no line carries a request id")

        os.rename(log, log + ".1")
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_until(lambda: os.path.exists(log), 5, "a new log file after SIGHUP")
        d.submit("logs.two")
        wait_until(lambda: "logs.two" in open(log).read() or "POST" in open(log).read(), 5,
                   "request lines in the new log file")
        self.assertIn("logs reopened", open(log).read())
        self.assertNotIn("logs reopened", open(log + ".1").read())

    def test_level_filter(self):
        d = self.start_daemon("--log-level", "warn")
        d.submit("logs.quiet")
        d.stop()
        self.assertNotIn("level=info", d.stderr_text())
        self.assertNotIn("level=debug", d.stderr_text())

    def test_metrics_need_admin_token_on_tcp(self):
        d = self.start_daemon("--listen", "127.0.0.1:0", "--admin-token", "m-token")
        d.wait_tcp_port()
        d.submit("logs.metric")
        status, _ = d.get("/metrics", via="tcp", token="")
        self.assertEqual(status, 401)
        r = d.request("GET", "/metrics", via="tcp", token="m-token")
        self.assertEqual(r.status, 200)
        samples = harness.parse_metrics(r.text)
        self.assertGreaterEqual(harness.metric_sum(samples, "swarmd_http_requests_total",
                                                   route="/v1/tasks", status="201"), 1)
        self.assertEqual(harness.metric_sum(samples, "swarmd_tasks", state="queued",
                                            capability="logs.metric"), 1)


if __name__ == "__main__":
    harness.main()
