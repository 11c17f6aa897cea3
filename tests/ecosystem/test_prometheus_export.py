"""The health role's Prometheus textfile-collector export, read back with prometheus_client's
own parser and compared with the database; and the Nagios check on the same real report."""

import datetime
import json
import os
import stat
import subprocess
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ecosystem.support import run_health
from helpers.playbook import ROOT

CHECK = os.path.join(ROOT, "scripts", "check_zoho_sync")
CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


def parse(text):
    metrics = {}
    for family in text_string_to_metric_families(text):
        assert family.name.startswith("zoho_sync_"), family.name
        assert family.type == "gauge"
        for sample in family.samples:
            metrics.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return metrics


def one(metrics, name, **labels):
    found = [v for lab, v in metrics.get(name, []) if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, metrics.get(name))
    return found[0]


@pytest.fixture(scope="module")
def queue(pg_server):
    """One database for the module: a troubled queue."""
    from helpers.db import drop_database, new_database
    db = new_database(pg_server, "tsh")
    for _ in range(11):
        db.add(status="failed", entity="invoice", attempts=1, error="Zoho 500 on item 77", code="ZOHO_500")
    for _ in range(3):
        db.add(status="pending", entity="customer", age="40 minutes")
    db.add(status="retry", entity="bill", attempts=1, next_retry="-30 minutes", error="timeout", code="TIMEOUT")
    db.add(status="processing", entity="product", locked_by="worker-2", lock_expires="-50 minutes")
    dead = db.add(status="dead_letter", entity="invoice", attempts=3, error="Item 12 not found")
    db.add_dlq_record(dead)
    db.add(status="dead_letter", entity="order", attempts=3, error="Item 13 not found")  # no record
    for _ in range(5):
        db.add(status="completed", entity="invoice", age="3 hours", started="-170 minutes", completed="-169 minutes")
    yield db
    drop_database(pg_server, db)


@pytest.fixture(scope="module")
def first_run(queue, tmp_path_factory):
    reports = tmp_path_factory.mktemp("prom-reports")
    result = run_health(queue, reports)
    assert result.rc == 2, result  # critical: 11 failed > 10
    return reports


def test_textfile_matches_the_database(queue, first_run):
    metrics_dir = first_run / "metrics"
    assert sorted(os.listdir(metrics_dir)) == ["zoho_sync_localhost.prom"]  # no temporary file left behind
    path = metrics_dir / "zoho_sync_localhost.prom"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    text = path.read_text()
    assert text.endswith("\n")
    m = parse(text)
    report = json.loads((first_run / "localhost" / "latest.json").read_text())

    assert m["zoho_sync_health_status"] == [({"host": "localhost", "database": queue.name}, 2.0)]
    assert report["overall"] == "critical"
    generated = datetime.datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00")).timestamp()
    assert one(m, "zoho_sync_last_run_timestamp_seconds") == generated

    for row in queue.query("SELECT entity_type::text AS entity, status::text AS status, count(*) AS n "
                           "FROM tds_sync_queue GROUP BY 1, 2"):
        assert one(m, "zoho_sync_queue_items", entity=row["entity"], status=row["status"]) == row["n"]
    # every status of every entity with rows is a series (zeros included, so none vanishes)
    assert len([v for _l, v in m["zoho_sync_queue_items"] if v]) == queue.scalar(
        "SELECT count(*) FROM (SELECT DISTINCT entity_type, status FROM tds_sync_queue) s")
    entities = set(lab["entity"] for lab, _v in m["zoho_sync_queue_items"])
    assert entities == set(queue.scalar("SELECT array_agg(DISTINCT entity_type::text) FROM tds_sync_queue"))
    for entity in entities:
        assert set(lab["status"] for lab, _v in m["zoho_sync_queue_items"] if lab["entity"] == entity) >= {
            "pending", "processing", "completed", "failed", "retry", "dead_letter"}
    for status in ("pending", "processing", "completed", "failed", "retry", "dead_letter"):
        assert one(m, "zoho_sync_queue_status_items", status=status) == queue.count("status = '%s'" % status)
    assert one(m, "zoho_sync_queue_live_items") == queue.count("status <> 'completed'")
    assert one(m, "zoho_sync_stuck_locks") == 1
    assert one(m, "zoho_sync_stuck_lock_oldest_age_seconds") >= 20 * 60  # seconds, not minutes
    assert one(m, "zoho_sync_dead_letter_items", state="unrecorded") == 1
    assert one(m, "zoho_sync_dead_letter_items", state="recorded") == 1
    age = one(m, "zoho_sync_oldest_pending_age_seconds", entity="customer")
    assert 39 * 60 <= age <= 60 * 60
    assert 0 <= one(m, "zoho_sync_db_connection_usage_ratio") <= 1

    # every finding of the report is a check_status series with its severity code
    for finding in report["findings"]:
        labels = {"check": finding["check"]}
        for key in ("entity", "target"):
            if finding.get(key):
                labels[key] = finding[key]
        assert one(m, "zoho_sync_check_status", **labels) == CODES[finding["severity"]]
    for severity, count in report["summary"]["counts"].items():
        assert one(m, "zoho_sync_findings", severity=severity) == count


def test_nagios_check_reads_the_real_report(queue, first_run):
    # as a Nagios command runs it: nothing in the environment but the health run's report directory
    # (which holds localhost/, the fleet summary fleet/ and the Prometheus metrics/ directory)
    proc = subprocess.run(["env", "-i", "ZOHO_REPORT_DIR=%s" % first_run, CHECK], capture_output=True, text=True, timeout=60)
    assert (first_run / "fleet" / "latest.json").exists()  # beside the host: not a host of its own
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("ZOHO_SYNC CRITICAL - localhost: ")
    assert "failed: 11 rows" in line.split(" | ")[0] or "failed" in line.split(" | ")[0]
    perf = dict(item.split("=", 1) for item in line.split(" | ", 1)[1].split())
    assert perf["failed"].split(";")[:3] == ["11", "5", "10"]
    assert perf["pending"].split(";")[:3] == ["3", "50", "200"]
    assert perf["stuck_locks"].startswith("1;")


def test_rewrite_is_atomic_and_follows_the_database(queue, first_run):
    path = first_run / "metrics" / "zoho_sync_localhost.prom"
    before = path.stat().st_ino
    queue.execute("UPDATE tds_sync_queue SET status = 'pending' WHERE status = 'failed'")

    # a reader that keeps scraping while the second run replaces the file: every read parses
    stop, reads, errors = threading.Event(), [], []

    def scrape():
        while not stop.is_set():
            try:
                text = path.read_text()
                reads.append(one(parse(text), "zoho_sync_queue_status_items", status="pending"))
            except Exception as exc:  # noqa: BLE001 - any failure to parse is the finding
                errors.append(repr(exc))
            stop.wait(0.02)

    reader = threading.Thread(target=scrape)
    reader.start()
    try:
        result = run_health(queue, first_run)
    finally:
        stop.set()
        reader.join()
    assert result.rc in (0, 2), result
    assert errors == []
    assert reads and set(reads) <= {3.0, 14.0}
    assert path.stat().st_ino != before  # replaced by a rename, not rewritten in place
    assert sorted(os.listdir(first_run / "metrics")) == ["zoho_sync_localhost.prom"]
    m = parse(path.read_text())
    assert one(m, "zoho_sync_queue_status_items", status="pending") == 14
    assert one(m, "zoho_sync_queue_status_items", status="failed") == 0
    report = json.loads((first_run / "localhost" / "latest.json").read_text())
    assert one(m, "zoho_sync_health_status") == CODES[report["overall"]]
    assert one(m, "zoho_sync_check_status", check="failed") == 0
