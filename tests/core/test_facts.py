"""zoho_queue_facts against a queue with a row in every interesting state."""

import pytest

from helpers.modules import run_module

STATUSES = ("pending", "processing", "completed", "failed", "retry", "dead_letter")


def build_mixed(db):
    """A queue with every state the facts must see, on either layout."""
    rows = {
        "old_pending": db.add("pending", entity="invoice", age="3 hours"),
        "new_pending": db.add("pending", entity="invoice", age="10 minutes"),
        "product_pending": db.add("pending", entity="product", age="50 minutes"),
        "live_lease": db.add("processing", entity="invoice", locked_by="worker-1", lock_expires="4 minutes"),
        "stuck_processing": db.add("processing", entity="customer", locked_by="worker-2",
                                   lock_expires="-2 hours", age="3 hours"),
        "stuck_pending": db.add("pending", entity="customer", locked_by="worker-1",
                                lock_expires="-45 minutes", age="2 hours"),
        "fresh_expired": db.add("pending", entity="customer", locked_by="worker-1",
                                lock_expires="-5 minutes", age="20 minutes"),
        "failed_a": db.add("failed", entity="invoice", attempts=1, error="Item 12345 not found", code="ZOHO_404"),
        "failed_b": db.add("failed", entity="product", attempts=2, error="Item 67890 not found", code="ZOHO_404"),
        "retry_due": db.add("retry", entity="bill", attempts=1, next_retry="-1 minute",
                            error="Rate limit exceeded, retry after 37 seconds", code="RATE_LIMIT"),
        "retry_overdue": db.add("retry", entity="bill", attempts=2, next_retry="-3 hours",
                                error="Rate limit exceeded, retry after 12 seconds", code="RATE_LIMIT"),
        "retry_later": db.add("retry", entity="bill", attempts=1, next_retry="10 minutes",
                              error="timeout after 30s", code="TIMEOUT"),
        "exhausted": db.add("retry", entity="PAYMENT", attempts=7, max_attempts=3, next_retry="-1 minute",
                            error="Zoho API error 500 for 3f2b8c1e-1111-4a4a-9b9b-0123456789ab", code="ZOHO_500"),
        "dead_unrecorded": db.add("dead_letter", entity="PAYMENT", attempts=3, error="Zoho API error 500 for "
                                  "9a2b8c1e-2222-4a4a-9b9b-0123456789ab", code="ZOHO_500"),
        "dead_recorded": db.add("dead_letter", entity="VENDOR", attempts=3, error="validation failed", code="VALIDATION"),
        "done": db.add("completed", entity="invoice", age="2 hours", started="-61 minutes", completed="-60 minutes"),
        "done_recent": db.add("completed", entity="invoice", age="30 minutes", started="-12 minutes",
                              completed="-10 minutes"),
    }
    db.add_dlq_record(rows["dead_recorded"])
    db.rows = rows
    return db


@pytest.fixture
def mixed(request):
    return build_mixed(request.getfixturevalue(request.param))


@pytest.fixture
def mixed_tsh(tsh_db):
    return build_mixed(tsh_db)


def facts_of(db, **extra):
    result = run_module("zoho_queue_facts", dict(db.connection_args(), **extra))
    assert result["_rc"] == 0, result.get("msg")
    assert result["changed"] is False
    return result["ansible_facts"]["zoho_queue"]


@pytest.mark.parametrize("mixed", ["tsh_db", "simple_db"], indirect=True)
def test_status_counts_are_exact_and_complete(mixed):
    facts = facts_of(mixed)
    expected = dict((s, mixed.count("status = '%s'" % s)) for s in STATUSES)
    assert facts["status_counts"] == expected
    assert set(facts["status_counts"]) == set(STATUSES)
    assert facts["live_total"] == sum(v for k, v in expected.items() if k != "completed")
    assert facts["completed_estimated"] is False


@pytest.mark.parametrize("mixed", ["tsh_db", "simple_db"], indirect=True)
def test_per_entity_counts_and_pending_age(mixed):
    facts = facts_of(mixed)
    invoice = facts["entities"]["invoice"]
    assert invoice["status_counts"]["pending"] == 2
    assert invoice["status_counts"]["completed"] == 2
    # oldest pending invoice is three hours old
    assert 3 * 3600 - 60 <= invoice["oldest_pending_age_seconds"] <= 3 * 3600 + 60
    assert facts["entities"]["bill"]["oldest_pending_age_seconds"] is None
    assert facts["entities"]["bill"]["status_counts"]["retry"] == 3
    for entity in facts["entities"].values():
        assert set(entity["status_counts"]) >= set(STATUSES)


@pytest.mark.parametrize("mixed", ["tsh_db", "simple_db"], indirect=True)
def test_stuck_leases(mixed):
    facts = facts_of(mixed, stuck_after=30)
    stuck = facts["stuck_locks"]
    assert stuck["count"] == 2
    assert sorted(stuck["ids"]) == sorted(str(mixed.rows[k]) for k in ("stuck_processing", "stuck_pending"))
    assert 2 * 3600 - 60 <= stuck["oldest_age_seconds"] <= 2 * 3600 + 60
    # a lease expired five minutes ago is not stuck yet at 30 minutes, but is at 1
    assert facts_of(mixed, stuck_after=1)["stuck_locks"]["count"] == 3


@pytest.mark.parametrize("mixed", ["tsh_db", "simple_db"], indirect=True)
def test_error_patterns_collapse_numbers_and_uuids(mixed):
    facts = facts_of(mixed)
    by_pattern = dict((p["pattern"], p) for p in facts["error_patterns"])
    item = by_pattern["Item <n> not found"]
    assert item["count"] == 2
    assert item["entity_types"] == ["invoice", "product"]
    assert item["statuses"] == ["failed"]
    assert item["example"] in ("Item 12345 not found", "Item 67890 not found")
    api = by_pattern["Zoho API error <n> for <uuid>"]
    assert api["count"] == 2 and sorted(api["statuses"]) == ["dead_letter", "retry"]
    counts = [p["count"] for p in facts["error_patterns"]]
    assert counts == sorted(counts, reverse=True)
    assert facts_of(mixed, top_errors=1)["error_patterns"][0]["count"] == max(counts)


@pytest.mark.parametrize("mixed", ["tsh_db", "simple_db"], indirect=True)
def test_dead_letters_without_record(mixed):
    dead = facts_of(mixed)["dead_letter"]
    assert dead["queue_rows"] == 2
    assert dead["recorded"] == 1
    assert dead["unrecorded"] == 1
    assert dead["unrecorded_ids"] == [str(mixed.rows["dead_unrecorded"])]
    assert dead["unresolved"] == 1
    assert dead["duplicate_records"] == 0


def test_retry_due_overdue_exhausted(mixed_tsh):
    retry = facts_of(mixed_tsh)["retry"]
    assert retry["total"] == 4
    assert retry["due"] == 3          # due, overdue and the exhausted one
    assert retry["overdue"] == 1      # next_retry_at three hours ago
    assert retry["exhausted"] == 1
    assert retry["exhausted_ids"] == [mixed_tsh.rows["exhausted"]]
    # an explicit budget overrides each row's own max_retry_attempts
    assert facts_of(mixed_tsh, max_attempts=2)["retry"]["exhausted"] == 3


def test_throughput_and_workers(mixed_tsh):
    facts = facts_of(mixed_tsh)
    tp = facts["throughput"]
    assert tp["completed_last_hour"] == 1
    assert tp["completed_last_24h"] == 2
    assert tp["avg_processing_seconds"] == pytest.approx(90.0, abs=1)
    workers = facts["workers"]
    assert workers["active_leases"] == 1
    assert workers["lease_holders"] == 1
    assert workers["connections"]["max_connections"] > 0
    assert facts["entities"]["invoice"]["last_completed_at"] is not None
    assert facts["server_version"]
    assert facts["duration_ms"] >= 0


def test_completed_count_is_estimated_on_a_large_table(tsh_db):
    tsh_db.add("completed", age="2 hours", completed="-1 hour")
    tsh_db.execute("ANALYZE")
    facts = facts_of(tsh_db, exact_count_max_rows=0)
    assert facts["completed_estimated"] is True
    assert facts["status_counts"]["pending"] == 0


def test_unknown_status_label_is_reported(tsh_db):
    tsh_db.execute("ALTER TYPE tds_event_status ADD VALUE 'archived'")
    row = tsh_db.add("pending")
    tsh_db.execute("UPDATE tds_sync_queue SET status = 'archived' WHERE id = %s", (row,))
    facts = facts_of(tsh_db)
    assert facts["unknown_statuses"] == {"archived": 1}
    assert facts["live_total"] == 1


def test_facts_write_nothing(mixed_tsh):
    before = mixed_tsh.checksum()
    run_module("zoho_queue_facts", mixed_tsh.connection_args(), check=True)
    facts_of(mixed_tsh)
    assert mixed_tsh.checksum() == before

