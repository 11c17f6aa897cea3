"""A tiny worker that claims rows the way the production worker does, and times each claim.

The production worker (TSH ERP, read from its source) polls every second, reads up
to 100 ``pending`` rows and ``retry`` rows whose ``next_retry_at`` has passed (no
``SKIP LOCKED``), and claims each with a conditional UPDATE that sets
``locked_by``/``lock_expires_at`` only where the row is unlocked or its lease has
expired. That UPDATE waits if another transaction holds the row (a heal batch, for
instance): the claim latency is what a heal can make a worker suffer.

This probe does exactly that and then "processes" each claimed row by completing it
(as a worker whose completion code works would), so the live set keeps moving. Every
claim is written to ``--out`` as one line ``<start epoch seconds> <latency ms> <1|0>``
(1: the row was claimed, 0: another worker had it). It stops when ``--stop-file``
appears or after ``--seconds``.

    python -m bench.claim_probe --dsn DSN --worker-id bench-1 --out FILE [--stop-file F]
"""

import argparse
import os
import sys
import time

import psycopg2

# Pending rows first (in the order of the production index idx_queue_status_priority:
# priority, then oldest first), then due retries (soonest due first) to fill the batch.
# Both are index range scans, so a poll costs the same at 10k and at 10M rows of
# history: the probe adds the load of a worker, not the load of a bad query.
POLL_PENDING = """
SELECT id FROM tds_sync_queue
 WHERE status = 'pending'
 ORDER BY priority, created_at
 LIMIT %(batch)s
"""
POLL_RETRY = """
SELECT id FROM tds_sync_queue
 WHERE status = 'retry' AND next_retry_at <= now()
 ORDER BY next_retry_at
 LIMIT %(batch)s
"""

CLAIM = """
UPDATE tds_sync_queue
   SET locked_by = %(worker)s, lock_expires_at = now() + make_interval(secs => %(lease)s)
 WHERE id = %(id)s AND (locked_by IS NULL OR lock_expires_at < now())
"""

COMPLETE = """
UPDATE tds_sync_queue
   SET status = 'completed', started_at = coalesce(started_at, now()), completed_at = now(),
       locked_by = NULL, lock_expires_at = NULL
 WHERE id = %(id)s AND locked_by = %(worker)s
"""


def run(dsn, worker, out, batch=100, poll=1.0, lease=300, seconds=None, stop_file=None):
    conn = psycopg2.connect(dsn, application_name="bench-worker")
    conn.autocommit = True  # every claim its own transaction, as in production
    cur = conn.cursor()
    deadline = time.time() + seconds if seconds else None
    claims = 0
    with open(out, "w", buffering=1 << 16) as fh:
        while True:
            started = time.time()
            if deadline and started >= deadline:
                break
            if stop_file and os.path.exists(stop_file):
                break
            cur.execute(POLL_PENDING, {"batch": batch})
            ids = [r[0] for r in cur.fetchall()]
            if len(ids) < batch:
                cur.execute(POLL_RETRY, {"batch": batch - len(ids)})
                ids += [r[0] for r in cur.fetchall()]
            mine = []
            for row_id in ids:
                t0 = time.time()
                cur.execute(CLAIM, {"worker": worker, "lease": lease, "id": row_id})
                t1 = time.time()
                fh.write("%.6f %.3f %d\n" % (t0, (t1 - t0) * 1000.0, cur.rowcount))
                claims += 1
                if cur.rowcount:
                    mine.append(row_id)
            for row_id in mine:
                cur.execute(COMPLETE, {"id": row_id, "worker": worker})
            left = poll - (time.time() - started)
            if left > 0:
                time.sleep(left)
    conn.close()
    return claims


def read_claims(path):
    """[(start, latency_ms, claimed)] from one probe's output file."""
    rows = []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3:
                rows.append((float(parts[0]), float(parts[1]), int(parts[2])))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.claim_probe")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--lease", type=int, default=300)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--stop-file")
    args = parser.parse_args(argv)
    run(args.dsn, args.worker_id, args.out, args.batch, args.poll, args.lease, args.seconds, args.stop_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
