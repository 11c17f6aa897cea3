"""emergency.yml and dlq_review.yml as an operator runs them (schedule.yml: tests/ecosystem/test_schedule_cron.py)."""

import threading
import time

import pytest

from heal.support import action, diff_ids

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
