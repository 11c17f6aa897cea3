"""The detectors themselves: each invariant check of this suite must fire on the
failure it exists to catch, or a green run would prove nothing."""

import time

from reliability import support
from reliability.sim_worker import ClaimLog, WorkerPool


def test_claim_log_flags_overlapping_holders():
    log = ClaimLog()
    log.add("claims", ("r1", "worker-1", 1.0))
    log.add("claims", ("r1", "worker-2", 2.0))  # while worker-1 holds it
    log.add("finishes", ("r1", "worker-1", 3.0, "completed", True))
    log.add("finishes", ("r1", "worker-2", 4.0, "completed", True))
    found = log.violations()
    assert any("while worker-1 held it" in v for v in found)
    assert any("completed more than once" in v for v in found)
    clean = ClaimLog()
    clean.add("claims", ("r2", "worker-1", 1.0))
    clean.add("finishes", ("r2", "worker-1", 2.0, "retry", True))
    clean.add("claims", ("r2", "worker-2", 3.0))
    clean.add("finishes", ("r2", "worker-2", 4.0, "completed", True))
    assert clean.violations() == []


def test_broken_workers_are_caught_racing(rel_db):
    """Workers that claim without the lease condition really do hold a row at the same
    time, and the claim log shows it."""
    for _ in range(30):
        rel_db.add("pending", age="5 minutes")
    pool = WorkerPool(rel_db.dsn(), 4, 1, failure_rate=0.0, crash_rate=0.0, careless=True, hold_seconds=0.02)
    pool.start()
    deadline = time.time() + 60
    while time.time() < deadline and rel_db.count("status <> 'completed'"):
        time.sleep(0.1)
    pool.stop()
    assert pool.log.violations(), "double processing went unnoticed"


def test_database_invariants_fire(rel_db):
    ids = [rel_db.add("pending") for _ in range(3)]
    dead = rel_db.add("dead_letter", attempts=3)
    assert support.invariant_violations(rel_db, ids + [dead]) == []
    assert support.invariant_violations(rel_db, ids + [dead], final=True)  # pending rows left
    # a row with two records
    rel_db.add_dlq_record(dead)
    rel_db.add_dlq_record(dead)
    assert any("more than one" in v for v in support.invariant_violations(rel_db))
    # a half-moved row: a heal's record, status not dead_letter
    half = rel_db.add("retry", attempts=3)
    rel_db.add_dlq_record(half)
    rel_db.execute("UPDATE tds_dead_letter_queue SET failure_reason = 'Retry budget exhausted after 3 attempts' "
                   "WHERE sync_queue_id = %s", (half,))
    assert any("half-moved" in v for v in support.invariant_violations(rel_db))
    # a lost row
    assert any("lost" in v for v in support.invariant_violations(rel_db, ids + [dead, half, "00000000-0000-0000-0000-000000000000"]))


def test_project_claim_log_overlaps_are_flagged(tmp_path):
    import json
    from reliability.test_live_race import claim_log_violations
    path = tmp_path / "claims.jsonl"
    lines = [
        {"ts": 1.0, "worker": "worker-1", "pid": 1, "process": None, "event": "claim", "id": "r1"},
        {"ts": 2.0, "worker": "worker-2", "pid": 1, "process": None, "event": "claim", "id": "r1"},
        {"ts": 3.0, "worker": "worker-1", "pid": 1, "process": None, "event": "finish", "id": "r1",
         "outcome": "completed"},
        {"ts": 4.0, "worker": "worker-2", "pid": 1, "process": None, "event": "finish", "id": "r1",
         "outcome": "lease_lost"},
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    found, claims, finishes = claim_log_violations(str(path))
    assert claims == 2 and finishes == 2
    assert any("while" in v for v in found) and any("lease_lost" in v for v in found)
