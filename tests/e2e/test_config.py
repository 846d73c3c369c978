# SPDX-License-Identifier: MIT
# test_config.py - how swarmd takes its configuration. `--help` prints the option table
# and exits 0; a bad value (or an unknown option) stops start-up with exit status 2 and
# a message naming the option; a `key = value` file given with --config is applied,
# flags override it, a bad value in it is refused by name; SWARM_HOME picks the home
# when --home is not given.

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Agent  # noqa: E402

OPTIONS = ["--home", "--listen", "--admin-token", "--heartbeat", "--lease", "--sync",
           "--max-payload", "--log-level", "--config"]


class ConfigTest(harness.DaemonTestCase):
    def tempdir(self):
        path = tempfile.mkdtemp(prefix="swe2e-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def run_swarmd(self, *args, env=None):
        full_env = dict(os.environ)
        for name in ("SWARM_HOME", "SWARMD_ADMIN_TOKEN"):
            full_env.pop(name, None)
        full_env.update(env or {})
        proc = subprocess.run([harness.swarmd_bin()] + list(args), env=full_env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=20,
                              cwd=self.tempdir())
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, out + err)
        return proc.returncode, out, err

    def test_help(self):
        rc, out, err = self.run_swarmd("--help")
        self.assertEqual(rc, 0, err)
        for option in OPTIONS:
            self.assertIn(option, out, "--help does not list %s" % option)
        for choice in ("full", "normal", "off"):
            self.assertIn(choice, out, "--help does not show the --sync choices")

    def test_bad_values_exit_2(self):
        home = self.tempdir()
        cases = [
            (["--heartbeat", "abc"], "heartbeat"),
            (["--lease", "-5s"], "lease"),
            (["--sync", "sometimes"], "sync"),
            (["--max-payload", "lots"], "max-payload"),
            (["--log-level", "chatty"], "log-level"),
            (["--listen", "127.0.0.1:notaport"], "listen"),
            (["--frobnicate", "1"], "frobnicate"),
            (["--heartbeat"], "heartbeat"),
        ]
        for args, name in cases:
            with self.subTest(args=args):
                rc, out, err = self.run_swarmd("--home", home, *args)
                self.assertEqual(rc, 2, "swarmd %s exited %d: %s" % (args, rc, out + err))
                self.assertIn(name, out + err)
                self.assertFalse(os.path.exists(os.path.join(home, "swarm.sock")))

    def test_config_file(self):
        conf_dir = self.tempdir()
        conf = os.path.join(conf_dir, "swarmd.conf")
        with open(conf, "w") as f:
            f.write("# e2e configuration\n"
                    "heartbeat = 250ms\n"
                    "\n"
                    "lease = 1500ms\n"
                    "max-payload = 2KiB\n")
        d = self.start_daemon("--config", conf)
        agent = Agent(d, "conf", ["c"])
        self.assertEqual(agent.heartbeat_ms, 250)
        self.assertEqual(agent.lease_ms, 1500)
        self.assertError(d.post("/v1/tasks", {"capability": "c", "payload": "p" * 3000}), 413,
                         "payload_too_large")
        d.submit("c", payload="p" * 1000)
        d.stop()

        # A flag wins over the file.
        d2 = self.start_daemon("--config", conf, "--lease", "2s")
        self.assertEqual(Agent(d2, "conf2", ["c"]).lease_ms, 2000)

    def test_bad_config_file(self):
        conf = os.path.join(self.tempdir(), "bad.conf")
        with open(conf, "w") as f:
            f.write("lease = 1500ms\nheartbeat = often\n")
        rc, out, err = self.run_swarmd("--home", self.tempdir(), "--config", conf)
        self.assertEqual(rc, 2, out + err)
        self.assertIn("heartbeat", out + err)
        rc, out, err = self.run_swarmd("--home", self.tempdir(), "--config",
                                       os.path.join(self.tempdir(), "missing.conf"))
        self.assertNotEqual(rc, 0, out + err)
        self.assertIn("missing.conf", out + err)

    def test_swarm_home_env(self):
        home = self.tempdir()
        d = self.start_daemon(home=home, home_flag=False, env={"SWARM_HOME": home})
        self.assertTrue(os.path.exists(os.path.join(home, "swarm.sock")))
        self.assertTrue(os.path.exists(os.path.join(home, "swarmd.db")))
        d.submit("c")
        d.restart()
        self.assertEqual(len(d.list_tasks()), 1)


if __name__ == "__main__":
    harness.main()
