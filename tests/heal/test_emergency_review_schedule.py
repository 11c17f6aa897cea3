"""emergency.yml, dlq_review.yml and schedule.yml as an operator runs them."""

import fcntl
import os
import re
import shutil
import subprocess
import threading
import time

import pytest

from heal.support import action, diff_ids
from helpers.playbook import ROOT

EVERY_HOUR = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00",
              "timezone": "UTC"}


def test_emergency_restarts_and_measures_the_recovery(fresh_runner, fake_docker):
    db = fresh_runner.db
    for _ in range(30):
        db.add(status="pending", age="20 minutes")
    fresh_runner.extra_env = fake_docker.env()
    stop = threading.Event()

    def workers_come_back():
        """After the restart, 'workers' complete six items every half second."""
        while not stop.is_set() and not fake_docker.restarts():
            time.sleep(0.2)
        while not stop.is_set():
            db.execute("""UPDATE tds_sync_queue SET status = 'completed', completed_at = now()
                           WHERE id IN (SELECT id FROM tds_sync_queue WHERE status = 'pending' LIMIT 6)""")
            time.sleep(0.5)

    thread = threading.Thread(target=workers_come_back, daemon=True)
    thread.start()
    try:
        result = fresh_runner.run("playbooks/emergency.yml", extra=dict(
            fake_docker.extra(), zoho_heal_confirm=True, zoho_heal_force=True, zoho_heal_business_hours=EVERY_HOUR,
            zoho_heal_emergency_timeout_seconds=120, zoho_heal_emergency_poll_seconds=2,
            zoho_heal_emergency_target_backlog=5))
    finally:
        stop.set()
        thread.join(5)
    assert result.rc == 0, result
    report = fresh_runner.last_report("emergency")
    assert action(report, "restart")["status"] == "done"  # inside business hours, forced
    watch = report["watch"]
    assert watch["drained"] is True and watch["backlog_end"] <= 5, watch
    assert watch["backlog_start"] == 30 and watch["rate_per_minute"] > 0
    assert "item(s)/min" in result.stdout and "drained" in result.stdout


def test_emergency_without_progress_reports_no_recovery_estimate(fresh_runner):
    db = fresh_runner.db
    for _ in range(8):
        db.add(status="pending", age="1 hour")
    result = fresh_runner.run("playbooks/emergency.yml", extra={
        "zoho_heal_emergency_timeout_seconds": 3, "zoho_heal_emergency_poll_seconds": 1,
        "zoho_heal_emergency_target_backlog": 0})
    assert result.rc == 0, result
    report = fresh_runner.last_report("emergency")
    assert action(report, "restart")["status"] == "skipped"  # database-only host: nothing to restart
    assert report["watch"]["drained"] is False and report["watch"]["eta_minutes"] is None
    assert "estimated recovery unknown" in result.stdout


@pytest.fixture
def dead_letters(fresh_runner):
    db = fresh_runner.db
    ids = {"invoice": [db.add(status="dead_letter", entity="invoice", attempts=3, code="ZOHO_404",
                              error="Item %d not found" % n) for n in (11, 222, 3333)],
           "PAYMENT": [db.add(status="dead_letter", entity="PAYMENT", attempts=3, code="TIMEOUT",
                              error="timeout after %d s" % n) for n in (30, 31)]}
    for row_id in ids["PAYMENT"]:
        db.add_dlq_record(row_id)
    return ids


def test_dlq_review_reports_and_guards_the_redrive(fresh_runner, dead_letters):
    db = fresh_runner.db
    redrive = {"zoho_dlq_review_redrive_entity_types": ["invoice"]}
    before = db.checksum()
    refused = fresh_runner.run("playbooks/dlq_review.yml", extra=redrive)
    assert refused.rc == 0, refused
    assert db.checksum() == before
    report = fresh_runner.last_report("dlq-review")
    assert action(report, "redrive_dead_letters")["status"] == "blocked"
    assert report["dlq"]["total"] == 5 and report["dlq"]["unrecorded"] == 3
    assert [(e["entity_type"], e["count"]) for e in report["dlq"]["by_entity"]] == [("invoice", 3), ("PAYMENT", 2)]
    patterns = dict((p["pattern"], p["count"]) for p in report["dlq"]["by_pattern"])
    assert patterns == {"Item <n> not found": 3, "timeout after <n> s": 2}
    assert "Item <n> not found" in refused.stdout  # the summary shows the patterns

    preview = fresh_runner.run("playbooks/dlq_review.yml", "--check", "--diff", extra=redrive)
    assert preview.rc == 0, preview
    assert db.checksum() == before
    assert diff_ids(preview.stdout) == set(dead_letters["invoice"])
    assert "dead_letter -> pending" in preview.stdout

    done = fresh_runner.run("playbooks/dlq_review.yml", "-e", "zoho_heal_confirm=true", extra=redrive)
    assert done.rc == 0, done
    for row_id in dead_letters["invoice"]:
        row = db.row(row_id)
        assert (row["status"], row["attempt_count"]) == ("pending", 0)
    for row_id in dead_letters["PAYMENT"]:
        assert db.status_of(row_id) == "dead_letter"
        assert db.dlq_records(row_id)[0]["resolved"] is False
    record = [r for r in fresh_runner.audit() if r["action"] == "redrive_dead_letters" and r["status"] == "done"][0]
    assert sorted(record["ids"]) == sorted(dead_letters["invoice"])


@pytest.fixture
def crontab_on_path(tmp_path):
    """ansible.builtin.cron needs a crontab binary even when it writes a cron_file itself;
    where cron is not installed, an inert stand-in (never called for a cron_file)."""
    if shutil.which("crontab"):
        return {}
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "crontab").write_text("#!/bin/sh\necho 'crontab stand-in: not expected to run' >&2\nexit 1\n")
    (bindir / "crontab").chmod(0o755)
    return {"PATH": "%s:%s" % (bindir, os.environ["PATH"])}


def test_schedule_installs_non_overlapping_cron_entries(fresh_runner, tmp_path, crontab_on_path):
    cron_file = tmp_path / "cron.d" / "tsh-zoho-sync"
    cron_file.parent.mkdir()
    settings = {"zoho_schedule_cron_file": str(cron_file), "zoho_schedule_log_dir": str(tmp_path / "log"),
                "zoho_schedule_lock_dir": str(tmp_path), "zoho_schedule_user": "root",
                "zoho_schedule_inventory": os.path.join(ROOT, "inventory", "demo"),
                "zoho_schedule_vault_password_file": "/etc/tsh-zoho-sync/vault-pass"}
    result = fresh_runner.run("playbooks/schedule.yml", env=crontab_on_path, extra=settings)
    assert result.rc == 0, result
    text = cron_file.read_text()
    health = re.search(r"^\*/15 \* \* \* \* root (.*)$", text, re.M)
    heal = re.search(r"^7 \* \* \* \* root (.*)$", text, re.M)
    review = re.search(r"^0 9 \* \* 1 root (.*)$", text, re.M)
    assert health and heal and review, text
    assert "playbooks/dlq_review.yml" in review.group(1) and "zoho_heal_confirm" not in review.group(1)
    assert "flock -n %s/tsh-zoho-sync-health.lock" % tmp_path in health.group(1)
    assert "playbooks/health.yml" in health.group(1)
    assert "--vault-password-file /etc/tsh-zoho-sync/vault-pass" in heal.group(1)
    assert "-e zoho_heal_invoked_by=cron -e zoho_heal_confirm=true" in heal.group(1)
    assert ">> %s/heal.log 2>&1" % (tmp_path / "log") in heal.group(1)

    # the heal line itself works, and never runs twice at once
    job = heal.group(1).replace(" --vault-password-file /etc/tsh-zoho-sync/vault-pass", "")
    env = dict(os.environ, **fresh_runner.env())
    failed = fresh_runner.db.add(status="failed", attempts=1)
    with open(str(tmp_path / "tsh-zoho-sync-heal.lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = subprocess.run(["sh", "-c", job], env=env, timeout=60)
        assert busy.returncode != 0 and fresh_runner.db.status_of(failed) == "failed"
    ran = subprocess.run(["sh", "-c", job], env=env, timeout=600)
    log = (tmp_path / "log" / "heal.log").read_text()
    assert ran.returncode == 0, log[-3000:]
    assert fresh_runner.db.status_of(failed) == "pending"
    assert [r["invoked_by"] for r in fresh_runner.audit()][-1] == "cron"

    removed = fresh_runner.run("playbooks/schedule.yml", env=crontab_on_path,
                               extra=dict(settings, zoho_schedule_state="absent"))
    assert removed.rc == 0, removed
    assert not cron_file.exists() or "tsh.zoho_sync" not in cron_file.read_text()
