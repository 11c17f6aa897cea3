"""Deterministic, server-side generator of a realistic TSH sync queue.

Why it exists: the health and heal code must be tested against the states production
really gets into (stuck leases, overdue retries, dead letters without a DLQ record,
the re-processing loop's leftovers, ...) and at production volume (millions of
completed rows), on the real schema (``testbed/sql/tsh_schema.sql``), where nothing
has a default except ``now()`` on timestamps.

How: every row is computed inside PostgreSQL by ``INSERT ... SELECT`` over
``generate_series``; all "randomness" is ``hashint8extended(n, seed*1000 + k)``, a
pure function of the row number and the seed, so the same seed (and the same ``now``)
gives byte-identical tables, and no data crosses the client connection. Ids are
``md5('<seed>:<tag>:<kind>:<n>')::uuid`` (tag ``L`` live, ``H`` history; kind ``i``
inbox, ``q`` queue, ``g`` sync log, ``d`` dead-letter record), so a test can compute
the id of any generated row with :func:`row_id`.

The live set (rows not completed) is built from named *categories* (see
``CATEGORIES``), each a contiguous block of row numbers whose rows all share the
properties the health checks classify by. Category sizes come from a weight mix by
largest remainder, so the returned counts are exact by construction; the live rows'
counts per status, entity type and error code are what the INSERTs RETURNed. The
history (completed rows over the last 365 days, in arrival order like a real
append-only table; with ``recent`` the newest of them crowd into the last hours)
is counted per entity type from the very expression its INSERT used.

Definitions used in the returned counts (``now`` is the reference time; every row
keeps its category for ``STABLE_FOR_S`` = 60 s after ``now``):

* stuck lease: ``locked_by`` set and ``lock_expires_at < now - 1 h``
  (rows of ``pending_stuck_lease`` and ``processing_stuck``);
* live lease: ``lock_expires_at > now`` (``processing_live``);
* expired leases: every row with ``locked_by`` set and ``lock_expires_at < now``
  (stuck ones plus ``pending_lease_expired_recent``, expired 2-20 min ago);
* retry due: ``status = 'retry' and next_retry_at <= now``; overdue: ``next_retry_at
  < now - 1 h`` (``retry_overdue`` only: 2-72 h late);
* exhausted: ``status in ('retry', 'failed') and attempt_count >= max_retry_attempts``;
* dead letters with / without a ``tds_dead_letter_queue`` record.

Volume: ``fast_load`` lifts the tables' foreign keys, primary keys and indexes for
the load and rebuilds them with their exact definitions and names (read from the
catalog), as pg_restore does, all inside the one transaction. A million history rows
cost about 56 s of server CPU that way, over half of it rebuilding the 35 indexes
(the text ones sort with the database's libc collation, as in production).
``jobs=2`` spreads the history INSERTs over two connections.

Command line::

    python -m testbed.generate --dsn DSN --live N --history N --seed S [--fast-load]
        [--recent N [--recent-hours H]]
        [--now ISO] [--no-logs] [--mix default|healthy|claimable|JSON]
        [--chunk-size N] [--jobs N] [--load-schema] [--progress]

prints the returned dict as JSON.
"""

import argparse
import datetime
import hashlib
import json
import os
import sys
import threading
import time
import uuid

import psycopg2

SCHEMA_FILES = {
    "tsh": os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql", "tsh_schema.sql"),
}

STATUSES = ("pending", "processing", "completed", "failed", "retry", "dead_letter")
ENTITY_TYPES = ("product", "customer", "invoice", "bill", "credit_note", "stock_adjustment",
                "price_list", "branch", "USER", "order", "PAYMENT", "VENDOR", "SUPPLIER")

# Share of each entity type in percent (sums to 100): invoices, products, stock and
# customers make most of the traffic, the mixed-case types are rare but real.
ENTITY_WEIGHTS = (
    ("invoice", 22), ("product", 20), ("stock_adjustment", 16), ("customer", 14),
    ("order", 6), ("bill", 5), ("credit_note", 4), ("price_list", 4), ("PAYMENT", 3),
    ("USER", 2), ("VENDOR", 2), ("branch", 1), ("SUPPLIER", 1),
)
OPERATION_WEIGHTS = (("update", 60), ("create", 25), ("upsert", 10), ("delete", 5))
PRIORITY_WEIGHTS = ((5, 55), (3, 8), (7, 8), (1, 4), (2, 4), (4, 4), (6, 4), (8, 5),
                    (9, 4), (10, 4))

STUCK_AFTER_S = 3600       # a lease expired longer ago than this is "stuck"
OVERDUE_AFTER_S = 3600     # a retry due longer ago than this is "overdue"
# Every row keeps its category for at least this long after ``now`` (the nearest
# boundaries: live leases expire 120 s or more after ``now`` and retries that are
# not due fall due 60 s or more after it), so checks run right after generating
# see exactly the returned counts.
STABLE_FOR_S = 60
YEAR_MS = 365 * 86400 * 1000
HISTORY_MAX_RUN_MS = 10000  # a history row completes within 10 s of its creation (wait + run)
SOURCE_ID_POOL = 500000    # distinct Zoho ids: the same entity is queued many times

# Live categories: the status and what the health checks see in the rows.
#   lease: none | live | expired_recent | stuck;  retry: None | not_due | due | overdue
CATEGORIES = {
    "pending_fresh":                dict(status="pending"),
    "pending_old":                  dict(status="pending", old=True),
    "pending_lease_expired_recent": dict(status="pending", lease="expired_recent"),
    "pending_stuck_lease":          dict(status="pending", lease="stuck", old=True),
    "processing_live":              dict(status="processing", lease="live"),
    "processing_stuck":             dict(status="processing", lease="stuck"),
    "retry_not_due":                dict(status="retry", retry="not_due"),
    "retry_due":                    dict(status="retry", retry="due"),
    "retry_overdue":                dict(status="retry", retry="overdue"),
    "retry_exhausted":              dict(status="retry", retry="due", exhausted=True),
    "failed_under_budget":          dict(status="failed"),
    "failed_exhausted":             dict(status="failed", exhausted=True),
    "dead_letter_no_dlq":           dict(status="dead_letter"),
    "dead_letter_with_dlq":         dict(status="dead_letter", dlq=True),
}

# The default live mix: a production system in trouble (what the health check must
# catch). Weights are relative; they need not sum to 1.
DEFAULT_MIX = {
    "pending_fresh": 0.30, "pending_old": 0.12, "pending_lease_expired_recent": 0.02,
    "pending_stuck_lease": 0.03, "processing_live": 0.04, "processing_stuck": 0.03,
    "retry_not_due": 0.10, "retry_due": 0.06, "retry_overdue": 0.06,
    "retry_exhausted": 0.03, "failed_under_budget": 0.05, "failed_exhausted": 0.04,
    "dead_letter_no_dlq": 0.10, "dead_letter_with_dlq": 0.02,
}
# A healthy system: small fresh backlog, workers busy, a few retries scheduled.
HEALTHY_MIX = {"pending_fresh": 0.7, "processing_live": 0.2, "retry_not_due": 0.1}
# Only rows a worker can claim right now (for draining tests and worker benchmarks).
CLAIMABLE_MIX = {"pending_fresh": 0.6, "pending_old": 0.2, "pending_stuck_lease": 0.1,
                 "retry_due": 0.05, "retry_overdue": 0.05}
MIXES = {"default": DEFAULT_MIX, "healthy": HEALTHY_MIX, "claimable": CLAIMABLE_MIX}

# Error patterns: (upper bound of the 0..99 draw, error_code SQL, error_message SQL).
# Plain SQL (no %-escaping). Inside it, r21..r24 are per-row random draws and entity_type/source_entity_id
# are the row's own, so every message carries varying numbers, ids or UUIDs.
_HTTP = "(ARRAY[429,500,502,503])[1 + r21 % 4]"
ERROR_PATTERNS = (
    (20, "'RATE_LIMIT'",
     "format('Rate limit exceeded, retry after %s seconds', 5 + r21 % 56)"),
    (36, "'TIMEOUT'",
     "format('timeout after %ss connecting to https://www.zohoapis.com/%s/v3/%ss/%s', "
     "(ARRAY[10,30,60])[1 + r21 % 3], CASE WHEN entity_type IN ('product', "
     "'stock_adjustment', 'price_list') THEN 'inventory' ELSE 'books' END, "
     "lower(entity_type::text), source_entity_id)"),
    (50, "'ZOHO_' || " + _HTTP,
     "format('Zoho API error %s for %s %s-%s', " + _HTTP + ", entity_type, "
     "upper(left(entity_type::text, 3)), lpad((r22 % 100000)::text, 5, '0'))"),
    (62, "'ZOHO_404'",
     "format('Item %s not found in Zoho', 10000 + r21 % 990000)"),
    (69, "'DB_INTEGRITY'",
     "format('duplicate key value violates unique constraint \"%s_zoho_id_key\" "
     "DETAIL: Key (zoho_id)=(%s) already exists.', lower(entity_type::text), "
     "source_entity_id)"),
    (78, "'VALIDATION'",
     "format('Validation failed for %s %s: field \"%s\" must be positive (got %s)', "
     "entity_type, source_entity_id, (ARRAY['rate','quantity','amount','tax_percentage'])"
     "[1 + r21 % 4], (-(r22 % 10000)::numeric / 100)::numeric(12, 2))"),
    (85, "'MISSING_DEPENDENCY'",
     "format('Customer %s not found for invoice INV-%s', md5('c' || r23)::uuid, "
     "lpad((r22 % 100000)::text, 5, '0'))"),
    (90, "'AUTH_ERROR'",
     "format('Zoho OAuth token rejected (code %s): access token expired %s seconds ago', "
     "(ARRAY[14,57,1002])[1 + r21 % 3], 1 + r22 % 3600)"),
    (95, "'NETWORK'",
     "format('Connection reset by peer while reading response from %s (attempt %s)', "
     "(ARRAY['www.zohoapis.com','inventory.zoho.com','books.zoho.com'])[1 + r21 % 3], "
     "1 + r22 % 5)"),
    (100, "'STOCK_CONFLICT'",
     "format('Insufficient stock for item SKU-%s in warehouse %s: requested %s, "
     "available %s', lpad((r21 % 100000)::text, 5, '0'), 1 + r22 % 6, "
     "2 + r23 % 50, r24 % 2)"),
)
ERROR_CODES = ("RATE_LIMIT", "TIMEOUT", "ZOHO_429", "ZOHO_500", "ZOHO_502", "ZOHO_503",
               "ZOHO_404", "DB_INTEGRITY", "VALIDATION", "MISSING_DEPENDENCY",
               "AUTH_ERROR", "NETWORK", "STOCK_CONFLICT")

_GENERATED_TABLES = ("tds_inbox_events", "tds_sync_queue", "tds_sync_logs",
                     "tds_dead_letter_queue")
_NRAND = 24


# --------------------------------------------------------------------------- helpers
def row_id(seed, tag, kind, n):
    """The UUID the generator gives row ``n`` (tag 'L'/'H', kind 'i'/'q'/'g'/'d')."""
    return str(uuid.UUID(hashlib.md5(("%d:%s:%s:%d" % (seed, tag, kind, n)).encode()).hexdigest()))


def load_schema(conn, layout="tsh"):
    """Create the production tables in the (empty) database ``conn`` points at.

    The DDL is the project's own copy of the real schema, so the collection is tested
    against exactly the columns, enums and indexes production has. Commits.
    """
    try:
        path = SCHEMA_FILES[layout]
    except KeyError:
        raise ValueError("unknown layout %r (known: %s)" % (layout, ", ".join(SCHEMA_FILES)))
    with open(path) as fh:
        ddl = fh.read()
    with conn.cursor() as cur:
        cur.execute(ddl)
    conn.commit()


def allocate(total, mix):
    """Split ``total`` rows over the categories of ``mix`` by largest remainder.

    Exact and deterministic (ties broken by the order of ``CATEGORIES``), so callers
    know the category sizes without looking at the database.
    """
    unknown = set(mix) - set(CATEGORIES)
    if unknown:
        raise ValueError("unknown categories: %s" % ", ".join(sorted(unknown)))
    weights = [(name, float(mix.get(name, 0))) for name in CATEGORIES]
    wsum = sum(w for _, w in weights)
    if wsum <= 0:
        raise ValueError("the mix has no positive weight")
    quotas = [(name, total * w / wsum) for name, w in weights]
    counts = {name: int(q) for name, q in quotas}
    left = total - sum(counts.values())
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i][1] - int(quotas[i][1])), i))
    for i in order[:left]:
        counts[quotas[i][0]] += 1
    return counts


def _wheel(weights, sqltype, draw):
    """A weighted pick as one constant array indexed by a 0..99 draw (cheap per row)."""
    items = []
    for value, weight in weights:
        items.extend([str(value)] * weight)
    assert len(items) == 100, weights
    return "('{%s}'::%s[])[1 + %s %% 100]" % (",".join(items), sqltype, draw)


def _sec(expr):
    return "(interval '1 second' * (%s))" % expr


def _ms(expr):
    return "(interval '1 millisecond' * (%s))" % expr


# --------------------------------------------------------------------- row sources
def _base_sql(seed, tag, lo, hi, step=1):
    """Row numbers with their random draws r1..r24 and the category-independent
    columns (entity, source id, operation, priority, retry budget, ids)."""
    # One 64-bit hash gives two independent 31-bit draws (hashing is most of the
    # cost of computing a row, so half as many calls matter at 10M rows).
    hashes = ", ".join("hashint8extended(n, %d) AS h%d" % (seed * 1000 + j, j)
                       for j in range(1, _NRAND // 2 + 1))
    draws = ", ".join("h%d & 2147483647 AS r%d, (h%d >> 32) & 2147483647 AS r%d"
                      % (j, 2 * j - 1, j, 2 * j) for j in range(1, _NRAND // 2 + 1))
    key = "'%d:%s:'" % (seed, tag)
    return """
SELECT s0.*,
  md5(%(key)s || 'q:' || n)::uuid AS id,
  md5(%(key)s || 'i:' || n)::uuid AS inbox_event_id,
  %(entity)s AS entity_type,
  '2646610000' || lpad((r2 %% %(pool)d)::text, 9, '0') AS source_entity_id,
  %(op)s AS operation_type,
  %(prio)s AS priority,
  CASE WHEN r5 %% 100 < 85 THEN 3 ELSE 5 END AS max_retry_attempts,
  CASE WHEN r15 %% 2 = 0 THEN 'worker-1' ELSE 'worker-2' END AS worker_id
FROM (SELECT n, %(draws)s FROM (
        SELECT n, %(hashes)s
        FROM generate_series(%(lo)d::bigint, %(hi)d::bigint, %(step)d::bigint) AS n) h
      OFFSET 0) s0
OFFSET 0""" % {
        "key": key, "draws": draws, "hashes": hashes, "lo": lo, "hi": hi, "step": step, "pool": SOURCE_ID_POOL,
        "entity": _wheel(ENTITY_WEIGHTS, "tds_entity_type", "r1"),
        "op": _wheel(OPERATION_WEIGHTS, "tds_operation_type", "r3"),
        "prio": _wheel(PRIORITY_WEIGHTS, "integer", "r4"),
    }


def _live_timeline(cat, now):
    """Per-category SQL for attempt_count, the lease, retry and time columns.

    Times are built backwards from an anchor relative to ``now`` so each row is
    internally consistent (created before the claim, the last failure one backoff
    before next_retry_at, ...) and sits well inside its category's thresholds.
    """
    N = now
    a = "attempt_count"
    t = dict(attempt="0", locked_by="NULL", lock_expires_at="NULL::timestamptz",
             started_at="NULL::timestamptz", next_retry_at="NULL::timestamptz",
             last_try="NULL::timestamptz", created_at=None)
    stuck_le = "%s - %s" % (N, _sec("%d + r11 %% 129600" % (STUCK_AFTER_S + 300)))
    if cat == "pending_fresh":
        t["created_at"] = "%s - %s" % (N, _sec("1 + r10 % 240"))
    elif cat == "pending_old":
        t["created_at"] = "%s - %s" % (N, _sec("3600 + r10 % 39600"))
    elif cat == "pending_lease_expired_recent":
        t.update(locked_by="worker_id",
                 lock_expires_at="%s - %s" % (N, _sec("120 + r11 % 1080")),
                 created_at="lock_expires_at - %s" % _sec("300 + r10 % 600"))
    elif cat == "pending_stuck_lease":
        t.update(locked_by="worker_id", lock_expires_at=stuck_le,
                 created_at="lock_expires_at - %s" % _sec("300 + r10 % 7200"))
    elif cat == "processing_live":
        t.update(locked_by="worker_id",
                 started_at="%s - %s" % (N, _sec("r11 %% %d" % (300 - 2 * STABLE_FOR_S))),
                 lock_expires_at="started_at + interval '300 seconds'",
                 created_at="started_at - %s" % _sec("1 + r10 % 1800"))
    elif cat == "processing_stuck":
        t.update(locked_by="worker_id", lock_expires_at=stuck_le,
                 started_at="lock_expires_at - interval '300 seconds'",
                 created_at="started_at - %s" % _sec("1 + r10 % 600"))
    elif cat.startswith("retry_"):
        if cat == "retry_exhausted":
            t["attempt"] = "max_retry_attempts"
        else:
            t["attempt"] = "1 + r12 % (max_retry_attempts - 1)"
        nxt = {
            "retry_not_due": "%s + %s" % (N, _sec("%d + r11 %% ((60 << %s) - %d)" % (STABLE_FOR_S, a, STABLE_FOR_S))),
            "retry_due": "%s - %s" % (N, _sec("1 + r11 % 599")),
            "retry_overdue": "%s - %s" % (N, _sec("%d + r11 %% 252000" % (OVERDUE_AFTER_S + 3600))),
            "retry_exhausted": "%s - %s" % (N, _sec("120 + r11 % 1680")),
        }[cat]
        t.update(next_retry_at=nxt, last_try="next_retry_at - %s" % _sec("60 << %s" % a),
                 created_at="last_try - %s" % _sec("(60 << %s) + r10 %% 3600" % a))
    elif cat.startswith("failed_"):
        t["attempt"] = ("max_retry_attempts" if cat == "failed_exhausted"
                        else "1 + r12 % (max_retry_attempts - 1)")
        t.update(last_try="%s - %s" % (N, _sec("3600 + r11 % 255600")),
                 created_at="last_try - %s" % _sec("(60 << %s) + r10 %% 3600" % a))
    elif cat.startswith("dead_letter_"):
        t.update(attempt="max_retry_attempts",
                 last_try="%s - %s" % (N, _sec("600 + r11 % 2592000")),
                 next_retry_at="last_try - %s" % _sec("r13 % 60"),
                 created_at="next_retry_at - %s" % _sec("(60 << (%s - 1)) + r10 %% 3600" % a))
    else:
        raise ValueError(cat)
    return t


def _live_sql(seed, cat, lo, hi, now):
    """All columns of the live rows ``lo..hi`` of one category, as a subquery."""
    t = _live_timeline(cat, now)
    status = CATEGORIES[cat]["status"]
    # Resolve the timeline in dependency order, one nesting level per step, so that
    # each expression can name the columns computed before it.
    steps = [("attempt_count", "(%s)::integer" % t["attempt"]), ("locked_by", t["locked_by"])]
    order = ["started_at", "lock_expires_at", "next_retry_at", "last_try", "created_at"]
    deps = {
        "started_at": {"lock_expires_at"} if "lock_expires_at" in t["started_at"] else set(),
        "lock_expires_at": {"started_at"} if "started_at" in t["lock_expires_at"] else set(),
        "next_retry_at": {"last_try"} if "last_try" in t["next_retry_at"] else set(),
        "last_try": {"next_retry_at"} if "next_retry_at" in t["last_try"] else set(),
        "created_at": {c for c in order[:-1] if c in t["created_at"]},
    }
    done = set()
    while len(done) < len(order):
        for col in order:
            if col not in done and deps[col] <= done:
                steps.append((col, t[col]))
                done.add(col)
                break
        else:  # pragma: no cover - a bug in _live_timeline
            raise RuntimeError("cyclic timeline for %s" % cat)
    sql = _base_sql(seed, "L", lo, hi)
    for col, expr in steps:
        sql = "SELECT s.*, %s AS %s FROM (%s) s OFFSET 0" % (expr, col, sql)
    err_code = "CASE " + " ".join("WHEN r20 %% 100 < %d THEN %s" % (b, c) for b, c, _ in ERROR_PATTERNS) + " END"
    err_msg = "CASE " + " ".join("WHEN r20 %% 100 < %d THEN %s" % (b, m) for b, _, m in ERROR_PATTERNS) + " END"
    return """
SELECT s.*, '%(status)s'::tds_event_status AS status,
  NULL::timestamptz AS completed_at, NULL::text AS target_entity_id,
  NULL::jsonb AS processing_result,
  CASE WHEN attempt_count > 0 THEN (%(err_msg)s) END AS error_message,
  CASE WHEN attempt_count > 0 THEN (%(err_code)s) END AS error_code,
  (200 + r9 %% 30000)::integer AS execution_time_ms
FROM (%(inner)s) s""" % {"status": status, "inner": sql,
                         "err_msg": err_msg, "err_code": err_code}


def _history_age_sql(history, recent=None):
    """How long before ``now`` history row n was created (SQL over ``n`` and ``r6``).

    Row n of ``history`` gets its own slot, in order, at a random point inside it. By
    default the slots divide the year evenly. With ``recent = (count, hours)`` the
    newest ``count`` rows were created and completed inside the last ``hours`` hours
    (a busy queue, or a catch-up after an outage), and the others, created and
    completed before that window, share the rest of the year.
    """
    count, hours = recent or (0, 0)
    if not count:
        slot_ms = max(1, YEAR_MS // max(1, history))
        return ("(interval '120 seconds' + interval '1 millisecond' * ((%d - n) * %d + r6 %% %d))"
                % (history, slot_ms, slot_ms))
    window_ms = int(hours * 3600 * 1000)
    # the newest row is 120 s old, as by default; the oldest recent one completes inside the window
    recent_ms = max(1, (window_ms - 120000 - HISTORY_MAX_RUN_MS) // count)
    older = history - count
    older_start = window_ms + HISTORY_MAX_RUN_MS  # completed before the window opened
    older_ms = max(1, (YEAR_MS - older_start) // max(1, older))
    return ("(interval '1 millisecond' * CASE WHEN n > %d THEN 120000 + (%d - n) * %d + r6 %% %d "
            "ELSE %d + (%d - n) * %d + r6 %% %d END)"
            % (older, history, recent_ms, recent_ms, older_start, older, older_ms, older_ms))


def _history_sql(seed, lo, hi, now, history, step=1, recent=None):
    """Completed rows: created over the last 365 days, processed in 0.2-5 s.

    Like a real append-only queue the heap is in created_at order (the planner's
    correlation statistics look like production's), and the index builds of the fast
    load get nearly sorted input; ``recent`` is the time distribution
    (:func:`_history_age_sql`).
    """
    inner = _base_sql(seed, "H", lo, hi, step)
    return """
SELECT s.*, 'completed'::tds_event_status AS status,
  CASE WHEN r12 %% 100 < 6 THEN 1 ELSE 0 END AS attempt_count,
  NULL::timestamptz AS next_retry_at, NULL::text AS locked_by,
  NULL::timestamptz AS lock_expires_at, NULL::timestamptz AS last_try,
  s.c AS created_at,
  s.c + %(wait)s AS started_at,
  s.c + %(wait)s + %(run)s AS completed_at,
  '4587000' || lpad((r13 %% 1000000000000)::text, 12, '0') AS target_entity_id,
  NULL::text AS error_message, NULL::varchar AS error_code,
  (200 + r9 %% 4800)::integer AS execution_time_ms
FROM (SELECT s1.*, %(now)s - %(age)s AS c FROM (%(inner)s) s1 OFFSET 0) s""" % {
        "inner": inner, "now": now, "age": _history_age_sql(history, recent),
        "wait": _ms("r8 % 5000"), "run": _ms("200 + r9 % 4800"),
    }


def _payload_sql():
    return ("jsonb_build_object('zoho_id', source_entity_id, 'entity_type', entity_type, "
            "'operation', operation_type, 'organization_id', '7200000001', "
            "'modified_time', created_at)")


_INBOX_INSERT = """
INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload,
  idempotency_key, content_hash, webhook_headers, signature_verified, ip_address,
  received_at, processed_at, is_valid, validation_errors, moved_to_queue)
SELECT inbox_event_id,
  (CASE WHEN r16 %% 100 < 92 THEN 'zoho' WHEN r16 %% 100 < 96 THEN 'manual'
        WHEN r16 %% 100 < 99 THEN 'scheduled' ELSE 'reconciliation' END)::tds_source_type,
  entity_type, source_entity_id,
  jsonb_build_object('event_type', lower(entity_type::text) || '.' || operation_type,
                     'organization_id', '7200000001',
                     'data', jsonb_build_object('id', source_entity_id)),
  'zwh-' || md5('%(seed)d:%(tag)s:k:' || n),
  md5(source_entity_id || ':' || n || ':%(seed)d%(tag)s'),
  '{"content-type": "application/json", "user-agent": "Zoho-Webhook/1.0"}'::jsonb,
  true, '136.143.' || (r17 %% 256) || '.' || (r18 %% 256),
  created_at - interval '1 millisecond' * (r19 %% 2000), created_at, true, NULL, true
FROM (%(src)s) src"""

_QUEUE_INSERT = """
INSERT INTO tds_sync_queue (id, inbox_event_id, sync_run_id, entity_type, source_entity_id,
  operation_type, validated_payload, status, priority, attempt_count, max_retry_attempts,
  next_retry_at, locked_by, lock_expires_at, created_at, started_at, completed_at,
  target_entity_id, processing_result, error_message, error_code)
SELECT id, inbox_event_id, NULL, entity_type, source_entity_id, operation_type,
  %(payload)s, status, priority, attempt_count, max_retry_attempts,
  next_retry_at, locked_by, lock_expires_at, created_at, started_at, completed_at,
  target_entity_id, %(result)s, error_message, error_code
FROM (%(src)s) src"""

# The live set reports what it wrote through RETURNING (status x entity x error code).
_QUEUE_INSERT_COUNTED = """
WITH ins AS (%s
RETURNING status, entity_type, error_code)
SELECT status::text, entity_type::text, coalesce(error_code, ''), count(*) FROM ins GROUP BY 1, 2, 3"""

# History rows are all 'completed'; their entity mix is counted from the same
# expression the INSERT used (cheaper than RETURNING at 10M rows).
_HISTORY_ENTITY_COUNT = "SELECT entity_type::text, count(*) FROM (%s) b GROUP BY 1"

_LOG_INSERT = """
INSERT INTO tds_sync_logs (id, sync_queue_id, sync_run_id, entity_type, source_entity_id,
  target_entity_id, operation_type, operation_status, input_payload, output_payload,
  attempt_number, execution_time_ms, error_message, error_code, stack_trace, worker_id,
  "timestamp", context_data)
SELECT md5('%(seed)d:%(tag)s:g:' || n)::uuid, id, NULL, entity_type, source_entity_id,
  target_entity_id, operation_type, %(opstatus)s, NULL, %(output)s,
  %(attempt)s, execution_time_ms, error_message, error_code, NULL, worker_id,
  %(ts)s, NULL
FROM (%(src)s) src %(where)s"""

_DLQ_INSERT = """
INSERT INTO tds_dead_letter_queue (id, sync_queue_id, entity_type, source_entity_id,
  failure_reason, error_code, total_attempts, last_error_message, last_stack_trace,
  last_payload, resolved, resolved_at, resolved_by, resolution_notes, created_at,
  assigned_to, priority)
SELECT md5('%(seed)d:L:d:' || n)::uuid, id, entity_type, source_entity_id,
  format('Max retry attempts (%%s) exceeded: %%s', max_retry_attempts, error_code),
  error_code, attempt_count, error_message, NULL, %(payload)s, false, NULL, NULL, NULL,
  least(%(now)s, last_try + interval '1 second' * (60 + r14 %% 86400)), NULL, priority
FROM (%(src)s) src"""


# ------------------------------------------------------------------------ fast load
def _droppable_indexes(cur, tables):
    """Indexes of ``tables`` that no constraint owns, with their exact definitions."""
    cur.execute("""
        SELECT i.tablename, i.indexname, i.indexdef
        FROM pg_indexes i
        JOIN pg_class c ON c.relname = i.indexname
        JOIN pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = i.schemaname
        WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = c.oid)
        ORDER BY i.tablename, i.indexname""", (list(tables),))
    return cur.fetchall()


def _constraints(cur, tables):
    """Keys to lift during a fast load, with their exact definitions.

    Returns (primary/unique keys of ``tables``, foreign keys on them or pointing at
    them): the foreign keys must go first, since they depend on the keys' indexes.
    """
    cur.execute("""
        SELECT c.contype, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE (c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%s))
           OR (c.contype = 'f' AND (c.conrelid::regclass::text = ANY(%s)
                                    OR c.confrelid::regclass::text = ANY(%s)))
        ORDER BY c.contype DESC, 2, 3""", (list(tables),) * 3)
    rows = cur.fetchall()
    return ([r[1:] for r in rows if r[0] != "f"], [r[1:] for r in rows if r[0] == "f"])


# ------------------------------------------------------------------------- generate
def _empty(keys):
    return {k: 0 for k in keys}


class _Loader:
    """Runs the INSERTs on one connection, timing them and counting what they wrote."""

    _RESULT = "jsonb_build_object('zoho_id', target_entity_id, 'code', 0, 'message', 'success')"

    def __init__(self, conn, seed, now_sql, with_logs, progress, recent=None):
        self.conn = conn
        self.recent = recent
        self.cur = conn.cursor()
        self.seed = seed
        self.now_sql = now_sql
        self.with_logs = with_logs
        self.progress = progress
        self.timings = {}
        self.written = {"inbox": 0, "logs": 0, "dead_letter": 0}
        self.history_by_entity = _empty(ENTITY_TYPES)
        self.live_rows = []  # (status, entity, error_code, count)

    def execute(self, step, sql):
        t0 = time.time()
        self.cur.execute(sql)
        spent = time.time() - t0
        self.timings[step] = self.timings.get(step, 0.0) + spent
        if self.progress is not None:
            self.progress(step, spent)
        return self.cur

    def insert(self, step, sql):
        self.execute(step, sql)
        self.written[step] += self.cur.rowcount

    def history_chunk(self, lo, hi, history):
        seed, now_sql = self.seed, self.now_sql
        src = _history_sql(seed, lo, hi, now_sql, history, recent=self.recent)
        self.insert("inbox", _INBOX_INSERT % {"seed": seed, "tag": "H", "src": src})
        self.execute("queue", _QUEUE_INSERT % {"payload": _payload_sql(), "src": src,
                                               "result": self._RESULT})
        for entity, count in self.execute(
                "count", _HISTORY_ENTITY_COUNT % _base_sql(seed, "H", lo, hi)).fetchall():
            self.history_by_entity[entity] += count
        first = ((lo + 4) // 5) * 5  # a log row for every 5th row
        if self.with_logs and first <= hi:
            self.insert("logs", _LOG_INSERT % {
                "seed": seed, "tag": "H", "src": _history_sql(seed, first, hi, now_sql, history, 5,
                                                                  recent=self.recent),
                "opstatus": "'completed'::tds_event_status",
                "output": "jsonb_build_object('zoho_id', target_entity_id)",
                "attempt": "attempt_count + 1", "ts": "completed_at", "where": ""})

    def live_chunk(self, cat, lo, hi):
        seed, now_sql = self.seed, self.now_sql
        src = _live_sql(seed, cat, lo, hi, now_sql)
        self.insert("inbox", _INBOX_INSERT % {"seed": seed, "tag": "L", "src": src})
        self.live_rows.extend(self.execute("queue", _QUEUE_INSERT_COUNTED % (
            _QUEUE_INSERT % {"payload": _payload_sql(), "src": src, "result": "NULL::jsonb"})).fetchall())
        if self.with_logs:  # one log row for the last failed attempt
            self.insert("logs", _LOG_INSERT % {
                "seed": seed, "tag": "L", "src": src,
                "opstatus": "'failed'::tds_event_status", "output": "NULL",
                "attempt": "attempt_count", "ts": "last_try", "where": "WHERE attempt_count > 0"})
        if CATEGORIES[cat].get("dlq"):
            self.insert("dead_letter", _DLQ_INSERT % {
                "seed": seed, "src": src, "now": now_sql, "payload": _payload_sql()})


def _chunks(lo, hi, size):
    return [(a, min(a + size - 1, hi)) for a in range(lo, hi + 1, size)]


def generate(conn, live=10000, history=0, seed=42, now=None, with_logs=True,
             fast_load=False, mix=None, chunk_size=1000000, commit=True, progress=None,
             jobs=1, dsn=None, recent=0, recent_hours=48):
    """Write ``live`` open and ``history`` completed queue rows (with their inbox
    events, logs and some DLQ records) and return the exact counts written.

    Runs in one transaction and commits at the end (unless ``commit=False``), so a
    failure leaves the database as it was, including the keys and indexes that
    ``fast_load`` lifts for the load. ``now`` (datetime or ISO string; default: the
    server's clock) is the instant the live set is arranged around; pass it to get
    identical data twice. ``mix`` maps category names to weights (default
    ``DEFAULT_MIX``). The same seed cannot be generated twice into one database.
    ``progress(step, seconds)`` is called after every statement (a 10M-row load is
    minutes of silence otherwise).

    ``jobs > 1`` loads the history over that many extra connections (to ``dsn``,
    default ``conn.dsn``, which lacks any password: use PGPASSWORD/.pgpass) and
    gives up atomicity for speed: with ``fast_load`` the lifted keys and indexes are
    committed away first and rebuilt at the end (also after a failure, as far as
    possible), and history chunks are committed as they are written.

    ``recent`` > 0 makes the history dense at its recent end: the newest ``recent``
    completed rows were created in the last ``recent_hours`` hours, the others over
    the rest of the year (by default the year is even; the rows are the same, only
    their times differ).
    """
    if live < 0 or history < 0 or chunk_size < 1 or jobs < 1:
        raise ValueError("live, history must be >= 0, chunk_size and jobs >= 1")
    if not 0 <= recent <= history:
        raise ValueError("recent must be between 0 and history (%d), got %r" % (history, recent))
    if recent and not 1 <= recent_hours < 365 * 24:
        raise ValueError("recent_hours must be at least 1 and less than a year, got %r" % (recent_hours,))
    seed = int(seed)
    started = time.time()
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False  # one transaction: all or nothing, even with fast_load
    try:
        return _generate(conn, live, history, seed, now, with_logs, fast_load, mix,
                         chunk_size, commit or autocommit or jobs > 1, started, progress,
                         jobs, dsn, (recent, recent_hours) if recent else None)
    except BaseException:
        if not conn.closed:
            try:
                conn.rollback()
            except Exception:  # the connection may be gone; the server rolls back
                pass
        raise
    finally:
        if autocommit:
            conn.autocommit = True


def _generate(conn, live, history, seed, now, with_logs, fast_load, mix, chunk_size,
              commit, started, progress, jobs, dsn, recent):
    mix = DEFAULT_MIX if mix is None else mix
    plan = allocate(live, mix)
    main = _Loader(conn, seed, None, with_logs, progress, recent)
    cur = main.cur
    if now is None:
        cur.execute("SELECT clock_timestamp()")
        now = cur.fetchone()[0]
    elif isinstance(now, str):
        now = datetime.datetime.fromisoformat(now)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    main.now_sql = now_sql = cur.mogrify("%s::timestamptz", (now,)).decode()
    cur.execute("SELECT count(*) FROM tds_sync_queue WHERE id = ANY(%s::uuid[])",
                ([row_id(seed, "H", "q", 1), row_id(seed, "L", "q", 1)],))
    if cur.fetchone()[0]:
        raise ValueError("seed %d was already generated into this database" % seed)
    parallel = jobs > 1 and history > 0

    indexes, keys, fkeys = [], [], []
    if fast_load:
        indexes = _droppable_indexes(cur, _GENERATED_TABLES)
        keys, fkeys = _constraints(cur, _GENERATED_TABLES)
        for table, name, _ddl in fkeys + keys:
            main.execute("drop_constraints", 'ALTER TABLE %s DROP CONSTRAINT "%s"' % (table, name))
        for _table, name, _ddl in indexes:
            main.execute("drop_indexes", 'DROP INDEX "%s"' % name)
        if parallel:
            conn.commit()  # the helpers must not wait for our locks

    def rebuild():
        # pg_restore's order: keys (one sort each instead of millions of random
        # inserts into a uuid btree), indexes, then foreign keys (one join each
        # instead of a trigger per row; it also proves the generated rows consistent)
        cur.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for table, name, ddl in keys:
            main.execute("add_keys", 'ALTER TABLE %s ADD CONSTRAINT "%s" %s' % (table, name, ddl))
        for _table, _name, ddl in indexes:
            main.execute("create_indexes", ddl)
        # Statistics first: without them the check behind each foreign key probes the
        # referenced key's index once per row (minutes at 10M rows) instead of
        # hashing it once; work_mem lets that hash stay in memory.
        for table in _GENERATED_TABLES:
            main.execute("analyze", "ANALYZE %s" % table)
        if fkeys:
            cur.execute("SET LOCAL work_mem = '256MB'")
        for table, name, ddl in fkeys:
            main.execute("add_constraints", 'ALTER TABLE %s ADD CONSTRAINT "%s" %s' % (table, name, ddl))

    helpers = []
    try:
        # History first, then the live set: the heap ends up in arrival order, as in
        # production where the open rows are the newest.
        if parallel:
            size = min(chunk_size, -(-history // jobs))
            helpers = _load_parallel(dsn or conn.dsn, jobs, _chunks(1, history, size),
                                     seed, now_sql, with_logs, progress, history, recent)
        else:
            for lo, hi in _chunks(1, history, chunk_size):
                main.history_chunk(lo, hi, history)
        n = 1  # live rows: one block of row numbers per category
        for cat in CATEGORIES:
            for lo, hi in _chunks(n, n + plan[cat] - 1, chunk_size):
                main.live_chunk(cat, lo, hi)
            n += plan[cat]
        rebuild()
    except BaseException:
        if parallel and fast_load:  # what we lifted was committed away: put it back
            conn.rollback()
            try:
                rebuild()
                conn.commit()
            except Exception:
                conn.rollback()
                sys.stderr.write("generate: could not restore these after the failure:\n%s\n" % "\n".join(
                    ["ALTER TABLE %s ADD CONSTRAINT %s %s;" % k for k in keys]
                    + [d + ";" for _t, _n, d in indexes]
                    + ["ALTER TABLE %s ADD CONSTRAINT %s %s;" % k for k in fkeys]))
        raise
    if commit:
        conn.commit()

    # ---- what was written
    loaders = [main] + helpers
    timings, written = {}, {"inbox": 0, "logs": 0, "dead_letter": 0}
    history_by_entity = _empty(ENTITY_TYPES)
    for ld in loaders:
        for k, v in ld.timings.items():
            timings[k] = timings.get(k, 0.0) + v
        for k, v in ld.written.items():
            written[k] += v
        for k, v in ld.history_by_entity.items():
            history_by_entity[k] += v
    live_by_status = _empty(STATUSES)
    live_by_entity = _empty(ENTITY_TYPES)
    live_status_entity = {s: _empty(ENTITY_TYPES) for s in STATUSES}
    by_error_code = {}
    for status, entity, code, count in main.live_rows:
        live_by_status[status] += count
        live_by_entity[entity] += count
        live_status_entity[status][entity] += count
        if code:
            by_error_code[code] = by_error_code.get(code, 0) + count
    by_status = dict(live_by_status, completed=live_by_status["completed"] + history)
    by_entity = {e: live_by_entity[e] + history_by_entity[e] for e in ENTITY_TYPES}

    cats = {c: plan[c] for c in CATEGORIES}

    def total(pred):
        return sum(cats[c] for c, p in CATEGORIES.items() if pred(p))

    stuck_by_status = _empty(("pending", "processing"))
    for c, p in CATEGORIES.items():
        if p.get("lease") == "stuck":
            stuck_by_status[p["status"]] += cats[c]
    result = {
        "seed": seed,
        "now": now.isoformat(),
        "stable_until": (now + datetime.timedelta(seconds=STABLE_FOR_S)).isoformat(),
        "live": live,
        "history": history,
        "fast_load": bool(fast_load),
        "jobs": jobs if parallel else 1,
        "elapsed_s": round(time.time() - started, 3),
        "queue_rows": live + history,
        "inbox_events": written["inbox"],
        "sync_logs": written["logs"],
        "dead_letter_records": written["dead_letter"],
        "by_status": by_status,
        "status_counts": dict(by_status),  # same, named like zoho_queue_facts' key
        "live_by_status": live_by_status,
        "by_entity_type": by_entity,
        "live_by_entity_type": live_by_entity,
        "history_by_entity_type": history_by_entity,
        "live_by_status_and_entity_type": live_status_entity,
        "pending_by_entity_type": dict(live_status_entity["pending"]),
        "by_error_code": dict(sorted(by_error_code.items())),
        "categories": cats,
        "pending_older_than_1h": total(lambda p: p["status"] == "pending" and p.get("old")),
        "live_leases": total(lambda p: p.get("lease") == "live"),
        "expired_leases": total(lambda p: p.get("lease") in ("stuck", "expired_recent")),
        "stuck_leases": total(lambda p: p.get("lease") == "stuck"),
        "stuck_leases_by_status": stuck_by_status,
        "retry_not_due": cats["retry_not_due"],
        "retry_due": cats["retry_due"],
        "retry_overdue": cats["retry_overdue"],
        "retry_due_total": total(lambda p: p.get("retry") in ("due", "overdue")),
        "exhausted": total(lambda p: p.get("exhausted", False)),
        "exhausted_by_status": {"retry": cats["retry_exhausted"], "failed": cats["failed_exhausted"]},
        "failed_under_budget": cats["failed_under_budget"],
        "dead_letter": cats["dead_letter_no_dlq"] + cats["dead_letter_with_dlq"],
        "dead_letter_with_dlq": cats["dead_letter_with_dlq"],
        "dead_letter_without_dlq": cats["dead_letter_no_dlq"],
        "indexes_rebuilt": [name for _t, name, _d in keys + indexes],
        "constraints_rebuilt": [name for _t, name, _d in keys + fkeys],
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    if recent:  # only then: the default output stays what it always was
        result["history_recent"], result["history_recent_hours"] = recent
    return result


def _load_parallel(dsn, jobs, chunks, seed, now_sql, with_logs, progress, history, recent=None):
    """History chunks over ``jobs`` connections, each chunk its own transaction."""
    failed = []
    loaders = []
    lock = threading.Lock()
    queue = list(chunks)

    def run(loader):
        try:
            while not failed:
                with lock:
                    if not queue:
                        return
                    lo, hi = queue.pop(0)
                loader.history_chunk(lo, hi, history)
                loader.conn.commit()
        except BaseException as exc:  # reported by the caller's thread
            failed.append(exc)
            loader.conn.rollback()

    conns = []
    try:
        for _ in range(jobs):
            conns.append(psycopg2.connect(dsn))
            loaders.append(_Loader(conns[-1], seed, now_sql, with_logs, progress, recent))
        threads = [threading.Thread(target=run, args=(ld,)) for ld in loaders]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for c in conns:
            c.close()
    if failed:
        raise failed[0]
    return loaders


# ------------------------------------------------------------------------------ CLI
def _print_progress(step, seconds):
    if seconds < 0.5:  # the statements that matter in a long load, not the dozens of small ones
        return
    sys.stderr.write("%s %-16s %8.3f s\n" % (time.strftime("%H:%M:%S"), step, seconds))
    sys.stderr.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m testbed.generate",
        description="Fill a TSH database with a deterministic, realistic sync queue.")
    parser.add_argument("--dsn", default="", help="libpq DSN (default: PG* environment)")
    parser.add_argument("--live", type=int, default=10000, help="open (not completed) rows")
    parser.add_argument("--history", type=int, default=0, help="completed rows over 365 days")
    parser.add_argument("--recent", type=int, default=0,
                        help="of the history, how many rows were created in the last --recent-hours")
    parser.add_argument("--recent-hours", type=float, default=48)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--now", default=None, help="reference time, ISO 8601 with zone")
    parser.add_argument("--no-logs", action="store_true", help="write no tds_sync_logs rows")
    parser.add_argument("--fast-load", action="store_true",
                        help="drop the tables' indexes during the load and rebuild them")
    parser.add_argument("--mix", default="default",
                        help="live mix: %s, or a JSON object category->weight" % "|".join(MIXES))
    parser.add_argument("--chunk-size", type=int, default=1000000)
    parser.add_argument("--jobs", type=int, default=1,
                        help="connections loading the history in parallel (not atomic)")
    parser.add_argument("--load-schema", action="store_true",
                        help="create the TSH tables first (empty database)")
    parser.add_argument("--progress", action="store_true",
                        help="report every statement on stderr")
    args = parser.parse_args(argv)
    mix = MIXES.get(args.mix)
    if mix is None:
        mix = json.loads(args.mix)
    conn = psycopg2.connect(args.dsn)
    try:
        if args.load_schema:
            load_schema(conn)
        result = generate(conn, live=args.live, history=args.history, seed=args.seed,
                          now=args.now, with_logs=not args.no_logs, fast_load=args.fast_load,
                          mix=mix, chunk_size=args.chunk_size, jobs=args.jobs, dsn=args.dsn,
                          recent=args.recent, recent_hours=args.recent_hours,
                          progress=_print_progress if args.progress else None)
    finally:
        conn.close()
    json.dump(result, sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
