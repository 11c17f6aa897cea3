# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""heal_actions and heal_queries: every action declared once, and everything rendered
from that declaration (the statements, the preview, the words, the privileges)."""

import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_actions as ha
from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import QueueDatabaseError
from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import QueueSchema
from ansible_collections.tsh.zoho_sync.tests.unit.plugins.module_utils.sqltext import render

LIVE_LEASE_GUARD = '(NOT ("t"."locked_by" IS NOT NULL) OR "t"."lock_expires_at" IS NULL OR "t"."lock_expires_at" < now())'
QUEUE_ACTIONS = [ha.REQUEUE_FAILED, ha.CLEAR_STUCK, ha.RESET_STRANDED, ha.MOVE_EXHAUSTED, ha.RECONCILE, ha.REDRIVE,
                 ha.CLEANUP_QUEUE]
SIMPLE = {"queue_columns": {"next_retry_at": None, "locked_by": None, "updated_at": "updated_at",
                            "started_at": None}}


def schema(mapping=None):
    out = QueueSchema(mapping or {})
    out.dlq_id_has_default = True
    return out


@pytest.mark.parametrize("action", QUEUE_ACTIONS, ids=lambda a: a.name)
def test_every_queue_action_carries_the_live_lease_guard(action):
    assert ha.NO_LIVE_LEASE in action.conditions
    assert LIVE_LEASE_GUARD in render(hq.condition(action, schema(), "t"))
    assert "no live lease" in action.condition_words()


def test_the_reconcile_is_guarded_and_records_under_its_own_lock():
    text = render(hq.condition(ha.RECONCILE, schema(), "t"))
    assert text.startswith('("t"."status" = \'dead_letter\') AND (NOT EXISTS (SELECT 1 FROM '
                           '"public"."tds_dead_letter_queue" d WHERE "d"."sync_queue_id" = "t"."id"))')
    lock = render(hq.lock_and_update(ha.RECONCILE, schema(), False))
    assert lock.startswith('SELECT "x"."id"::text AS id') and lock.endswith("FOR UPDATE OF x SKIP LOCKED")
    insert = render(hq.insert_records(schema(), ha.RECONCILE.record))
    assert 'AND NOT EXISTS (SELECT 1 FROM "public"."tds_dead_letter_queue" d WHERE "d"."sync_queue_id" = "q"."id")' \
        in insert


def test_one_statement_locks_changes_and_repeats_the_condition():
    text = render(hq.lock_and_update(ha.REQUEUE_FAILED, schema(), False))
    assert text.startswith('UPDATE "public"."tds_sync_queue" q SET "status" = \'pending\', "locked_by" = NULL, '
                           '"lock_expires_at" = NULL, "next_retry_at" = NULL FROM (SELECT "x"."id" AS _id')
    assert '"x"."id" IN %(batch)s' in text and "ORDER BY \"x\".\"id\" FOR UPDATE OF x SKIP LOCKED) b" in text
    # the condition twice: when locking, and in the UPDATE itself
    assert text.count("\"status\" = 'failed'") == 2
    assert text.endswith('RETURNING "q"."id"::text AS id')


def test_the_preview_computes_the_after_state_with_the_assignments():
    text = render(hq.selection(ha.CLEAR_STUCK, schema(), False, True))
    assert ('(CASE WHEN "t"."status" = \'processing\' THEN \'pending\' ELSE "t"."status" END)::text AS '
            '"after_status"') in text
    assert 'NULL AS "after_lock_expires_at"' in text
    assert text.startswith("WITH c AS MATERIALIZED (") and text.endswith("ORDER BY _k, _id LIMIT %(want)s")
    keyset = render(hq.selection(ha.CLEANUP_QUEUE, schema(), True, False))
    assert '("t"."created_at", "t"."id") > (%(after_k)s, %(after_id)s)' in keyset
    assert "MATERIALIZED" not in keyset  # the history is walked through its index, not sorted


def test_assignments_follow_the_layout():
    simple = schema(SIMPLE)
    names = [a.column for a in hq.assigns_in_layout(ha.REDRIVE, simple)]
    assert names == ["status", "lock_expires_at", "attempt_count", "updated_at"]
    assert ha.REDRIVE.change_words(simple) == ("status -> pending; attempt_count -> 0; lock_expires_at -> null; "
                                               "updated_at -> now(); its open dead-letter records resolved")
    stranded = render(hq.condition(ha.RESET_STRANDED, simple, "t"))
    assert '("t"."lock_expires_at" IS NULL)' in stranded and '"t"."created_at" < now()' in stranded
    assert "COALESCE" not in stranded.split("AND")[2]  # no started_at in this layout


def test_words_come_from_the_declaration():
    assert ha.REQUEUE_FAILED.condition_words() == ("status failed, attempt_count below the retry budget, "
                                                   "no live lease")
    assert ha.REQUEUE_FAILED.change_words(schema()) == ("status -> pending; locked_by, lock_expires_at, "
                                                        "next_retry_at -> null; attempt_count kept")
    assert ha.MOVE_EXHAUSTED.summary(3, True) == ("Would dead-letter 3 queue row(s) (status failed or retry, "
                                                  "attempt_count at or above the retry budget, no live lease)")
    assert ha.CLEANUP_QUEUE.change_words().startswith("deleted with the sync logs referencing it")
    assert ha.RESET_STRANDED.with_conditions([ha.entity_filter(["invoice"])]).condition_words().endswith(
        "entity type invoice")


def test_filters_are_parameters_not_text():
    action = ha.REQUEUE_FAILED.with_conditions([ha.entity_filter(["invoice"]), ha.id_filter(["1; DROP TABLE x"])])
    text = render(hq.condition(action, schema(), "t"))
    assert text.endswith('("t"."entity_type" IN %(entity_types)s) AND ("t"."id" IN %(filter_ids)s)')
    assert "DROP" not in text and "DROP" not in action.condition_words()


def test_cleanup_deletes_dependents_and_rows_in_one_statement():
    text = render(hq.delete_batch(ha.CLEANUP_QUEUE, schema()))
    assert text.startswith("WITH locked AS (SELECT")
    assert '"dep0" AS (DELETE FROM "public"."tds_sync_logs" l USING locked WHERE "l"."sync_queue_id" = locked._id' in text
    assert 'own AS (DELETE FROM "public"."tds_sync_queue" t USING locked WHERE "t"."id" = locked._id AND' in text
    assert "to_jsonb(t)::text AS _image" in text and "SELECT '_locked'" in text


def test_the_preview_of_later_phases_counts_the_queue_phase_as_gone():
    s = schema()
    apply_text = render(hq.condition(ha.CLEANUP_INBOX, s, "t"))
    assert 'NOT EXISTS (SELECT 1 FROM "public"."tds_sync_queue" q WHERE "q"."inbox_event_id" = "t"."id")' in apply_text
    gone = hq.Context(hq.gone_predicate(ha.CLEANUP_QUEUE, s, {"_k": "x", "_id": "y"}))
    preview = render(hq.condition(ha.CLEANUP_INBOX, s, "t", gone))
    # the real run's anti join, with the references whose events the queue phase leaves
    # unreferenced taken out of its queue side (never NOT (gone) on the queue: a heap scan)
    assert ('NOT EXISTS (SELECT 1 FROM "public"."tds_sync_queue" q WHERE "q"."inbox_event_id" = "t"."id" '
            'AND NOT EXISTS (SELECT 1 FROM (SELECT "g"."inbox_event_id" AS event_id') in preview
    assert "AND ((\"g\".\"status\" = 'completed')" in preview
    assert '("g"."created_at", "g"."id") <= (%(gone_k)s, %(gone_id)s)' in preview
    assert ('HAVING count(*) = (SELECT count(*) FROM "public"."tds_sync_queue" r '
            'WHERE "r"."inbox_event_id" = "g"."inbox_event_id")') in preview
    assert "NOT ((" not in preview and " OR NOT EXISTS" not in preview
    assert "ALL(" not in preview  # no id list in the preview
    logs = render(hq.condition(ha.CLEANUP_LOGS, s, "t", hq.Context(hq.gone_predicate(ha.CLEANUP_QUEUE, s, None))))
    assert "gone_k" not in logs and 'WHERE "q"."id" = "t"."sync_queue_id" AND' in logs


def test_records_copy_the_row_and_need_an_id():
    s = schema()
    s.dlq_id_has_default = False
    s.dlq_id_is_uuid = True
    cols = [c for c, _e in hq.record_columns(s, ha.EXHAUSTED_REASON)]
    assert cols[:3] == ["id", "sync_queue_id", "entity_type"] and "last_payload" in cols and "resolved" in cols
    s.dlq_id_is_uuid = False
    with pytest.raises(QueueDatabaseError, match="has no default and is not a UUID"):
        hq.record_columns(s, ha.EXHAUSTED_REASON)


def test_privileges_are_derived_from_the_declaration():
    s = schema()

    def described(action):
        return sorted(p.describe() for p in hq.needed_privileges(action, s))

    assert "UPDATE (status) on public.tds_sync_queue" in described(ha.REQUEUE_FAILED)
    assert "UPDATE (attempt_count) on public.tds_sync_queue" in described(ha.REDRIVE)
    assert "UPDATE (resolved_by) on public.tds_dead_letter_queue" in described(ha.REDRIVE)
    move = described(ha.MOVE_EXHAUSTED)
    assert "INSERT (last_payload) on public.tds_dead_letter_queue" in move
    assert "SELECT on public.tds_dead_letter_queue" in move
    assert "UPDATE on some column of public.tds_sync_queue" in described(ha.RECONCILE)
    cleanup = described(ha.CLEANUP_QUEUE)
    assert "DELETE on public.tds_sync_queue" in cleanup and "DELETE on public.tds_sync_logs" in cleanup
    assert described(ha.restore("inbox")) == ["INSERT on public.tds_inbox_events", "SELECT on public.tds_inbox_events"]


def test_the_benchmark_statement_makes_the_same_change():
    text = render(hq.whole_statement(ha.MOVE_EXHAUSTED, schema()))
    assert text.startswith('WITH q AS (UPDATE "public"."tds_sync_queue" q SET "status" = \'dead_letter\'')
    assert 'INSERT INTO "public"."tds_dead_letter_queue"' in text and "SKIP LOCKED" not in text
    delete = render(hq.whole_statement(ha.CLEANUP_QUEUE, schema(), limit=10))
    assert "LIMIT %(limit)s" in delete and 'DELETE FROM "public"."tds_sync_logs" l USING victims' in delete
