"""3. Database faults during a heal: the server restarted, the heal's session
terminated mid-batch, statement_timeout and lock_timeout hit inside a batch, the report
directory unwritable. Each ends with one clear failed result (no traceback), the batch in
flight rolled back (no half-moved row: a dead_letter status always comes with its
record, in one transaction), and a later run finishes the work."""

import os
import threading
import time

import psycopg2
import pytest

from helpers.modules import run_module
from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, health_playbook, run_heal, run_health

EXHAUSTED_MIX = {"retry_exhausted": 0.6, "failed_exhausted": 0.4}


def exhausted_db(db, n, seed_offset=0):
    generate(db.conn, live=n, history=0, seed=support.seed() + seed_offset, mix=EXHAUSTED_MIX, with_logs=False)
    return db


def moved_count(server, dbname):
    conn = psycopg2.connect(server.dsn(dbname))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM tds_dead_letter_queue")
            return cur.fetchone()[0]
    finally:
        conn.close()


def wait_progress(server, dbname, at_least, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if moved_count(server, dbname) >= at_least:
                return True
        except psycopg2.Error:
            pass
        time.sleep(0.02)
    return False


def assert_clean_failure(result, *fragments):
    assert result["_rc"] != 0 and result.get("failed") is True, result
    msg = result["msg"]
    assert "Traceback" not in msg and "Traceback" not in result["_stderr"], (msg, result["_stderr"][-2000:])
    for fragment in fragments:
        assert fragment.lower() in msg.lower(), msg
    return msg


def finish_and_check(db, name):
    """The later run completes the work, and the promise held throughout."""
    violations = support.invariant_violations(db)
    again = run_module("zoho_dlq_move", dict(db.connection_args(), limit=100000))
    assert again["_rc"] == 0, again
    left = db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status IN ('failed', 'retry') "
                     "AND attempt_count >= max_retry_attempts")
    if left:
        violations.append("%s: %d exhausted row(s) left after the later run" % (name, left))
    violations += support.invariant_violations(db, final=False)
    unrecorded = db.scalar("SELECT count(*) FROM tds_sync_queue q WHERE status = 'dead_letter' AND NOT EXISTS "
                           "(SELECT 1 FROM tds_dead_letter_queue d WHERE d.sync_queue_id = q.id)")
    if unrecorded:
        violations.append("%s: %d dead_letter row(s) without a record" % (name, unrecorded))
    support.RESULTS.add("db_faults", faults_injected=1, invariant_violations=len(violations),
                        later_runs_finished=1)
    assert violations == [], violations


def run_in_thread(module, args):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", run_module(module, args, timeout=300)))
    thread.start()
    return thread, box


def test_server_restart_during_heal(rel_db):
    db = exhausted_db(rel_db, 4000)
    thread, box = run_in_thread("zoho_dlq_move", dict(db.connection_args(), batch_size=20, limit=100000))
    assert wait_progress(db.server, db.name, 100), "the heal never got going"
    restarter = threading.Thread(target=db.server.cluster.restart)
    restarter.start()
    restarter.join(120)
    thread.join(300)
    support.reconnect(db)
    result = box["result"]
    if result["_rc"] == 0:
        pytest.fail("the heal finished before the restart hit it: %s" % result.get("moved"))
    assert_clean_failure(result, "failed while")
    finish_and_check(db, "restart")


def test_session_terminated_mid_batch(rel_db):
    db = exhausted_db(rel_db, 4000, 1)
    thread, box = run_in_thread("zoho_dlq_move", dict(db.connection_args(), batch_size=20, limit=100000))
    assert wait_progress(db.server, db.name, 100)
    admin = db.server.admin()
    killed = 0
    try:
        deadline = time.time() + 10
        while not killed and time.time() < deadline:
            with admin.cursor() as cur:
                cur.execute("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND application_name = 'tsh.zoho_sync' AND state <> 'idle'",
                            (db.name,))
                killed = cur.fetchone()[0]
    finally:
        admin.close()
    thread.join(300)
    assert killed, "no heal session to terminate"
    assert_clean_failure(box["result"], "failed while", "closed the connection")
    finish_and_check(db, "terminate")


@pytest.mark.parametrize("which", ["statement_timeout", "lock_timeout"])
def test_timeout_inside_a_batch_rolls_it_back(rel_db, which):
    """A session holds SHARE on the dead-letter table: the batch's UPDATE of the queue rows
    succeeds, its INSERT of their records waits, and the timeout ends the statement. The
    whole batch - the UPDATE too - must roll back: no row dead_letter without its record."""
    db = exhausted_db(rel_db, 300, 2)
    blocker = psycopg2.connect(db.dsn())
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE tds_dead_letter_queue IN SHARE MODE")
    try:
        timeouts = {"statement_timeout": 1500, "lock_timeout": 30000} if which == "statement_timeout" else \
            {"statement_timeout": 30000, "lock_timeout": 800}
        result = run_module("zoho_dlq_move", dict(db.connection_args(), batch_size=100, **timeouts))
        status = support.counts_by_status(db)
    finally:
        blocker.rollback()
        blocker.close()
    assert_clean_failure(result, which.replace("_", " ") if which == "lock_timeout" else "statement timeout")
    assert status.get("dead_letter", 0) == 0, status  # the batch's UPDATE rolled back with its INSERT
    assert db.count(table="tds_dead_letter_queue") == 0
    finish_and_check(db, which)


def unwritable_report_dir(tmp_path):
    """Root ignores permissions, so a mode bit proves nothing here: a path below a
    regular file can never be created, whoever asks."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the report directory's parent should be\n")
    return blocker / "reports"


def test_unwritable_report_dir_health(rel_db, tmp_path):
    if not health_playbook():
        pytest.skip("health.yml does not exist yet")
    generate(rel_db.conn, live=200, history=0, seed=support.seed() + 3, with_logs=False)
    bad = unwritable_report_dir(tmp_path)
    result = run_health(rel_db, bad)
    assert result.rc != 0, result
    assert "Traceback" not in result.output, result
    assert "not-a-directory" in result.output or "Not a directory" in result.output, result
    good = tmp_path / "reports"
    later = run_health(rel_db, good)
    assert later.rc in (0, 2) or "critical" in later.output.lower(), later
    assert any(p.endswith("latest.json") for _d, _s, files in os.walk(str(good)) for p in files), later
    support.RESULTS.add("db_faults", faults_injected=1, later_runs_finished=1, invariant_violations=0)


def test_unwritable_report_dir_heal(rel_db, tmp_path):
    if not heal_playbook():
        pytest.skip("heal.yml does not exist yet")
    if not support.chaos():
        pytest.skip("long form only (make chaos): two heal.yml runs")
    generate(rel_db.conn, live=300, history=0, seed=support.seed() + 4,
             mix={"failed_under_budget": 0.5, "retry_exhausted": 0.5}, with_logs=False)
    before = rel_db.checksum()
    bad = unwritable_report_dir(tmp_path)
    result = run_heal(rel_db, bad, "-e", "zoho_heal_cleanup=false")
    assert result.rc != 0, result
    assert "Traceback" not in result.output, result
    violations = support.invariant_violations(rel_db)
    changed_unaudited = rel_db.checksum() != before
    good = tmp_path / "reports"
    later = run_heal(rel_db, good, "-e", "zoho_heal_cleanup=false")
    assert later.rc == 0, later
    left = rel_db.scalar("SELECT count(*) FROM tds_sync_queue WHERE (status = 'failed' AND attempt_count < "
                         "max_retry_attempts) OR (status IN ('failed', 'retry') AND attempt_count >= max_retry_attempts)")
    if left:
        violations.append("%d row(s) left after the later heal" % left)
    violations += support.invariant_violations(rel_db)
    support.RESULTS.add("db_faults", faults_injected=1, later_runs_finished=1, invariant_violations=len(violations),
                        unaudited_changes_with_unwritable_audit=int(changed_unaudited))
    assert violations == [], violations
    # Every action of a heal is audited: with nowhere to write the audit, nothing may
    # change (the heal role checks the audit log and the report directory before its lock).
    assert not changed_unaudited, "heal.yml changed the queue although it could not write its audit log"
    assert "cannot record what it would do" in result.output, result
