"""zoho_queue_facts' completion figures on a busy queue (issue 13): bounded probes of the
created_at index, exact while the look-back window is small, estimated and flagged beyond."""

import datetime

import pytest

from helpers.modules import run_module

from ansible_collections.tsh.zoho_sync.plugins.module_utils import facts_queries as fq


def facts_of(db, **extra):
    result = run_module("zoho_queue_facts", dict(db.connection_args(), **extra))
    assert result["_rc"] == 0, result.get("msg")
    return result["ansible_facts"]["zoho_queue"]


def add_completed(db, rows, hours, entity="invoice", run_seconds=2, retried_every=0):
    """``rows`` completed rows created evenly over the last ``hours`` hours (the newest 2
    minutes old), each completed ``run_seconds`` after it started at its creation."""
    db.execute(
        """
        WITH s AS (SELECT g, now() - interval '2 minutes'
                             - (g * (%(hours)s * 3600.0 - 180) / %(rows)s) * interval '1 second' AS created
                     FROM generate_series(0, %(rows)s - 1) g),
        inbox AS (
            INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload,
                                          content_hash, received_at)
            SELECT gen_random_uuid(), 'zoho', %(entity)s, 'P-' || g, '{}', md5(g::text), created FROM s
            RETURNING id, source_entity_id, received_at)
        INSERT INTO tds_sync_queue (id, inbox_event_id, entity_type, source_entity_id, operation_type,
                                    validated_payload, status, priority, attempt_count, max_retry_attempts,
                                    created_at, started_at, completed_at)
        SELECT gen_random_uuid(), id, %(entity)s, source_entity_id, 'upsert', '{}', 'completed', 5,
               CASE WHEN %(every)s > 0 AND substr(source_entity_id, 3)::int %% %(every)s = 0 THEN 1 ELSE 0 END, 3,
               received_at, received_at, received_at + %(run)s * interval '1 second'
          FROM inbox
        """, {"rows": rows, "hours": hours, "entity": entity, "run": run_seconds, "every": retried_every})
    db.execute("ANALYZE tds_sync_queue")


def exact(db):
    return {
        "hour": db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                          "AND completed_at >= now() - interval '1 hour'"),
        "day": db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                         "AND completed_at >= now() - interval '24 hours'"),
        "created_hour": db.scalar("SELECT count(*) FROM tds_sync_queue WHERE created_at >= now() - interval '1 hour'"),
        "created_day": db.scalar("SELECT count(*) FROM tds_sync_queue WHERE created_at >= now() - interval '24 hours'"),
        "retried_hour": db.scalar("SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                                  "AND attempt_count > 0 AND completed_at >= now() - interval '1 hour'"),
    }


def test_small_window_is_exact_and_says_so(tsh_db):
    # 40 completions a day: every slice holds fewer rows than its probe reads
    add_completed(tsh_db, 80, 48, retried_every=4)
    tsh_db.add("pending", age="10 minutes")
    want = exact(tsh_db)
    tp = facts_of(tsh_db)["throughput"]
    assert tp["estimated"] is False
    assert tp["completed_last_hour"] == want["hour"]
    assert tp["completed_last_24h"] == want["day"]
    assert tp["created_last_hour"] == want["created_hour"]
    assert tp["created_last_24h"] == want["created_day"]
    assert tp["completed_retries_last_hour"] == want["retried_hour"]
    assert tp["avg_processing_seconds"] == pytest.approx(2.0, abs=0.01)
    assert tp["rows_read"] == 80


def test_busy_window_is_estimated_within_the_stated_bound(tsh_db):
    # 60,000 completions over 48 h (1,250 an hour: 20x what a probe of a 1 h slice reads),
    # and a live set created in the last 10 minutes that the probes must not mistake for them
    add_completed(tsh_db, 60000, 48, retried_every=10)
    add_completed(tsh_db, 3000, 48, entity="bill")
    for _ in range(30):
        tsh_db.add("pending", age="5 minutes")
    want = exact(tsh_db)
    facts = facts_of(tsh_db)
    tp = facts["throughput"]
    assert tp["estimated"] is True
    # bounded: at most one probe per slice, whatever the window holds
    assert tp["rows_read"] <= len(fq.completion_slices(48)) * fq.PROBE_ROWS
    assert tp["completed_last_hour"] == pytest.approx(want["hour"], rel=0.10)
    assert tp["completed_last_24h"] == pytest.approx(want["day"], rel=0.05)
    assert tp["created_last_hour"] == pytest.approx(want["created_hour"], rel=0.10)
    assert tp["created_last_24h"] == pytest.approx(want["created_day"], rel=0.05)
    assert tp["completed_retries_last_hour"] == pytest.approx(want["retried_hour"], rel=0.25)
    assert tp["avg_processing_seconds"] == pytest.approx(2.0, abs=0.01)
    # per entity too, and the last completion is the newest row's
    bill = facts["entities"]["bill"]
    assert bill["completed_last_24h"] == pytest.approx(1500, rel=0.25)
    newest = tsh_db.scalar("SELECT max(completed_at) FROM tds_sync_queue WHERE entity_type = 'invoice'")
    assert datetime.datetime.fromisoformat(facts["entities"]["invoice"]["last_completed_at"]) == newest


def test_probe_of_one_timestamp_is_capped(tsh_db):
    # 500 rows created in one transaction share created_at: the density is capped, not infinite
    tsh_db.execute(
        """
        WITH inbox AS (
            INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload,
                                          content_hash, received_at)
            SELECT gen_random_uuid(), 'zoho', 'invoice', 'B-' || g, '{}', md5(g::text),
                   now() - interval '30 minutes' FROM generate_series(1, 500) g
            RETURNING id, source_entity_id, received_at)
        INSERT INTO tds_sync_queue (id, inbox_event_id, entity_type, source_entity_id, operation_type,
                                    validated_payload, status, priority, attempt_count, max_retry_attempts,
                                    created_at, started_at, completed_at)
        SELECT gen_random_uuid(), id, 'invoice', source_entity_id, 'upsert', '{}', 'completed', 5, 0, 3,
               received_at, received_at, received_at + interval '1 second' FROM inbox
        """)
    tp = facts_of(tsh_db)["throughput"]
    assert tp["estimated"] is True
    # one 5-minute slice: at most (PROBE_ROWS - 1) rows a second over 300 s
    assert 500 <= tp["completed_last_hour"] <= (fq.PROBE_ROWS - 1) * 300
