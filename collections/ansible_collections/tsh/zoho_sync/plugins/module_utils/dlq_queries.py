# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The read-only queries behind zoho_dlq_facts: the unresolved dead letters by entity
type and by error pattern (the facts' own pattern normalisation), and the open records
whose queue row is no longer dead-lettered."""

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import sql
from ansible_collections.tsh.zoho_sync.plugins.module_utils.facts_queries import PATTERN_PARAMS, pattern_sql


def _iso(value):
    return value.isoformat() if value is not None else None


def gather(cur, schema, entity_types, top, sample):
    s = schema
    code = s.col("error_code", "q") if s.has("error_code") else sql.SQL("NULL::text")
    message_parts = []
    if s.has("error_message"):
        message_parts.append(s.col("error_message", "q"))
    if s.has_dlq("last_error_message"):
        message_parts.append(s.dcol("last_error_message", "r"))
    message_parts.append(s.dcol("failure_reason", "r"))
    entity_filter = sql.SQL("true")
    args = dict(PATTERN_PARAMS, top=top, sample=sample)
    if entity_types:
        entity_filter = sql.SQL("{} IN %(entity_types)s").format(s.col("entity_type", "q"))
        args["entity_types"] = tuple(entity_types)
    dead = sql.SQL(
        """
        WITH dead AS (
            SELECT {qid}::text AS id, {entity}::text AS entity, {code}::text AS code, {created} AS created,
                   r.{rid} IS NOT NULL AS recorded,
                   COALESCE({message}, '(no error message)') AS message
              FROM {queue} q
              LEFT JOIN LATERAL (
                   SELECT * FROM {dlq} r0 WHERE r0.{ref} = {qid} AND NOT r0.{resolved}
                    ORDER BY r0.{rcreated} DESC NULLS LAST LIMIT 1) r ON true
             WHERE {status} = 'dead_letter' AND {entity_filter}
               AND NOT EXISTS (SELECT 1 FROM {dlq} x WHERE x.{ref} = {qid} AND x.{resolved})
        )
        """).format(qid=s.col("id", "q"), entity=s.col("entity_type", "q"), code=code, created=s.col("created_at", "q"),
                    rid=s.dcol("id"), message=sql.SQL("COALESCE({})").format(sql.SQL(", ").join(message_parts)),
                    queue=s.queue, dlq=s.dlq, ref=s.dcol("sync_queue_id"), resolved=s.dcol("resolved"),
                    rcreated=s.dcol("created_at") if s.has_dlq("created_at") else s.dcol("id"),
                    status=s.col("status", "q"), entity_filter=entity_filter)
    cur.execute(dead + sql.SQL(
        """
        SELECT entity, count(*), count(*) FILTER (WHERE recorded), min(created), max(created),
               (array_agg(id ORDER BY created))[1:%(sample)s]
          FROM dead GROUP BY entity ORDER BY count(*) DESC, entity
        """), args)
    by_entity = [{"entity_type": r[0], "count": r[1], "recorded": r[2], "oldest": _iso(r[3]), "newest": _iso(r[4]),
                  "sample_ids": list(r[5] or [])} for r in cur.fetchall()]
    cur.execute(dead + sql.SQL(
        """
        , patterned AS (
            SELECT *, {pattern} AS pattern FROM dead
        )
        SELECT pattern, code, count(*), array_agg(DISTINCT entity ORDER BY entity), min(message),
               min(created), max(created), (array_agg(id ORDER BY created))[1:%(sample)s], count(*) OVER ()
          FROM patterned GROUP BY pattern, code
         ORDER BY count(*) DESC, pattern, code NULLS FIRST LIMIT %(top)s
        """).format(pattern=pattern_sql(sql.SQL("message"))), args)
    rows = cur.fetchall()
    by_pattern = [{"pattern": r[0], "error_code": r[1], "count": r[2], "entity_types": list(r[3]), "example": r[4],
                   "first_seen": _iso(r[5]), "last_seen": _iso(r[6]), "sample_ids": list(r[7] or [])} for r in rows]
    cur.execute(sql.SQL(
        """
        SELECT count(*) FROM {dlq} r
         WHERE NOT r.{resolved}
           AND NOT EXISTS (SELECT 1 FROM {queue} q WHERE {qid} = r.{ref} AND {status} = 'dead_letter')
        """).format(dlq=s.dlq, resolved=s.dcol("resolved"), queue=s.queue, qid=s.col("id", "q"),
                    ref=s.dcol("sync_queue_id"), status=s.col("status", "q")))
    stale = cur.fetchone()[0]
    cur.execute("SELECT now()")
    now = cur.fetchone()[0]
    total = sum(e["count"] for e in by_entity)
    recorded = sum(e["recorded"] for e in by_entity)
    return {"total": total, "recorded": recorded, "unrecorded": total - recorded, "stale_open_records": stale,
            "by_entity": by_entity, "by_pattern": by_pattern, "pattern_groups": rows[0][8] if rows else 0,
            "collected_at": _iso(now)}
