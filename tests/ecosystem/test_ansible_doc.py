"""What `ansible-doc` tells an operator about the collection: the modules and filters they use,
each with a description, and the plumbing of the roles marked "(internal)"; the stdout callback
documented too."""

import os
import subprocess

from helpers.playbook import ROOT, ansible_bin

# what an operator calls from a playbook of their own
OPERATOR_MODULES = {"zoho_queue_facts", "zoho_requeue", "zoho_dlq_move", "zoho_dlq_facts", "zoho_cleanup",
                    "zoho_restore"}
INTERNAL_MODULES = {"zoho_display", "zoho_report_files", "zoho_audit", "zoho_alert_state", "zoho_settings_check",
                    "zoho_run_context", "zoho_host_facts", "zoho_fleet_report", "zoho_heal_lock", "zoho_health_run",
                    "zoho_host_outcome"}
OPERATOR_FILTERS = {"zoho_prometheus", "zoho_severity_code", "zoho_business_hours", "zoho_health_duration"}


def listing(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), COLUMNS="200")
    proc = subprocess.run([ansible_bin("ansible-doc")] + list(args) + ["-l", "tsh.zoho_sync"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        if line.startswith("tsh.zoho_sync."):
            name, _sep, text = line.partition(" ")
            rows[name[len("tsh.zoho_sync."):]] = text.strip()
    assert rows, proc.stdout
    return rows


def test_modules_the_operator_calls_and_the_plumbing_marked_internal():
    rows = listing()
    assert OPERATOR_MODULES <= set(rows)
    for name in OPERATOR_MODULES:
        assert not rows[name].startswith("(internal)"), (name, rows[name])
    for name in INTERNAL_MODULES:
        assert rows[name].startswith("(internal) "), (name, rows[name])


def test_every_filter_is_documented():
    rows = listing("-t", "filter")
    undocumented = sorted(name for name, text in rows.items() if "UNDOCUMENTED" in text or not text)
    assert undocumented == [], undocumented
    assert OPERATOR_FILTERS <= set(rows)
    for name in OPERATOR_FILTERS:
        assert not rows[name].startswith("(internal)"), (name, rows[name])


def test_the_stdout_callback_is_documented():
    rows = listing("-t", "callback")
    assert "operator" in rows and "summary" in rows["operator"], rows
