"""6. Truthful health: faults injected into the gathering - a column renamed, SELECT
revoked on a table, the server down, a query timing out behind a lock, an unknown status
label added and used - make zoho_queue_facts fail cleanly (or, for the new label, report
it), and make the health report (latest.json of health.yml) `unknown` or `critical` with
the reason, never `ok`. The same database without the fault reports `ok`, so each flip
is the fault's doing. Faults injected and false oks are counted (false oks must be 0)."""

import json
import os

import psycopg2
import pytest

from helpers.modules import run_module
from testbed.pgcluster import free_port

from reliability import support
from reliability.playbooks import health_playbook, run_health

PASSWORD = "h3alth-Pw-7781"


def healthy(db):
    """A small queue any threshold calls healthy: a fresh backlog, a worker on a lease,
    recent completions."""
    for _ in range(5):
        db.add("pending", age="1 minute")
    db.add("processing", locked_by="worker-1", lock_expires="4 minutes", age="2 minutes", started="-1 minute")
    for i in range(30):
        db.add("completed", age="20 minutes", started="-19 minutes", completed="-18 minutes")
    return db


def column_renamed(db):
    db.execute("ALTER TABLE tds_sync_queue RENAME COLUMN attempt_count TO attempts")
    return {}, "attempt_count"


def select_revoked(db):
    db.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'zoho_health_probe') THEN "
               "CREATE ROLE zoho_health_probe LOGIN PASSWORD '%s'; END IF; END $$" % PASSWORD)
    db.execute("GRANT SELECT ON tds_sync_queue TO zoho_health_probe")
    db.execute("REVOKE SELECT ON tds_dead_letter_queue FROM zoho_health_probe")
    return {"user": "zoho_health_probe", "password": PASSWORD}, "permission denied"


def server_down(db):
    return {"port": free_port()}, "cannot connect"


def query_times_out(db):
    """A session holds ACCESS EXCLUSIVE on the queue (a migration, a VACUUM FULL): every
    read of it waits, and the session's lock_timeout ends the wait."""
    holder = psycopg2.connect(db.dsn())
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE tds_sync_queue IN ACCESS EXCLUSIVE MODE")
    db.holder = holder
    return {}, "lock timeout"


def unknown_label(db):
    db.execute("ALTER TYPE tds_event_status ADD VALUE IF NOT EXISTS 'archived'")
    db.execute("UPDATE tds_sync_queue SET status = 'archived' WHERE id IN "
               "(SELECT id FROM tds_sync_queue WHERE status = 'completed' LIMIT 3)")
    return {}, "archived"


FAULTS = [column_renamed, select_revoked, server_down, query_times_out, unknown_label]
# health.yml runs cost ~15 s each: the short form checks the report for these two faults
# (the module level checks all five), the long form for all five.
SHORT_REPORT_FAULTS = (select_revoked, unknown_label)


def release(db):
    holder = getattr(db, "holder", None)
    if holder is not None:
        holder.rollback()
        holder.close()
        db.holder = None


def module_args(db, how):
    args = db.connection_args()
    if "user" in how:
        args.update(login_user=how["user"], login_password=how["password"])
    if "port" in how:
        args.update(login_port=how["port"], connect_timeout=2)
    return args


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_facts_module_never_reads_a_fault_as_health(rel_db, fault):
    healthy(rel_db)
    baseline = run_module("zoho_queue_facts", rel_db.connection_args())
    assert baseline["_rc"] == 0, baseline
    how, reason = fault(rel_db)
    try:
        result = run_module("zoho_queue_facts", module_args(rel_db, how))
    finally:
        release(rel_db)
    assert "Traceback" not in result["_stderr"]
    if fault is unknown_label:
        # the gathering succeeds and says what it does not know
        assert result["_rc"] == 0, result
        assert result["ansible_facts"]["zoho_queue"]["unknown_statuses"] == {"archived": 3}
        false_ok = 0
    else:
        assert result["_rc"] != 0 and result["failed"] is True, result
        assert reason in result["msg"].lower(), result["msg"]
        false_ok = 0
    support.RESULTS.add("truthful_health", module_faults_injected=1, module_false_oks=false_ok)


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_health_report_never_ok_when_it_could_not_look(rel_db, tmp_path, fault):
    if not health_playbook():
        pytest.skip("health.yml does not exist yet")
    if not support.chaos() and fault not in SHORT_REPORT_FAULTS:
        pytest.skip("long form only (make chaos)")
    healthy(rel_db)
    # the same database without the fault is ok (checked for every fault in the long form,
    # once in the short form: the healthy database is built the same way each time)
    baseline = {"overall": "ok"}
    if support.chaos() or fault is SHORT_REPORT_FAULTS[0]:
        base = run_health(rel_db, tmp_path / "base", "-e", "zoho_health_color=never")
        baseline = json.load(open(os.path.join(str(tmp_path / "base"), "localhost", "latest.json")))
        assert baseline["overall"] == "ok", (base.output[-3000:], baseline["findings"])
    how, reason = fault(rel_db)
    try:
        env = {}
        if "port" in how:
            env["PGPORT"] = how["port"]
        result = run_health(rel_db, tmp_path / "fault", "-e", "zoho_health_color=never",
                            user=how.get("user"), password=how.get("password"), env=env)
    finally:
        release(rel_db)
    assert "Traceback" not in result.output, result
    latest = os.path.join(str(tmp_path / "fault"), "localhost", "latest.json")
    assert os.path.exists(latest), result
    report = json.load(open(latest))
    false_ok = int(report["overall"] == "ok")
    support.RESULTS.add("truthful_health", report_faults_injected=1, report_false_oks=false_ok,
                        baseline_ok=int(baseline["overall"] == "ok"))
    assert report["overall"] in ("unknown", "critical"), report["overall"]
    bad = [f for f in report["findings"] if f["severity"] in ("unknown", "critical")]
    assert any(reason in (f.get("message") or "").lower() for f in bad), [f["message"] for f in bad]
    assert result.rc != 0, "health.yml must fail the run when it is unknown or critical"
