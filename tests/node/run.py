# SPDX-License-Identifier: MIT
# run.py - runs one Node test script (tests/node/*_test.mjs) against a real swarmd: starts
# the daemon in a temporary home through the e2e harness, runs
# `node SCRIPT SOCKET_PATH DAEMON_PID` (SWARMD_SANITIZED=1 in its environment when the
# daemon is an AddressSanitizer build), and fails when the script fails or the daemon does
# not stop cleanly (or reports a sanitizer error). Exits 77 (skipped) when node or the
# packages of tests/node (scripts/deps.sh installs them) are missing.
#
# Usage: python3 run.py SCRIPT.mjs [SWARMD OPTION...]

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
import harness  # noqa: E402

SCRIPT_TIMEOUT = 240


class NodeTest(harness.DaemonTestCase):
    script = None
    daemon_args = []

    def test_script(self):
        d = self.start_daemon(*self.daemon_args)
        env = dict(os.environ, SWARMD_SANITIZED="1" if harness.sanitized(d.binary) else "0")
        try:
            proc = subprocess.run(["node", os.path.join(HERE, self.script), d.socket_path,
                                   str(d.proc.pid)], cwd=HERE, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=SCRIPT_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            sys.stdout.write((exc.stdout or b"").decode("utf-8", "replace"))
            self.fail("%s did not finish within %ds" % (self.script, SCRIPT_TIMEOUT))
        sys.stdout.write(proc.stdout.decode("utf-8", "replace"))
        self.assertEqual(proc.returncode, 0, "%s failed (exit %d)" % (self.script, proc.returncode))


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: run.py SCRIPT.mjs [SWARMD OPTION...]\n")
        return 2
    NodeTest.script = sys.argv[1]
    NodeTest.daemon_args = sys.argv[2:]
    del sys.argv[1:]
    if shutil.which("node") is None:
        print("skipped: no node (scripts/deps.sh installs it)")
        return 77
    if not os.path.isdir(os.path.join(HERE, "node_modules", "ws")):
        print("skipped: no tests/node/node_modules (run scripts/deps.sh)")
        return 77
    harness.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
