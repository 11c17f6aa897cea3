"""8. Least privilege: docs/least_privilege.sql gives health, heal and restore exactly
what they use. The facts and health.yml run as a zoho_health member, every heal module
and heal.yml as a zoho_heal member, zoho_restore as a zoho_restore member, and all of
them do their whole job; anything outside those grants is refused by the server
(SQLSTATE 42501)."""

import glob
import json
import os

import psycopg2
import pytest

from helpers.modules import run_module
from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, health_playbook, run_heal, run_health, run_playbook

SQL = os.path.join(support.ROOT, "docs", "least_privilege.sql")
USERS = {"health": ("zoho_lp_health", "Health-pw-1"), "heal": ("zoho_lp_heal", "Heal-pw-2"),
         "restore": ("zoho_lp_restore", "Restore-pw-3")}

# Statements outside every grant: (who, description, SQL). Each must fail with 42501.
REFUSED = [
    ("heal", "a schema change", "ALTER TABLE tds_sync_queue ADD COLUMN zoho_x integer"),
    ("heal", "dropping a table", "DROP TABLE tds_sync_logs"),
    ("heal", "creating a table", "CREATE TABLE public.zoho_x (id integer)"),
    ("heal", "an update of the payload", "UPDATE tds_sync_queue SET validated_payload = '{}'::jsonb"),
    ("heal", "an update of the error columns", "UPDATE tds_sync_queue SET error_message = 'x'"),
    ("heal", "an update of the row's entity", "UPDATE tds_sync_queue SET source_entity_id = 'x'"),
    ("heal", "a DELETE from the dead-letter queue", "DELETE FROM tds_dead_letter_queue"),
    ("heal", "an update of a dead-letter record's payload", "UPDATE tds_dead_letter_queue SET last_payload = '{}'"),
    ("heal", "an INSERT into the queue",
     "INSERT INTO tds_sync_queue (id, inbox_event_id, entity_type, source_entity_id, operation_type, "
     "validated_payload, status, priority, attempt_count, max_retry_attempts) SELECT gen_random_uuid(), "
     "inbox_event_id, entity_type, source_entity_id, operation_type, validated_payload, status, priority, 0, 3 "
     "FROM tds_sync_queue LIMIT 1"),
    ("heal", "TRUNCATE of the queue", "TRUNCATE tds_sync_queue"),
    ("heal", "an update of a sync log's content", "UPDATE tds_sync_logs SET error_message = 'x'"),
    ("heal", "an update of an inbox event's payload", "UPDATE tds_inbox_events SET raw_payload = '{}'"),
    ("heal", "reading other tables (sync runs)", "SELECT count(*) FROM tds_sync_runs"),
    ("heal", "an INSERT into the inbox",
     "INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload, content_hash) "
     "VALUES (gen_random_uuid(), 'zoho', 'invoice', 'x', '{}', 'x')"),
    ("health", "an update of a status", "UPDATE tds_sync_queue SET status = 'pending'"),
    ("health", "an INSERT into the dead-letter queue",
     "INSERT INTO tds_dead_letter_queue (id, sync_queue_id, entity_type, source_entity_id, failure_reason, "
     "total_attempts, last_payload, resolved) SELECT gen_random_uuid(), id, entity_type, source_entity_id, 'x', 0, "
     "'{}', false FROM tds_sync_queue LIMIT 1"),
    ("health", "a DELETE from the queue", "DELETE FROM tds_sync_queue"),
    ("health", "reading the sync logs", "SELECT count(*) FROM tds_sync_logs"),
    ("restore", "an update of the queue", "UPDATE tds_sync_queue SET status = 'pending'"),
    ("restore", "a DELETE from the queue", "DELETE FROM tds_sync_queue"),
]

MIX = {"pending_fresh": 0.2, "pending_stuck_lease": 0.1, "processing_stuck": 0.1, "retry_exhausted": 0.15,
       "failed_under_budget": 0.15, "failed_exhausted": 0.1, "dead_letter_no_dlq": 0.15, "dead_letter_with_dlq": 0.05}


@pytest.fixture
def lp_db(rel_db):
    generate(rel_db.conn, live=400, history=400, seed=support.seed() + 11, mix=MIX)
    with open(SQL) as fh:
        rel_db.execute(fh.read())
    for group, (user, password) in USERS.items():
        rel_db.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN "
                       "CREATE ROLE %s LOGIN PASSWORD '%s'; END IF; END $$" % (user, user, password))
        rel_db.execute("GRANT zoho_%s TO %s" % (group, user))
    return rel_db


def as_user(db, who):
    user, password = USERS[who]
    return dict(db.connection_args(), login_user=user, login_password=password)


def ok(result):
    assert result["_rc"] == 0, result.get("msg")
    return result


def test_health_and_heal_modules_do_their_whole_job_as_their_roles(lp_db, tmp_path):
    db = lp_db
    # another role's session idle in a transaction: only pg_read_all_stats shows its state
    other = psycopg2.connect(db.dsn())
    with other.cursor() as cur:
        cur.execute("SELECT 1")
    try:
        facts = ok(run_module("zoho_queue_facts", as_user(db, "health")))["ansible_facts"]["zoho_queue"]
        assert facts["workers"]["connections"]["idle_in_transaction"] >= 1
    finally:
        other.rollback()
        other.close()
    heal = as_user(db, "heal")
    assert ok(run_module("zoho_requeue", dict(heal, source="failed")))["requeued"] > 0
    assert ok(run_module("zoho_requeue", dict(heal, source="stuck")))["requeued"] > 0
    moved = ok(run_module("zoho_dlq_move", heal))
    assert moved["moved"] > 0 and moved["reconciled"] > 0
    redriven = ok(run_module("zoho_requeue", dict(heal, source="dead_letter", entity_types=["invoice"],
                                                  resolved_by="least-privilege-test")))
    assert redriven["requeued"] > 0 and redriven["resolved_records"] > 0
    backup = str(tmp_path / "backups")
    cleaned = ok(run_module("zoho_cleanup", dict(heal, run_id="lp-1", backup_dir=backup, confirm=True)))
    assert sum(cleaned.get("deleted", {}).values()) > 0 if isinstance(cleaned.get("deleted"), dict) else cleaned
    lock = ok(run_module("zoho_heal_lock", dict(heal, run_id="lp-lock", owner_pid=0, ttl=60)))
    assert lock["acquired"] is True
    assert ok(run_module("zoho_heal_lock", dict(heal, run_id="lp-lock", state="released")))["released"] is True
    restored = ok(run_module("zoho_restore", dict(as_user(db, "restore"), run_id="lp-1", backup_dir=backup)))
    assert restored["changed"] is True
    assert support.invariant_violations(db) == []
    support.RESULTS.add("least_privilege", module_runs_as_roles=9)


@pytest.mark.parametrize("who,what,statement", REFUSED, ids=["%s: %s" % (w, d) for w, d, _s in REFUSED])
def test_anything_else_is_refused(lp_db, who, what, statement):
    user, password = USERS[who]
    conn = psycopg2.connect(lp_db.dsn() + " user=%s password=%s" % (user, password))
    try:
        code = None
        with conn.cursor() as cur:
            try:
                cur.execute(statement)
            except psycopg2.Error as exc:
                code = exc.pgcode
        support.RESULTS.add("least_privilege", not_refused=int(code != "42501"))
        assert code == "42501", (what, code)
    finally:
        conn.rollback()
        conn.close()
    support.RESULTS.add("least_privilege", refused_42501=1)


def test_playbooks_run_as_their_roles(lp_db, tmp_path):
    if not (heal_playbook() and health_playbook()):
        pytest.skip("health.yml / heal.yml do not exist yet")
    db = lp_db
    user, password = USERS["health"]
    health = run_health(db, tmp_path / "health", "-e", "zoho_health_color=never", user=user, password=password)
    report = json.load(open(os.path.join(str(tmp_path / "health"), "localhost", "latest.json")))
    database = [f for f in report["findings"] if f["check"] == "database"]
    assert database and database[0]["severity"] == "ok", (database, health.output[-3000:])
    assert "permission denied" not in health.output.lower(), health
    support.RESULTS.add("least_privilege", playbook_runs_as_roles=1)
    if not support.chaos():
        return  # heal.yml as zoho_heal: long form (the modules ran as zoho_heal above)
    user, password = USERS["heal"]
    heal = run_heal(db, tmp_path / "heal", "-e", "zoho_heal_stuck_after_minutes=1", user=user, password=password)
    assert heal.rc == 0, heal
    assert "permission denied" not in heal.output.lower(), heal
    left = db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status IN ('failed', 'retry') "
                     "AND attempt_count >= max_retry_attempts")
    assert left == 0
    support.RESULTS.add("least_privilege", playbook_runs_as_roles=1)


def latest_report(report_dir, kind):
    [path] = sorted(glob.glob(os.path.join(str(report_dir), "localhost", "%s-*.json" % kind)))[-1:]
    with open(path) as fh:
        return json.load(fh)


def test_previews_say_per_action_what_the_role_would_be_refused(lp_db, tmp_path):
    """A preview run as a role that may only read announces no work the real run would
    be refused: each action says which privilege is missing."""
    user, password = USERS["health"]
    before = lp_db.checksum()
    result = run_heal(lp_db, tmp_path, "--check", "--diff", "-e", "zoho_heal_confirm=true", "-e",
                      "zoho_heal_stuck_after_minutes=1", user=user, password=password)
    assert result.rc == 0, result
    assert lp_db.checksum() == before
    report = latest_report(tmp_path, "heal")
    by_action = dict((a["action"], a) for a in report["actions"])
    for name in ("clear_stuck", "requeue_failed", "move_exhausted", "cleanup"):
        assert by_action[name]["status"] == "refused", (name, by_action[name])
    assert "UPDATE (status" in by_action["requeue_failed"]["reason"]
    assert "INSERT (" in by_action["move_exhausted"]["reason"] and "tds_dead_letter_queue" in \
        by_action["move_exhausted"]["reason"]
    assert "DELETE on public.tds_sync_queue" in by_action["cleanup"]["reason"]
    assert "would be refused" in result.stdout
    support.RESULTS.add("least_privilege", previews_refused=4)


def test_rollback_preview_says_insert_is_missing_and_the_run_changes_nothing(lp_db, tmp_path):
    heal = as_user(lp_db, "heal")
    backups = os.path.join(str(tmp_path), "backups")
    cleaned = ok(run_module("zoho_cleanup", dict(heal, run_id="lp-rb", backup_dir=backups, confirm=True,
                                                 targets=["queue"])))
    assert cleaned["deleted"]["queue"] > 0
    user, password = USERS["heal"]
    preview = run_playbook(lp_db, tmp_path, "playbooks/rollback.yml", "--check", "-e", "zoho_rollback_run_id=lp-rb",
                           user=user, password=password)
    assert preview.rc == 0, preview
    assert "the real run would be refused" in preview.output and "lacks INSERT on public.tds_sync_queue" in \
        preview.output, preview
    with open(os.path.join(str(tmp_path), "audit.jsonl")) as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    restore = [r for r in records if r["action"] == "restore"]
    assert restore and restore[-1]["status"] == "refused" and restore[-1]["mode"] == "check"
    before = lp_db.checksum()
    refused = run_playbook(lp_db, tmp_path, "playbooks/rollback.yml", "-e", "zoho_rollback_run_id=lp-rb",
                           user=user, password=password)
    assert refused.rc != 0 and "lacks INSERT" in refused.output
    assert lp_db.checksum() == before
    user, password = USERS["restore"]
    restored = run_playbook(lp_db, tmp_path, "playbooks/rollback.yml", "-e", "zoho_rollback_run_id=lp-rb",
                            user=user, password=password)
    assert restored.rc == 0, restored
    support.RESULTS.add("least_privilege", rollback_previews_refused=1)
