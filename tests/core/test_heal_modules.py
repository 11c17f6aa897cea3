"""zoho_requeue and zoho_dlq_move: check mode, apply, rerun, locks held by others."""

import threading

import psycopg2
import pytest

from helpers.modules import run_module
from core.test_facts import build_mixed


@pytest.fixture(params=["tsh_db", "simple_db"])
def mixed(request):
    return build_mixed(request.getfixturevalue(request.param))


def heal(db, module, check=False, diff=False, **args):
    result = run_module(module, dict(db.connection_args(), **args), check=check, diff=diff)
    assert result["_rc"] == 0, result.get("msg")
    return result


def status_counts(db):
    return dict((r["status"], r["n"]) for r in db.query(
        "SELECT status::text AS status, count(*) AS n FROM %s GROUP BY 1" % db.queue_table))


ACTIONS = [
    ("zoho_requeue", {"source": "failed"}, ["failed_a", "failed_b"]),
    ("zoho_requeue", {"source": "stuck"}, ["stuck_processing", "stuck_pending"]),
    ("zoho_dlq_move", {}, ["exhausted", "dead_unrecorded"]),
]


@pytest.mark.parametrize("module,args,expected", ACTIONS)
def test_check_reports_exact_rows_and_writes_nothing(mixed, module, args, expected):
    before = mixed.checksum()
    result = heal(mixed, module, check=True, diff=True, **args)
    assert mixed.checksum() == before
    assert sorted(result["ids"]) == sorted(str(mixed.rows[k]) for k in expected)
    assert result["changed"] is True
    # every row is in the result, and each is named in the diff table
    assert set(r["id"] for r in result["rows"]) == set(result["ids"])
    assert all(row_id in result["diff"]["prepared"] for row_id in result["ids"])
    # the apply touches exactly the rows check mode announced
    applied = heal(mixed, module, **args)
    assert sorted(applied["ids"]) == sorted(result["ids"])
    again = heal(mixed, module, **args)
    assert again["changed"] is False and again["ids"] == []


def test_requeue_failed_state(mixed):
    total = mixed.count()
    heal(mixed, "zoho_requeue", source="failed")
    for key in ("failed_a", "failed_b"):
        row = mixed.row(mixed.rows[key])
        assert row["status"] == "pending"
        attempts = row.get("attempt_count", row.get("retry_count"))
        assert attempts in (1, 2)  # a manual requeue consumes no attempt
    assert mixed.count() == total


def test_requeue_failed_respects_the_budget(tsh_db):
    under = tsh_db.add("failed", attempts=2, max_attempts=3)
    used_up = tsh_db.add("failed", attempts=3, max_attempts=3)
    result = heal(tsh_db, "zoho_requeue", source="failed")
    assert result["ids"] == [under]
    assert tsh_db.status_of(used_up) == "failed"
    result = heal(tsh_db, "zoho_requeue", source="failed", max_attempts=5)
    assert result["ids"] == [used_up]


def test_clear_stuck_state_and_live_lease_untouched(mixed):
    live = mixed.row(mixed.rows["live_lease"])
    heal(mixed, "zoho_requeue", source="stuck")
    sp = mixed.row(mixed.rows["stuck_processing"])
    assert sp["status"] == "pending"
    assert sp.get("lock_expires_at", sp.get("locked_until")) is None
    assert mixed.row(mixed.rows["stuck_pending"])["status"] == "pending"
    assert mixed.row(mixed.rows["live_lease"]) == live
    # expired only five minutes ago: not stuck at the default 30 minutes
    assert mixed.row(mixed.rows["fresh_expired"]).get("locked_by", "x") is not None


def test_dlq_move_one_record_per_row(mixed):
    total = mixed.count()
    result = heal(mixed, "zoho_dlq_move")
    assert result["moved_ids"] == [str(mixed.rows["exhausted"])]
    assert result["reconciled_ids"] == [str(mixed.rows["dead_unrecorded"])]
    assert result["records_created"] == 2
    for key in ("exhausted", "dead_unrecorded", "dead_recorded"):
        assert mixed.status_of(mixed.rows[key]) == "dead_letter"
        assert len(mixed.dlq_records(mixed.rows[key])) == 1
    assert mixed.count() == total  # queue rows are never deleted
    assert heal(mixed, "zoho_dlq_move")["changed"] is False
    assert mixed.count(table=mixed.dlq_table) == 3


def test_dlq_record_copies_the_queue_row(tsh_db):
    row = tsh_db.add("retry", entity="PAYMENT", attempts=3, max_attempts=3, error="Zoho said no", code="Z1")
    heal(tsh_db, "zoho_dlq_move", reason="budget used")
    rec = tsh_db.dlq_records(row)[0]
    queue = tsh_db.row(row)
    assert rec["entity_type"] == "PAYMENT"
    assert rec["source_entity_id"] == queue["source_entity_id"]
    assert rec["failure_reason"] == "budget used"
    assert rec["error_code"] == "Z1"
    assert rec["total_attempts"] == 3
    assert rec["last_error_message"] == "Zoho said no"
    assert rec["last_payload"] == queue["validated_payload"]
    assert rec["resolved"] is False


def test_redrive_needs_a_filter_and_resolves_records(mixed):
    refused = run_module("zoho_requeue", dict(mixed.connection_args(), source="dead_letter"))
    assert refused["failed"] and "needs entity_types or ids" in refused["msg"]
    row = mixed.rows["dead_recorded"]
    result = heal(mixed, "zoho_requeue", source="dead_letter", ids=[str(row)], resolved_by="alice",
                  reason="fixed the mapping")
    assert result["ids"] == [str(row)]
    assert result["resolved_records"] == 1
    queue = mixed.row(row)
    assert queue["status"] == "pending"
    assert queue.get("attempt_count", queue.get("retry_count")) == 0
    rec = mixed.dlq_records(row)[0]
    assert rec["resolved"] is True and rec["resolved_by"] == "alice"
    assert mixed.status_of(mixed.rows["dead_unrecorded"]) == "dead_letter"


def test_limit_and_batches(tsh_db):
    ids = [tsh_db.add("failed", attempts=1) for _ in range(25)]
    first = heal(tsh_db, "zoho_requeue", source="failed", limit=10, batch_size=3)
    assert len(first["ids"]) == 10 and first["batches"] == 4
    rest = heal(tsh_db, "zoho_requeue", source="failed", batch_size=7)
    assert sorted(first["ids"] + rest["ids"]) == sorted(ids)


def test_row_held_by_another_session_is_skipped_without_waiting(tsh_db):
    held = tsh_db.add("failed", attempts=1, age="2 hours")
    free = tsh_db.add("failed", attempts=1, age="1 hour")
    other = psycopg2.connect(tsh_db.dsn())
    try:
        with other.cursor() as cur:
            cur.execute("SELECT id FROM tds_sync_queue WHERE id = %s FOR UPDATE", (held,))
        # lock_timeout would fail the module if it waited; SKIP LOCKED must not wait at all
        result = heal(tsh_db, "zoho_requeue", source="failed", lock_timeout=500)
        assert result["ids"] == [free]
        assert result["skipped_locked"] == [held]
    finally:
        other.rollback()
        other.close()
    assert tsh_db.status_of(held) == "failed"
    assert heal(tsh_db, "zoho_requeue", source="failed")["ids"] == [held]


def test_row_changed_by_a_worker_between_select_and_update_is_left_alone(tsh_db):
    """A worker that takes the row first wins: the heal's UPDATE repeats its conditions."""
    rows = [tsh_db.add("failed", attempts=1) for _ in range(40)]
    worker = psycopg2.connect(tsh_db.dsn())
    worker.autocommit = True
    stop = threading.Event()

    def race():
        with worker.cursor() as cur:
            while not stop.is_set():
                cur.execute("UPDATE tds_sync_queue SET status = 'completed' WHERE id = ("
                            "SELECT id FROM tds_sync_queue WHERE status = 'failed' ORDER BY random() LIMIT 1)")

    t = threading.Thread(target=race)
    t.start()
    try:
        result = heal(tsh_db, "zoho_requeue", source="failed", batch_size=2)
    finally:
        stop.set()
        t.join()
        worker.close()
    for row_id in result["ids"]:
        assert tsh_db.status_of(row_id) in ("pending", "completed")
    states = dict((r["id"], r["status"]) for r in tsh_db.query(
        "SELECT id::text AS id, status::text AS status FROM tds_sync_queue"))
    assert len(states) == len(rows)
    assert set(states.values()) <= {"pending", "completed"}
    assert all(states[r] in ("pending", "completed") for r in result["ids"])
