"""zoho_cleanup and zoho_restore as Ansible runs them: confirmation, check mode, backups
written before deletes, foreign keys, exact restore, bad input."""

import json
import os

import pytest

from helpers.db import SIMPLE_MAPPING
from helpers.modules import run_module
from heal.support import add_inbox, add_log, inbox_of


@pytest.fixture
def old_data(tsh_db):
    db = tsh_db
    ids = {
        "old": [db.add(status="completed", age="40 days", completed="-39 days") for _ in range(7)],
        "old_dlq": [db.add(status="completed", age="40 days", completed="-39 days")],
        "recent": [db.add(status="completed", age="3 days", completed="-3 days")],
        "dead": [db.add(status="dead_letter", attempts=3, age="60 days")],
        "orphan": [add_inbox(db, "9 days")],
    }
    db.add_dlq_record(ids["old_dlq"][0])
    ids["logs"] = [add_log(db, q, "95 days") for q in ids["old"][:3]] + [add_log(db, ids["old"][3], "1 hour")]
    ids["dead_log"] = [add_log(db, ids["dead"][0], "95 days", "failed")]
    return ids


def cleanup(db, tmp_path, check=False, diff=False, **args):
    params = dict(db.connection_args(), run_id="run-1", backup_dir=str(tmp_path / "backups"))
    params.update(args)
    return run_module("zoho_cleanup", params, check=check, diff=diff)


def restore(db, tmp_path, check=False, **args):
    params = dict(db.connection_args(), run_id="run-1", backup_dir=str(tmp_path / "backups"))
    params.update(args)
    return run_module("zoho_restore", params, check=check)


def test_refuses_without_confirm_and_check_mode_writes_nothing(tsh_db, tmp_path, old_data):
    before = tsh_db.checksum()
    refused = cleanup(tsh_db, tmp_path)
    assert refused["_rc"] != 0 and "needs confirm=true" in refused["msg"]
    preview = cleanup(tsh_db, tmp_path, check=True, diff=True)
    assert preview["_rc"] == 0 and preview["changed"] is True
    assert preview["deleted"] == {"queue": 7, "logs": 4, "inbox": 8}
    assert sorted(preview["ids"]["queue"]) == sorted(old_data["old"])
    assert old_data["old"][0] in preview["diff"]["prepared"]
    assert preview["backup_file"] is None  # a preview names no backup it does not write
    assert set(r["id"] for r in preview["rows"] if r["table"] == "queue") == set(old_data["old"])
    assert tsh_db.checksum() == before
    assert not os.path.exists(str(tmp_path / "backups"))


def test_backup_then_delete_within_fks_and_exact_restore(tsh_db, tmp_path, old_data):
    before = tsh_db.checksum()
    old_inbox = inbox_of(tsh_db, old_data["old"])
    done = cleanup(tsh_db, tmp_path, confirm=True, batch_size=3)
    assert done["_rc"] == 0, done
    assert done["deleted"] == {"queue": 7, "logs": 4, "inbox": 8} and done["backed_up"] == 19
    assert done["batches"] >= 5  # 3 + 3 + 1 queue rows, then the logs and inbox phases
    assert tsh_db.count("id = ANY(%s::uuid[])" % "ARRAY[%s]" % ",".join("'%s'" % i for i in old_data["old"])) == 0
    for keep in old_data["old_dlq"] + old_data["recent"] + old_data["dead"]:
        assert tsh_db.row(keep) is not None
    assert tsh_db.count("true", "tds_sync_logs") == 1  # a dead letter's log is evidence
    with open(done["backup_file"]) as fh:
        lines = [json.loads(line) for line in fh]
    assert lines[0]["kind"] == "header" and lines[0]["run_id"] == "run-1"
    assert set(r["row"]["id"] for r in lines if r["kind"] == "inbox") == set(old_inbox + old_data["orphan"])
    # nothing left to do: a second run deletes nothing
    again = cleanup(tsh_db, tmp_path, confirm=True)
    assert again["deleted"] == {"queue": 0, "logs": 0, "inbox": 0} and again["changed"] is False
    # restore: preview, then exact, then idempotent
    preview = restore(tsh_db, tmp_path, check=True)
    assert preview["restored"] == {"inbox": 8, "queue": 7, "logs": 4}
    assert tsh_db.checksum() != before
    back = restore(tsh_db, tmp_path, batch_size=2)
    assert back["_rc"] == 0 and back["restored"] == {"inbox": 8, "queue": 7, "logs": 4}, back
    assert tsh_db.checksum() == before
    twice = restore(tsh_db, tmp_path)
    assert twice["restored"] == {"inbox": 0, "queue": 0, "logs": 0} and twice["changed"] is False
    assert twice["skipped_existing"] == {"inbox": 8, "queue": 7, "logs": 4}


def test_a_row_backed_up_but_not_deleted_is_restored_as_present(tsh_db, tmp_path, old_data):
    """A crash between the backup's fsync and the DELETE's commit leaves rows in both
    places: restore skips them, nothing is duplicated."""
    done = cleanup(tsh_db, tmp_path, confirm=True, targets=["queue"], limit=2)
    assert done["deleted"]["queue"] == 2
    with open(done["backup_file"], "a") as fh:  # a batch that was written but never committed
        for row in tsh_db.query("SELECT to_jsonb(q)::text AS j FROM tds_sync_queue q WHERE id = %s",
                                (old_data["recent"][0],)):
            fh.write('{"kind": "queue", "table": "tds_sync_queue", "batch": 9, "row": %s}\n' % row["j"])
    back = restore(tsh_db, tmp_path)
    assert back["restored"]["queue"] == 2 and back["skipped_existing"]["queue"] == 1


def test_simple_layout_without_inbox_or_logs(simple_db, tmp_path):
    old = simple_db.add(status="completed", age="45 days")
    keep = simple_db.add(status="completed", age="2 days")
    mapping = dict(SIMPLE_MAPPING, inbox_table=None, logs_table=None)
    before = simple_db.checksum()
    done = run_module("zoho_cleanup", dict(simple_db.connection_args(), queue_schema=mapping, run_id="s1",
                                           backup_dir=str(tmp_path), confirm=True))
    assert done["_rc"] == 0, done
    assert done["deleted"] == {"queue": 1, "logs": 0, "inbox": 0} and done["skipped_targets"] == ["logs", "inbox"]
    assert simple_db.row(old) is None and simple_db.row(keep) is not None
    back = run_module("zoho_restore", dict(simple_db.connection_args(), queue_schema=mapping, run_id="s1",
                                           backup_dir=str(tmp_path)))
    assert back["restored"]["queue"] == 1 and simple_db.checksum() == before
    # the default mapping names tables this layout lacks: one clear message
    wrong = run_module("zoho_cleanup", dict(simple_db.connection_args(), run_id="s2", backup_dir=str(tmp_path),
                                            check=True), check=True)
    assert wrong["_rc"] != 0


@pytest.mark.parametrize("args, message", [
    ({"run_id": "../../etc/passwd"}, "run_id must be"),
    ({"completed_older_than_days": 0}, "completed_older_than_days must be at least 1"),
    ({"targets": ["queue", "dead_letter"]}, "value of targets must be one or more of"),
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"backup_dir": "/proc/no/such/dir"}, "/proc/no/such/dir"),
    ({"queue_schema": {"logs_table": "no_such_logs"}}, "no_such_logs does not exist"),
])
def test_bad_cleanup_input(tsh_db, tmp_path, old_data, args, message):
    before = tsh_db.checksum()
    result = cleanup(tsh_db, tmp_path, confirm=True, **args)
    assert result["_rc"] != 0 and message in result["msg"], result["msg"]
    assert "Traceback" not in result["_stderr"]
    assert tsh_db.checksum() == before


def test_bad_restore_input(tsh_db, tmp_path):
    missing = restore(tsh_db, tmp_path, run_id="nope")
    assert missing["_rc"] != 0 and "No backup for run nope" in missing["msg"]
    os.makedirs(str(tmp_path / "backups"))
    with open(str(tmp_path / "backups" / "bad.jsonl"), "w") as fh:
        fh.write('{"kind": "header", "format": "tsh.zoho_sync.backup/1", "run_id": "bad"}\nnot json\n{}\n')
    before = tsh_db.checksum()
    bad = restore(tsh_db, tmp_path, run_id="bad")
    assert bad["_rc"] != 0 and "Malformed backup" in bad["msg"] and "line 2" in bad["msg"]
    assert tsh_db.checksum() == before


def test_unwritable_backup_dir_deletes_nothing(tsh_db, tmp_path, old_data):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    before = tsh_db.checksum()
    refused = cleanup(tsh_db, tmp_path, confirm=True, backup_dir=str(blocker / "backups"))
    assert refused["_rc"] != 0
    assert "cannot be written (or created)" in refused["msg"] and "is not a directory" in refused["msg"]
    assert "nothing was deleted" in refused["msg"]
    assert tsh_db.checksum() == before
