# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""heal_queries: the conditions and assignments of every heal write, as SQL text."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError
from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import QueueSchema
from ansible_collections.tsh.zoho_sync.tests.unit.plugins.module_utils.sqltext import render

LIVE_LEASE_GUARD = '(NOT ("locked_by" IS NOT NULL) OR "lock_expires_at" IS NULL OR "lock_expires_at" < now())'


class RecordingCursor(object):
    def __init__(self, rows=None, rowcount=0):
        self.rows = rows or []
        self.rowcount = rowcount
        self.executed = []

    def execute(self, query, args=None):
        self.executed.append((render(query), args))

    def fetchall(self):
        return self.rows


def test_where_failed_keeps_budget_and_live_leases_out():
    where, args = hq.where_failed(QueueSchema(), None, None, None)
    assert render(where) == ('"status" = \'failed\' AND "attempt_count" < COALESCE(%(max_attempts)s::integer, '
                             '"max_retry_attempts") AND ' + LIVE_LEASE_GUARD)
    assert args == {"max_attempts": None}


def test_filters_are_parameters_not_text():
    where, args = hq.where_failed(QueueSchema(), ["invoice", "bill"], ["1; DROP TABLE x"], 4)
    text = render(where)
    assert text.endswith('AND "entity_type" IN %(entity_types)s AND "id" IN %(filter_ids)s')
    assert "DROP" not in text
    assert args == {"max_attempts": 4, "entity_types": ("invoice", "bill"), "filter_ids": ("1; DROP TABLE x",)}


def test_where_stuck_and_exhausted_and_dead_letter():
    schema = QueueSchema()
    where, args = hq.where_stuck(schema, None, None, 30)
    assert render(where) == '"locked_by" IS NOT NULL AND "lock_expires_at" < now() - make_interval(mins => %(stuck_after)s)'
    assert args == {"stuck_after": 30}
    where, _args = hq.where_exhausted(schema, None, None, 5)
    assert render(where).startswith('"status" IN (\'failed\', \'retry\') AND "attempt_count" >= COALESCE(')
    where, args = hq.where_dead_letter(schema, ["invoice"], None)
    assert render(where) == '"status" = \'dead_letter\' AND ' + LIVE_LEASE_GUARD + ' AND "entity_type" IN %(entity_types)s'


def test_where_unrecorded_references_the_dlq():
    where, _args = hq.where_unrecorded(QueueSchema(), None, None)
    assert render(where) == ('"status" = \'dead_letter\' AND NOT EXISTS (SELECT 1 FROM "public"."tds_dead_letter_queue" d '
                             'WHERE "d"."sync_queue_id" = "tds_sync_queue"."id")')


def test_requeue_assignments_by_layout():
    prod = [render(s) for s in hq.requeue_assignments(QueueSchema())]
    assert prod == ['"status" = \'pending\'', '"lock_expires_at" = NULL', '"locked_by" = NULL', '"next_retry_at" = NULL']
    simple = QueueSchema({"queue_columns": {"next_retry_at": None, "locked_by": None, "updated_at": "updated_at"}})
    assert [render(s) for s in hq.requeue_assignments(simple, reset_attempts=True)] == [
        '"status" = \'pending\'', '"lock_expires_at" = NULL', '"attempt_count" = 0', '"updated_at" = now()']


def test_clear_stuck_and_dead_letter_assignments():
    schema = QueueSchema()
    assert [render(s) for s in hq.clear_stuck_assignments(schema)] == [
        '"lock_expires_at" = NULL', '"locked_by" = NULL',
        '"status" = CASE WHEN "status" = \'processing\' THEN \'pending\' ELSE "status" END']
    assert [render(s) for s in hq.dead_letter_assignments(schema)] == [
        '"status" = \'dead_letter\'', '"lock_expires_at" = NULL', '"locked_by" = NULL']


def test_resolve_records_sets_only_mapped_columns():
    cur = RecordingCursor(rowcount=2)
    assert hq.resolve_records(cur, QueueSchema(), [], "me", "n") == 0
    assert cur.executed == []
    assert hq.resolve_records(cur, QueueSchema(), ["a", "b"], "me", "fixed") == 2
    query, args = cur.executed[0]
    assert query == ('UPDATE "public"."tds_dead_letter_queue" SET "resolved" = true, "resolved_at" = now(), '
                     '"resolved_by" = %(resolved_by)s, "resolution_notes" = %(notes)s '
                     'WHERE "sync_queue_id" IN %(queue_ids)s AND NOT "resolved"')
    assert args == {"queue_ids": ("a", "b"), "resolved_by": "me", "notes": "fixed"}


def test_insert_records_copies_the_row_and_guards_duplicates():
    schema = QueueSchema()
    schema.dlq_id_has_default = True
    cur = RecordingCursor(rows=[("a",)])
    assert hq.insert_records(cur, schema, ["a"], None, hq.exhausted_reason(schema)) == ["a"]
    query, args = cur.executed[0]
    assert query.strip().startswith('INSERT INTO "public"."tds_dead_letter_queue" ("sync_queue_id", "entity_type"')
    assert "COALESCE(%(reason)s, 'Retry budget exhausted after ' || q.\"attempt_count\" || ' attempts')" in query
    assert 'AND NOT EXISTS (SELECT 1 FROM "public"."tds_dead_letter_queue" d WHERE "d"."sync_queue_id" = "q"."id")' in query
    assert args == {"queue_ids": ("a",), "reason": None}
    assert hq.insert_records(cur, schema, [], None, hq.reconciled_reason()) == []


def test_insert_records_without_an_id_default():
    schema = QueueSchema()
    schema.dlq_id_has_default = False
    schema.dlq_id_is_uuid = True
    cur = RecordingCursor(rows=[])
    hq.insert_records(cur, schema, ["a"], "r", hq.reconciled_reason())
    assert '("id", "sync_queue_id"' in cur.executed[0][0] and "gen_random_uuid()" in cur.executed[0][0]
    schema.dlq_id_is_uuid = False
    with pytest.raises(QueueDatabaseError, match="has no default and is not a UUID"):
        hq.insert_records(cur, schema, ["a"], "r", hq.reconciled_reason())
