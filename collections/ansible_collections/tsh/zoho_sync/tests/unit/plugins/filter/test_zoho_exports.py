# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zoho_prometheus / zoho_severity_code, read back with prometheus_client's own parser."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible.errors import AnsibleFilterError
from ansible_collections.tsh.zoho_sync.plugins.filter import zoho_exports as ex

REPORT = {
    "overall": "critical",
    "host": "erp1",
    "generated_at": "2026-03-01T10:15:00Z",
    "findings": [
        {"check": "failed", "severity": "critical", "value": 12, "warning": 5, "critical": 10, "message": "x"},
        {"check": "sync_delay", "entity": "invoice", "severity": "warning", "value": 2400},
        {"check": "pending", "severity": "ok", "value": 3},
        {"check": "connections", "severity": "mystery"},
    ],
    "facts": {"zoho_queue": {
        "database": "tsh_erp",
        "collected_at": "2026-03-01T10:14:59.500000+00:00",
        "duration_ms": 250,
        "status_counts": {"pending": 3, "processing": 1, "completed": 100, "failed": 12, "retry": 2, "dead_letter": 4},
        "unknown_statuses": {"paused": 1},
        "completed_estimated": False,
        "live_total": 23,
        "entities": {
            "invoice": {"status_counts": {"pending": 3, "failed": 12}, "oldest_pending_age_seconds": 2400.5,
                        "last_completed_at": "2026-03-01T09:00:00+00:00", "last_activity_at": None,
                        "completed_last_hour": 0, "completed_last_24h": 40},
            'we"ird\\name': {"status_counts": {"retry": 2}, "oldest_pending_age_seconds": None},
        },
        "stuck_locks": {"count": 2, "oldest_age_seconds": 4000.0},
        "error_patterns": [{"pattern": "Item <n> not found", "error_code": None, "count": 5},
                           {"pattern": "Rate limit exceeded, retry after <n> seconds", "error_code": "RATE_LIMIT",
                            "count": 3, "error_class": "zoho_rate_limit"},
                           {"pattern": "weird \"text\"\nwith a newline", "error_code": "X", "count": 2,
                            "error_class": "not-a-class"}],
        "error_pattern_groups": 3,
        "dead_letter": {"recorded": 3, "unresolved": 2, "unrecorded": 1, "duplicate_records": 0},
        "retry": {"total": 2, "due": 1, "overdue": 1, "exhausted": 0, "oldest_due_seconds": 1200.0},
        "throughput": {"completed_last_hour": 0, "completed_last_24h": 40, "failed_last_hour": 2,
                       "failed_last_24h": 10, "failure_rate_24h": 0.2, "items_per_hour": 1.7,
                       "avg_processing_seconds": None},
        "workers": {"active_leases": 1, "lease_holders": 1, "seconds_since_last_lease": 30.0,
                    "old_pending_leased": 0,
                    "connections": {"database": 5, "application": 1, "total": 9, "max_connections": 100,
                                    "usage_pct": 9.0, "idle_in_transaction": 0,
                                    "oldest_idle_in_transaction_seconds": None}},
    }},
}


def samples(text):
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(metrics, name, **labels):
    found = [v for lab, v in metrics[name] if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, metrics.get(name))
    return found[0]


@pytest.mark.parametrize("severity, code", [
    ("ok", 0), ("warning", 1), ("critical", 2), ("unknown", 3), ("CRITICAL", 2), (None, 3), ("weird", 3),
    ({"status": "warning"}, 1),
])
def test_severity_code(severity, code):
    assert ex.zoho_severity_code(severity) == code


def test_prometheus_text_parses_and_carries_the_numbers():
    text = ex.zoho_prometheus(REPORT)
    assert text.endswith("\n")
    m = samples(text)
    assert all(name.startswith("zoho_sync_") for name in m)
    base = {"host": "erp1", "database": "tsh_erp"}
    assert m["zoho_sync_health_status"] == [(base, 2.0)]
    assert value(m, "zoho_sync_last_run_timestamp_seconds") == 1772360100.0
    assert value(m, "zoho_sync_collection_duration_seconds") == 0.25
    assert value(m, "zoho_sync_queue_status_items", status="failed") == 12
    assert value(m, "zoho_sync_queue_status_items", status="paused") == 1
    assert value(m, "zoho_sync_queue_items", entity="invoice", status="failed") == 12
    assert value(m, "zoho_sync_queue_items", entity='we"ird\\name', status="retry") == 2
    assert value(m, "zoho_sync_oldest_pending_age_seconds", entity="invoice") == 2400.5
    # null values are left out, not exported as zero
    assert [lab["entity"] for lab, _v in m["zoho_sync_oldest_pending_age_seconds"]] == ["invoice"]
    assert "zoho_sync_processing_duration_seconds" not in m
    assert "zoho_sync_last_activity_timestamp_seconds" not in m
    assert value(m, "zoho_sync_check_status", check="failed") == 2
    assert value(m, "zoho_sync_check_status", check="sync_delay", entity="invoice") == 1
    assert value(m, "zoho_sync_check_status", check="connections") == 3
    assert value(m, "zoho_sync_findings", severity="unknown") == 1
    assert value(m, "zoho_sync_failure_ratio") == 0.2
    assert value(m, "zoho_sync_db_connection_usage_ratio") == 0.09
    assert abs(value(m, "zoho_sync_throughput_items_per_second") - 1.7 / 3600) < 1e-12
    assert value(m, "zoho_sync_dead_letter_items", state="unrecorded") == 1
    assert value(m, "zoho_sync_retry_items", state="overdue") == 1
    assert value(m, "zoho_sync_facts_available") == 1


def test_unknown_report_without_facts():
    report = {"overall": "unknown", "host": "erp2", "generated_at": "2026-03-01T10:15:00+02:00",
              "findings": [{"check": "gather", "severity": "unknown", "message": "connection refused"}], "facts": {}}
    m = samples(ex.zoho_prometheus(report, host="override"))
    assert m["zoho_sync_health_status"] == [({"host": "override"}, 3.0)]
    assert value(m, "zoho_sync_last_run_timestamp_seconds") == 1772352900.0
    assert value(m, "zoho_sync_facts_available") == 0
    assert "zoho_sync_queue_status_items" not in m


def test_every_family_has_help_and_type_once():
    text = ex.zoho_prometheus(REPORT)
    names = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(names) == len(set(names))
    assert all(line.split()[3] == "gauge" for line in text.splitlines() if line.startswith("# TYPE"))


@pytest.mark.parametrize("bad", [None, "text", ["list"]])
def test_not_a_report(bad):
    with pytest.raises(AnsibleFilterError, match="expects the health report"):
        ex.zoho_prometheus(bad)


def test_bad_timestamp():
    with pytest.raises(AnsibleFilterError, match="is not an ISO 8601 timestamp"):
        ex.zoho_prometheus({"overall": "ok", "generated_at": "yesterday"})


def test_filter_module_exposes_both_filters():
    assert sorted(ex.FilterModule().filters()) == ["zoho_prometheus", "zoho_severity_code"]


def test_error_labels_are_bounded():
    """No free text in a label: a pattern is a short id (named in a comment line), its class one of six."""
    text = ex.zoho_prometheus(REPORT)
    m = samples(text)
    classes = dict((lab["class"], v) for lab, v in m["zoho_sync_error_class_items"])
    assert classes == {"zoho_auth": 0, "zoho_rate_limit": 3, "zoho_unavailable": 0, "zoho_validation": 0,
                       "internal": 0, "unknown": 7}
    patterns = m["zoho_sync_error_pattern_items"]
    assert len(patterns) == 3
    for labels, _v in patterns:
        assert set(labels) == {"host", "database", "pattern_id", "class"}
        assert len(labels["pattern_id"]) == 10 and int(labels["pattern_id"], 16) >= 0
    rate = ex.pattern_id({"pattern": "Rate limit exceeded, retry after <n> seconds", "error_code": "RATE_LIMIT"})
    assert value(m, "zoho_sync_error_pattern_items", pattern_id=rate) == 3
    assert "# pattern_id %s = (RATE_LIMIT) Rate limit exceeded, retry after <n> seconds" % rate in text.splitlines()
    # the id follows the code and the pattern, never the varying parts a pattern already removed
    assert ex.pattern_id({"pattern": "Item <n> not found"}) == ex.pattern_id({"pattern": "Item <n> not found", "error_code": None})
    assert ex.pattern_id({"pattern": "Item <n> not found", "error_code": "ZOHO_404"}) != ex.pattern_id({"pattern": "Item <n> not found"})
    assert all("\n" not in line or line.startswith("# HELP") for line in text.splitlines())
