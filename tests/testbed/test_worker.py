"""The worker simulator: drains a queue like production's worker, never lets two
loops hold one row, reproduces the production defects on request, survives a
database restart and stops cleanly on SIGTERM."""

import collections
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import psycopg2  # noqa: E402

from testbed import generate as gen  # noqa: E402
from testbed import worker  # noqa: E402
from testbed.pgcluster import TempCluster  # noqa: E402

FAST = dict(poll=0.02, work_ms=1, backoff_scale=0.0002, seed=1)  # 2^3 min * 0.0002 < 0.1 s


@pytest.fixture(scope="module")
def cluster():
    c = TempCluster().start()
    try:
        yield c
    finally:
        c.destroy()


@pytest.fixture(scope="module")
def database(cluster):
    """One database with the TSH schema for the module (creating databases is slow)."""
    admin = psycopg2.connect(cluster.dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE worker_tests")
    admin.close()
    conn = psycopg2.connect(cluster.dsn("worker_tests"))
    gen.load_schema(conn)
    conn.close()
    return cluster.dsn("worker_tests")


@pytest.fixture
def queue(database):
    """Factory: empty the module's queue and fill it with ``live`` rows (claimable
    ones by default); returns the DSN."""

    def make(live, mix=gen.CLAIMABLE_MIX, seed=1):
        conn = psycopg2.connect(database)
        with conn.cursor() as cur:
            cur.execute("TRUNCATE tds_dead_letter_queue, tds_sync_logs, tds_sync_queue, tds_inbox_events")
        gen.generate(conn, live=live, seed=seed, mix=mix, with_logs=False)
        conn.close()
        return database

    return make


def query(dsn, sql, params=None):
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def read_claims(path):
    with open(path) as fh:
        return [json.loads(line) for line in fh]


def assert_no_overlapping_claims(records):
    """Per row, claims and finishes must alternate and belong to the same holder."""
    by_id = collections.defaultdict(list)
    for rec in records:
        by_id[rec["id"]].append(rec)
    for row_id, events in by_id.items():
        events.sort(key=lambda r: r["ts"])
        holder = None
        for ev in events:
            who = (ev["pid"], ev["worker"])
            if ev["event"] == "claim":
                assert holder is None, "row %s claimed by %s while held by %s" % (row_id, who, holder)
                holder = who
            else:
                assert holder == who, "row %s finished by %s, held by %s" % (row_id, who, holder)
                holder = None
        assert holder is None, "row %s claimed but never finished" % row_id


def test_drains_the_queue_without_double_claims(queue, tmp_path):
    dsn = queue(500)
    log = str(tmp_path / "claims.jsonl")
    out = io.StringIO()
    stats = worker.run_workers(dsn, workers=4, failure_rate=0.2, stop_when_idle=1.0,
                               claim_log=log, out=out, **FAST)
    states = dict(query(dsn, "SELECT status::text, count(*) FROM tds_sync_queue GROUP BY 1"))
    assert set(states) <= {"completed", "dead_letter"} and sum(states.values()) == 500
    assert states["completed"] == stats["completed"] and states.get("dead_letter", 0) == stats["dead_lettered"]
    assert stats["dead_lettered"] > 0 and stats["retried"] > 0 and stats["claim_conflicts"] > 0
    assert stats["lease_lost"] == stats["db_errors"] == 0
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE locked_by IS NOT NULL "
                      "OR lock_expires_at IS NOT NULL")[0][0] == 0
    # dead letters: budget used up, and no DLQ record (production writes none)
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'dead_letter' "
                      "AND attempt_count < max_retry_attempts")[0][0] == 0
    assert query(dsn, "SELECT count(*) FROM tds_dead_letter_queue")[0][0] == 0
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' AND "
                      "(completed_at IS NULL OR started_at IS NULL OR started_at > completed_at)")[0][0] == 0

    records = read_claims(log)
    assert sum(r["event"] == "claim" for r in records) == stats["claims"]
    assert {r["worker"] for r in records} == {"worker-1", "worker-2", "worker-3", "worker-4"}
    assert_no_overlapping_claims(records)

    text = out.getvalue()
    for line in ("Sync worker worker-1 started", "Processing event: ", "Event processed successfully",
                 "Event will be retried", "Event moved to dead letter queue", "Sync worker worker-4 stopped"):
        assert line in text
    assert text.count("Processing event: ") == stats["claims"]


def test_reprocess_defect_never_records_success(queue):
    dsn = queue(20, mix={"pending_fresh": 1})
    stats = worker.run_workers(dsn, workers=2, lease=0.3, duration=1.5, failure_rate=0.0,
                               defects=["reprocess"], out=None, **FAST)
    assert stats["completed"] == 0 and stats["unrecorded_success"] == stats["claims"]
    assert stats["claims"] >= 40  # every row synced again once its lease ran out
    rows = query(dsn, "SELECT status::text, count(*), count(locked_by), max(attempt_count) "
                      "FROM tds_sync_queue GROUP BY 1")
    assert rows == [("pending", 20, 20, 0)]


def test_failpath_defect_leaves_rows_leased(queue):
    dsn = queue(10, mix={"pending_fresh": 1})
    stats = worker.run_workers(dsn, workers=2, lease=60, duration=10, stop_when_idle=0.3,
                               failure_rate=1.0, defects=["failpath"], out=None, **FAST)
    assert stats["claims"] == stats["unrecorded_failure"] == 10
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'pending' AND attempt_count = 0 "
                      "AND locked_by IS NOT NULL AND lock_expires_at > now()")[0][0] == 10


def test_lost_lease_is_not_overwritten(queue, tmp_path):
    dsn = queue(1, mix={"pending_fresh": 1})
    log = str(tmp_path / "claims.jsonl")
    pool = worker.start_workers(dsn, workers=1, poll=0.02, work_ms=1500, claim_log=log, out=None)
    try:
        deadline = time.time() + 10
        while not query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE locked_by IS NOT NULL")[0][0]:
            assert time.time() < deadline
            time.sleep(0.02)
        # a heal clears the lease while the worker is still busy with the row
        query(dsn, "UPDATE tds_sync_queue SET locked_by = NULL, lock_expires_at = NULL RETURNING 1")
        deadline = time.time() + 10
        while query(dsn, "SELECT status::text FROM tds_sync_queue")[0][0] != "completed":
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        stats = pool.stop()
    assert stats["lease_lost"] == 1 and stats["completed"] == 1
    assert [r["outcome"] for r in read_claims(log) if r["event"] == "finish"] == ["lease_lost", "completed"]


def test_mark_processing_shows_rows_in_hand(queue):
    dsn = queue(3, mix={"pending_fresh": 1})
    pool = worker.start_workers(dsn, workers=1, poll=0.02, work_ms=300, mark_processing=True, out=None)
    try:
        deadline = time.time() + 10
        while not query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'processing' "
                             "AND started_at IS NOT NULL AND lock_expires_at > now()")[0][0]:
            assert time.time() < deadline
            time.sleep(0.02)
        while query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status <> 'completed'")[0][0]:
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        stats = pool.stop()
    assert stats["completed"] == 3


def test_survives_a_database_restart(cluster, queue):
    dsn = queue(150, mix={"pending_fresh": 1})
    out = io.StringIO()
    # short lease: a row in hand when the server went down is picked up again soon
    pool = worker.start_workers(dsn, workers=2, poll=0.02, work_ms=5, lease=1, out=out)
    try:
        time.sleep(0.3)
        cluster.restart()
        deadline = time.time() + 30
        while query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed'")[0][0] < 150:
            assert time.time() < deadline, "queue not drained after the restart"
            time.sleep(0.1)
    finally:
        stats = pool.stop()
    assert stats["db_errors"] >= 1 and stats["reconnects"] >= 1
    assert "database error" in out.getvalue() and "reconnected" in out.getvalue()


def test_cli_stops_cleanly_on_sigterm(queue, tmp_path):
    dsn = queue(5, mix={"pending_fresh": 1})
    proc = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "testbed", "worker.py"), "--dsn", dsn, "--workers", "2",
         "--poll", "0.05", "--work-ms", "1", "--failure-rate", "0", "--process-tag", "api-1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        started = []
        deadline = time.time() + 20
        while len(started) < 2:
            line = proc.stdout.readline()
            assert line and time.time() < deadline, proc.stderr.read()
            if "Sync worker worker-" in line and "started" in line:
                started.append(line)
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "[api-1/worker-1]" in started[0] + started[1]
    assert "Sync worker worker-2 stopped" in rest and "Sync workers stopped" in rest
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed'")[0][0] == 5


# --------------------------------------------------------------------------- failure modes
def test_internal_error_mode_fails_before_the_handler(queue, tmp_path):
    dsn = queue(150, mix={"pending_fresh": 1})
    out = io.StringIO()
    log = str(tmp_path / "claims.jsonl")
    stats = worker.run_workers(dsn, workers=4, stop_when_idle=0.5, mode="internal_error", claim_log=log,
                               out=out, **FAST)
    assert stats["handler_calls"] == 0 and stats["completed"] == 0  # nothing reached Zoho
    assert stats["internal_errors"] == stats["claims"] >= 150
    rows = query(dsn, "SELECT status::text, error_code, count(*), min(attempt_count), max(attempt_count), "
                      "bool_and(attempt_count < max_retry_attempts), count(locked_by) FROM tds_sync_queue "
                      "GROUP BY 1, 2")
    assert len(rows) == 1
    status, code, count, lo, hi, budget_left, leased = rows[0]
    assert (status, code, count, lo, leased) == ("dead_letter", "xd2s", 150, 1, 0)
    assert hi <= 4  # claimed again by loops that fetched the same batch (the claim ignores the status)
    assert query(dsn, "SELECT count(*) FROM tds_dead_letter_queue")[0][0] == 0
    assert query(dsn, "SELECT count(DISTINCT error_message) FROM tds_sync_queue")[0][0] == 1
    assert "greenlet_spawn has not been called" in query(dsn, "SELECT min(error_message) FROM tds_sync_queue")[0][0]
    text = out.getvalue()
    assert "Unconsumed column names: processing_started_at" in text
    assert "Event processing failed: " in text and " - greenlet_spawn has not been called" in text
    assert "Event processed successfully" not in text


def test_pending_first_mode_starves_the_retries(queue, database):
    dsn = queue(0)
    conn = psycopg2.connect(dsn)
    gen.generate(conn, live=400, seed=7, mix={"pending_fresh": 300, "retry_overdue": 100}, with_logs=False)
    conn.close()
    pool = worker.start_workers(dsn, workers=2, poll=0.02, work_ms=20, batch=100, mode="pending_first",
                                failure_rate=0.0, out=None, seed=1)
    try:
        deadline = time.time() + 30
        while query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed'")[0][0] < 60:
            assert time.time() < deadline
            time.sleep(0.05)
        # while a batch of pending rows waits, not one retry row has been taken
        assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                          "AND attempt_count > 0")[0][0] == 0
        assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'retry' AND locked_by IS NULL")[0][0] \
            == 100
        assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'pending'")[0][0] >= 100
    finally:
        pool.stop()


def test_pending_first_mode_never_polls_rows_with_five_attempts(queue):
    dsn = queue(0)
    conn = psycopg2.connect(dsn)
    gen.generate(conn, live=10, seed=8, mix={"retry_overdue": 1}, with_logs=False)
    conn.close()
    query(dsn, "UPDATE tds_sync_queue SET attempt_count = 5, max_retry_attempts = 9 WHERE id IN "
               "(SELECT id FROM tds_sync_queue ORDER BY id LIMIT 4) RETURNING 1")
    stats = worker.run_workers(dsn, workers=1, stop_when_idle=0.4, mode="pending_first", failure_rate=0.0,
                               out=None, **FAST)
    assert stats["completed"] == 6
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'retry' AND attempt_count = 5")[0][0] == 4


def test_no_reclaim_mode_never_takes_an_expired_lease(queue):
    dsn = queue(0)
    conn = psycopg2.connect(dsn)
    gen.generate(conn, live=60, seed=9, mix={"pending_fresh": 50, "pending_stuck_lease": 10}, with_logs=False)
    conn.close()
    out = io.StringIO()
    stats = worker.run_workers(dsn, workers=2, duration=1.0, mode="no_reclaim", failure_rate=0.0, out=out, **FAST)
    assert stats["completed"] == 50 and stats["claim_errors"] >= 10
    assert query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'pending' AND locked_by IS NOT NULL "
                      "AND lock_expires_at < now() - interval '1 hour'")[0][0] == 10
    assert "can't compare offset-naive and offset-aware datetimes" in out.getvalue()
    # the ordinary worker takes them
    stats = worker.run_workers(dsn, workers=1, stop_when_idle=0.3, failure_rate=0.0, out=None, **FAST)
    assert stats["completed"] == 10


def test_lock_cleanup_mode_strands_processing_rows(queue):
    dsn = queue(80, mix={"pending_fresh": 1})
    stats = worker.run_workers(dsn, workers=2, lease=0.2, duration=2.0, mode="lock_cleanup", abandon_rate=0.2,
                               cleanup_interval=0.1, failure_rate=0.0, out=None, **FAST)
    assert stats["abandoned"] > 0 and stats["completed"] > 0
    assert stats["completed"] + stats["abandoned"] == 80
    stranded = query(dsn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'processing' AND locked_by IS NULL "
                          "AND lock_expires_at IS NULL AND started_at IS NOT NULL")[0][0]
    assert stranded == stats["abandoned"] and stats["leases_cleaned"] >= stranded


def test_completion_lost_mode_is_the_reprocess_defect(queue):
    dsn = queue(10, mix={"pending_fresh": 1})
    stats = worker.run_workers(dsn, workers=2, lease=0.3, duration=1.0, failure_rate=0.0,
                               mode="completion_lost", out=None, **FAST)
    assert stats["completed"] == 0 and stats["unrecorded_success"] == stats["claims"] >= 20
    assert stats["handler_calls"] == stats["claims"]


@pytest.mark.parametrize("cls, code_like, status", [
    ("auth", "401", "retry"), ("rate_limit", "429|RATE_LIMIT", "retry"),
    ("unavailable", "50[23]|TIMEOUT|NETWORK", "retry"), ("validation", "400|VALIDATION", "dead_letter")])
def test_zoho_error_mixes(queue, cls, code_like, status):
    dsn = queue(40, mix={"pending_fresh": 1})
    stats = worker.run_workers(dsn, workers=2, stop_when_idle=0.3, failure_rate=1.0, zoho_errors={cls: 1},
                               out=None, poll=0.02, work_ms=1, backoff_scale=100.0, seed=3)
    assert stats["handler_calls"] == 40
    rows = query(dsn, "SELECT status::text, count(*), bool_and(error_code ~ %s), min(attempt_count) "
                      "FROM tds_sync_queue GROUP BY 1", ("^(ZOHO_)?(%s)$|^INVALID_OAUTHTOKEN$" % code_like,))
    assert rows == [(status, 40, True, 1)]
    messages = [r[0] for r in query(dsn, "SELECT DISTINCT error_message FROM tds_sync_queue")]
    expected = {"auth": "not authorized|INVALID_OAUTHTOKEN", "rate_limit": "too many requests|call limit",
                "unavailable": "Service Unavailable|timed out|Connection reset|Bad Gateway",
                "validation": "Invalid value passed|does not exist|must be positive"}[cls]
    import re
    assert all(re.search(expected, m) for m in messages), messages


def test_validation_errors_hit_only_the_named_entity_types(queue):
    dsn = queue(200, mix={"pending_fresh": 1})
    worker.run_workers(dsn, workers=2, stop_when_idle=0.3, failure_rate=1.0, zoho_errors={"validation": 1},
                       validation_entities=["invoice"], out=None, **FAST)
    rows = dict((e, (s, n)) for e, s, n in query(
        dsn, "SELECT entity_type::text, string_agg(DISTINCT status::text, ','), count(*) FROM tds_sync_queue "
             "GROUP BY 1"))
    assert rows["invoice"][0] == "dead_letter"
    assert all(s == "completed" for e, (s, _n) in rows.items() if e != "invoice")


def test_unknown_mode_or_class_is_refused():
    with pytest.raises(ValueError, match="unknown modes: sleepy"):
        worker.WorkerPool("", mode="sleepy")
    with pytest.raises(ValueError, match="unknown Zoho error classes: teapot"):
        worker.WorkerPool("", zoho_errors={"teapot": 1})
    assert worker.parse_weights("auth=1,validation=2.5") == {"auth": 1.0, "validation": 2.5}
