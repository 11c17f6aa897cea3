# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SQL of every heal write: which rows qualify, and what changes on them.

Each ``where_*`` returns the full condition a row must meet; the batch walker selects
on it, locks on it and the UPDATE repeats it, so a row a worker changed in between is
left alone. No condition ever matches a row under a live lease: a worker is on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError

try:
    from psycopg2 import sql
except ImportError:
    sql = None

# The columns shown for each row in results and diffs (those the layout has).
STATE_COLUMNS = ("entity_type", "status", "attempt_count", "max_retry_attempts", "next_retry_at",
                 "locked_by", "lock_expires_at")


def _filters(schema, entity_types, ids):
    parts, args = [], {}
    if entity_types:
        parts.append(sql.SQL("{} IN %(entity_types)s").format(schema.col("entity_type")))
        args["entity_types"] = tuple(entity_types)
    if ids:
        parts.append(sql.SQL("{} IN %(filter_ids)s").format(schema.col("id")))
        args["filter_ids"] = tuple(ids)
    return parts, args


def _where(schema, conditions, entity_types, ids, args):
    extra, fargs = _filters(schema, entity_types, ids)
    args = dict(args)
    args.update(fargs)
    return sql.SQL(" AND ").join(conditions + extra), args


def where_failed(schema, entity_types, ids, max_attempts):
    return _where(schema, [
        sql.SQL("{} = 'failed'").format(schema.col("status")),
        sql.SQL("{} < {}").format(schema.col("attempt_count"), schema.max_attempts_expr()),
        schema.not_live_lease_expr(),
    ], entity_types, ids, {"max_attempts": max_attempts})


def where_stuck(schema, entity_types, ids, stuck_after):
    return _where(schema, [
        schema.leased_expr(),
        sql.SQL("{} < now() - make_interval(mins => %(stuck_after)s)").format(schema.col("lock_expires_at")),
    ], entity_types, ids, {"stuck_after": stuck_after})


def where_dead_letter(schema, entity_types, ids):
    return _where(schema, [
        sql.SQL("{} = 'dead_letter'").format(schema.col("status")),
        schema.not_live_lease_expr(),
    ], entity_types, ids, {})


def where_exhausted(schema, entity_types, ids, max_attempts):
    return _where(schema, [
        sql.SQL("{} IN ('failed', 'retry')").format(schema.col("status")),
        sql.SQL("{} >= {}").format(schema.col("attempt_count"), schema.max_attempts_expr()),
        schema.not_live_lease_expr(),
    ], entity_types, ids, {"max_attempts": max_attempts})


def where_unrecorded(schema, entity_types, ids):
    return _where(schema, [
        sql.SQL("{} = 'dead_letter'").format(schema.col("status")),
        sql.SQL("NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {queue}.{id})").format(
            dlq=schema.dlq, ref=schema.dcol("sync_queue_id", "d"), queue=sql.Identifier(schema.queue_table),
            id=schema.col("id")),
    ], entity_types, ids, {})


def _update(cur, schema, walker, ids, assignments):
    cur.execute(sql.SQL(
        "UPDATE {queue} SET {sets} WHERE {id} IN %(locked_ids)s AND ({where}) RETURNING {ret}").format(
        queue=schema.queue, sets=sql.SQL(", ").join(assignments), id=schema.col("id"),
        where=walker.where, ret=walker.returning()), dict(walker.args, locked_ids=tuple(ids)))
    return cur.fetchall()


def _set(schema, logical, expr):
    return sql.SQL("{} = {}").format(schema.col(logical), expr)


def requeue_assignments(schema, reset_attempts=False):
    """pending, lease and retry schedule cleared. A manual requeue does not consume
    an attempt: only the worker counts failures."""
    sets = [_set(schema, "status", sql.SQL("'pending'"))] + schema.clear_lease_assignments()
    if schema.has("next_retry_at"):
        sets.append(_set(schema, "next_retry_at", sql.SQL("NULL")))
    if reset_attempts:
        sets.append(_set(schema, "attempt_count", sql.SQL("0")))
    return sets + schema.touch_assignments()


def clear_stuck_assignments(schema):
    status = schema.col("status")
    return schema.clear_lease_assignments() + [
        sql.SQL("{s} = CASE WHEN {s} = 'processing' THEN 'pending' ELSE {s} END").format(s=status),
    ] + schema.touch_assignments()


def dead_letter_assignments(schema):
    return [_set(schema, "status", sql.SQL("'dead_letter'"))] + schema.clear_lease_assignments() + \
        schema.touch_assignments()


def apply_update(assignments):
    def apply(cur, schema, walker, ids):
        return _update(cur, schema, walker, ids, assignments)
    return apply


def resolve_records(cur, schema, queue_ids, resolved_by, notes):
    """Mark the open DLQ records of re-driven rows resolved; returns how many."""
    if not queue_ids:
        return 0
    sets = [sql.SQL("{} = true").format(schema.dcol("resolved"))]
    args = {"queue_ids": tuple(queue_ids)}
    if schema.has_dlq("resolved_at"):
        sets.append(sql.SQL("{} = now()").format(schema.dcol("resolved_at")))
    if schema.has_dlq("resolved_by"):
        sets.append(sql.SQL("{} = %(resolved_by)s").format(schema.dcol("resolved_by")))
        args["resolved_by"] = resolved_by
    if schema.has_dlq("resolution_notes"):
        sets.append(sql.SQL("{} = %(notes)s").format(schema.dcol("resolution_notes")))
        args["notes"] = notes
    cur.execute(sql.SQL("UPDATE {dlq} SET {sets} WHERE {ref} IN %(queue_ids)s AND NOT {resolved}").format(
        dlq=schema.dlq, sets=sql.SQL(", ").join(sets), ref=schema.dcol("sync_queue_id"),
        resolved=schema.dcol("resolved")), args)
    return cur.rowcount


def insert_records(cur, schema, queue_ids, reason, default_reason):
    """One DLQ record per queue row that has none, copied from the queue row.

    The NOT EXISTS runs under the row lock the caller holds on each queue row, so two
    heals (or a heal and a reconcile) cannot both insert one: the second waits for or
    skips the lock, and then sees the first one's record.
    """
    if not queue_ids:
        return []
    cols, values = [], []

    def put(logical, expr):
        if schema.has_dlq(logical):
            cols.append(schema.dcol(logical))
            values.append(expr)

    if not schema.dlq_id_has_default:
        if not getattr(schema, "dlq_id_is_uuid", False):
            raise QueueDatabaseError("%s.%s has no default and is not a UUID: cannot create dead-letter records"
                                     % (schema.dlq_table, schema.dcols["id"]))
        put("id", sql.SQL("gen_random_uuid()"))
    put("sync_queue_id", schema.col("id", "q"))
    put("entity_type", schema.col("entity_type", "q"))
    put("source_entity_id", schema.col("source_entity_id", "q"))
    put("failure_reason", sql.SQL("COALESCE(%(reason)s, {})").format(default_reason))
    if schema.has("error_code"):
        put("error_code", schema.col("error_code", "q"))
    put("total_attempts", schema.col("attempt_count", "q"))
    if schema.has("error_message"):
        put("last_error_message", schema.col("error_message", "q"))
    put("last_payload", schema.col("payload", "q"))
    put("resolved", sql.SQL("false"))
    put("created_at", sql.SQL("now()"))
    cur.execute(sql.SQL(
        """
        INSERT INTO {dlq} ({cols})
        SELECT {values} FROM {queue} q
         WHERE {qid} IN %(queue_ids)s
           AND NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {qid})
        RETURNING {ret}::text
        """).format(dlq=schema.dlq, cols=sql.SQL(", ").join(cols), values=sql.SQL(", ").join(values),
                    queue=schema.queue, qid=schema.col("id", "q"), ref=schema.dcol("sync_queue_id", "d"),
                    ret=schema.dcol("sync_queue_id")),
        {"queue_ids": tuple(queue_ids), "reason": reason})
    return [r[0] if not isinstance(r, dict) else list(r.values())[0] for r in cur.fetchall()]


def exhausted_reason(schema):
    return sql.SQL("'Retry budget exhausted after ' || q.{} || ' attempts'").format(
        sql.Identifier(schema.qcols["attempt_count"]))


def reconciled_reason():
    return sql.SQL("'Dead-lettered by the worker without a record (recorded by tsh.zoho_sync)'")
