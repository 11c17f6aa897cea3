"""`make demo`, the README's first command: a throwaway PostgreSQL with a troubled queue, the
health run and a check-mode heal, and a summary that names the host's reports."""

import json
import os
import re
import subprocess

from helpers.playbook import ROOT, ansible_bin

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_demo_runs_health_and_a_preview_and_points_at_the_host_reports(tmp_path):
    reports = tmp_path / "demo"
    env = dict(os.environ, ZOHO_DEMO_REPORTS=str(reports),
               PATH=os.path.dirname(ansible_bin()) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(["bash", "scripts/demo.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=900)
    out = ANSI.sub("", proc.stdout)
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    report = json.loads((reports / "localhost" / "latest.json").read_text())
    assert report["overall"] == "critical" and report["diagnoses"], report["overall"]
    # the summary reads the host's report (not the fleet summary beside it): real numbers
    assert "Reports: %s" % (reports / "localhost") in out, out
    counts = report["facts"]["zoho_queue"]["status_counts"]
    assert "pending %s · " % counts["pending"] in out and "None" not in out.split("A heal would")[0], out
    assert "What to do now:" in out and report["diagnoses"][0]["summary"] in out, out
    assert "A heal would change (check mode, nothing was written; exit 0)" in out, out
    for name in ("latest.html", "latest.md", "latest.txt"):
        assert (reports / "localhost" / name).exists(), name
