"""heal.yml as an operator runs it, on what the engine added: the stranded-processing reset,
the reconcile's live-lease guard, a diff a person can read with every row in the report,
previews that match the heal, the audit words from the declarations, read-only runs that
say so. The tests of this module run in order on one database."""

import glob
import json
import os

import pytest

from heal.support import action, diff_ids


@pytest.fixture(scope="module")
def queue(module_db):
    db = module_db
    ids = {
        "stranded": [db.add("processing", attempts=1, started="-2 hours", age="3 hours") for _ in range(3)],
        "processing_live": [db.add("processing", locked_by="worker-1", lock_expires="4 minutes",
                                   started="-1 minute")],
        # the worker dead-letters rows it still holds: no record while the lease lives
        "dead_held": [db.add("dead_letter", attempts=1, locked_by="worker-2", lock_expires="4 minutes",
                             error="greenlet_spawn has not been called", code="xd2s") for _ in range(2)],
        "dead_free": [db.add("dead_letter", attempts=1, error="greenlet_spawn has not been called", code="xd2s")],
        "failed": [db.add("failed", attempts=1, error="Item %d not found" % n, code="ZOHO_404") for n in range(7)],
        "completed_old": [db.add("completed", age="40 days", completed="-39 days") for _ in range(3)],
    }
    return ids


@pytest.fixture(scope="module")
def state():
    return {}


def md_report(runner, run_id):
    [path] = glob.glob(os.path.join(runner.report_dir, "*", "heal-%s.md" % run_id))
    with open(path) as fh:
        return path, fh.read()


def test_preview_lists_every_row_in_the_report_and_a_readable_diff(runner, module_db, queue, state):
    before = module_db.checksum()
    result = runner.run("heal.yml", "--check", "--diff", "-e", "zoho_heal_confirm=true", "-e", "zoho_heal_diff_rows=2")
    assert result.rc == 0, result
    assert module_db.checksum() == before
    out = result.stdout
    # a table per change, two rows of each action on screen, and where every row is
    assert "== requeue_failed: Would requeue 7 queue row(s)" in out
    assert "queue: failed -> pending (7)" in out and "Item <n> not found" in out
    assert "5 more row(s) not listed here; every row: " in out
    assert "queue: processing -> pending (3)" in out
    listed = diff_ids(out)
    assert len(set(queue["failed"]) & listed) == 2
    report = runner.last_report()
    _path, text = md_report(runner, report["run_id"])
    # every row of every action is in the rows file beside the report, which the diff names
    rows_file = report["rows_file"]
    assert rows_file and rows_file in out and rows_file in text
    with open(rows_file) as fh:
        every = fh.read()
    for name in ("stranded", "dead_free", "failed", "completed_old"):
        for row_id in queue[name]:
            assert row_id in every, (name, row_id)
    for row_id in queue["dead_held"] + queue["processing_live"]:
        assert row_id not in every
    assert "## requeue_failed: Would requeue 7 queue row(s)" in every and "### queue: failed -> pending (7)" in every
    # the report itself keeps the first rows of each action
    rows = report["rows"]
    assert len(rows["requeue_failed"]) == 2 and set(r["id"] for r in rows["requeue_failed"]) <= set(queue["failed"])
    assert set(r["id"] for r in rows["reset_stranded"]) <= set(queue["stranded"])
    # a preview writes no backup and names none
    cleanup = action(report, "cleanup")
    assert cleanup["status"] == "would" and "backup_file" not in cleanup
    assert "backup: `" not in text and not os.path.exists(runner.backup_dir)
    state["preview"] = dict((a["action"], a["counts"]) for a in report["actions"])


def test_heal_does_what_the_preview_said(runner, module_db, queue, state):
    result = runner.run("heal.yml", "-e", "zoho_heal_confirm=true")
    assert result.rc == 0, result
    report = runner.last_report()
    applied = dict((a["action"], a["counts"]) for a in report["actions"])
    for name in ("requeue_failed", "move_exhausted", "reset_stranded"):
        keep = lambda c: dict((k, v) for k, v in c.items() if k not in ("batches", "skipped_locked"))  # noqa: E731
        assert keep(applied[name]) == keep(state["preview"][name]), name
    assert {k: v for k, v in applied["cleanup"].items() if k != "backed_up"} == \
        {k: v for k, v in state["preview"]["cleanup"].items() if k != "backed_up"}
    for row_id in queue["stranded"]:
        row = module_db.row(row_id)
        assert (row["status"], row["attempt_count"], row["locked_by"]) == ("pending", 1, None)
    live = module_db.row(queue["processing_live"][0])
    assert (live["status"], live["locked_by"]) == ("processing", "worker-1")
    for row_id in queue["dead_held"]:
        assert module_db.dlq_records(row_id) == [], "a row under a live lease got a record"
        assert module_db.row(row_id)["locked_by"] == "worker-2"
    assert len(module_db.dlq_records(queue["dead_free"][0])) == 1
    # the audit words are the declarations', not the role's
    records = dict((r["action"], r) for r in runner.audit() if r["run_id"] == report["run_id"])
    stranded = records["reset_stranded"]
    assert stranded["status"] == "done" and sorted(stranded["ids"]) == sorted(queue["stranded"])
    assert stranded["change"] == "status -> pending; locked_by, lock_expires_at, next_retry_at -> null; " \
                                 "attempt_count kept"
    assert "status processing, no lease" in stranded["reason"]
    assert records["cleanup"]["backup_file"].endswith("%s.jsonl" % report["run_id"])
    assert "APPLIED" in result.stdout


def test_a_heal_with_nothing_to_do_says_so(runner, module_db):
    result = runner.run("heal.yml")
    assert result.rc == 0, result
    report = runner.last_report()
    assert not [a for a in report["actions"] if a["status"] == "done"]
    assert "NOTHING CHANGED" in result.stdout and "APPLIED" not in result.stdout


def test_the_review_is_read_only_and_says_so(runner):
    result = runner.run("playbooks/dlq_review.yml")
    assert result.rc == 0, result
    assert "READ-ONLY (nothing changed)" in result.stdout and "APPLIED" not in result.stdout
    report = runner.last_report("dlq-review")
    with open(glob.glob(os.path.join(runner.report_dir, "*", "dlq-review-%s.md" % report["run_id"]))[0]) as fh:
        assert "**read-only** (nothing changed)" in fh.read()
    json.dumps(report)
