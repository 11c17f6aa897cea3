"""A stand-in for the TSH ERP's Zoho sync worker, faithful where the collection cares.

Why it exists: the health and heal playbooks have to be tested against workers that
behave like production's (see the reference notes in PRODUCT.md): loops that poll the
queue without ``SKIP LOCKED``, claim rows with a conditional UPDATE lease, retry with
``2^attempt`` minute backoff, dead-letter without writing a ``tds_dead_letter_queue``
row, and print the same log lines ("Sync worker worker-1 started", "Processing event:
<id>", "Event processed successfully", "Event will be retried", "Event moved to dead
letter queue"), which are all the health check can see of a worker. It also
reproduces production's known defects on request, so the checks that must catch them
can be shown to catch them.

It is installed as the systemd service ``tsh-erp`` in the Debian test containers, so
it needs nothing but python3 and psycopg2 (Debian's python3-psycopg2) and the
standard library.

Behaviour per loop (threads ``worker-1`` .. ``worker-N``; like production every
process uses the same ids, so ``locked_by`` does not name a process):

* every ``poll`` seconds read up to ``batch`` rows that are ``pending``, or ``retry``
  with ``next_retry_at`` passed, and not under a live lease, oldest first;
* claim each with ``UPDATE ... SET locked_by, lock_expires_at = now() + lease WHERE
  id = ? AND <still pending/due retry> AND (locked_by IS NULL OR lock_expires_at <
  now()) RETURNING``; a row another loop took meanwhile is skipped;
* "process" it (sleep ``work_ms``), then fail with probability ``failure_rate``:
  ``attempt_count + 1``, error_message/error_code, ``retry`` with ``next_retry_at =
  now() + 2^attempt_count minutes * backoff_scale`` while ``attempt_count <
  max_retry_attempts``, else ``dead_letter``; or succeed: ``completed``,
  ``started_at``/``completed_at`` set. Either way the lease is cleared.
* the finishing UPDATE only applies while this loop still holds the very lease it
  took (same ``locked_by`` and ``lock_expires_at``); if a heal cleared or another
  loop re-took the lease meanwhile, the result is dropped and logged as "lease
  lost" instead of overwriting someone else's work.

Defects (``--defect``, repeatable):

* ``reprocess``: success is never recorded (production's broken "mark completed"):
  the row stays pending/retry with its lease and is picked again once the lease
  expires; it only leaves the loop by failing ``max_retry_attempts`` times.
* ``failpath``: the failure path itself fails: nothing is written, the row keeps its
  lease until it expires.

Modes (``--mode``, repeatable; ``mode=``/``modes=`` in the API), each a failure mode of the
production worker as measured by running its own code (the reference notes):

* ``internal_error``: fails in its own code before calling Zoho. The claim sets the lease
  without checking the row's status, marking it processing fails ("Unconsumed column names:
  processing_started_at"), and the next access raises SQLAlchemy's MissingGreenlet
  ("greenlet_spawn has not been called; can't call await_only() here ...", error_code
  ``xd2s``): not retryable, so the row goes straight to ``dead_letter`` with attempts left,
  the lease cleared, no ``tds_dead_letter_queue`` record. The Zoho handler is never called
  (``handler_calls`` stays 0); rows are claimed again by loops that fetched the same batch.
* ``pending_first``: a batch is pending rows first (oldest first), then due retry rows with
  ``attempt_count < 5``, ``batch`` at most: while a batch of rows is pending, no retry is
  polled (retry starvation).
* ``no_reclaim``: the poll reads pending and due retry rows whatever their lease; a row whose
  lease expired is never claimed again (the claim compares a naive and an aware datetime:
  "TypeError: can't compare offset-naive and offset-aware datetimes", logged).
* ``lock_cleanup``: the earlier version: claims mark the row ``processing`` (started_at
  set) and completions are recorded, but a loop dies on a row with probability
  ``abandon_rate`` (the row stays processing under its lease) and a lock cleanup thread
  clears every expired lease every ``cleanup_interval`` seconds without changing the
  status: rows stranded in ``processing`` with no lease.
* ``completion_lost``: the same as the ``reprocess`` defect: successes are never recorded.

``zoho_errors`` (``--zoho-errors auth=1,rate_limit=2,...``) replaces the generic failure mix
with Zoho's own answers, weighted by class: ``auth`` (401, code 57 "You are not authorized to
perform this operation", INVALID_OAUTHTOKEN), ``rate_limit`` (429, code 44 "too many
requests", the daily API call limit), ``unavailable`` (503/502, read timeouts, connection
resets) and ``validation`` (400, code 1001/1002 "Invalid value passed for ...", "... does
not exist"); validation errors are not retryable (straight to dead_letter) and, with
``validation_entities``, only hit those entity types (the rows of others succeed).

The claim log (``--claim-log FILE``) gets one JSON line per claim and per finish:
``{"ts", "worker", "pid", "process", "event": "claim"|"finish", "id", "outcome",
"lease_expires"}``. ``ts`` of a claim is taken after the claim committed and ``ts`` of
a finish before the releasing UPDATE is sent, so for any row the intervals [claim,
finish] of different holders can only overlap if two loops really held it at once.
Outcomes: completed, retry, dead_letter, unrecorded_success (defect reprocess),
unrecorded_failure (defect failpath), lease_lost, error (the database went away).

Command line::

    python3 -m testbed.worker [--dsn DSN] [--workers 2] [--process-tag TAG]
        [--poll 1] [--batch 100] [--lease 300] [--work-ms 100] [--failure-rate 0.05]
        [--backoff-scale 1.0] [--duration 0] [--stop-when-idle SECONDS]
        [--defect reprocess|failpath] [--mode MODE] [--zoho-errors CLASS=W,...]
        [--validation-entities E,...] [--abandon-rate P] [--cleanup-interval S]
        [--mark-processing] [--claim-log FILE] [--seed N] [--application-name NAME]

(``python3 /path/to/worker.py`` works too.) Without ``--dsn`` the PG* environment
variables are used. SIGTERM/SIGINT stop it cleanly: each loop finishes the row in
hand, then the process exits 0 after printing its statistics. A database restart is
survived: the error is logged and the loop reconnects with backoff (0.5 s doubling to
10 s).

In-process API for tests: :func:`run_workers` (blocking, returns statistics) and
:func:`start_workers` (returns a running :class:`WorkerPool`; ``.stop()`` returns
statistics).

As the ``tsh-erp`` systemd service (log lines go to the journal as they are
printed)::

    [Service]
    Environment=PGHOST=127.0.0.1 PGDATABASE=tsh_erp PGUSER=tsh PGPASSWORD=...
    ExecStart=/usr/bin/python3 /opt/tsh-erp/worker.py --workers 2 --failure-rate 0.05
    Restart=always
"""

import argparse
import datetime
import json
import os
import random
import signal
import sys
import threading
import time

import psycopg2

DEFAULT_APPLICATION_NAME = "tsh-erp-sync-worker"
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 10.0

_POLL_SQL = """
SELECT id FROM tds_sync_queue
WHERE (status = 'pending' OR (status = 'retry' AND next_retry_at <= now()))
  AND (locked_by IS NULL OR lock_expires_at < now())
ORDER BY created_at
LIMIT %(batch)s"""

# pending_first: pending rows first, then due retries below the hard-coded attempt filter
_POLL_PENDING_SQL = """
SELECT id FROM tds_sync_queue
WHERE status = 'pending' AND (locked_by IS NULL OR lock_expires_at < now())
ORDER BY created_at
LIMIT %(batch)s"""

_POLL_RETRY_SQL = """
SELECT id FROM tds_sync_queue
WHERE status = 'retry' AND next_retry_at <= now() AND attempt_count < 5
  AND (locked_by IS NULL OR lock_expires_at < now())
ORDER BY created_at
LIMIT %(batch)s"""

# no_reclaim: the poll reads the status only; the lease is judged in Python
_POLL_ANY_LEASE_SQL = """
SELECT id, locked_by, lock_expires_at < now() FROM tds_sync_queue
WHERE (status = 'pending' OR (status = 'retry' AND next_retry_at <= now()))
ORDER BY created_at
LIMIT %(batch)s"""

# internal_error: the claim checks the lease only, never the status
_CLAIM_ANY_STATUS_SQL = """
UPDATE tds_sync_queue
SET locked_by = %(worker)s,
    lock_expires_at = now() + %(lease)s * interval '1 second'
WHERE id = %(id)s
  AND (locked_by IS NULL OR lock_expires_at < now())
RETURNING id::text, attempt_count, max_retry_attempts, lock_expires_at, now(),
          entity_type::text, source_entity_id"""

_CLAIM_UNLEASED_SQL = """
UPDATE tds_sync_queue
SET locked_by = %(worker)s,
    lock_expires_at = now() + %(lease)s * interval '1 second'{processing}
WHERE id = %(id)s
  AND (status = 'pending' OR (status = 'retry' AND next_retry_at <= now()))
  AND locked_by IS NULL
RETURNING id::text, attempt_count, max_retry_attempts, lock_expires_at, now(),
          entity_type::text, source_entity_id"""

# lock_cleanup: clears every expired lease, whatever the row's status
_LOCK_CLEANUP_SQL = """
UPDATE tds_sync_queue SET locked_by = NULL, lock_expires_at = NULL
WHERE lock_expires_at < now()"""

_CLAIM_SQL = """
UPDATE tds_sync_queue
SET locked_by = %(worker)s,
    lock_expires_at = now() + %(lease)s * interval '1 second'{processing}
WHERE id = %(id)s
  AND (status = 'pending' OR (status = 'retry' AND next_retry_at <= now()))
  AND (locked_by IS NULL OR lock_expires_at < now())
RETURNING id::text, attempt_count, max_retry_attempts, lock_expires_at, now(),
          entity_type::text, source_entity_id"""

_SUCCESS_SQL = """
UPDATE tds_sync_queue
SET status = 'completed', started_at = %(claimed_at)s, completed_at = now(),
    locked_by = NULL, lock_expires_at = NULL,
    target_entity_id = %(target)s,
    processing_result = jsonb_build_object('zoho_id', %(target)s::text, 'code', 0,
                                           'message', 'success')
WHERE id = %(id)s AND locked_by = %(worker)s AND lock_expires_at = %(lease_expires)s
RETURNING status::text"""

_FAILURE_SQL = """
UPDATE tds_sync_queue
SET attempt_count = attempt_count + 1,
    error_message = %(message)s,
    error_code = %(code)s,
    status = (CASE WHEN %(retryable)s AND attempt_count + 1 < max_retry_attempts THEN 'retry'
                   ELSE 'dead_letter' END)::tds_event_status,
    next_retry_at = CASE WHEN %(retryable)s AND attempt_count + 1 < max_retry_attempts
                         THEN now() + interval '1 minute' * power(2, attempt_count + 1)
                                    * %(backoff_scale)s
                         ELSE next_retry_at END,
    locked_by = NULL, lock_expires_at = NULL
WHERE id = %(id)s AND locked_by = %(worker)s AND lock_expires_at = %(lease_expires)s
RETURNING status::text, attempt_count, max_retry_attempts, next_retry_at"""

# (error_code, message template); {a}, {b}, {c} are random numbers, {id} the
# entity's source id, {entity} its type, {uuid} a random UUID.
_ERRORS = (
    ("RATE_LIMIT", "Rate limit exceeded, retry after {a} seconds"),
    ("TIMEOUT", "timeout after 30s connecting to https://www.zohoapis.com/books/v3/{entity}s/{id}"),
    ("ZOHO_429", "Zoho API error 429 for {entity} {id}"),
    ("ZOHO_503", "Zoho API error 503 for {entity} {id}"),
    ("ZOHO_404", "Item {b} not found in Zoho"),
    ("NETWORK", "Connection reset by peer while reading response from www.zohoapis.com (attempt {c})"),
    ("VALIDATION", "Validation failed for {entity} {id}: field \"rate\" must be positive (got -{c}.50)"),
    ("MISSING_DEPENDENCY", "Customer {uuid} not found for invoice INV-{b}"),
)


# The production worker's own failure before the Zoho handler (measured, see the reference).
INTERNAL_ERROR = ("xd2s", "greenlet_spawn has not been called; can't call await_only() here. Was IO attempted in "
                  "an unexpected place? (Background on this error at: https://sqlalche.me/e/20/xd2s)")
PROCESSING_ERROR = "Unconsumed column names: processing_started_at"
NAIVE_AWARE_ERROR = "TypeError: can't compare offset-naive and offset-aware datetimes"

# Zoho's answers by class: (error_code, message template, retryable).
ZOHO_ERRORS = {
    "auth": (
        ("ZOHO_401", 'Zoho API error 401: {{"code":57,"message":"You are not authorized to perform this '
                     'operation"}} ({entity} {id})', True),
        ("INVALID_OAUTHTOKEN", '401 Client Error: Unauthorized for url: https://www.zohoapis.com/books/v3/{entity}s'
                               '?organization_id={org} - {{"code":"INVALID_OAUTHTOKEN","message":"invalid oauth '
                               'token"}}', True),
    ),
    "rate_limit": (
        ("ZOHO_429", 'Zoho API error 429: {{"code":44,"message":"You have made too many requests continuously. '
                     'Please try again after some time."}} ({entity} {id})', True),
        ("RATE_LIMIT", "Zoho API call limit exceeded for the day (code 45); retry after {a} seconds", True),
    ),
    "unavailable": (
        ("ZOHO_503", "Zoho API error 503: Service Unavailable for https://www.zohoapis.com/inventory/v1/{entity}s/{id}",
         True),
        ("TIMEOUT", "HTTPSConnectionPool(host='www.zohoapis.com', port=443): Read timed out. (read timeout=30)",
         True),
        ("NETWORK", "ConnectionResetError(104, 'Connection reset by peer') while calling www.zohoapis.com for "
                    "{entity} {id}", True),
        ("ZOHO_502", "502 Server Error: Bad Gateway for url: https://www.zohoapis.com/books/v3/{entity}s/{id}", True),
    ),
    "validation": (
        ("ZOHO_400", 'Zoho API error 400: {{"code":1001,"message":"Invalid value passed for rate"}} ({entity} {id})',
         False),
        ("ZOHO_400", 'Zoho API error 400: {{"code":1002,"message":"Customer does not exist."}} ({entity} {id})',
         False),
        ("VALIDATION", 'Validation failed for {entity} {id}: field "quantity" must be positive (got -{c})', False),
    ),
}
MODES = ("internal_error", "pending_first", "no_reclaim", "lock_cleanup", "completion_lost")


def parse_weights(text):
    """'auth=1,rate_limit=2' -> {'auth': 1.0, 'rate_limit': 2.0}."""
    weights = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        weights[name.strip()] = float(value) if sep else 1.0
    return weights


def _now_text():
    now = datetime.datetime.now()
    return now.strftime("%Y-%m-%d %H:%M:%S,") + "%03d" % (now.microsecond // 1000)


class _Output:
    """Production-style log lines, one write + flush per line (journald reads them
    as they come; interleaving threads never split a line)."""

    def __init__(self, stream):
        self.stream = stream
        self.lock = threading.Lock()

    def log(self, level, who, message):
        if self.stream is None:
            return
        line = "%s - tds.sync_worker - %s - [%s] %s\n" % (_now_text(), level, who, message)
        with self.lock:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (OSError, ValueError):
                pass  # stdout gone (closed pipe): keep working, logging is best effort


class _ClaimLog:
    """Append-only JSON lines; O_APPEND + one write() per line keeps lines whole
    even with several processes writing the same file."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if path else None

    def write(self, record):
        if self.fd is not None:
            os.write(self.fd, (json.dumps(record, sort_keys=True) + "\n").encode())

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Worker(threading.Thread):
    """One polling loop with its own connection."""

    def __init__(self, pool, index):
        threading.Thread.__init__(self, name="worker-%d" % index, daemon=True)
        self.pool = pool
        self.wid = "worker-%d" % index
        self.who = "%s/%s" % (pool.process_tag, self.wid) if pool.process_tag else self.wid
        seed = pool.seed
        self.rng = random.Random(None if seed is None else seed * 1000 + index)
        self.conn = None
        self.last_busy = time.time()
        self.stats = dict(polls=0, rows_seen=0, claims=0, claim_conflicts=0, completed=0,
                          retried=0, dead_lettered=0, unrecorded_success=0,
                          unrecorded_failure=0, lease_lost=0, db_errors=0, reconnects=0,
                          handler_calls=0, internal_errors=0, claim_errors=0, abandoned=0)

    # -- plumbing ---------------------------------------------------------------
    def _connect(self):
        kwargs = {"application_name": self.pool.application_name, "connect_timeout": 5}
        conn = psycopg2.connect(self.pool.dsn, **kwargs)
        conn.autocommit = True
        return conn

    def _close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None

    def _sql(self, sql, params):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def _claim_log(self, event, row_id, outcome=None, lease_expires=None, ts=None):
        record = {"ts": ts if ts is not None else time.time(), "worker": self.wid,
                  "pid": os.getpid(), "process": self.pool.process_tag, "event": event,
                  "id": row_id, "outcome": outcome}
        if lease_expires is not None:
            record["lease_expires"] = lease_expires.isoformat()
        self.pool.claim_log.write(record)

    def log(self, level, message):
        self.pool.out.log(level, self.who, message)

    # -- the loop ---------------------------------------------------------------
    def run(self):
        stop = self.pool.stop_event
        self.log("INFO", "Sync worker %s started" % self.wid)
        delay = RECONNECT_MIN_S
        while not stop.is_set():
            try:
                if self.conn is None:
                    self.conn = self._connect()
                    if self.stats["db_errors"]:
                        self.stats["reconnects"] += 1
                        self.log("INFO", "Sync worker %s reconnected to the database" % self.wid)
                rows = self._poll()
                self.stats["polls"] += 1
                delay = RECONNECT_MIN_S
                if rows:
                    self.last_busy = time.time()
                    self.stats["rows_seen"] += len(rows)
                for (row_id,) in rows:
                    if stop.is_set():
                        break
                    self._handle(row_id)
                stop.wait(self.pool.poll)
            except psycopg2.Error as exc:
                self.stats["db_errors"] += 1
                self.log("ERROR", "Sync worker %s database error: %s; reconnecting in %.1f s"
                         % (self.wid, str(exc).strip().replace("\n", " "), delay))
                self._close()
                stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
        self._close()
        self.log("INFO", "Sync worker %s stopped" % self.wid)

    def _poll(self):
        pool = self.pool
        if "pending_first" in pool.modes:
            rows = self._sql(_POLL_PENDING_SQL, {"batch": pool.batch})
            if len(rows) < pool.batch:
                rows += self._sql(_POLL_RETRY_SQL, {"batch": pool.batch - len(rows)})
            return rows
        if "no_reclaim" in pool.modes:
            rows = []
            for row_id, locked_by, expired in self._sql(_POLL_ANY_LEASE_SQL, {"batch": pool.batch}):
                if locked_by is not None and expired:
                    # production compares the naive lease expiry with an aware now(): TypeError
                    self.stats["claim_errors"] += 1
                    self.log("ERROR", "Failed to claim event %s: %s" % (row_id, NAIVE_AWARE_ERROR))
                elif locked_by is None:
                    rows.append((row_id,))
            return rows
        return self._sql(_POLL_SQL, {"batch": pool.batch})

    def _claim_sql(self):
        pool = self.pool
        if "internal_error" in pool.modes:
            return _CLAIM_ANY_STATUS_SQL
        processing = ",\n    status = 'processing', started_at = now()" if pool.mark_processing else ""
        if "no_reclaim" in pool.modes:
            return _CLAIM_UNLEASED_SQL.format(processing=processing)
        return _CLAIM_SQL.format(processing=processing)

    def _handle(self, row_id):
        pool = self.pool
        claimed = self._sql(self._claim_sql(), {"worker": self.wid, "lease": pool.lease, "id": row_id})
        if not claimed:
            self.stats["claim_conflicts"] += 1
            return
        self.last_busy = time.time()
        _id, attempts, max_attempts, lease_expires, claimed_at, entity, source_id = claimed[0]
        self.stats["claims"] += 1
        self._claim_log("claim", row_id, lease_expires=lease_expires)
        self.log("INFO", "Processing event: %s" % row_id)
        if "internal_error" in pool.modes:
            # marking the row processing fails in the ORM, the session rolls back, and the next
            # access raises MissingGreenlet: the Zoho handler is never reached
            self.log("ERROR", "Failed to mark event %s processing: %s" % (row_id, PROCESSING_ERROR))
            self.stats["internal_errors"] += 1
            return self._fail(row_id, attempts, max_attempts, lease_expires, entity, source_id, time.time(),
                              error=INTERNAL_ERROR + (False,))
        self.stats["handler_calls"] += 1
        if pool.work_ms > 0:
            time.sleep(pool.work_ms / 1000.0)
        if "lock_cleanup" in pool.modes and pool.abandon_rate and self.rng.random() < pool.abandon_rate:
            # the loop dies with the row in hand: it stays processing under its lease
            self.stats["abandoned"] += 1
            self._claim_log("finish", row_id, "abandoned", ts=time.time())
            self.log("ERROR", "Worker task for event %s crashed; row left in hand" % row_id)
            return
        error = self._zoho_error(entity) if pool.zoho_errors else None
        failed = error is not None or (not pool.zoho_errors and self.rng.random() < pool.failure_rate)
        finish_ts = time.time()
        try:
            if failed:
                self._fail(row_id, attempts, max_attempts, lease_expires, entity, source_id, finish_ts, error=error)
            else:
                self._succeed(row_id, lease_expires, claimed_at, finish_ts)
        except psycopg2.Error:
            self._claim_log("finish", row_id, "error", ts=finish_ts)
            raise

    def _zoho_error(self, entity):
        """Zoho's answer to this call: (code, template, retryable), or None for success."""
        pool = self.pool
        if self.rng.random() >= pool.failure_rate:
            return None
        names = sorted(pool.zoho_errors)
        total = sum(pool.zoho_errors[n] for n in names)
        pick = self.rng.random() * total
        for name in names:
            pick -= pool.zoho_errors[name]
            if pick < 0:
                break
        if name == "validation" and pool.validation_entities and entity not in pool.validation_entities:
            return None
        return self.rng.choice(ZOHO_ERRORS[name])

    def _succeed(self, row_id, lease_expires, claimed_at, finish_ts):
        if "reprocess" in self.pool.defects:
            # production's "mark completed" references missing columns and fails
            # silently: the row keeps status and lease and will be synced again
            self.stats["unrecorded_success"] += 1
            self._claim_log("finish", row_id, "unrecorded_success", ts=finish_ts)
            self.log("INFO", "Event processed successfully: %s" % row_id)
            return
        target = "4587000%012d" % self.rng.randrange(10 ** 12)
        done = self._sql(_SUCCESS_SQL, {"id": row_id, "worker": self.wid, "claimed_at": claimed_at,
                                        "lease_expires": lease_expires, "target": target})
        if not done:
            return self._lost(row_id, finish_ts)
        self.stats["completed"] += 1
        self._claim_log("finish", row_id, "completed", ts=finish_ts)
        self.log("INFO", "Event processed successfully: %s" % row_id)

    def _fail(self, row_id, attempts, max_attempts, lease_expires, entity, source_id, finish_ts, error=None):
        if error is None:
            code, template = self.rng.choice(_ERRORS)
            retryable = True
        else:
            code, template, retryable = error
        message = template.format(
            a=self.rng.randint(5, 60), b=self.rng.randint(10000, 999999), c=self.rng.randint(1, 9),
            id=source_id, entity=entity, org=700000000 + self.rng.randint(0, 99999),
            uuid="%08x-%04x-4%03x-8%03x-%012x" % tuple(self.rng.getrandbits(b) for b in (32, 16, 12, 12, 48)))
        self.log("WARNING", "Event processing failed: %s - %s" % (row_id, message))
        if "failpath" in self.pool.defects:
            # production's error handler can itself fail after a rollback: nothing is
            # recorded and the row stays leased until the lease expires
            self.stats["unrecorded_failure"] += 1
            self._claim_log("finish", row_id, "unrecorded_failure", ts=finish_ts)
            self.log("ERROR", "Error while handling failure of event %s: "
                     "InvalidRequestError: This Session's transaction has been rolled back" % row_id)
            return
        done = self._sql(_FAILURE_SQL, {"id": row_id, "worker": self.wid, "message": message,
                                        "code": code, "lease_expires": lease_expires, "retryable": retryable,
                                        "backoff_scale": float(self.pool.backoff_scale)})
        if not done:
            return self._lost(row_id, finish_ts)
        status, attempt_count, max_retry, next_retry_at = done[0]
        if status == "retry":
            self.stats["retried"] += 1
            self._claim_log("finish", row_id, "retry", ts=finish_ts)
            self.log("INFO", "Event will be retried: %s (attempt %d/%d, next retry at %s)"
                     % (row_id, attempt_count, max_retry, next_retry_at.isoformat()))
        else:
            self.stats["dead_lettered"] += 1
            self._claim_log("finish", row_id, "dead_letter", ts=finish_ts)
            self.log("ERROR", "Event moved to dead letter queue: %s (attempt %d/%d)"
                     % (row_id, attempt_count, max_retry))

    def _lost(self, row_id, finish_ts):
        self.stats["lease_lost"] += 1
        self._claim_log("finish", row_id, "lease_lost", ts=finish_ts)
        self.log("WARNING", "Lease lost for event %s: result discarded" % row_id)


class WorkerPool:
    """N worker loops in this process. Use :func:`start_workers` / :func:`run_workers`."""

    def __init__(self, dsn="", workers=2, poll=1.0, batch=100, lease=300, work_ms=100,
                 failure_rate=0.0, backoff_scale=1.0, duration=0, stop_when_idle=None,
                 defects=(), mark_processing=False, claim_log=None, process_tag=None,
                 seed=None, out=sys.stdout, application_name=DEFAULT_APPLICATION_NAME,
                 mode=None, modes=(), zoho_errors=None, validation_entities=(), abandon_rate=0.0,
                 cleanup_interval=1.0):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        unknown = set(defects) - {"reprocess", "failpath"}
        if unknown:
            raise ValueError("unknown defects: %s" % ", ".join(sorted(unknown)))
        modes = set(modes or ()) | ({mode} if mode else set())
        if modes - set(MODES):
            raise ValueError("unknown modes: %s (known: %s)" % (", ".join(sorted(modes - set(MODES))), ", ".join(MODES)))
        if "completion_lost" in modes:
            defects = set(defects) | {"reprocess"}
        if "lock_cleanup" in modes:
            mark_processing = True
        if zoho_errors and set(zoho_errors) - set(ZOHO_ERRORS):
            raise ValueError("unknown Zoho error classes: %s (known: %s)" % (
                ", ".join(sorted(set(zoho_errors) - set(ZOHO_ERRORS))), ", ".join(sorted(ZOHO_ERRORS))))
        if not 0.0 <= float(abandon_rate) <= 1.0:
            raise ValueError("abandon_rate must be within 0..1")
        self.modes = frozenset(modes)
        self.zoho_errors = dict((k, float(v)) for k, v in (zoho_errors or {}).items() if float(v) > 0)
        self.validation_entities = frozenset(validation_entities or ())
        self.abandon_rate = float(abandon_rate)
        self.cleanup_interval = float(cleanup_interval)
        if not 0.0 <= failure_rate <= 1.0:
            raise ValueError("failure_rate must be within 0..1")
        self.dsn = dsn or ""
        self.poll = float(poll)
        self.batch = int(batch)
        self.lease = float(lease)
        self.work_ms = float(work_ms)
        self.failure_rate = float(failure_rate)
        self.backoff_scale = float(backoff_scale)
        self.duration = float(duration or 0)
        self.stop_when_idle = float(stop_when_idle) if stop_when_idle else None
        self.defects = frozenset(defects)
        self.mark_processing = bool(mark_processing)
        self.process_tag = process_tag
        self.seed = seed
        self.application_name = application_name
        self.out = out if isinstance(out, _Output) else _Output(out)
        self.claim_log = _ClaimLog(claim_log)
        self.stop_event = threading.Event()
        self.workers = [_Worker(self, i) for i in range(1, int(workers) + 1)]
        self.started_at = None
        self.stopped_at = None
        self._watch = None
        self._cleanup = None
        self.cleaned = 0

    def start(self):
        self.started_at = time.time()
        for worker in self.workers:
            worker.last_busy = self.started_at
            worker.start()
        self._watch = threading.Thread(target=self._watchdog, name="watchdog", daemon=True)
        self._watch.start()
        if "lock_cleanup" in self.modes:
            self._cleanup = threading.Thread(target=self._lock_cleanup, name="lock-cleanup", daemon=True)
            self._cleanup.start()
        return self

    def _lock_cleanup(self):
        """The earlier version's lock cleanup: clears expired leases, leaves the status."""
        conn = None
        while not self.stop_event.wait(self.cleanup_interval):
            try:
                if conn is None:
                    conn = psycopg2.connect(self.dsn, application_name=self.application_name, connect_timeout=5)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(_LOCK_CLEANUP_SQL)
                    if cur.rowcount:
                        self.out.log("INFO", "lock-cleanup", "Released %d expired locks" % cur.rowcount)
                        self.cleaned += cur.rowcount
            except psycopg2.Error:
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def _watchdog(self):
        """Ends the run on ``duration`` or when every loop has been idle long enough."""
        while not self.stop_event.wait(0.05):
            now = time.time()
            if self.duration and now - self.started_at >= self.duration:
                self.stop_event.set()
            elif self.stop_when_idle and all(now - w.last_busy >= self.stop_when_idle
                                             for w in self.workers):
                self.stop_event.set()

    def request_stop(self):
        self.stop_event.set()

    def wait(self, timeout=None):
        """Wait for the loops to end (after a stop request, duration or idleness)."""
        deadline = None if timeout is None else time.time() + timeout
        for worker in self.workers:
            worker.join(None if deadline is None else max(0.0, deadline - time.time()))
        return not any(w.is_alive() for w in self.workers)

    def stop(self, timeout=30):
        """Stop every loop (each finishes its row in hand) and return the statistics."""
        self.request_stop()
        self.wait(timeout)
        return self.stats()

    def stats(self):
        if self.stopped_at is None and not any(w.is_alive() for w in self.workers):
            self.stopped_at = time.time()
            self.claim_log.close()
        total = {}
        for worker in self.workers:
            for key, value in worker.stats.items():
                total[key] = total.get(key, 0) + value
        total["workers"] = len(self.workers)
        total["leases_cleaned"] = self.cleaned
        total["modes"] = sorted(self.modes)
        total["elapsed_s"] = round((self.stopped_at or time.time()) - (self.started_at or time.time()), 3)
        total["per_worker"] = {w.wid: dict(w.stats) for w in self.workers}
        return total


def start_workers(dsn="", **options):
    """Start a :class:`WorkerPool` in the background (same options as ``run_workers``)."""
    return WorkerPool(dsn, **options).start()


def run_workers(dsn="", workers=4, **options):
    """Run worker loops in this process until ``duration``/``stop_when_idle`` ends
    them, then return statistics: polls, rows_seen, claims, claim_conflicts,
    completed, retried, dead_lettered, unrecorded_success, unrecorded_failure,
    lease_lost, db_errors, reconnects, workers, elapsed_s, per_worker.

    Options: poll, batch, lease, work_ms, failure_rate, backoff_scale, duration,
    stop_when_idle, defects, mark_processing, claim_log, process_tag, seed, out
    (a stream for the log lines, None for silence), application_name, mode/modes,
    zoho_errors, validation_entities, abandon_rate, cleanup_interval. Without
    ``duration`` or ``stop_when_idle`` it runs until interrupted.
    """
    pool = WorkerPool(dsn, workers=workers, **options).start()
    try:
        pool.wait()
    except KeyboardInterrupt:
        pool.request_stop()
        pool.wait(60)
    return pool.stats()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m testbed.worker",
        description="Simulate the TSH ERP Zoho sync worker against a tds_sync_queue.")
    parser.add_argument("--dsn", default="", help="libpq DSN (default: PG* environment)")
    parser.add_argument("--workers", type=int, default=2, help="loops in this process (default 2)")
    parser.add_argument("--process-tag", default=None, help="label for this process in logs")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--batch", type=int, default=100, help="rows read per poll")
    parser.add_argument("--lease", type=float, default=300, help="lease length, seconds")
    parser.add_argument("--work-ms", type=float, default=100, help="time to 'sync' one row")
    parser.add_argument("--failure-rate", type=float, default=0.05, help="probability of failure")
    parser.add_argument("--backoff-scale", type=float, default=1.0,
                        help="multiplies the 2^attempt minutes retry delay")
    parser.add_argument("--duration", type=float, default=0, help="seconds to run (0 = forever)")
    parser.add_argument("--stop-when-idle", type=float, default=0,
                        help="stop once no loop has found work for this many seconds")
    parser.add_argument("--defect", action="append", default=[], choices=("reprocess", "failpath"),
                        help="reproduce a production defect (repeatable)")
    parser.add_argument("--mode", action="append", default=[], choices=MODES,
                        help="reproduce a failure mode of the production worker (repeatable)")
    parser.add_argument("--zoho-errors", default="",
                        help="Zoho's failures by class, weighted: auth=1,rate_limit=1,unavailable=1,validation=1")
    parser.add_argument("--validation-entities", default="",
                        help="entity types (comma-separated) that Zoho's validation errors hit")
    parser.add_argument("--abandon-rate", type=float, default=0.0,
                        help="lock_cleanup: probability that a loop dies on a row")
    parser.add_argument("--cleanup-interval", type=float, default=1.0,
                        help="lock_cleanup: seconds between the lock cleanups")
    parser.add_argument("--mark-processing", action="store_true",
                        help="set status 'processing' and started_at when claiming")
    parser.add_argument("--claim-log", default=None, help="append JSON lines of claims/finishes")
    parser.add_argument("--seed", type=int, default=None, help="seed for failures (reproducible)")
    parser.add_argument("--application-name", default=DEFAULT_APPLICATION_NAME)
    args = parser.parse_args(argv)

    pool = WorkerPool(
        args.dsn, workers=args.workers, poll=args.poll, batch=args.batch, lease=args.lease,
        work_ms=args.work_ms, failure_rate=args.failure_rate, backoff_scale=args.backoff_scale,
        duration=args.duration, stop_when_idle=args.stop_when_idle, defects=args.defect,
        mark_processing=args.mark_processing, claim_log=args.claim_log,
        process_tag=args.process_tag, seed=args.seed, out=sys.stdout,
        application_name=args.application_name, modes=args.mode,
        zoho_errors=parse_weights(args.zoho_errors),
        validation_entities=[e for e in args.validation_entities.split(",") if e],
        abandon_rate=args.abandon_rate, cleanup_interval=args.cleanup_interval)

    def on_signal(signum, _frame):
        pool.out.log("INFO", args.process_tag or "main",
                     "Received %s, stopping sync workers" % signal.Signals(signum).name)
        pool.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    pool.start()
    # wait in short slices so the main thread keeps handling signals
    while not pool.wait(0.5):
        pass
    stats = pool.stats()
    stats.pop("per_worker", None)
    pool.out.log("INFO", args.process_tag or "main", "Sync workers stopped: %s" % json.dumps(stats, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
