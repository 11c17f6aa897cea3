"""Bad input: one clear fail_json message, a non-zero exit, no traceback, no write."""

import psycopg2
import pytest

from helpers.modules import run_module


def assert_clean_failure(result, *fragments):
    assert result["_rc"] != 0
    assert result.get("failed") is True
    msg = result["msg"]
    assert "Traceback" not in msg and "Traceback" not in result["_stderr"]
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


@pytest.fixture
def seeded(tsh_db):
    tsh_db.add("failed", attempts=1)
    tsh_db.add("retry", attempts=5, max_attempts=3)
    tsh_db.add("processing", locked_by="worker-1", lock_expires="-2 hours")
    tsh_db.add("dead_letter", attempts=3)
    tsh_db.before = tsh_db.checksum()
    return tsh_db


def test_wrong_password(seeded):
    with seeded.conn.cursor() as cur:
        cur.execute("CREATE ROLE zoho_ops LOGIN PASSWORD 'right-secret'")
    args = dict(seeded.connection_args(), login_user="zoho_ops", login_password="wrong-secret-123")
    for module, extra in (("zoho_queue_facts", {}), ("zoho_requeue", {"source": "failed"}), ("zoho_dlq_move", {})):
        msg = assert_clean_failure(run_module(module, dict(args, **extra)), "Cannot connect", "password")
        assert "wrong-secret-123" not in msg
    assert seeded.checksum() == seeded.before


def test_unreachable_host(seeded):
    args = dict(seeded.connection_args(), login_host="127.0.0.1", login_port=1, connect_timeout=2)
    assert_clean_failure(run_module("zoho_queue_facts", args), "Cannot connect")


def test_missing_table(seeded):
    args = dict(seeded.connection_args(), queue_schema={"queue_table": "no_such_queue"})
    assert_clean_failure(run_module("zoho_queue_facts", args), "no_such_queue", "does not exist")


def test_missing_column(seeded):
    args = dict(seeded.connection_args(), queue_schema={"queue_columns": {"attempt_count": "retry_count"}})
    assert_clean_failure(run_module("zoho_requeue", dict(args, source="failed")), "retry_count",
                         "queue_columns.attempt_count")
    assert seeded.checksum() == seeded.before


def test_unknown_mapping_key(seeded):
    args = dict(seeded.connection_args(), queue_schema={"queue_colums": {}})
    assert_clean_failure(run_module("zoho_queue_facts", args), "unknown key")


def test_dead_letter_without_filter(seeded):
    assert_clean_failure(run_module("zoho_requeue", dict(seeded.connection_args(), source="dead_letter")),
                         "entity_types or ids")
    assert seeded.checksum() == seeded.before


@pytest.mark.parametrize("option,value", [("limit", 0), ("limit", -5), ("batch_size", 0), ("batch_size", -1),
                                          ("limit", 10 ** 9), ("batch_size", 10 ** 6)])
def test_non_positive_or_huge_limits(seeded, option, value):
    for module, extra in (("zoho_requeue", {"source": "failed"}), ("zoho_dlq_move", {})):
        assert_clean_failure(run_module(module, dict(seeded.connection_args(), **dict(extra, **{option: value}))),
                             option)
    assert seeded.checksum() == seeded.before


def test_unknown_entity_type(seeded):
    result = run_module("zoho_requeue", dict(seeded.connection_args(), source="failed", entity_types=["invoices"]))
    assert_clean_failure(result, "Unknown entity type", "invoices")


@pytest.mark.parametrize("field,value", [
    ("entity_types", ["invoice'); DELETE FROM tds_sync_queue; --"]),
    ("entity_types", ["invoice' OR '1'='1"]),
    ("ids", ["1; DROP TABLE tds_sync_queue"]),
    ("ids", ["00000000-0000-0000-0000-000000000000' OR true --"]),
])
def test_filter_values_carrying_sql(seeded, field, value):
    result = run_module("zoho_requeue", dict(seeded.connection_args(), source="dead_letter", **{field: value}))
    assert_clean_failure(result)
    assert seeded.checksum() == seeded.before


def test_sql_in_mapping_names_is_just_a_missing_name(seeded):
    args = dict(seeded.connection_args(), queue_schema={"queue_table": 'tds_sync_queue"; DROP TABLE x; --'})
    assert_clean_failure(run_module("zoho_dlq_move", args), "does not exist")
    assert seeded.checksum() == seeded.before


def test_reason_too_long_or_empty(seeded):
    assert_clean_failure(run_module("zoho_dlq_move", dict(seeded.connection_args(), reason="x" * 5000)), "reason")
    assert_clean_failure(run_module("zoho_dlq_move", dict(seeded.connection_args(), reason="   ")), "reason")
    assert seeded.checksum() == seeded.before


def test_statement_timeout_is_a_clean_failure(seeded):
    other = psycopg2.connect(seeded.dsn())
    try:
        with other.cursor() as cur:
            cur.execute("LOCK TABLE tds_dead_letter_queue IN ACCESS EXCLUSIVE MODE")
        result = run_module("zoho_queue_facts", dict(seeded.connection_args(), lock_timeout=300))
        assert_clean_failure(result, "lock")
    finally:
        other.rollback()
        other.close()
