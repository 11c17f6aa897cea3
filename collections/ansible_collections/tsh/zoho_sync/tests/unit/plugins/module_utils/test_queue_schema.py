# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""QueueSchema: validation of the queue_schema mapping and the expressions it builds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils import queue_schema as qs
from ansible_collections.tsh.zoho_sync.tests.unit.plugins.module_utils.sqltext import render

SIMPLE = {
    "queue_table": "zoho_sync_queue",
    "dlq_table": "zoho_dead_letter_queue",
    "default_max_attempts": 5,
    "queue_columns": {
        "source_entity_id": "entity_id", "payload": "payload", "attempt_count": "retry_count",
        "lock_expires_at": "locked_until", "updated_at": "updated_at", "max_retry_attempts": None,
        "next_retry_at": None, "locked_by": None, "started_at": None, "completed_at": None,
        "error_code": None, "priority": None,
    },
}


def test_defaults_are_the_production_schema():
    schema = qs.QueueSchema()
    assert (schema.schema, schema.queue_table, schema.dlq_table) == ("public", "tds_sync_queue", "tds_dead_letter_queue")
    assert schema.qcols["payload"] == "validated_payload"
    assert schema.default_max_attempts == 3
    assert schema.has("locked_by") and not schema.has("updated_at")
    assert render(schema.queue) == '"public"."tds_sync_queue"'


def test_override_and_null_columns():
    schema = qs.QueueSchema(SIMPLE)
    assert schema.queue_table == "zoho_sync_queue"
    assert schema.col("attempt_count").strings == ("retry_count",)
    assert not schema.has("next_retry_at")
    with pytest.raises(KeyError):
        schema.col("next_retry_at")
    assert schema.describe()["queue_columns"]["lock_expires_at"] == "locked_until"
    # describe() is a copy: changing it does not change the schema
    schema.describe()["queue_columns"]["id"] = "other"
    assert schema.qcols["id"] == "id"


@pytest.mark.parametrize("mapping, message", [
    ("not a dict", "must be a dictionary"),
    ({"queue_tabel": "x"}, "unknown key(s) queue_tabel"),
    ({"queue_columns": {"colour": "x"}}, "queue_columns has unknown key(s) colour"),
    ({"queue_columns": {"status": None}}, "queue_columns.status is required"),
    ({"dlq_columns": {"resolved": ""}}, "dlq_columns.resolved is required"),
    ({"queue_columns": ["id"]}, "must be a dictionary of logical name"),
    ({"queue_table": "x" * 64}, "queue_table must be a PostgreSQL identifier"),
    ({"schema": "bad\nname"}, "schema must be a PostgreSQL identifier"),
    ({"queue_columns": {"id": 12}}, "queue_columns.id must be a PostgreSQL identifier"),
    ({"default_max_attempts": 0}, "default_max_attempts must be an integer from 1 to 100"),
    ({"default_max_attempts": True}, "default_max_attempts must be an integer"),
    ({"default_max_attempts": "3"}, "default_max_attempts must be an integer"),
])
def test_bad_mappings_fail_with_one_clear_message(mapping, message):
    with pytest.raises(ValueError) as exc:
        qs.QueueSchema(mapping)
    assert message in str(exc.value)


def test_identifier_of_63_bytes_is_accepted_and_quoting_is_safe():
    name = "q" * 63
    schema = qs.QueueSchema({"queue_table": name})
    assert schema.queue_table == name
    odd = qs.QueueSchema({"queue_table": 'we"ird; DROP TABLE x'})
    assert render(odd.queue) == '"public"."we""ird; DROP TABLE x"'
    with pytest.raises(ValueError):
        qs.QueueSchema({"queue_table": "\u00e9" * 32})  # 64 bytes in UTF-8


def test_max_attempts_expression_prefers_option_then_row_then_default():
    assert render(qs.QueueSchema().max_attempts_expr("q")) == 'COALESCE(%(max_attempts)s::integer, "q"."max_retry_attempts")'
    assert render(qs.QueueSchema(SIMPLE).max_attempts_expr()) == "COALESCE(%(max_attempts)s::integer, 5)"


def test_lease_and_activity_expressions():
    prod, simple = qs.QueueSchema(), qs.QueueSchema(SIMPLE)
    assert render(prod.leased_expr()) == '"locked_by" IS NOT NULL'
    assert render(simple.leased_expr()) == '"locked_until" IS NOT NULL'
    assert render(prod.not_live_lease_expr()) == (
        '(NOT ("locked_by" IS NOT NULL) OR "lock_expires_at" IS NULL OR "lock_expires_at" < now())')
    assert render(prod.finished_at_expr()) == '"completed_at"'
    assert render(simple.finished_at_expr()) == '"updated_at"'
    activity = render(prod.activity_expr())
    assert activity.startswith('GREATEST("created_at", "started_at", "completed_at", ')
    assert activity.endswith('"lock_expires_at" - make_interval(secs => %(lease_seconds)s))')
    assert [render(p) for p in prod.clear_lease_assignments()] == ['"lock_expires_at" = NULL', '"locked_by" = NULL']
    assert [render(p) for p in simple.clear_lease_assignments()] == ['"locked_until" = NULL']
    assert prod.touch_assignments() == []
    assert [render(p) for p in simple.touch_assignments()] == ['"updated_at" = now()']


def test_entity_type_validation():
    schema = qs.QueueSchema()
    assert schema.validate_entity_types(None) is None
    assert schema.validate_entity_types(["invoice", "USER"]) == ("invoice", "USER")
    with pytest.raises(ValueError, match="must not be an empty list"):
        schema.validate_entity_types([])
    with pytest.raises(ValueError, match="Unknown entity type"):
        schema.validate_entity_types(["user"])  # the enum is case sensitive
    schema.entity_labels = ("a", "b")
    with pytest.raises(ValueError, match="known: a, b"):
        schema.validate_entity_types(["invoice"])


def test_id_validation_by_id_type():
    schema = qs.QueueSchema()
    uid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert schema.validate_ids([uid.upper()]) == (uid,)
    with pytest.raises(ValueError, match="not a valid UUID id of tds_sync_queue"):
        schema.validate_ids(["42"])
    with pytest.raises(ValueError, match="must not be an empty list"):
        schema.validate_ids([])
    schema.id_type = "integer"
    assert schema.validate_ids(["42", 7]) == (42, 7)
    for bad in ("-1", "1; DROP TABLE x", "1" * 19):
        with pytest.raises(ValueError, match="not a valid integer id"):
            schema.validate_ids([bad])


def test_live_and_unknown_statuses_follow_the_enum():
    schema = qs.QueueSchema()
    assert schema.live_statuses == tuple(s for s in qs.STATUSES if s != "completed")
    schema.status_labels = qs.STATUSES + ("paused",)
    assert "paused" in schema.live_statuses and "completed" not in schema.live_statuses
    assert schema.unknown_statuses == ("paused",)
