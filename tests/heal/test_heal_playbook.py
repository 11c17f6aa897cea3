"""heal.yml end to end, as an operator runs it, on one troubled queue (real PostgreSQL,
real ansible-playbook, inventory/demo): preview, heal, heal again, clean up, roll back.
The tests of this module run in order on the same database."""

import json
import os

import pytest

from heal.support import PASSWORD, action, diff_ids, inbox_of, seed_troubled



@pytest.fixture(scope="module")
def troubled(module_db):
    return seed_troubled(module_db)


@pytest.fixture(scope="module")
def state():
    return {}


def dlq_counts(db):
    """Per dead_letter row, how many DLQ records it has."""
    return dict((r["id"], r["n"]) for r in db.query(
        """SELECT q.id::text AS id, count(d.id) AS n FROM tds_sync_queue q
             LEFT JOIN tds_dead_letter_queue d ON d.sync_queue_id = q.id
            WHERE q.status = 'dead_letter' GROUP BY q.id"""))


def test_check_diff_lists_every_row_and_changes_nothing(runner, module_db, troubled):
    before = module_db.checksum()
    result = runner.run("heal.yml", "--check", "--diff")
    assert result.rc == 0, result
    assert module_db.checksum() == before
    out = result.stdout
    listed = diff_ids(out)
    # every row that would change is in the diff
    for name in ("failed_under", "stuck_processing", "stuck_pending", "failed_exhausted", "retry_exhausted",
                 "dead_unrecorded", "completed_old"):
        for row_id in troubled[name]:
            assert row_id in listed, "%s row %s not in the --diff output" % (name, row_id)
    # and rows that must not change are not
    for name in ("live_lease", "pending_ok", "retry_not_due", "completed_old_dlq", "completed_recent"):
        for row_id in troubled[name]:
            assert row_id not in listed, "%s row %s shown as changing" % (name, row_id)
    assert not os.path.exists(runner.backup_dir), "check mode wrote a backup"
    report = runner.last_report()
    assert report["mode"] == "check"
    assert action(report, "requeue_failed")["status"] == "would"
    assert sorted(action(report, "requeue_failed")["ids"]) == sorted(troubled["failed_under"])
    assert action(report, "cleanup")["counts"]["queue"] == len(troubled["completed_old"])
    assert "needs zoho_heal_confirm=true" in action(report, "cleanup")["reason"]
    assert all(a["mode"] == "check" for a in runner.audit())


def test_heal_fixes_the_queue(runner, module_db, troubled, syslog_sink, state):
    result = runner.run("heal.yml", extra={"zoho_heal_audit_syslog_socket": syslog_sink.path})
    assert result.rc == 0, result
    row = module_db.row
    for row_id in troubled["failed_under"]:
        r = row(row_id)
        assert (r["status"], r["attempt_count"], r["locked_by"]) == ("pending", 1, None)
    for row_id in troubled["stuck_processing"] + troubled["stuck_pending"]:
        r = row(row_id)
        assert (r["status"], r["locked_by"], r["lock_expires_at"]) == ("pending", None, None)
    for row_id in troubled["failed_exhausted"] + troubled["retry_exhausted"] + troubled["dead_unrecorded"] + \
            troubled["dead_recorded"]:
        assert row(row_id)["status"] == "dead_letter"
    live = row(troubled["live_lease"][0])
    assert (live["status"], live["locked_by"]) == ("processing", "worker-1")
    assert row(troubled["retry_not_due"][0])["status"] == "retry"
    # exactly one DLQ record per dead_letter row
    counts = dlq_counts(module_db)
    assert len(counts) == 7 and set(counts.values()) == {1}, counts
    # cleanup is destructive: not without zoho_heal_confirm
    assert all(row(i) is not None for i in troubled["completed_old"])
    report = runner.last_report()
    assert report["mode"] == "apply" and report["status"] == "ok"
    assert action(report, "cleanup")["status"] == "blocked"
    assert "needs zoho_heal_confirm=true" in result.stdout
    # the audit trail: run id, user, host, mode, action, counts, ids, before/after
    records = [r for r in runner.audit() if r["run_id"] == report["run_id"]]
    by_action = dict((r["action"], r) for r in records)
    requeue = by_action["requeue_failed"]
    assert sorted(requeue["ids"]) == sorted(troubled["failed_under"])
    assert requeue["counts"]["requeued"] == 3
    assert requeue["user"] and requeue["operator"] == "heal-tester" and requeue["host"] == "localhost"
    assert requeue["mode"] == "apply" and requeue["invoked_by"] == "manual"
    assert requeue["before"]["failed"] == 4
    summary = by_action["summary"]
    assert (summary["before"]["failed"], summary["after"]["failed"]) == (4, 0)
    assert (summary["before"]["unrecorded_dead_letters"], summary["after"]["unrecorded_dead_letters"]) == (3, 0)
    assert sorted(by_action["move_exhausted"]["ids"]["moved"]) == sorted(
        troubled["failed_exhausted"] + troubled["retry_exhausted"])
    assert sorted(by_action["move_exhausted"]["ids"]["reconciled"]) == sorted(troubled["dead_unrecorded"])
    assert sorted(by_action["clear_stuck"]["ids"]) == sorted(troubled["stuck_processing"] + troubled["stuck_pending"])
    assert by_action["cleanup"]["status"] == "blocked"
    assert "restart" not in by_action  # a worker holds a live lease: workers are not stuck
    # and to syslog
    logged = "\n".join(syslog_sink.messages)
    assert "tsh-zoho-sync[" in logged and report["run_id"] in logged and "requeue_failed" in logged
    state["syslog"] = logged
    state["stdout"] = result.stdout + result.stderr


def test_second_heal_changes_nothing(runner, module_db):
    before = module_db.checksum()
    result = runner.run("heal.yml")
    assert result.rc == 0, result
    assert module_db.checksum() == before
    report = runner.last_report()
    assert not [a for a in report["actions"] if a["status"] == "done"], report["actions"]


def test_cleanup_backs_up_deletes_within_fks(runner, module_db, troubled, state):
    state["before_cleanup"] = module_db.checksum()
    old_inbox = inbox_of(module_db, troubled["completed_old"])
    result = runner.run("heal.yml", "-e", "zoho_heal_confirm=true")
    assert result.rc == 0, result
    report = runner.last_report()
    cleanup = action(report, "cleanup")
    assert cleanup["status"] == "done", cleanup
    run_id = report["run_id"]
    gone = lambda table, ids: module_db.scalar(  # noqa: E731
        "SELECT count(*) FROM %s WHERE id = ANY(%%s::uuid[])" % table, (list(ids),)) == 0
    assert gone("tds_sync_queue", troubled["completed_old"])
    assert gone("tds_sync_logs", troubled["logs_of_old"] + troubled["log_old_pending"])
    assert gone("tds_inbox_events", old_inbox + troubled["inbox_orphan_old"])
    # kept: a row a DLQ record references, a recent one, every dead letter, evidence logs, recent inbox
    for row_id in troubled["completed_old_dlq"] + troubled["completed_recent"] + troubled["dead_unrecorded"]:
        assert module_db.row(row_id) is not None
    assert module_db.count("true", "tds_sync_logs") == 1  # the old log of a dead letter
    assert not gone("tds_inbox_events", troubled["inbox_orphan_recent"])
    # every deleted row is in the backup, named by the run id
    path = os.path.join(runner.backup_dir, "%s.jsonl" % run_id)
    assert cleanup["backup_file"] == path
    with open(path) as fh:
        lines = [json.loads(line) for line in fh]
    backed = dict((k, set(r["row"]["id"] for r in lines if r["kind"] == k)) for k in ("queue", "logs", "inbox"))
    assert backed["queue"] == set(troubled["completed_old"])
    assert backed["logs"] == set(troubled["logs_of_old"] + troubled["log_old_pending"])
    assert backed["inbox"] == set(old_inbox + troubled["inbox_orphan_old"])
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    records = [r for r in runner.audit() if r["run_id"] == run_id and r["action"] == "cleanup"]
    assert sorted(records[0]["ids"]["queue"]) == sorted(troubled["completed_old"])
    state["cleanup_run"] = run_id


def test_rollback_restores_the_cleanup(runner, module_db, state):
    after_cleanup = module_db.checksum()
    assert after_cleanup != state["before_cleanup"]
    missing = runner.run("playbooks/rollback.yml")
    assert missing.rc != 0 and "zoho_rollback_run_id" in missing.stdout
    preview = runner.run("playbooks/rollback.yml", "--check", "--diff", "-e",
                         "zoho_rollback_run_id=%s" % state["cleanup_run"])
    assert preview.rc == 0, preview
    assert module_db.checksum() == after_cleanup
    assert "Would restore 5 inbox event(s), 4 queue row(s), 3 sync log(s)" in preview.stdout
    result = runner.run("playbooks/rollback.yml", "-e", "zoho_rollback_run_id=%s" % state["cleanup_run"])
    assert result.rc == 0, result
    assert module_db.checksum() == state["before_cleanup"]
    report = runner.last_report("rollback")
    assert report["restore"]["restored"] == {"inbox": 5, "queue": 4, "logs": 3}
    assert [r["status"] for r in runner.audit() if r["action"] == "restore"] == ["would", "done"]


def test_no_password_anywhere(runner, state):
    assert PASSWORD not in runner.all_written_text()
    assert PASSWORD not in state.get("syslog", "")
    assert PASSWORD not in state.get("stdout", "")
