"""The engine's newer guarantees, module by module: the stranded-processing reset, the
reconcile's live-lease guard, previews that list exactly what the run changes (cleanup's
later phases included, limits included), the diff table with every row in the result,
and the privilege check of previews and runs."""

import json

import psycopg2
import pytest

from helpers.modules import run_module
from heal.support import add_inbox, add_log


def ok(result):
    assert result["_rc"] == 0, result.get("msg")
    return result


def call(db, module, check=False, diff=False, **args):
    return ok(run_module(module, dict(db.connection_args(), **args), check=check, diff=diff))


# ------------------------------------------------------------------------ stranded
@pytest.fixture
def stranded(tsh_db):
    db = tsh_db
    return {
        # a lock cleanup cleared the lease and left the status
        "no_lease_old": db.add("processing", attempts=1, started="-2 hours", age="3 hours"),
        "no_lease_never_started": db.add("processing", age="2 hours"),
        "expiry_without_holder": db.add("processing", lock_expires="-3 hours", started="-3 hours", age="4 hours"),
        # not stranded
        "no_lease_recent": db.add("processing", started="-5 minutes", age="10 minutes"),
        "live_lease": db.add("processing", locked_by="worker-1", lock_expires="4 minutes", started="-2 hours",
                             age="3 hours"),
        "stuck_lease": db.add("processing", locked_by="worker-2", lock_expires="-2 hours", started="-3 hours",
                              age="3 hours"),
        "pending_no_lease": db.add("pending", age="3 hours"),
    }


def test_stranded_reset_previews_exactly_then_resets_only_stranded_rows(tsh_db, stranded):
    expected = sorted([stranded["no_lease_old"], stranded["no_lease_never_started"],
                       stranded["expiry_without_holder"]])
    before = tsh_db.checksum()
    preview = call(tsh_db, "zoho_requeue", check=True, diff=True, source="stranded")
    assert tsh_db.checksum() == before
    assert sorted(preview["ids"]) == expected
    assert all(r["before"] == "processing" and r["after"] == "pending" for r in preview["rows"])
    assert "reset_stranded" in preview["diff"]["prepared"] and "processing -> pending" in preview["diff"]["prepared"]
    [part] = preview["actions"]
    assert part["name"] == "reset_stranded" and "no live lease" in part["condition"]
    assert "attempt_count kept" in part["change"]
    done = call(tsh_db, "zoho_requeue", source="stranded")
    assert sorted(done["ids"]) == expected
    for key in ("no_lease_old", "no_lease_never_started", "expiry_without_holder"):
        row = tsh_db.row(stranded[key])
        assert (row["status"], row["locked_by"], row["lock_expires_at"], row["next_retry_at"]) == \
            ("pending", None, None, None)
    assert tsh_db.row(stranded["no_lease_old"])["attempt_count"] == 1
    for key in ("no_lease_recent", "live_lease", "stuck_lease"):
        assert tsh_db.status_of(stranded[key]) == "processing", key
    assert tsh_db.row(stranded["live_lease"])["locked_by"] == "worker-1"
    assert call(tsh_db, "zoho_requeue", source="stranded")["changed"] is False


def test_stranded_reset_on_the_simplified_layout(simple_db):
    old = simple_db.add("processing", age="2 hours")
    leased = simple_db.add("processing", age="2 hours", lock_expires="5 minutes")
    done = call(simple_db, "zoho_requeue", source="stranded")
    assert done["ids"] == [str(old)]
    assert simple_db.status_of(old) == "pending" and simple_db.status_of(leased) == "processing"


# ------------------------------------------------------------------------ reconcile
def test_reconcile_never_records_a_row_under_a_live_lease(tsh_db):
    """The production worker dead-letters a row while it still holds the lease: no record
    is written for it until the lease expired."""
    held = [tsh_db.add("dead_letter", attempts=1, locked_by="worker-1", lock_expires="4 minutes",
                       error="greenlet_spawn has not been called", code="xd2s") for _ in range(3)]
    free = tsh_db.add("dead_letter", attempts=1, error="greenlet_spawn has not been called", code="xd2s")
    preview = call(tsh_db, "zoho_dlq_move", check=True)
    assert preview["reconciled_ids"] == [free]
    done = call(tsh_db, "zoho_dlq_move")
    assert done["reconciled_ids"] == [free] and done["records_created"] == 1
    for row_id in held:
        assert tsh_db.dlq_records(row_id) == []
        assert tsh_db.row(row_id)["locked_by"] == "worker-1"
    assert len(tsh_db.dlq_records(free)) == 1


# ------------------------------------------------------------------- exact previews
@pytest.fixture
def history(tsh_db):
    db = tsh_db
    ids = {"old": [db.add("completed", age="%d days" % (40 + n), completed="-%d days" % (39 + n))
                   for n in range(12)]}
    # logs: of deleted rows (go with them), old ones of rows kept, recent ones
    ids["logs_with"] = [add_log(db, q, "95 days") for q in ids["old"]]
    ids["kept"] = [db.add("completed", age="2 days", completed="-2 days") for _ in range(3)]
    ids["logs_alone"] = [add_log(db, q, "100 days") for q in ids["kept"]]
    ids["orphans"] = [add_inbox(db, "20 days") for _ in range(4)]
    return ids


@pytest.mark.parametrize("limit", [5, 12, 1000])
def test_cleanup_preview_lists_exactly_what_the_run_deletes(tsh_db, tmp_path, history, limit):
    args = dict(run_id="x-%d" % limit, backup_dir=str(tmp_path / "b"), limit=limit, batch_size=4, max_ids=100)
    before = tsh_db.checksum()
    preview = call(tsh_db, "zoho_cleanup", check=True, diff=True, **args)
    assert tsh_db.checksum() == before
    done = call(tsh_db, "zoho_cleanup", confirm=True, **args)
    assert preview["deleted"] == done["deleted"]
    for kind in ("queue", "logs", "inbox"):
        assert sorted(preview["ids"][kind]) == sorted(done["ids"][kind]), kind
    # with a limit below the old rows, the inbox events of the rows left behind stay
    assert done["deleted"]["queue"] == min(limit, 12)
    assert done["deleted"]["inbox"] == min(limit, min(limit, 12) + 4)
    # the logs phase then takes the old logs of every row the queue phase left
    assert done["deleted"]["logs"] == min(limit, 12) + min(limit, 12 - min(limit, 12) + 3)


def test_requeue_preview_and_run_take_the_same_oldest_rows(tsh_db):
    ids = [tsh_db.add("failed", attempts=1, age="%d minutes" % (100 - n)) for n in range(30)]
    preview = call(tsh_db, "zoho_requeue", check=True, source="failed", limit=7, batch_size=3)
    done = call(tsh_db, "zoho_requeue", source="failed", limit=7, batch_size=3)
    assert preview["ids"] == done["ids"] == ids[:7]
    assert done["batches"] == 3


# ------------------------------------------------------------------------ the diff
def test_diff_is_a_table_per_change_with_every_row_in_the_result(tsh_db):
    rows = [tsh_db.add("failed", attempts=1, entity="invoice", error="Item %d not found" % n) for n in range(8)]
    result = call(tsh_db, "zoho_requeue", check=True, diff=True, source="failed", diff_rows=3,
                  full_report="/reports/heal-x.md")
    text = result["diff"]["prepared"]
    assert "queue: failed -> pending (8)" in text
    assert "error pattern" in text and "Item <n> not found" in text
    listed = [r for r in rows if r in text]
    assert len(listed) == 3
    assert "5 more row(s) not listed here; every row: /reports/heal-x.md" in text
    assert sorted(r["id"] for r in result["rows"]) == sorted(rows)
    assert all(r["attempts"] == "1/3" and r["entity"] == "invoice" for r in result["rows"])


# ---------------------------------------------------------------------- privileges
@pytest.fixture
def reader(tsh_db):
    """A login role that may read the queue and nothing else."""
    name = "zt_reader_%s" % tsh_db.name[-6:]
    tsh_db.execute("CREATE ROLE %s LOGIN PASSWORD 'Reader-pw-1'" % name)
    tsh_db.execute("GRANT SELECT ON tds_sync_queue, tds_dead_letter_queue, tds_sync_logs, tds_inbox_events TO %s"
                   % name)
    yield dict(tsh_db.connection_args(), login_user=name, login_password="Reader-pw-1")
    tsh_db.execute("DROP OWNED BY %s" % name)
    tsh_db.execute("DROP ROLE %s" % name)


def test_preview_says_what_the_real_run_would_be_refused(tsh_db, reader, tmp_path):
    failed = tsh_db.add("failed", attempts=1)
    tsh_db.add("retry", attempts=3, max_attempts=3)
    preview = ok(run_module("zoho_requeue", dict(reader, source="failed"), check=True))
    assert preview["ids"] == [failed] and preview["changed"] is False
    assert "would be refused" in preview["msg"] and "UPDATE (status" in preview["msg"]
    assert preview["missing_privileges"] and "tds_sync_queue" in preview["missing_privileges"][0]
    moved = ok(run_module("zoho_dlq_move", reader, check=True))
    names = [m.split(":")[0] for m in moved["missing_privileges"]]
    assert names == ["move_exhausted", "reconcile_dead_letters"]
    assert "INSERT" in moved["missing_privileges"][0] and "tds_dead_letter_queue" in moved["missing_privileges"][0]
    cleanup = ok(run_module("zoho_cleanup", dict(reader, run_id="p1", backup_dir=str(tmp_path)), check=True))
    assert len(cleanup["missing_privileges"]) == 3 and "DELETE on public.tds_sync_queue" in cleanup["msg"]
    # the real run fails before it changes anything, with one clear message
    before = tsh_db.checksum()
    refused = run_module("zoho_requeue", dict(reader, source="failed"))
    assert refused["_rc"] != 0 and "lacks UPDATE (status" in refused["msg"] and "nothing was changed" in \
        refused["msg"] and "least_privilege.sql" in refused["msg"]
    assert "Traceback" not in refused["_stderr"]
    assert tsh_db.checksum() == before


def test_restore_preview_says_insert_is_missing(tsh_db, tmp_path):
    old = tsh_db.add("completed", age="40 days", completed="-39 days")
    call(tsh_db, "zoho_cleanup", run_id="r1", backup_dir=str(tmp_path), confirm=True)
    assert tsh_db.row(old) is None
    name = "zt_noins_%s" % tsh_db.name[-6:]
    tsh_db.execute("CREATE ROLE %s LOGIN PASSWORD 'Noins-pw-1'" % name)
    tsh_db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s" % name)
    try:
        args = dict(tsh_db.connection_args(), login_user=name, login_password="Noins-pw-1", run_id="r1",
                    backup_dir=str(tmp_path))
        preview = ok(run_module("zoho_restore", args, check=True))
        assert preview["changed"] is False and "the real run would be refused" in preview["msg"]
        assert any("INSERT on public.tds_inbox_events" in m for m in preview["missing_privileges"])
        refused = run_module("zoho_restore", args)
        assert refused["_rc"] != 0 and "lacks INSERT" in refused["msg"]
        assert tsh_db.row(old) is None
    finally:
        tsh_db.execute("DROP OWNED BY %s" % name)
        tsh_db.execute("DROP ROLE %s" % name)


def test_statement_timeout_in_a_preview_speaks_of_previewing_and_names_the_limit(tsh_db):
    for _ in range(3):
        tsh_db.add("failed", attempts=1)
    blocker = psycopg2.connect(tsh_db.dsn())
    try:
        with blocker.cursor() as cur:
            # an exclusive lock makes the selection wait until its statement_timeout
            cur.execute("LOCK TABLE tds_sync_queue IN ACCESS EXCLUSIVE MODE")
        result = run_module("zoho_requeue", dict(tsh_db.connection_args(), source="failed", lock_timeout=60000,
                                                 statement_timeout=300), check=True)
    finally:
        blocker.rollback()
        blocker.close()
    assert result["_rc"] != 0
    assert "previewing" in result["msg"] and "lower limit" in result["msg"] and "nothing was changed" in result["msg"]
    assert "Traceback" not in result["_stderr"]
    json.dumps(result)
