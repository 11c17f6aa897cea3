"""1. Live race: 4 simulated workers drain the queue with 20 % injected failures (and a
few crashes mid-item) while the heal runs over and over - requeue failed, clear stuck
leases, dead-letter exhausted items and record the workers' dead letters - through the
real modules and through heal.yml. At the end every item is completed or dead_letter
exactly once, every dead_letter row has exactly one record, no row was held by two
workers at once, the counts add up, and the server never detected a deadlock."""

import json
import threading
import time

import pytest

from helpers.modules import run_module
from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, run_heal
from reliability.sim_worker import WorkerPool

# Everything a troubled production queue holds, minus live leases and retries not yet
# due (they would only make the race wait minutes for a clock).
RACE_MIX = {
    "pending_fresh": 0.40, "pending_old": 0.12, "pending_lease_expired_recent": 0.03,
    "pending_stuck_lease": 0.04, "processing_stuck": 0.04, "retry_due": 0.06, "retry_overdue": 0.06,
    "retry_exhausted": 0.04, "failed_under_budget": 0.07, "failed_exhausted": 0.05,
    "dead_letter_no_dlq": 0.07, "dead_letter_with_dlq": 0.02,
}

HEAL_ACTIONS = (
    ("zoho_requeue", {"source": "failed"}),
    ("zoho_requeue", {"source": "stuck", "stuck_after": 1}),
    ("zoho_dlq_move", {}),
)


class HealLoop(threading.Thread):
    """Runs the heal modules (and, every ``playbook_every`` rounds, heal.yml) until stopped."""

    def __init__(self, db, rng, report_dir, playbook_every=0):
        super().__init__(daemon=True)
        self.db, self.rng, self.report_dir, self.playbook_every = db, rng, report_dir, playbook_every
        self.stop_event = threading.Event()
        self.rounds = 0
        self.module_runs = 0
        self.playbook_runs = 0
        self.rows_changed = {"requeued_failed": 0, "cleared_stuck": 0, "moved": 0, "reconciled": 0}
        self.failures = []

    def run(self):
        while not self.stop_event.is_set():
            self.rounds += 1
            if self.playbook_every and heal_playbook() and self.rounds % self.playbook_every == 0:
                result = run_heal(self.db, self.report_dir, "-e", "zoho_heal_batch_size=%d" % self.rng.choice((20, 100)),
                                  "-e", "zoho_heal_stuck_after_minutes=1", "-e", "zoho_heal_cleanup=false")
                self.playbook_runs += 1
                if result.rc != 0:
                    self.failures.append(("heal.yml", result.output[-3000:]))
                continue
            for module, args in HEAL_ACTIONS:
                args = dict(self.db.connection_args(), batch_size=self.rng.choice((10, 50, 200)), limit=5000, **args)
                result = run_module(module, args)
                self.module_runs += 1
                if result["_rc"] != 0:
                    self.failures.append((module, result.get("msg")))
                    continue
                if module == "zoho_dlq_move":
                    self.rows_changed["moved"] += result["moved"]
                    self.rows_changed["reconciled"] += result["reconciled"]
                elif args["source"] == "failed":
                    self.rows_changed["requeued_failed"] += result["requeued"]
                else:
                    self.rows_changed["cleared_stuck"] += result["requeued"]

    def stop(self):
        self.stop_event.set()
        self.join(600)


def unfinished(db):
    return db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status NOT IN ('completed', 'dead_letter') "
                     "OR (status = 'dead_letter' AND NOT EXISTS (SELECT 1 FROM tds_dead_letter_queue d "
                     "WHERE d.sync_queue_id = tds_sync_queue.id))")


@pytest.mark.chaos
def test_live_race(rel_db, tmp_path):
    n = support.items(3000, 50000)
    rng = support.rng("live_race")
    generate(rel_db.conn, live=n, history=0, seed=support.seed(), mix=RACE_MIX, with_logs=False)
    expected = [r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue")]
    assert len(expected) == n
    log_offset = rel_db.server.log_size()
    pool = WorkerPool(rel_db.dsn(), 4, support.seed(), failure_rate=0.2).start()
    # heal.yml joins the race in the long form (every 4th heal round); the short form
    # races the modules alone (a playbook run costs ~40 s here)
    heal_thread = HealLoop(rel_db, rng, tmp_path, playbook_every=(4 if support.chaos() else 0))
    heal_thread.start()
    deadline = time.time() + (1800 if support.chaos() else 420)
    try:
        while time.time() < deadline:
            time.sleep(1)
            if unfinished(rel_db) == 0 and heal_thread.playbook_runs >= (
                    1 if heal_playbook() and heal_thread.playbook_every else 0):
                break
    finally:
        heal_thread.stop()
        pool.stop()
    # one last heal with the workers gone: whatever the last worker dead-lettered gets its record
    final = run_module("zoho_dlq_move", dict(rel_db.connection_args(), limit=100000))
    assert final["_rc"] == 0, final

    violations = support.invariant_violations(rel_db, expected, final=True)
    violations += pool.log.violations()
    violations += ["heal failed: %s: %s" % f for f in heal_thread.failures]
    log_text = rel_db.server.log_since(log_offset)
    deadlocks = log_text.count("deadlock detected")
    if deadlocks:
        violations.append("%d deadlock(s) in the server log" % deadlocks)
    counts = support.counts_by_status(rel_db)
    completed = counts.get("completed", 0)
    dead = counts.get("dead_letter", 0)
    records = rel_db.count(table="tds_dead_letter_queue")
    if completed + dead != n:
        violations.append("completed %d + dead_letter %d != %d items" % (completed, dead, n))
    if records != dead:
        violations.append("%d dead-letter records for %d dead_letter rows" % (records, dead))
    done_ids = pool.log.completed_ids()
    if len(done_ids) != completed:
        violations.append("the workers completed %d rows, the queue says %d" % (len(done_ids), completed))
    support.RESULTS.add("live_race", rounds=1, items=n, items_processed=pool.processed, sim_worker_items=n,
                        claims=len(pool.log.claims), failures_injected=pool.failures, crashes_injected=pool.crashes,
                        heal_rounds=heal_thread.rounds, heal_module_runs=heal_thread.module_runs,
                        heal_playbook_runs=heal_thread.playbook_runs, **dict(
                            ("heal_" + k, v) for k, v in heal_thread.rows_changed.items()),
                        worker_errors=len(pool.log.errors), deadlocks=deadlocks,
                        invariant_violations=len(violations), completed=completed, dead_letter=dead)
    assert not pool.log.errors, pool.log.errors[:5]
    assert violations == [], violations[:20]


def claim_log_violations(path):
    """Overlapping holds of one row by different loops in testbed/worker.py's claim log
    (a claim's ts is taken after it committed, a finish's before its UPDATE is sent, so
    intervals of different holders overlap only if two loops really held the row)."""
    events = []
    with open(path) as fh:
        for line in fh:
            record = json.loads(line)
            holder = "%s/%s/%s" % (record.get("pid"), record.get("process"), record.get("worker"))
            events.append((record["ts"], 0 if record["event"] == "finish" else 1, record["id"], holder, record))
    events.sort(key=lambda e: (e[0], e[1]))
    held = {}
    out = []
    claims = finishes = 0
    for ts, _order, row, holder, record in events:
        if record["event"] == "claim":
            claims += 1
            if row in held and held[row][0] != holder:
                out.append("row %s claimed by %s at %s while %s held it since %s" % (row, holder, ts, *held[row]))
            held[row] = (holder, ts)
        else:
            finishes += 1
            if record.get("outcome") in ("lease_lost", "error"):
                out.append("row %s finished by %s with outcome %s" % (row, holder, record.get("outcome")))
            if held.get(row, (None,))[0] == holder:
                del held[row]
    return out, claims, finishes


@pytest.mark.chaos
def test_live_race_with_the_project_worker(rel_db, tmp_path):
    """The same race with testbed/worker.py (the worker simulator the Molecule service
    and the benchmarks run), judged by its own claim log."""
    from testbed import worker as project_worker
    n = support.items(1500, 10000)
    rng = support.rng("live_race_project_worker")
    generate(rel_db.conn, live=n, history=0, seed=support.seed() + 500, mix=RACE_MIX, with_logs=False)
    expected = [r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue")]
    log_offset = rel_db.server.log_size()
    claim_log = str(tmp_path / "claims.jsonl")
    pool = project_worker.start_workers(rel_db.dsn(), workers=4, poll=0.05, batch=100, lease=300, work_ms=1,
                                        failure_rate=0.2, backoff_scale=0.002, claim_log=claim_log,
                                        seed=support.seed(), out=None)
    heal_thread = HealLoop(rel_db, rng, tmp_path, playbook_every=0)
    heal_thread.start()
    deadline = time.time() + (1800 if support.chaos() else 420)
    try:
        while time.time() < deadline and unfinished(rel_db):
            time.sleep(1)
    finally:
        heal_thread.stop()
        stats = pool.stop()
    final = run_module("zoho_dlq_move", dict(rel_db.connection_args(), limit=100000))
    assert final["_rc"] == 0, final
    violations = support.invariant_violations(rel_db, expected, final=True)
    log_violations, claims, finishes = claim_log_violations(claim_log)
    violations += log_violations
    violations += ["heal failed: %s: %s" % f for f in heal_thread.failures]
    deadlocks = rel_db.server.log_since(log_offset).count("deadlock detected")
    if deadlocks:
        violations.append("%d deadlock(s) in the server log" % deadlocks)
    counts = support.counts_by_status(rel_db)
    if counts.get("completed", 0) + counts.get("dead_letter", 0) != n:
        violations.append("counts do not add up: %s for %d items" % (counts, n))
    if rel_db.count(table="tds_dead_letter_queue") != counts.get("dead_letter", 0):
        violations.append("dead-letter records do not match dead_letter rows")
    if stats["completed"] != counts.get("completed", 0):
        violations.append("the workers completed %s rows, the queue says %s" % (stats["completed"],
                                                                                counts.get("completed", 0)))
    support.RESULTS.add("live_race", rounds=1, items=n, items_processed=stats["completed"] + stats["retried"] +
                        stats["dead_lettered"], claims=claims, failures_injected=stats["retried"] +
                        stats["dead_lettered"], heal_rounds=heal_thread.rounds,
                        heal_module_runs=heal_thread.module_runs, deadlocks=deadlocks,
                        invariant_violations=len(violations), project_worker_items=n)
    assert violations == [], violations[:20]
