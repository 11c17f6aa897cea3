# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""report_view: what the HTML report shows, from a report dict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_report_view import zoho_report_value, zoho_report_view
from ansible.errors import AnsibleFilterError
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_view as view


def finding(check, severity, value, unit="", entity=None, warning=None, critical=None, message="m", **extra):
    item = {"check": check, "severity": severity, "value": value, "unit": unit, "entity": entity, "target": None,
            "warning": warning, "critical": critical, "message": message}
    item.update(extra)
    return item


REPORT = {
    "overall": "critical", "generated_at": "2026-12-01T10:20:00Z", "host": "erp1",
    "findings": [
        finding("stuck_lock_minutes", "critical", 2222.5, "min", warning=30, critical=60,
                message="300 rows still carry a lease (critical above 60 min)"),
        finding("sync_delay_minutes", "critical", 2340.4, "min", "customer", 30, 120, "customer waits"),
        finding("sync_delay_minutes", "critical", 2183.9, "min", "invoice", 30, 120, "invoice waits"),
        finding("sync_delay_minutes", "warning", 45, "min", "bill", 30, 120, "bill waits"),
        finding("pending", "critical", 2350, "rows", warning=50, critical=200),
        finding("pending", "warning", 60, "rows", "invoice", 50, 100),
        finding("reprocessing_loop_signs", "warning", 1, "", warning=0, critical=1),
        finding("disk_used_pct", "ok", 26, "%", warning=85, critical=95, target="/"),
        finding("disk_used_pct", "ok", 31, "%", warning=85, critical=95, target="/var/lib/tsh"),
        finding("database", "ok", "15.18 (Debian 15.18-0+deb12u1)"),
    ],
    "recommendations": [
        {"check": "stuck_lock_minutes", "severity": "critical", "entities": [], "problem": "300 rows (critical above 60 min)",
         "cause": "a worker died", "command": "ansible-playbook heal.yml -l erp1 --check --diff",
         "then": "run it again without --check to clear the leases", "eta": None},
        {"check": "pending", "severity": "warning", "entities": ["invoice"], "problem": "2,350 rows pending",
         "cause": "a burst", "command": "check the ERP application log on erp1 (zoho_service_manager is none)",
         "then": "ansible-playbook playbooks/emergency.yml -l erp1", "eta": "about 2 h"},
    ],
    "facts": {"zoho_queue": {
        "status_counts": {"pending": 2350, "failed": 3, "retry": 5, "dead_letter": 2},
        "error_pattern_groups": 7,
        "error_patterns": [
            {"pattern": "Customer <uuid> not found for invoice INV-<n> <script>", "error_code": "MISSING_DEPENDENCY",
             "count": 6, "statuses": ["retry"], "entity_types": ["invoice"], "example": "Customer 1 ...",
             "first_seen": "2026-12-01T08:20:00Z", "last_seen": "2026-12-01T10:00:00Z", "error_class": "zoho_validation"},
            {"pattern": "boom", "error_code": None, "count": 4, "statuses": ["failed"], "entity_types": ["bill"],
             "example": "boom", "first_seen": None, "last_seen": None},
        ]}},
    "thresholds": {"global": {"failure_rate_pct": {"warning": 5, "critical": 20},
                              "sync_delay_minutes": {"warning": 30, "critical": 120}}},
    "trends": {"runs": 3, "hours": 0.5, "first_at": "2026-12-01T09:50:00Z", "sustained_rise": ["backlog"],
               "backlog": {"current": 4400, "change": 40, "per_hour": 80, "sustained_rise": True, "rising_runs": 2},
               "failure_rate_pct": {"current": 12.46, "change": 0, "per_hour": 0},
               "delay_minutes": {"current": 2340.4, "change": -0.4, "per_hour": 1.2},
               "series": {"t": ["2026-12-01T09:50:00Z", "2026-12-01T10:05:00Z", "2026-12-01T10:20:00Z"],
                          "backlog": [4360, 4400, 4440], "failure_rate_pct": [12, None, 12.46],
                          "delay_minutes": [2339, 2340, 2340.4]},
               "success_criteria": {"backlog_under_20": {"label": "backlog under 20", "met": 0, "runs": 3,
                                                         "share": 0, "current": False}}},
    "snapshot": {"measured": True},
}


def rows_by_check(result):
    return dict((r["check"], r) for r in result["findings"])


def test_one_row_per_check_per_entity_values_folded():
    rows = view.build_view(REPORT)["findings"]
    assert [r["check"] for r in rows] == ["stuck_lock_minutes", "sync_delay_minutes", "pending",
                                          "reprocessing_loop_signs", "disk_used_pct", "database"]
    by = dict((r["check"], r) for r in rows)
    delay = by["sync_delay_minutes"]
    assert delay["severity"] == "critical" and delay["value"] == "1 d 15 h" and delay["where"] == "worst: customer"
    assert [p["name"] for p in delay["parts"]] == ["customer", "invoice", "bill"]
    assert [p["value"] for p in delay["parts"]] == ["1 d 15 h", "1 d 12 h", "45 min"]
    assert delay["parts_summary"] == "3 entity types: 2 critical, 1 warning"
    assert delay["threshold"] == "warning above 30 min, critical above 2 h"
    assert delay["parts_preview"] == "customer 1 d 15 h, invoice 1 d 12 h, bill 45 min"
    assert delay["limits"] == ["warning above 30 min", "critical above 2 h"]
    assert delay["parts_thresholds"] is False  # the same for every entity: said once, in the row
    pending = by["pending"]  # the overall finding heads the row, the per-entity override folds in
    assert pending["value"] == "2,350 rows" and pending["where"] == "" and len(pending["parts"]) == 1
    assert pending["parts_thresholds"] is True  # invoice has thresholds of its own
    assert by["stuck_lock_minutes"]["message"] == "300 rows still carry a lease"  # threshold shown in its column
    assert by["reprocessing_loop_signs"]["value"] == "1 sign"
    assert by["disk_used_pct"]["part_kind"] == "path" and by["disk_used_pct"]["where"] == "highest: /var/lib/tsh"
    assert by["database"]["value"] == "PostgreSQL 15.18"
    assert view.build_view(REPORT)["counts"] == {"ok": 2, "warning": 1, "unknown": 0, "critical": 3,
                                                 "not_measured": 0}


def test_checks_that_depend_on_another_fold_under_it():
    report = {"overall": "unknown", "findings": [
        finding("database", "unknown", None, message="cannot read the queue"),
        finding("pending", "unknown", None, "rows", depends_on="database", message="not measured"),
        finding("failed", "unknown", None, "rows", depends_on="database"),
        finding("memory_used_pct", "ok", 8.1, "%"),
        finding("orphan", "unknown", None, depends_on="service"),
    ]}
    rows = view.build_view(report)["findings"]
    assert [r["check"] for r in rows] == ["database", "memory_used_pct", "orphan"]
    assert [d["check"] for d in rows[0]["not_measured"]] == ["pending", "failed"]
    assert rows[0]["value"] == "not measured"
    assert view.build_view(report)["counts"]["not_measured"] == 2


def test_recommendations_until_the_report_has_diagnoses():
    result = view.build_view(REPORT)
    assert result["actions_source"] == "recommendations"
    stuck, pending = result["actions"]
    assert [b["type"] for b in stuck["remedy"]] == ["command", "steps"]
    assert stuck["remedy"][1] == {"type": "steps", "label": "Then",
                                  "items": ["Run it again without --check to clear the leases"]}
    assert stuck["text"] == "300 rows"
    # prose in the command field is a step, the command in "then" a block of its own
    assert pending["remedy"][0] == {"type": "steps", "label": "What to do",
                                    "items": ["check the ERP application log on erp1 (zoho_service_manager is none)"]}
    assert pending["remedy"][1] == {"type": "command", "label": "Then run",
                                    "text": "ansible-playbook playbooks/emergency.yml -l erp1"}
    assert pending["commands"] == ["ansible-playbook playbooks/emergency.yml -l erp1"]


def test_diagnoses_replace_the_recommendations():
    report = dict(REPORT, diagnoses=[
        {"id": "retry_starvation", "severity": "critical", "summary": "Retries starve.",
         "evidence": [{"name": "overdue", "value": 4050, "unit": "rows", "why": "w"},
                      {"name": "age", "value": 2219.1, "unit": "min", "why": "w"},
                      {"name": "note", "value": "pending first", "why": "w"}],
         "remedy": {"command": "ansible-playbook heal.yml --check --diff", "steps": ["then this"]},
         "confidence": "high", "entities": ["invoice"]},
        {"id": "x", "severity": "bogus", "summary": "", "evidence": None, "remedy": {"command": None, "steps": "one"}},
        "not a diagnosis",
    ])
    result = view.build_view(report)
    assert result["actions_source"] == "diagnoses"
    first, second = result["actions"]
    assert [e["value"] for e in first["evidence"]] == ["4,050 rows", "1 d 13 h", "pending first"]
    assert [b["label"] for b in first["remedy"]] == ["Run", "Then"]
    assert first["confidence"] == "high" and first["entities"] == ["invoice"] and first["cause"] == ""
    assert second["severity"] == "unknown" and second["title"] == "X"
    assert second["remedy"] == [{"type": "steps", "label": "What to do", "items": ["one"]}] and not second["commands"]
    assert view.build_view(dict(REPORT, diagnoses=[]))["actions"] == []


def test_error_patterns_marked_and_escaped():
    patterns = view.build_view(REPORT)["patterns"]
    first = patterns["items"][0]
    assert first["pattern_html"] == ('Customer <span class="ph" title="a UUID">&lt;uuid&gt;</span> not found for '
                                     'invoice INV-<span class="ph" title="a number">&lt;n&gt;</span> &lt;script&gt;')
    assert first["count"] == "6 rows" and first["share"] == "60 %" and first["error_class"] == "zoho_validation"
    assert first["last_seen"] == "20 min ago" and first["first_seen"] == "2 h ago"
    assert patterns["items"][1]["code"] == "" and patterns["items"][1]["last_seen"] == "n/a"
    assert patterns["groups"] == 7 and patterns["failing_rows"] == "10 rows"


def test_trend_cards():
    trends = view.build_view(REPORT)["trends"]
    backlog, failure, delay = trends["cards"]
    assert backlog["current"] == "4,400 rows" and backlog["change"] == "+40 rows" and backlog["rising"]
    assert backlog["per_hour"] == "+80 rows per hour" and backlog["thresholds"] == ""
    assert failure["current"] == "12.5 %" and failure["change"] == "no change"
    assert failure["thresholds"] == "warning above 5 %, critical above 20 %"
    assert delay["change"] == "-0.4 min" and delay["current"] == "1 d 15 h"
    assert all(c["svg"].startswith("<svg ") for c in trends["cards"])
    assert "chart-line-critical" in delay["svg"] and "chart-line-warning" not in backlog["svg"]
    assert trends["span"] == "30 min" and trends["sustained_rise"] == ["backlog"]
    assert trends["criteria"][0]["share"] == "0 %" and trends["measured_now"] is True


def test_an_almost_empty_report_still_renders():
    result = view.build_view({"overall": "unknown"})
    assert result["findings"] == [] and result["actions"] == [] and result["trends"]["cards"] == []
    assert result["patterns"]["items"] == []


def test_the_filters():
    assert zoho_report_value(2219.1, "min") == "1 d 13 h"
    assert zoho_report_view(REPORT)["overall"] == "critical"
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        zoho_report_view("latest.json")


def test_command_words():
    assert view.looks_like_command("ansible-playbook heal.yml")
    assert view.looks_like_command(".venv/bin/ansible-playbook heal.yml")
    assert not view.looks_like_command("check the ERP application log")
    assert not view.looks_like_command("")
