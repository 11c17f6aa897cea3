"""Worker simulators with a claim log, for the live race and the killed-heal rounds.

Each worker behaves like the production one (reference: how the production worker
behaves): it polls ``pending`` rows and ``retry`` rows whose ``next_retry_at`` passed,
oldest first, in batches, WITHOUT ``SKIP LOCKED``, and claims each row with a
conditional UPDATE that sets ``locked_by``/``lock_expires_at`` only where the row is
unlocked or its lease expired. It then "processes" the item and records the outcome:
``completed`` on success (the fixed worker, so the race has an end), on failure
``attempt_count + 1`` and ``retry`` with a (scaled) exponential backoff while attempts
remain, else ``dead_letter`` without a record (as production does); a share of failures
takes the legacy path that sets ``failed`` (older code paths do), which only a heal
brings back. A worker may also crash after claiming (its lease is left to expire).

The claim log: every claim and every finish carries the database's clock_timestamp()
taken inside the statement that changed the row. Row locks order them: a finish's
timestamp is taken before its commit, and the next claim of that row can only see the
row after that commit, so two intervals of one row overlap only if two workers really
held it at once.
"""

import random
import threading
import time

import psycopg2

WORKER_APP = "tsh-erp-worker"


class ClaimLog:
    def __init__(self):
        self.lock = threading.Lock()
        self.claims = []     # (id, worker, claimed_at)
        self.finishes = []   # (id, worker, finished_at, outcome, matched)
        self.crashes = []    # (id, worker, crashed_at)
        self.errors = []     # (worker, message)
        self.lost_claims = 0  # conditional UPDATEs that matched nothing (another worker won)

    def add(self, kind, entry):
        with self.lock:
            getattr(self, kind).append(entry)

    def violations(self):
        """Rows processed by two workers at once, finishes of leases lost, and completions
        recorded more than once."""
        out = []
        intervals = {}
        open_claims = {}
        events = sorted([(c[2], 0, c) for c in self.claims] + [(f[2], 1, f) for f in self.finishes] +
                        [(x[2], 1, x) for x in self.crashes], key=lambda e: (e[0], e[1]))
        for _ts, kind, e in events:
            row, worker = e[0], e[1]
            if kind == 0:
                holder = open_claims.get(row)
                if holder is not None and holder[0] != worker:
                    out.append("row %s claimed by %s at %s while %s held it since %s"
                               % (row, worker, e[2], holder[0], holder[1]))
                open_claims[row] = (worker, e[2])
            else:
                holder = open_claims.get(row)
                if holder is not None and holder[0] == worker:
                    intervals.setdefault(row, []).append((holder[1], e[2], worker))
                    del open_claims[row]
        lost = [f for f in self.finishes if not f[4]]
        if lost:
            out.append("%d finish(es) on a lease the worker no longer held, e.g. %s" % (len(lost), lost[:2]))
        done = {}
        for f in self.finishes:
            if f[3] == "completed" and f[4]:
                done[f[0]] = done.get(f[0], 0) + 1
        twice = [r for r, n in done.items() if n > 1]
        if twice:
            out.append("%d row(s) completed more than once, e.g. %s" % (len(twice), twice[:3]))
        return out

    def completed_ids(self):
        return set(f[0] for f in self.finishes if f[3] == "completed" and f[4])


class Worker(threading.Thread):
    def __init__(self, dsn, name, log, rng_seed, failure_rate=0.2, legacy_failed_share=0.5,
                 crash_rate=0.002, batch=100, lease_seconds=300, backoff_scale=0.02, crash_lease_seconds=1,
                 careless=False, hold_seconds=0.0):
        super().__init__(name=name, daemon=True)
        self.dsn = dsn
        self.worker_id = name
        self.log = log
        self.rng = random.Random(rng_seed)
        self.failure_rate = failure_rate
        self.legacy_failed_share = legacy_failed_share
        self.crash_rate = crash_rate
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.crash_lease_seconds = crash_lease_seconds
        self.backoff_scale = backoff_scale
        # careless: claims without the lease condition (a broken worker, for the detector's
        # own test); hold_seconds: time spent on each item
        self.careless = careless
        self.hold_seconds = hold_seconds
        self.stop_event = threading.Event()
        self.processed = 0
        self.failures = 0
        self.crashes = 0
        self.idle_polls = 0

    def stop(self):
        self.stop_event.set()

    def _connect(self):
        conn = psycopg2.connect(self.dsn, application_name=WORKER_APP)
        conn.autocommit = False
        return conn

    def run(self):
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None or conn.closed:
                    conn = self._connect()
                if not self._poll(conn):
                    self.idle_polls += 1
                    time.sleep(0.05)
            except psycopg2.Error as exc:
                # the server restarted, or our session was ended: reconnect, like the app's pool
                self.log.add("errors", (self.worker_id, str(exc).strip().splitlines()[0] if str(exc) else repr(exc)))
                try:
                    conn.close()
                except Exception:
                    pass
                conn = None
                time.sleep(0.2)
        if conn is not None and not conn.closed:
            conn.close()

    def _poll(self, conn):
        with conn.cursor() as cur:
            cur.execute(
                """SELECT id::text FROM tds_sync_queue
                    WHERE status = 'pending' OR (status = 'retry' AND next_retry_at <= now())
                    ORDER BY created_at LIMIT %s""", (self.batch,))
            ids = [r[0] for r in cur.fetchall()]
        conn.commit()
        if not ids:
            return False
        # workers start at different points of the batch, as their polls interleave
        start = self.rng.randrange(len(ids))
        for row in ids[start:] + ids[:start]:
            if self.stop_event.is_set():
                break
            self._one(conn, row)
        return True

    def _one(self, conn, row):
        with conn.cursor() as cur:
            lease = "true" if self.careless else \
                "(locked_by IS NULL OR lock_expires_at IS NULL OR lock_expires_at < now())"
            cur.execute(
                """UPDATE tds_sync_queue
                      SET locked_by = %s, lock_expires_at = now() + make_interval(secs => %s),
                          started_at = now()
                    WHERE id = %s
                      AND (status = 'pending' OR (status = 'retry' AND next_retry_at <= now()))
                      AND """ + lease + """
                RETURNING attempt_count, max_retry_attempts, clock_timestamp()""",
                (self.worker_id, self.lease_seconds, row))
            got = cur.fetchone()
        conn.commit()
        if got is None:
            self.log.lost_claims += 1
            return
        attempts, budget, claimed_at = got
        self.log.add("claims", (row, self.worker_id, claimed_at))
        if self.rng.random() < self.crash_rate:
            # the process dies mid-item: the lease stays until it expires
            with conn.cursor() as cur:
                cur.execute("UPDATE tds_sync_queue SET lock_expires_at = now() + make_interval(secs => %s) "
                            "WHERE id = %s AND locked_by = %s RETURNING clock_timestamp()",
                            (self.crash_lease_seconds, row, self.worker_id))
                crashed = cur.fetchone()
            conn.commit()
            self.crashes += 1
            self.log.add("crashes", (row, self.worker_id, crashed[0] if crashed else claimed_at))
            return
        if self.hold_seconds:
            time.sleep(self.hold_seconds)
        elif self.rng.random() < 0.3:
            time.sleep(self.rng.random() * 0.002)  # the call to Zoho
        failed = self.rng.random() < self.failure_rate
        with conn.cursor() as cur:
            if not failed:
                cur.execute(
                    """UPDATE tds_sync_queue
                          SET status = 'completed', completed_at = now(), locked_by = NULL,
                              lock_expires_at = NULL, error_message = NULL, error_code = NULL
                        WHERE id = %s AND locked_by = %s
                    RETURNING clock_timestamp()""", (row, self.worker_id))
                outcome = "completed"
            else:
                self.failures += 1
                code = self.rng.choice(("RATE_LIMIT", "TIMEOUT", "ZOHO_500", "VALIDATION"))
                if self.rng.random() < self.legacy_failed_share:
                    new_status, outcome = "failed", "failed"
                elif attempts + 1 < budget:
                    new_status, outcome = "retry", "retry"
                else:
                    new_status, outcome = "dead_letter", "dead_letter"
                cur.execute(
                    """UPDATE tds_sync_queue
                          SET status = %s, attempt_count = attempt_count + 1,
                              next_retry_at = CASE WHEN %s = 'retry'
                                  THEN now() + make_interval(secs => %s * power(2, attempt_count + 1))
                                  ELSE next_retry_at END,
                              locked_by = NULL, lock_expires_at = NULL,
                              error_message = %s, error_code = %s
                        WHERE id = %s AND locked_by = %s
                    RETURNING clock_timestamp()""",
                    (new_status, new_status, self.backoff_scale, "simulated %s on attempt %d" % (code, attempts + 1),
                     code, row, self.worker_id))
            done = cur.fetchone()
        conn.commit()
        self.processed += 1
        self.log.add("finishes", (row, self.worker_id, done[0] if done else claimed_at, outcome, done is not None))


class WorkerPool:
    def __init__(self, dsn, count, seed, **kw):
        self.log = ClaimLog()
        self.workers = [Worker(dsn, "worker-%d" % (i + 1), self.log, "%s:%d" % (seed, i), **kw)
                        for i in range(count)]

    def start(self):
        for w in self.workers:
            w.start()
        return self

    def stop(self):
        for w in self.workers:
            w.stop()
        for w in self.workers:
            w.join(30)

    @property
    def processed(self):
        return sum(w.processed for w in self.workers)

    @property
    def failures(self):
        return sum(w.failures for w in self.workers)

    @property
    def crashes(self):
        return sum(w.crashes for w in self.workers)
