"""examples/run_health.py: health.yml through ansible_runner.run from the runner/ private
data directory; the example returns the per-host results (events, stats) and the JSON report."""

import json
import os
import subprocess
import sys

from ecosystem.support import db_env
from helpers.playbook import ROOT

EXAMPLE = os.path.join(ROOT, "examples", "run_health.py")


def run_example(db, tmp_path, *args):
    env = dict(os.environ)
    for key, value in db_env(db, tmp_path / "reports").items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    env.pop("ANSIBLE_CONFIG", None)  # the project's ansible.cfg is found from the project directory
    proc = subprocess.run([sys.executable, EXAMPLE, "--json", "--artifact-dir", str(tmp_path / "artifacts")]
                          + list(args), capture_output=True, text=True, env=env, timeout=600, cwd=str(tmp_path))
    assert proc.stdout.strip().startswith("{"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, json.loads(proc.stdout)


def test_runner_example_on_a_critical_queue(tsh_db, tmp_path):
    for _ in range(12):
        tsh_db.add(status="failed", entity="invoice", attempts=1, error="Zoho 500", code="ZOHO_500")
    for _ in range(4):
        tsh_db.add(status="pending", entity="customer", age="5 minutes")
    stuck = tsh_db.add(status="processing", entity="bill", locked_by="worker-9", lock_expires="-2 hours")

    rc, result = run_example(tsh_db, tmp_path)
    # health fails the run when critical (after writing the reports)
    assert rc == 2 and result["rc"] == 2 and result["status"] == "failed"
    assert list(result["hosts"]) == ["localhost"]
    host = result["hosts"]["localhost"]
    # ok: the probe, the argument check, the check itself, the fleet summary
    assert host["failures"] == 1 and host["dark"] == 0 and host["ok"] >= 4
    assert [t["task"] for t in host["failed_tasks"]] == ["Set the outcome of the run"]
    assert "CRITICAL" in host["failed_tasks"][0]["msg"]

    assert host["report_path"] == str(tmp_path / "reports" / "localhost" / "latest.json")
    report = host["report"]
    assert report["overall"] == "critical" and report["host"] == "localhost"
    # the fleet summary of the run names the host, its state and its report
    [fleet_host] = result["fleet"]["hosts"]
    assert (fleet_host["host"], fleet_host["state"], fleet_host["read"]) == ("localhost", "critical", True)
    assert fleet_host["generated_at"] == report["generated_at"]
    queue = report["facts"]["zoho_queue"]
    assert queue["database"] == tsh_db.name
    assert queue["status_counts"]["failed"] == tsh_db.count("status = 'failed'") == 12
    assert queue["status_counts"]["pending"] == 4
    assert queue["stuck_locks"]["ids"] == [stuck]
    failed = [f for f in report["findings"] if f["check"] == "failed" and not f.get("entity")]
    assert failed and failed[0]["severity"] == "critical" and failed[0]["value"] == 12
    # ansible-runner kept the run's artifacts where it was told
    runs = os.listdir(tmp_path / "artifacts")
    assert len(runs) == 1
    assert (tmp_path / "artifacts" / runs[0] / "rc").read_text().strip() == "2"
    assert (tmp_path / "artifacts" / runs[0] / "job_events").is_dir()


def test_runner_example_on_a_quiet_queue(tsh_db, tmp_path):
    tsh_db.add(status="completed", entity="invoice", age="10 minutes", started="-9 minutes", completed="-8 minutes")
    rc, result = run_example(tsh_db, tmp_path, "--limit", "localhost")
    host = result["hosts"]["localhost"]
    assert host["report"]["overall"] not in ("critical", "unknown"), host["report"]["findings"]
    assert rc == 0 and result["status"] == "successful" and host["failures"] == 0 and host["failed_tasks"] == []
    assert host["report"]["facts"]["zoho_queue"]["live_total"] == 0
