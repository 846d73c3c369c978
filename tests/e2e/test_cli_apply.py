# SPDX-License-Identifier: MIT
# test_cli_apply.py - the spec commands of `swarm` against a real daemon: `init` writes a
# starter spec that applies as it is and runs tasks; `apply` twice prints created, then
# unchanged; --dry-run says what would change and changes nothing; a spec error names
# FILE:LINE:COLUMN, exits 2 and sends nothing; a refusal by the daemon is shown at the
# field it names, exits 5 and leaves what came before applied; swarms are applied parents
# first and `ls` draws them as a tree; scale, status, destroy (which wants --yes off a
# terminal) and logs.

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import wait_until  # noqa: E402

TEMPLATE = """\
kind: template
name: worker
command: ["sh", "-c", "cat"]
mode: exec
capabilities: [echo]
"""

TREE_CHILDREN = """\
kind: swarm
name: tiny
parent: thumbs
template: worker
replicas: 1
---
kind: swarm
name: thumbs
parent: media
template: worker
replicas: 1
"""

TREE_ROOT = """\
kind: swarm
name: media
template: worker
replicas: 1
---
kind: swarm
name: video
parent: media
template: worker
replicas: 0
"""


class CliApplyTest(harness.DaemonTestCase):
    def setUp(self):
        self.d = self.start_daemon()
        self.cli = harness.swarm_bin()
        self.dir = tempfile.mkdtemp(prefix="swe2e-apply-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def swarm(self, *args, stdin=None, timeout=30):
        env = dict(os.environ)
        for name in ("SWARM_HOME", "SWARM_TOKEN"):
            env.pop(name, None)
        env["SWARM_URL"] = "unix:" + self.d.socket_path
        proc = subprocess.run([self.cli] + list(args), cwd=self.dir, env=env,
                              input=stdin.encode() if stdin is not None else None,
                              stdin=subprocess.DEVNULL if stdin is None else None,
                              capture_output=True, timeout=timeout)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err, "sanitizer report from swarm %s" % (args,))
        return proc.returncode, out, err

    def ok(self, *args, **kw):
        rc, out, err = self.swarm(*args, **kw)
        self.assertEqual(rc, 0, "swarm %s exited %d\nstdout: %s\nstderr: %s" % (args, rc, out, err))
        return out

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return name

    def agents_up(self, swarm):
        status, body = self.d.get("/v1/swarms/" + swarm)
        self.assertEqual(status, 200, body)
        return sum(a["state"] in ("ready", "busy") for a in body["agents"])

    def test_init_apply_twice(self):
        out = self.ok("init")
        self.assertIn("swarm.yaml", out)
        self.assertIn("swarm apply -f swarm.yaml", out)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "swarm.yaml")))
        rc, _, err = self.swarm("init")
        self.assertEqual(rc, 2, err)
        self.assertIn("--force", err)
        self.ok("init", "--force")

        self.assertEqual(self.ok("apply", "-f", "swarm.yaml").splitlines(),
                         ["template/worker created", "swarm/main created"])
        self.assertEqual(self.ok("apply", "-f", "swarm.yaml").splitlines(),
                         ["template/worker unchanged", "swarm/main unchanged"])
        replies = json.loads(self.ok("apply", "-f", "swarm.yaml", "-o", "json"))
        self.assertEqual([r["action"] for r in replies], ["unchanged", "unchanged"])
        self.assertEqual(replies[1]["swarm"]["name"], "main")

        wait_until(lambda: self.agents_up("main") == 2, 15, "2 agents of main up")
        self.assertEqual(self.ok("task", "submit", "echo", "--payload", '"hi"', "--wait").strip(),
                         '"hi"')
        status = self.ok("status", "main")
        self.assertRegex(status, r"(?m)^name:\s+main$")
        self.assertRegex(status, r"(?m)^ID\s+NAME\s+STATE\s+PID\s+RESTARTS\s+UPTIME\s+LAST-EXIT\s+BREAKER$")
        self.assertEqual(len(re.findall(r"(?m)^a_[0-9a-f]+\s+main-\d", status)), 2)
        self.assertIn("1 swarm; agents: 2 up of 2", self.ok("status"))

    def test_dry_run(self):
        self.write("t.yaml", TEMPLATE)
        self.assertEqual(self.ok("apply", "-f", "t.yaml", "--dry-run").splitlines(),
                         ["template/worker would be created"])
        self.assertEqual(self.d.get("/v1/templates/worker")[0], 404)
        self.ok("apply", "-f", "t.yaml")
        self.write("s.yaml", TEMPLATE + "---\nkind: swarm\nname: main\ntemplate: worker\n"
                   "replicas: 1\n")
        self.assertEqual(self.ok("apply", "-f", "s.yaml", "--dry-run").splitlines(),
                         ["template/worker unchanged", "swarm/main would be created"])
        self.assertEqual(self.d.get("/v1/swarms/main")[0], 404)
        self.ok("apply", "-f", "s.yaml")
        self.write("s.yaml", TEMPLATE + "---\nkind: swarm\nname: main\ntemplate: worker\n"
                   "replicas: 3\n")
        self.assertEqual(self.ok("apply", "-f", "s.yaml", "--dry-run").splitlines(),
                         ["template/worker unchanged", "swarm/main would be updated"])
        status, body = self.d.get("/v1/swarms/main")
        self.assertEqual(body["swarm"]["replicas"], 1, body)

    def test_spec_errors(self):
        self.write("spec.yaml", TEMPLATE + "---\nkind: swarm\nname: main\ntemplate: worker\n"
                   "replica: 2\n")
        rc, out, err = self.swarm("apply", "-f", "spec.yaml")
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertIn('spec.yaml:10:1: swarm "main": unknown field "replica" '
                      '(did you mean "replicas"?)', err)
        self.assertEqual(self.d.get("/v1/templates/worker")[0], 404, "nothing may be sent")

        self.write("syntax.yaml", "kind: swarm\nname: [main\ntemplate: worker\n")
        rc, out, err = self.swarm("apply", "-f", "syntax.yaml")
        self.assertEqual(rc, 2, err)
        self.assertRegex(err, r"(?m)^syntax\.yaml:\d+:\d+: ")

        self.write("names.yaml", "kind: swarm\nname: Main\ntemplate: worker\n---\n"
                   "kind: daemon\nname: x\n")
        rc, out, err = self.swarm("apply", "-f", "names.yaml")
        self.assertEqual(rc, 2, err)
        self.assertIn('names.yaml:2:7: swarm "Main": name must be', err)
        self.assertIn('names.yaml:5:7: kind must be "template" or "swarm", not "daemon"', err)

    def test_refusal_keeps_what_came_before(self):
        self.write("big.yaml", TEMPLATE + "---\nkind: swarm\nname: big\ntemplate: worker\n"
                   "replicas: 20000\n")
        rc, out, err = self.swarm("apply", "-f", "big.yaml")
        self.assertEqual(rc, 5, err)
        self.assertEqual(out.splitlines(), ["template/worker created"])
        self.assertRegex(err, r'(?m)^big\.yaml:10:1: swarm "big": \S')
        self.assertEqual(self.d.get("/v1/templates/worker")[0], 200)
        self.assertEqual(self.d.get("/v1/swarms/big")[0], 404)

    def test_tree_order_and_ls(self):
        self.write("t.yaml", TEMPLATE)
        self.write("children.yaml", TREE_CHILDREN)
        self.write("root.yaml", TREE_ROOT)
        out = self.ok("apply", "-f", "children.yaml", "-f", "root.yaml", "-f", "t.yaml")
        self.assertEqual(out.splitlines(), ["template/worker created", "swarm/media created",
                                            "swarm/thumbs created", "swarm/tiny created",
                                            "swarm/video created"])
        wait_until(lambda: self.agents_up("tiny") == 1, 15, "the agent of tiny up")
        lines = self.ok("ls").splitlines()
        self.assertRegex(lines[0], r"^NAME\s+STATE\s+AGENTS\s+BUSY\s+RESTARTS$")
        width = lines[0].index("STATE")
        names = [line[:width].rstrip() for line in lines[1:]]
        self.assertEqual(names, ["media", "├─ thumbs", "│  └─ tiny", "└─ video"])
        listing = json.loads(self.ok("ls", "-o", "json"))
        self.assertEqual(sorted(s["name"] for s in listing["swarms"]),
                         ["media", "thumbs", "tiny", "video"])

    def test_stdin_scale_destroy_logs(self):
        spec = TEMPLATE + "---\nkind: swarm\nname: main\ntemplate: worker\nreplicas: 1\n"
        self.assertEqual(self.ok("apply", "-f", "-", stdin=spec).splitlines(),
                         ["template/worker created", "swarm/main created"])
        self.assertEqual(self.ok("scale", "main", "2").strip(), "swarm/main scaled to 2")
        wait_until(lambda: self.agents_up("main") == 2, 15, "2 agents of main up")
        rc, _, err = self.swarm("logs", "main", "--tail", "5")
        self.assertEqual(rc, 0, err)
        rc, _, err = self.swarm("destroy", "main")
        self.assertEqual(rc, 2, err)
        self.assertIn("--yes", err)
        self.assertEqual(self.ok("destroy", "main", "--yes").strip(), "swarm/main destroyed")
        self.assertEqual(self.d.get("/v1/swarms/main")[0], 404)
        rc, _, err = self.swarm("status", "main")
        self.assertEqual(rc, 4, err)


if __name__ == "__main__":
    harness.main()
