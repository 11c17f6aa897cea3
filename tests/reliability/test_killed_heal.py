"""2. Killed heal: ``ansible-playbook heal.yml`` is killed with SIGKILL - the whole
process group: the playbook, its workers and the module in flight - at seeded random
moments while it requeues, clears, dead-letters and cleans up. After every kill the
database keeps the promise (no row lost or duplicated, no row with two dead-letter
records, no half-moved row; a row the cleanup deleted is in its backup file), the heal
lock is given back, and the next heal completes the work."""

import glob
import json
import os
import time

import pytest

from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, kill_group, run_heal, start_heal

# Work for every action of the heal: failed rows within budget, stuck leases, exhausted
# retries, dead letters without a record; and a year of completed history to clean up.
KILL_MIX = {
    "pending_fresh": 0.10, "pending_stuck_lease": 0.12, "processing_stuck": 0.12, "retry_due": 0.05,
    "retry_exhausted": 0.12, "failed_under_budget": 0.18, "failed_exhausted": 0.12,
    "dead_letter_no_dlq": 0.15, "dead_letter_with_dlq": 0.04,
}
HEAL_ARGS = ["-e", "zoho_heal_batch_size=25", "-e", "zoho_heal_stuck_after_minutes=1",
             "-e", "zoho_heal_requeue_limit=100000", "-e", "zoho_heal_stuck_limit=100000",
             "-e", "zoho_heal_dlq_limit=100000", "-e", "zoho_heal_cleanup_limit=100000"]


# The tasks of heal.yml that change the database (their names in the play's output).
ACTION_TASKS = ("Requeue failed items", "Clear stuck leases", "Dead-letter exhausted items", "Clean up old data")


def wait_for_task(proc, log_path, name, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        with open(log_path) as fh:
            if any(line.startswith("TASK [") and name in line for line in fh):
                return True
        time.sleep(0.05)
    return False


def wait_for_module_session(db, proc, timeout):
    """Until a module of the collection has a session on the database (the action's
    batches are under way)."""
    admin = db.server.admin()
    try:
        deadline = time.time() + timeout
        while time.time() < deadline and proc.poll() is None:
            with admin.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND application_name = 'tsh.zoho_sync'", (db.name,))
                if cur.fetchone()[0]:
                    return True
            time.sleep(0.01)
        return False
    finally:
        admin.close()


def backed_up_ids(backup_dir):
    """Ids of every row image in the heal's backup files (complete lines only)."""
    ids = set()
    for path in glob.glob(os.path.join(backup_dir, "*.jsonl")):
        with open(path) as fh:
            for line in fh:
                if not line.endswith("\n"):
                    continue  # a line the kill cut short: its batch never committed
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                row = record.get("row")
                if isinstance(row, dict) and "id" in row:
                    ids.add(str(row["id"]))
    return ids


def wait_lock_released(db, timeout=30):
    """The killed run's lock holder notices its owner is gone and ends its session."""
    admin = db.server.admin()
    try:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with admin.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND application_name LIKE 'tsh.zoho_sync%%'", (db.name,))
                if cur.fetchone()[0] == 0:
                    return True
            time.sleep(0.2)
        return False
    finally:
        admin.close()


def remaining_work(db):
    return db.query("""
        SELECT count(*) FILTER (WHERE status = 'failed' AND attempt_count < max_retry_attempts
                                  AND (locked_by IS NULL OR lock_expires_at < now())) AS failed_under_budget,
               count(*) FILTER (WHERE locked_by IS NOT NULL AND lock_expires_at < now() - interval '1 minute')
                   AS stuck,
               count(*) FILTER (WHERE status IN ('failed', 'retry') AND attempt_count >= max_retry_attempts
                                  AND (locked_by IS NULL OR lock_expires_at < now())) AS exhausted,
               count(*) FILTER (WHERE status = 'dead_letter' AND NOT EXISTS (
                   SELECT 1 FROM tds_dead_letter_queue d WHERE d.sync_queue_id = q.id)) AS unrecorded,
               count(*) FILTER (WHERE status = 'completed' AND completed_at < now() - interval '30 days')
                   AS old_completed
          FROM tds_sync_queue q""")[0]


@pytest.mark.chaos
def test_killed_heal_rounds(rel_db, tmp_path):
    if not heal_playbook():
        pytest.skip("heal.yml does not exist yet")
    rounds = support.rounds(1, 20)
    rng = support.rng("killed_heal")
    backup_dir = str(tmp_path / "backups")
    expected = set()
    kills = 0
    mid_action = 0
    kill_points = []
    modules_killed = 0
    violations = []
    for n in range(rounds):
        # fresh work for this round (own seed: generated ids never collide)
        generate(rel_db.conn, live=rng.choice((300, 600)), history=rng.choice((200, 600)),
                 seed=support.seed() * 1000 + n, mix=KILL_MIX)
        expected |= set(r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue"))
        log_path = str(tmp_path / ("round-%02d.log" % n))
        proc = start_heal(rel_db, tmp_path, *HEAL_ARGS, out=log_path)
        # most rounds kill inside an action (its task started, the module at work);
        # the others at any moment of the run
        if rng.random() < 0.75:
            # the chosen action's module at work in the database: then a moment more
            target = rng.choice(ACTION_TASKS)
            delay = rng.uniform(0.0, 0.4)
            if wait_for_task(proc, log_path, target, timeout=180):
                wait_for_module_session(rel_db, proc, timeout=30)
        else:
            target, delay = None, rng.uniform(0.5, 40.0)
        deadline = time.time() + delay
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.02)
        finished_before_kill = proc.poll() is not None
        killed = kill_group(proc)
        in_flight = [c for c in killed if "AnsiballZ_zoho_" in c]
        modules_killed += 1 if in_flight else 0
        kills += 0 if finished_before_kill else 1
        with open(log_path) as fh:
            log = fh.read()
        tasks = [line for line in log.splitlines() if line.startswith("TASK [")]
        kill_points.append("%.1fs: %s%s" % (delay, "finished" if finished_before_kill else
                                             (tasks[-1][6:].split("]")[0] if tasks else "before the first task"),
                                             " (module %s killed in flight)" % in_flight[0].split("AnsiballZ_")[1]
                                             .split(".py")[0] if in_flight else ""))
        if tasks and any(t in tasks[-1] for t in ACTION_TASKS) and not finished_before_kill:
            mid_action += 1
        if not wait_lock_released(rel_db):
            violations.append("round %d: the killed heal's sessions/lock still there after 30 s" % n)
        deleted = expected - set(r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue"))
        lost = deleted - backed_up_ids(backup_dir)
        if lost:
            violations.append("round %d: %d row(s) deleted without a backup, e.g. %s" % (n, len(lost), sorted(lost)[:3]))
        present = expected - deleted
        for v in support.invariant_violations(rel_db, None):
            violations.append("round %d (killed after %.1fs, last task %r): %s"
                              % (n, delay, tasks[-1] if tasks else None, v))
        # no row may appear that we did not create, and rows still present are unique by key
        extra = set(r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue")) - expected
        if extra:
            violations.append("round %d: %d unexpected row(s)" % (n, len(extra)))
        assert present is not None

    # the next heal (uninterrupted) completes the work
    result = run_heal(rel_db, tmp_path, *HEAL_ARGS)
    assert result.rc == 0, result
    work = remaining_work(rel_db)
    if any(work.values()):
        violations.append("work left after the completing heal: %s" % work)
    deleted = expected - set(r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue"))
    if deleted - backed_up_ids(backup_dir):
        violations.append("rows deleted without a backup after the final heal")
    violations += support.invariant_violations(rel_db, None)
    support.RESULTS.add("killed_heal", rounds=rounds, kills=kills, kills_mid_action=mid_action,
                        rows=len(expected), rows_cleaned_with_backup=len(deleted),
                        modules_killed_in_flight=modules_killed, invariant_violations=len(violations),
                        kill_points=kill_points)
    assert violations == [], violations[:20]
