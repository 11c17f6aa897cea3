"""monitoring/prometheus/zoho_sync.rules.yml: Prometheus' own promtool checks the rules and runs
their unit tests (zoho_sync.rules.test.yml), and every metric the rules use is one that a real
health run exports (so a renamed metric cannot leave an alert that never fires); promtool also
lints the real export file."""

import os
import re
import shutil
import subprocess

import pytest
import yaml

from ecosystem.support import run_health
from helpers.playbook import ROOT

RULES_DIR = os.path.join(ROOT, "monitoring", "prometheus")
RULES = os.path.join(RULES_DIR, "zoho_sync.rules.yml")
RULE_TESTS = os.path.join(RULES_DIR, "zoho_sync.rules.test.yml")
PROMTOOL = shutil.which("promtool")

def promtool(*args, stdin=None):
    assert PROMTOOL, "promtool is missing: install Debian's prometheus package (bash .ci/run does)"
    return subprocess.run([PROMTOOL] + list(args), input=stdin, capture_output=True, text=True, timeout=300,
                          cwd=RULES_DIR)


def test_promtool_checks_the_rules():
    proc = promtool("check", "rules", RULES)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 12 rules found" in proc.stdout


def test_promtool_unit_tests_of_the_rules_pass():
    proc = promtool("test", "rules", RULE_TESTS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout


def test_every_alert_is_unit_tested_firing_and_quiet():
    with open(RULES) as fh:
        alerts = [r["alert"] for g in yaml.safe_load(fh)["groups"] for r in g["rules"] if "alert" in r]
    with open(RULE_TESTS) as fh:
        cases = [c for t in yaml.safe_load(fh)["tests"] for c in t["alert_rule_test"]]
    for alert in alerts:
        mine = [c for c in cases if c["alertname"] == alert]
        assert any(c.get("exp_alerts") for c in mine), "%s is never tested firing" % alert
        assert any(not c.get("exp_alerts") for c in mine), "%s is never tested quiet" % alert


@pytest.fixture(scope="module")
def exported(pg_server, tmp_path_factory):
    """The textfile a real health run writes, on a queue with something of everything."""
    from helpers.db import drop_database, new_database
    db = new_database(pg_server, "tsh")
    db.add(status="failed", entity="invoice", attempts=1, error="Zoho 500 on item 77", code="ZOHO_500")
    db.add(status="pending", entity="customer", age="40 minutes")
    db.add(status="processing", entity="product", locked_by="worker-2", lock_expires="-50 minutes")
    db.add(status="dead_letter", entity="order", attempts=3, error="Item 13 not found")
    db.add(status="completed", entity="invoice", age="3 hours", started="-170 minutes", completed="-169 minutes")
    reports = tmp_path_factory.mktemp("rules-reports")
    result = run_health(db, reports)
    assert result.rc in (0, 2), result
    with open(str(reports / "metrics" / "zoho_sync_localhost.prom")) as fh:
        text = fh.read()
    yield text
    drop_database(pg_server, db)


def test_the_rules_use_only_exported_metrics(exported):
    exported_names = set(re.findall(r"^(zoho_sync_[a-z_]+)[{ ]", exported, re.M))
    with open(RULES) as fh:
        exprs = [r["expr"] for g in yaml.safe_load(fh)["groups"] for r in g["rules"]]
    used = set(name for expr in exprs for name in re.findall(r"zoho_sync_[a-z_]+", expr))
    assert used and used <= exported_names, sorted(used - exported_names)


def test_promtool_lints_the_real_export(exported):
    proc = promtool("check", "metrics", stdin=exported)
    assert proc.returncode == 0, proc.stdout + proc.stderr
