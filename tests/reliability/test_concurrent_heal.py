"""4. Two heals at once: exactly one proceeds, the other says so and exits cleanly, and
no row is acted on twice - shown by the database and by the audit log. At module level,
two heal modules racing over the same rows split them (FOR UPDATE SKIP LOCKED plus the
repeated conditions) and never both act on one row."""

import json
import os
import threading
import time

import pytest

from helpers.modules import run_module
from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, kill_group, start_heal

MIX = {"failed_under_budget": 0.3, "retry_exhausted": 0.2, "failed_exhausted": 0.1, "dead_letter_no_dlq": 0.2,
       "pending_stuck_lease": 0.1, "processing_stuck": 0.1}


def run_pair(db, module, args, rng):
    results = [None, None]

    def one(i):
        results[i] = run_module(module, dict(db.connection_args(), batch_size=rng.choice((5, 20, 50)), **args))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.chaos
def test_two_heal_modules_at_once_never_act_twice(rel_db):
    rounds = support.rounds(2, 20)
    rng = support.rng("concurrent_modules")
    acted = 0
    violations = []
    for n in range(rounds):
        generate(rel_db.conn, live=600, history=0, seed=support.seed() * 100 + n, mix=MIX, with_logs=False)
        for module, args, key in (("zoho_requeue", {"source": "failed"}, "ids"),
                                  ("zoho_requeue", {"source": "stuck", "stuck_after": 1}, "ids"),
                                  ("zoho_dlq_move", {}, "ids")):
            a, b = run_pair(rel_db, module, args, rng)
            for r in (a, b):
                assert r["_rc"] == 0, r.get("msg")
            both = set(a[key]) & set(b[key])
            if both:
                violations.append("round %d %s %s: %d row(s) acted on by both, e.g. %s"
                                  % (n, module, args, len(both), sorted(both)[:3]))
            acted += len(a[key]) + len(b[key])
        violations += ["round %d: %s" % (n, v) for v in support.invariant_violations(rel_db)]
        left = rel_db.scalar("SELECT count(*) FROM tds_sync_queue q WHERE status = 'failed' "
                             "AND attempt_count < max_retry_attempts")
        if left:
            violations.append("round %d: %d failed row(s) left by the two requeues" % (n, left))
    support.RESULTS.add("concurrent_heal", module_pairs=rounds * 3, rows_acted=acted,
                        double_actions=len([v for v in violations if "both" in v]),
                        invariant_violations=len(violations))
    assert violations == [], violations[:10]


def audit_records(path):
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.mark.chaos
def test_two_heal_playbooks_at_once(rel_db, tmp_path):
    if not heal_playbook():
        pytest.skip("heal.yml does not exist yet")
    rounds = support.rounds(1, 3)
    violations = []
    for n in range(rounds):
        generate(rel_db.conn, live=400, history=0, seed=support.seed() * 10 + 7000 + n, mix=MIX, with_logs=False)
        failed = set(r["id"] for r in rel_db.query(
            "SELECT id::text AS id FROM tds_sync_queue WHERE status = 'failed' AND attempt_count < max_retry_attempts"))
        report_dir = tmp_path / ("round-%d" % n)
        report_dir.mkdir()
        logs = [str(report_dir / "a.log"), str(report_dir / "b.log")]
        args = ["-e", "zoho_heal_batch_size=25", "-e", "zoho_heal_stuck_after_minutes=1",
                "-e", "zoho_heal_cleanup=false"]
        procs = [start_heal(rel_db, report_dir, *args, out=logs[0]), start_heal(rel_db, report_dir, *args, out=logs[1])]
        deadline = time.time() + 600
        while any(p.poll() is None for p in procs) and time.time() < deadline:
            time.sleep(0.2)
        rcs = [p.poll() for p in procs]
        for p in procs:
            kill_group(p)
        outputs = []
        for path in logs:
            with open(path) as fh:
                outputs.append(fh.read())
        if rcs != [0, 0]:
            violations.append("round %d: exit codes %s\n%s" % (n, rcs, "\n".join(o[-2000:] for o in outputs)))
        said = [("Another heal is running" in o) for o in outputs]
        if sorted(said) != [False, True]:
            violations.append("round %d: 'another heal is running' said by %s run(s), expected exactly one"
                              % (n, said.count(True)))
        records = audit_records(str(report_dir / "audit.jsonl"))
        by_run = {}
        for r in records:
            by_run.setdefault(r.get("run_id"), []).append(r)
        skipped = [run for run, rs in by_run.items() if [x.get("action") for x in rs] == ["lock"]
                   and rs[0].get("status") == "skipped"]
        acting = [run for run, rs in by_run.items() if run not in skipped]
        if len(skipped) != 1 or len(acting) != 1:
            violations.append("round %d: audit shows %d skipped and %d acting run(s): %s"
                              % (n, len(skipped), len(acting), {k: [x.get("action") for x in v]
                                                              for k, v in by_run.items()}))
        requeued = []
        for r in records:
            if r.get("action") == "requeue_failed":
                ids = r.get("ids")
                requeued += ids if isinstance(ids, list) else (ids or {}).get("requeued", ids.get("ids", []) if
                                                                              isinstance(ids, dict) else [])
        if len(requeued) != len(set(requeued)):
            violations.append("round %d: a row requeued twice in the audit" % n)
        left = failed & set(r["id"] for r in rel_db.query("SELECT id::text AS id FROM tds_sync_queue "
                                                           "WHERE status = 'failed'"))
        if left:
            violations.append("round %d: %d failed row(s) not requeued" % (n, len(left)))
        violations += ["round %d: %s" % (n, v) for v in support.invariant_violations(rel_db)]
    support.RESULTS.add("concurrent_heal", playbook_pairs=rounds, invariant_violations=len(violations))
    assert violations == [], violations
