#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_dlq_facts
short_description: The unresolved dead letters of the Zoho sync queue, by error pattern and entity type
version_added: 0.1.0
description:
  - The input of the weekly dead-letter review. Reads the queue rows in status C(dead_letter) that have no
    resolved dead-letter record (whether they have an open record or none at all - the production worker writes
    none) and groups them by entity type and by error pattern (error code and message with UUIDs, hex ids and
    numbers collapsed, as M(tsh.zoho_sync.zoho_queue_facts) does), with counts, first and last seen, an example
    message and sample ids to re-drive.
  - Also counts open dead-letter records whose queue row is no longer C(dead_letter) (re-driven by hand without
    resolving the record).
  - Read-only - one read-only transaction that is rolled back; never reports a change.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.connection
  - tsh.zoho_sync.queue_schema
options:
  entity_types:
    description:
      - Only dead letters of these entity types.
    type: list
    elements: str
  top_patterns:
    description:
      - How many error patterns to return, most frequent first.
    type: int
    default: 20
  sample_size:
    description:
      - How many row ids each group lists.
    type: int
    default: 10
notes:
  - Supports C(check_mode); it behaves the same in both modes.
seealso:
  - module: tsh.zoho_sync.zoho_requeue
  - module: tsh.zoho_sync.zoho_dlq_move
'''

EXAMPLES = r'''
- name: Read the dead letters to review
  tsh.zoho_sync.zoho_dlq_facts:
    login_db: tsh_erp
  register: dlq

- name: Show the worst pattern
  ansible.builtin.debug:
    msg: "{{ dlq.by_pattern[0].count }} x {{ dlq.by_pattern[0].pattern }}"
  when: dlq.by_pattern | length > 0
'''

RETURN = r'''
total:
  description: Unresolved dead letters (C(dead_letter) rows without a resolved record).
  returned: success
  type: int
recorded:
  description: Of those, how many have an open dead-letter record.
  returned: success
  type: int
unrecorded:
  description: Of those, how many have no record at all.
  returned: success
  type: int
stale_open_records:
  description: Open records whose queue row is no longer C(dead_letter).
  returned: success
  type: int
by_entity:
  description: Per entity type - C(entity_type), C(count), C(recorded), C(oldest), C(newest), C(sample_ids).
    Sorted by count.
  returned: success
  type: list
  elements: dict
by_pattern:
  description: Per error pattern - C(pattern), C(error_code), C(count), C(entity_types), C(example),
    C(first_seen), C(last_seen), C(sample_ids). Sorted by count, at most O(top_patterns).
  returned: success
  type: list
  elements: dict
pattern_groups:
  description: How many distinct patterns exist (the list is capped at O(top_patterns)).
  returned: success
  type: int
collected_at:
  description: Database time of the snapshot (ISO 8601).
  returned: success
  type: str
'''

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import psycopg2
from ansible_collections.tsh.zoho_sync.plugins.module_utils.facts_queries import HEX_RE, NUM_RE, UUID_RE
from ansible_collections.tsh.zoho_sync.plugins.module_utils.module_base import (
    build_module,
    check_range,
    check_string_list,
    close_quietly,
    database_error_message,
    fail,
    open_session,
    resolve_schema,
)

try:
    from psycopg2 import sql
except ImportError:
    sql = None


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
    args = {"uuid_re": UUID_RE, "hex_re": HEX_RE, "num_re": NUM_RE, "top": top, "sample": sample}
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
            SELECT *, regexp_replace(regexp_replace(regexp_replace(message,
                       %(uuid_re)s, '<uuid>', 'g'), %(hex_re)s, '<hex>', 'g'), %(num_re)s, '<n>', 'g') AS pattern
              FROM dead
        )
        SELECT pattern, code, count(*), array_agg(DISTINCT entity ORDER BY entity), min(message),
               min(created), max(created), (array_agg(id ORDER BY created))[1:%(sample)s], count(*) OVER ()
          FROM patterned GROUP BY pattern, code
         ORDER BY count(*) DESC, pattern, code NULLS FIRST LIMIT %(top)s
        """), args)
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


def main():
    module = build_module(dict(
        entity_types=dict(type="list", elements="str"),
        top_patterns=dict(type="int", default=20),
        sample_size=dict(type="int", default=10),
    ))
    check_range(module, "top_patterns", 1, 1000)
    check_range(module, "sample_size", 0, 1000)
    check_string_list(module, "entity_types")
    schema = resolve_schema(module)
    conn = open_session(module, schema, read_only=True)
    try:
        entity_types = schema.validate_entity_types(module.params.get("entity_types"))
    except ValueError as exc:
        close_quietly(conn)
        fail(module, str(exc))
    try:
        with conn.cursor() as cur:
            out = gather(cur, schema, entity_types, module.params["top_patterns"], module.params["sample_size"])
        conn.rollback()
    except psycopg2.Error as exc:
        close_quietly(conn)
        fail(module, database_error_message(module, exc, "reading the dead letters"))
    close_quietly(conn)
    module.exit_json(changed=False, **out)


if __name__ == "__main__":
    main()
