"""Unit tests of the health filters (plain Python: the filter modules imported directly)."""

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tsh.zoho_sync.plugins.filter import zoho_health as hf
from ansible_collections.tsh.zoho_sync.plugins.filter import zoho_service as s
from ansible_collections.tsh.zoho_sync.plugins.module_utils import host_facts as hfacts
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import evaluation, history, report as report_lib, trends


class h(object):
    """The health evaluator's entry points under the names these tests use."""
    build_report = staticmethod(hf.build_report)
    effective_thresholds = staticmethod(hf.effective_thresholds)
    threshold_error = staticmethod(hf.thresholds_lib.threshold_error)
    fail_message = staticmethod(report_lib.fail_message)
    overall_of = staticmethod(evaluation.overall_of)
    trends = staticmethod(trends.trends)
    history = staticmethod(history.history)


# --------------------------------------------------------------------------- fixtures
def queue(**over):
    """A zoho_queue fact of a healthy queue, with overrides by dotted path."""
    q = {
        "status_counts": {"pending": 3, "processing": 0, "completed": 500, "failed": 0, "retry": 0, "dead_letter": 0},
        "completed_estimated": False, "unknown_statuses": {}, "live_total": 3, "total": 503,
        "entities": {"invoice": {"status_counts": {"pending": 3, "completed": 500}, "oldest_pending_age_seconds": 60.0,
                                 "last_completed_at": "2026-03-02T10:10:00+00:00",
                                 "last_activity_at": "2026-03-02T10:10:00+00:00",
                                 "completed_last_hour": 40, "completed_last_24h": 500}},
        "stuck_locks": {"count": 0, "oldest_age_seconds": None, "ids": [], "by_status": {}, "stuck_after_minutes": 30},
        "stranded_processing": {"count": 0, "oldest_age_seconds": None, "ids": [], "by_entity": {},
                                "stuck_after_minutes": 30},
        "error_classes": {},
        "error_patterns": [], "error_pattern_groups": 0,
        "dead_letter": {"queue_rows": 0, "recorded": 0, "unrecorded": 0, "unrecorded_ids": [], "unresolved": 0,
                        "duplicate_records": 0},
        "retry": {"total": 0, "due": 0, "overdue": 0, "oldest_due_seconds": 0, "exhausted": 0, "exhausted_ids": [],
                  "overdue_after_minutes": 15},
        "throughput": {"completed_last_hour": 40, "completed_last_24h": 500, "failed_last_hour": 0,
                       "failed_last_24h": 0, "avg_processing_seconds": 1.5, "failure_rate_24h": 0.0,
                       "items_per_hour": 20.8, "lookback_hours": 48},
        "workers": {"active_leases": 1, "lease_holders": 1, "lease_seconds": 300,
                    "last_lease_taken_at": "2026-03-02T10:14:00+00:00", "seconds_since_last_lease": 60.0,
                    "pending_leased": 0, "old_pending_leased": 0,
                    "connections": {"database": 3, "application": 2, "total": 5, "max_connections": 100,
                                    "usage_pct": 5.0, "idle_in_transaction": 0,
                                    "oldest_idle_in_transaction_seconds": None}},
        "collected_at": "2026-03-02T10:15:00+00:00", "duration_ms": 12, "database": "tsh_erp",
        "queue_table": "public.tds_sync_queue", "server_version": "15.6",
    }
    for path, value in over.items():
        node = q
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return q


HOST = {"memory": {"read": True, "error": None, "total_mb": 8000, "available_mb": 6000, "used_pct": 25.0},
        "disks": [{"path": "/", "where": "host", "read": True, "used_pct": 40.0, "available_mb": 1000,
                   "size_mb": 2000, "mount": "/"}]}


def report(q=None, error=None, service=None, host=HOST, thresholds=None, by_entity=None, history=None, **options):
    opts = {"host": "erp-1", "generated_at": "2026-03-02T10:15:00Z", "inventory": "inventory/production",
            "fail_on": ["critical", "unknown"]}
    opts.update(options)
    return h.build_report({"queue": q, "queue_error": error, "service": service, "host_facts": host,
                           "thresholds": h.effective_thresholds(thresholds, by_entity),
                           "history": history or [], "options": opts})


def find(rep, check, entity=None):
    found = [f for f in rep["findings"] if f["check"] == check and (entity is None or f["entity"] == entity)]
    assert found, "no %s finding in %s" % (check, [f["check"] for f in rep["findings"]])
    return found[0]


# --------------------------------------------------------------------------- thresholds
def test_default_thresholds_are_those_of_the_original_configuration():
    t = h.effective_thresholds()["global"]
    assert t["pending"] == {"warning": 50, "critical": 200}
    assert t["failed"] == {"warning": 5, "critical": 10}
    assert t["sync_delay_minutes"] == {"warning": 30, "critical": 120}
    assert t["worker_inactivity_minutes"] == {"warning": 15, "critical": 30}
    assert t["stuck_lock_minutes"] == {"warning": 30, "critical": 60}


@pytest.mark.parametrize("thresholds, by_entity, expected", [
    ({"pending": {"warning": 300, "critical": 200}}, None, "pending: warning (300) is above critical (200)"),
    ({"failed": {"warning": -1}}, None, "failed.warning must not be negative, got -1"),
    ({"failed": {"critical": "ten"}}, None, "failed.critical must be a number, got 'ten'"),
    ({"failed": {"critical": True}}, None, "failed.critical must be a number, got True"),
    ({"pendng": {"warning": 1}}, None, "unknown metric 'pendng' (did you mean 'pending'?)"),
    ({"failure_rate_pct": {"critical": 150}}, None, "percentage and must be at most 100"),
    ({"pending": {"warn": 1}}, None, "unknown key 'warn'"),
    ({"pending": 5}, None, "must be a mapping with warning and critical"),
    (None, {"invoce": {"pending": {"warning": 1}}}, "unknown entity type 'invoce' (did you mean 'invoice'?)"),
    (None, {"user": {"pending": {"warning": 1}}}, "unknown entity type 'user' (did you mean 'USER'?)"),
    (None, {"invoice": {"stuck_lock_minutes": {"warning": 1}}}, "metric 'stuck_lock_minutes' has no per-entity value"),
    (None, {"invoice": {"latency": {"warning": 1}}}, "unknown metric 'latency'"),
    (None, {"invoice": {"sync_delay_minutes": {"warning": 200}}}, "warning (200) is above critical (120)"),
    ("not a mapping", None, "zoho_health_thresholds must be a mapping"),
])
def test_bad_thresholds_give_one_clear_message(thresholds, by_entity, expected):
    message = h.threshold_error(thresholds, by_entity)
    assert message.startswith("Invalid health thresholds: ")
    assert expected in message
    assert "\n" not in message
    with pytest.raises(AnsibleFilterError) as err:
        h.effective_thresholds(thresholds, by_entity)
    assert str(err.value) == message


def test_every_problem_is_listed_in_the_one_message():
    message = h.threshold_error({"pending": {"warning": 9, "critical": 1}, "nope": {}, "failed": {"warning": -2}})
    assert message.count(";") == 2
    assert "pending" in message and "'nope'" in message and "failed.warning" in message


def test_partial_thresholds_merge_over_defaults_and_numeric_strings_are_accepted():
    t = h.effective_thresholds({"pending": {"warning": "10"}, "failed": {"critical": 20.5}},
                               {"invoice": {"sync_delay_minutes": {"warning": 15, "critical": 60}}})
    assert t["global"]["pending"] == {"warning": 10, "critical": 200}
    assert t["global"]["failed"] == {"warning": 5, "critical": 20.5}
    assert t["by_entity"]["invoice"]["sync_delay_minutes"] == {"warning": 15, "critical": 60}
    assert h.threshold_error({"pending": {"warning": 10}}) == ""
    # a custom entity list (another schema's enum) is honoured
    assert h.threshold_error(None, {"widget": {"pending": {"warning": 1}}}, ["widget"]) == ""


# --------------------------------------------------------------------------- findings and overall
def test_healthy_queue_is_ok_with_every_metric_judged():
    rep = report(queue())
    assert rep["overall"] == "ok", [f for f in rep["findings"] if f["severity"] != "ok"]
    checks = set(f["check"] for f in rep["findings"])
    for check in ("database", "worker_inactivity_minutes", "pending", "failed", "sync_delay_minutes",
                  "stuck_lock_minutes", "unrecorded_dead_letters", "overdue_retries", "exhausted_retries",
                  "failure_rate_pct", "reprocessing_loop_signs", "connection_usage_pct", "memory_used_pct",
                  "disk_used_pct"):
        assert check in checks
    for f in rep["findings"]:
        assert set(["check", "entity", "severity", "value", "warning", "critical", "message"]) <= set(f)
    assert rep["recommendations"] == []
    assert h.fail_message(rep) == ""


@pytest.mark.parametrize("value, severity", [(50, "ok"), (51, "warning"), (200, "warning"), (201, "critical")])
def test_values_above_the_threshold_raise_the_severity(value, severity):
    q = queue(status_counts__pending=value)
    assert find(report(q), "pending")["severity"] == severity


def test_problem_queue_findings_and_overall():
    q = queue(status_counts__failed=12,
              stuck_locks={"count": 3, "oldest_age_seconds": 90 * 60.0, "ids": ["a", "b", "c"],
                           "by_status": {"pending": 3}, "stuck_after_minutes": 30},
              dead_letter={"queue_rows": 5, "recorded": 1, "unrecorded": 4, "unrecorded_ids": ["d"], "unresolved": 1,
                           "duplicate_records": 0},
              retry={"total": 2, "due": 2, "overdue": 2, "oldest_due_seconds": 7200, "exhausted": 2,
                     "exhausted_ids": ["e", "f"], "overdue_after_minutes": 15})
    rep = report(q)
    assert find(rep, "failed")["severity"] == "critical"
    assert find(rep, "stuck_lock_minutes")["severity"] == "critical"
    assert find(rep, "stuck_lock_minutes")["value"] == 90
    assert find(rep, "unrecorded_dead_letters")["severity"] == "warning"
    assert find(rep, "exhausted_retries")["severity"] == "warning"
    assert find(rep, "overdue_retries")["severity"] == "warning"
    assert rep["overall"] == "critical"
    # findings sorted worst first, recommendations concrete
    assert rep["findings"][0]["severity"] == "critical"
    stuck = [r for r in rep["recommendations"] if r["check"] == "stuck_lock_minutes"][0]
    assert stuck["command"] == "ansible-playbook heal.yml -i inventory/production -l erp-1 --check --diff"
    assert stuck["cause"]
    message = h.fail_message(rep)
    assert message.startswith("Zoho sync health CRITICAL on erp-1: ")
    assert "stuck_lock_minutes=90 min (critical above 60 min)" in message
    assert "failed=12 (critical above 10)" in message
    assert "\n" not in message
    assert h.fail_message(rep, ["unknown"]) == ""


def test_unreadable_queue_is_unknown_never_ok():
    rep = report(None, error="Cannot connect to database 'tsh' on db:5432 as 'ops': password authentication failed")
    assert rep["overall"] == "unknown"
    db = find(rep, "database")
    assert db["severity"] == "unknown" and "password authentication failed" in db["message"]
    for check in ("pending", "failed", "stuck_lock_minutes", "sync_delay_minutes", "worker_inactivity_minutes"):
        assert find(rep, check)["severity"] == "unknown"
    assert [r["check"] for r in rep["recommendations"]] == ["database"]
    assert "psql 'host=" not in rep["recommendations"][0]["command"] or "password" not in \
        rep["recommendations"][0]["command"]
    assert "password authentication failed" in h.fail_message(rep)
    assert rep["snapshot"]["backlog"] is None
    # no queue facts at all (the task did not even run) is unknown too
    assert report(None)["overall"] == "unknown"


def test_critical_outranks_unknown_which_outranks_warning():
    assert h.overall_of([{"severity": "ok"}, {"severity": "warning"}]) == "warning"
    assert h.overall_of([{"severity": "warning"}, {"severity": "unknown"}]) == "unknown"
    assert h.overall_of([{"severity": "unknown"}, {"severity": "critical"}]) == "critical"
    assert h.overall_of([{"severity": "bogus"}]) == "unknown"
    assert h.overall_of([]) == "ok"


def test_unreadable_host_metrics_are_unknown():
    rep = report(queue(), host={"memory": {"read": False, "error": "Permission denied"},
                                "disks": [{"path": "/data", "where": "host", "read": False,
                                           "error": "df: /data: No such file or directory"}]})
    assert find(rep, "memory_used_pct")["severity"] == "unknown"
    disk = find(rep, "disk_used_pct")
    assert disk["severity"] == "unknown" and disk["target"] == "/data"
    assert rep["overall"] == "unknown"


def test_per_entity_overrides():
    q = queue()
    q["entities"]["invoice"]["oldest_pending_age_seconds"] = 20 * 60.0
    q["entities"]["product"] = {"status_counts": {"pending": 2}, "oldest_pending_age_seconds": 20 * 60.0,
                                "last_completed_at": None, "last_activity_at": None,
                                "completed_last_hour": 0, "completed_last_24h": 0}
    rep = report(q, by_entity={"invoice": {"sync_delay_minutes": {"warning": 15, "critical": 60},
                                           "pending": {"warning": 2, "critical": 10}}})
    assert find(rep, "sync_delay_minutes", "invoice")["severity"] == "warning"
    assert find(rep, "sync_delay_minutes", "invoice")["warning"] == 15
    assert find(rep, "sync_delay_minutes", "product")["severity"] == "ok"
    assert find(rep, "pending", "invoice")["severity"] == "warning"
    assert find(rep, "pending", "invoice")["value"] == 3


def test_worker_inactivity_only_counts_while_work_waits():
    # nothing waiting: idle workers are fine
    q = queue(status_counts__pending=0, workers__seconds_since_last_lease=None)
    q["entities"]["invoice"]["last_completed_at"] = None
    q["entities"]["invoice"]["oldest_pending_age_seconds"] = None
    assert find(report(q), "worker_inactivity_minutes")["severity"] == "ok"
    # work waiting, no activity seen at all: critical
    q = queue(workers__seconds_since_last_lease=None)
    q["entities"]["invoice"]["last_completed_at"] = None
    f = find(report(q), "worker_inactivity_minutes")
    assert f["severity"] == "critical" and "no worker activity" in f["message"]
    # the most recent of lease, completion and log wins
    q = queue(workers__seconds_since_last_lease=40 * 60.0)
    q["entities"]["invoice"]["last_completed_at"] = "2026-03-02T09:55:00+00:00"  # 20 min before collected_at
    assert find(report(q), "worker_inactivity_minutes")["value"] == 20
    service = {"managed": True, "manager": "systemd", "names": ["tsh-erp"], "overall": "running",
               "units": {"tsh-erp": {"state": "active"}},
               "workers": {"read": True, "window_minutes": 60, "seconds_since_activity": 30.0,
                           "counts": {"processing": 5, "processed": 5, "retried": 0, "dead_lettered": 0,
                                      "started": 0}}}
    assert find(report(q, service=service), "worker_inactivity_minutes")["value"] == 0.5


def test_service_state_findings():
    base = {"managed": True, "manager": "docker", "names": ["blue", "green"], "units": {},
            "workers": {"read": False, "error": "x"}}
    assert find(report(queue(), service=dict(base, overall="running")), "service")["severity"] == "ok"
    stopped = report(queue(), service=dict(base, overall="stopped", reason="blue is exited; green is missing"))
    assert find(stopped, "service")["severity"] == "critical"
    rec = [r for r in stopped["recommendations"] if r["check"] == "service"][0]
    assert rec["diagnosis"] == "service_down" and stopped["diagnoses"][0]["id"] == "service_down"
    assert rec["command"].startswith("ansible-playbook playbooks/emergency.yml -i inventory/production -l erp-1")
    assert "zoho_heal_confirm=true" in rec["command"]
    assert "by hand: docker restart blue" in rec["steps"]
    assert find(report(queue(), service=dict(base, overall="unknown", reason="docker: permission denied")),
                "service")["severity"] == "unknown"
    # a database-only host has no service finding
    rep = report(queue(), service={"managed": False, "manager": "none", "overall": "unknown"})
    assert not [f for f in rep["findings"] if f["check"] == "service"]


def test_reprocessing_loop_signature():
    q = queue(throughput__completed_last_hour=0, workers__old_pending_leased=4,
              workers__seconds_since_last_lease=5.0)
    f = find(report(q), "reprocessing_loop_signs")
    assert f["value"] == 2 and f["severity"] == "critical"
    assert "zero completions" in f["message"] and "4 pending rows over an hour old" in f["message"]
    # dead_letter growing with transient errors only, against the previous run
    q = queue(status_counts__dead_letter=30, error_patterns=[
        {"pattern": "timeout after <n>s", "error_code": "TIMEOUT", "count": 30, "statuses": ["dead_letter"]}])
    f = find(report(q, history=[{"t": "2026-03-02T10:00:00Z", "dead_letter": 10}]), "reprocessing_loop_signs")
    assert f["value"] == 1 and "grew from 10 to 30 with transient errors only" in f["message"]
    q["error_patterns"].append({"pattern": "Item <n> not found", "error_code": "ZOHO_404", "count": 1,
                                "statuses": ["dead_letter"]})
    assert find(report(q, history=[{"t": "2026-03-02T10:00:00Z", "dead_letter": 10}]),
                "reprocessing_loop_signs")["value"] == 0
    # the worker logs successes the queue never records
    service = {"managed": True, "manager": "systemd", "names": ["tsh-erp"], "overall": "running", "units": {},
               "workers": {"read": True, "window_minutes": 60, "seconds_since_activity": 1.0,
                           "counts": {"processed": 120}}}
    f = find(report(queue(throughput__completed_last_hour=0, workers__seconds_since_last_lease=None),
                    service=service), "reprocessing_loop_signs")
    assert "120 'Event processed successfully'" in f["message"]


def test_failure_rate_and_cause_of_the_top_error():
    q = queue(throughput__failure_rate_24h=0.25, throughput__failed_last_24h=25,
              error_patterns=[{"pattern": "Zoho OAuth token rejected", "error_code": "AUTH_ERROR", "count": 25,
                               "statuses": ["retry"]}])
    rep = report(q)
    f = find(rep, "failure_rate_pct")
    assert f["value"] == 25 and f["severity"] == "critical"
    rec = [r for r in rep["recommendations"] if r["check"] == "failure_rate_pct"][0]
    assert "OAuth" in rec["cause"]


def test_catch_up_estimate_from_the_workers_completions():
    q = queue(status_counts__pending=300, throughput__completed_last_hour=600)
    rec = [r for r in report(q)["recommendations"] if r["check"] == "pending"][0]
    assert rec["diagnosis"] == "backlog_burst"
    assert rec["eta_minutes"] == 30
    assert "about 30 min to catch up 300 rows at the workers' 600 rows/h" in rec["eta"]
    # a backlog that shrank between runs (a heal dead-lettered rows) does not speed the estimate up
    history = [{"t": "2026-03-02T09:15:00Z", "backlog": 5000, "measured": True},
               {"t": "2026-03-02T09:45:00Z", "backlog": 400, "measured": True}]
    rec = [r for r in report(q, history=history)["recommendations"] if r["check"] == "pending"][0]
    assert rec["eta_minutes"] == 30
    # what arrives meanwhile is taken off the workers' rate
    q = queue(status_counts__pending=300, throughput__completed_last_hour=600, throughput__created_last_hour=400)
    rep = report(q)
    assert rep["trends"]["eta"]["minutes"] == 90 and rep["trends"]["eta"]["unit"] == "min"
    assert rep["trends"]["eta"]["rates"]["net_per_hour"] == 200
    # more arrives than completes: no estimate, says so
    q = queue(status_counts__pending=300, throughput__completed_last_hour=600, throughput__created_last_hour=900)
    rec = [r for r in report(q)["recommendations"] if r["check"] == "pending"][0]
    assert rec["eta_minutes"] is None and rec["eta"].startswith("not draining: 900 rows/h arrive")


# --------------------------------------------------------------------------- trends and history
def test_trends_growth_sustained_rise_and_success_criteria():
    history = []
    for i, backlog in enumerate((10, 15, 30, 60)):
        history.append({"t": "2026-03-02T%02d:00:00Z" % (6 + i), "overall": "ok", "measured": True,
                        "backlog": backlog, "failed_pct": 0.5, "failure_rate_pct": 1.0 * i,
                        "delay_minutes": 2, "workers_running": True})
    q = queue(status_counts__pending=120)
    rep = report(q, history=history)
    t = rep["trends"]
    assert t["runs"] == 5
    assert t["backlog"]["previous"] == 60 and t["backlog"]["current"] == 120
    assert t["backlog"]["change"] == 60
    assert t["backlog"]["rising_runs"] == 4 and t["backlog"]["sustained_rise"] is True
    assert t["backlog"]["per_hour"] > 0
    assert "backlog" in t["sustained_rise"]
    assert find(rep, "sustained_rise")["severity"] == "warning"
    crit = t["success_criteria"]
    assert crit["backlog_under_20"]["met"] == 2 and crit["backlog_under_20"]["runs"] == 5
    assert crit["backlog_under_20"]["share"] == 0.4
    assert crit["workers_running"]["share"] == 1
    assert crit["delay_under_5min"]["met"] == 5
    assert t["sparkline"]["backlog"]


def test_a_rise_under_the_healthy_limit_is_not_sustained():
    history = [{"t": "2026-03-02T0%d:00:00Z" % i, "backlog": i, "delay_minutes": 1 + i} for i in range(4)]
    t = h.trends(history, {"t": "2026-03-02T05:00:00Z", "backlog": 5, "delay_minutes": 6}, sustained_runs=3)
    assert t["backlog"]["rising_runs"] == 4 and t["backlog"]["sustained_rise"] is False  # 5 rows < 20
    assert t["delay_minutes"]["sustained_rise"] is True  # 6 min >= 5
    assert t["sustained_rise"] == ["delay_minutes"]


def test_unmeasured_runs_never_count_as_met():
    history = [{"t": "2026-03-02T09:00:00Z", "measured": False, "backlog": None, "workers_running": None}]
    rep = report(None, error="down", history=history)
    crit = rep["trends"]["success_criteria"]
    assert all(c["met"] == 0 for c in crit.values())


def test_trend_window_bounds_the_runs():
    history = [{"t": "2026-03-01T%02d:00:00Z" % i, "backlog": i} for i in range(20)]
    t = h.trends(history, {"t": "2026-03-02T00:00:00Z", "backlog": 5}, window=8)
    assert t["runs"] == 8 and t["series"]["backlog"][0] == 13


def test_history_is_bounded_and_skips_bad_lines():
    text = '{"t": "a", "backlog": 1}\nnot json\n[1, 2]\n{"t": "b", "backlog": 2}\n'
    assert [e["t"] for e in h.history(text)] == ["a", "b"]
    new = h.history(text, {"t": "c", "backlog": 3}, keep=2)
    assert [json.loads(line)["t"] for line in new.splitlines()] == ["b", "c"]
    assert new.endswith("\n")
    assert h.history("") == [] and h.history(None) == []


def test_snapshot_is_compact():
    rep = report(queue(status_counts__failed=1))
    snap = rep["snapshot"]
    assert snap["backlog"] == 4 and snap["overall"] == rep["overall"] and snap["t"] == "2026-03-02T10:15:00Z"
    assert len(json.dumps(snap)) < 600


# --------------------------------------------------------------------------- host facts
def test_host_facts_parse_meminfo_and_disks(tmp_path):
    meminfo = "MemTotal:       8000000 kB\nMemFree:  100 kB\nMemAvailable:   2000000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
    memory = hfacts.parse_meminfo(meminfo)
    assert memory["used_pct"] == 75 and memory["total_mb"] == 7812 and memory["read"]
    assert hfacts.parse_meminfo("garbage")["read"] is False
    assert "cannot read" in hfacts.read_memory(str(tmp_path / "no-meminfo"))["error"]
    control = hfacts.disk_usage(str(tmp_path / "not" / "yet"), "control node")
    assert control["where"] == "control node" and control["read"] and control["path"].endswith("yet")
    assert 0 <= control["used_pct"] <= 100 and control["mount"] == str(tmp_path)
    facts = {"memory": memory, "disks": [dict(control, used_pct=90, target="/")]}
    rep = report(queue(), host=facts)
    assert find(rep, "memory_used_pct")["severity"] == "ok"
    assert [f["severity"] for f in rep["findings"] if f["check"] == "disk_used_pct"] == ["warning"]
    assert rep["diagnoses"][0]["id"] == "disk_filling"
    assert rep["diagnoses"][0]["remedy"]["command"].startswith("df -h ")


# --------------------------------------------------------------------------- service summary
SYSTEMD_ACTIVE = "Id=tsh-erp.service\nLoadState=loaded\nActiveState=active\nSubState=running\n" \
                 "ActiveEnterTimestamp=Mon 2026-03-02 08:00:00 UTC\nNRestarts=2\nMainPID=4242\n"


def test_service_summary_systemd_running_with_log_counts():
    states = {"results": [{"item": "tsh-erp", "rc": 0, "stdout": SYSTEMD_ACTIVE}]}
    logs = {"rc": 0, "stdout": "now\t1772445600\n"
            "log\ttsh-erp\t0\t120\t1\t50\t45\t4\t1\t1772445540.123\t1772442000.5\t\n"}
    st = s.zoho_service_summary("systemd", "tsh-erp", states, logs, 60)
    assert st["overall"] == "running" and st["active"] == ["tsh-erp"]
    assert st["units"]["tsh-erp"]["restarts"] == 2 and st["units"]["tsh-erp"]["pid"] == 4242
    w = st["workers"]
    assert w["read"] and w["counts"] == {"started": 1, "processing": 50, "processed": 45, "retried": 4,
                                         "dead_lettered": 1}
    assert w["seconds_since_activity"] == 59.9
    assert w["last_activity_at"].startswith("2026-03-02T09:59:00")


def test_service_summary_blue_green_docker():
    blue = json.dumps([{"State": {"Status": "running", "Running": True, "StartedAt": "2026-03-02T08:00:00Z",
                                  "Health": {"Status": "healthy"}}, "RestartCount": 0}])
    states = {"results": [{"item": "app_blue", "rc": 0, "stdout": blue},
                          {"item": "app_green", "rc": 1, "stdout": "[]",
                           "stderr": "Error: No such container: app_green"}]}
    logs = {"rc": 0, "stdout": "now\t1772445600\n"
            "log\tapp_blue\t0\t3\t0\t1\t1\t0\t0\t2026-03-02T09:59:30.123456789Z\t-\t\n"
            "log\tapp_green\t1\t1\t0\t0\t0\t0\t0\t-\t-\tError: No such container: app_green\n"}
    st = s.zoho_service_summary("docker", ["app_blue", "app_green"], states, logs, 60)
    assert st["overall"] == "running" and st["active"] == ["app_blue"]
    assert st["units"]["app_blue"]["health"] == "healthy"
    assert st["units"]["app_green"]["state"] == "missing"
    assert st["workers"]["read"] and st["workers"]["seconds_since_activity"] == 29.9
    assert "No such container" in st["workers"]["per_name"]["app_green"]["error"]


def test_service_summary_stopped_and_unknown():
    inactive = SYSTEMD_ACTIVE.replace("ActiveState=active", "ActiveState=failed").replace("SubState=running",
                                                                                         "SubState=failed")
    st = s.zoho_service_summary("systemd", ["tsh_erp-blue", "tsh_erp-green"],
                                {"results": [{"item": "tsh_erp-blue", "rc": 0, "stdout": inactive},
                                             {"item": "tsh_erp-green", "rc": 0,
                                              "stdout": "Id=x\nLoadState=not-found\nActiveState=inactive\n"}]},
                                {"rc": 0, "stdout": "now\t1\n"}, 60)
    assert st["overall"] == "stopped"
    assert "tsh_erp-blue is failed" in st["reason"] and "tsh_erp-green is missing" in st["reason"]
    st = s.zoho_service_summary("docker", "app", {"results": [
        {"item": "app", "rc": 1, "stderr": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock"}]},
        {"rc": 0, "stdout": "now\t1\nlog\tapp\t1\t1\t0\t0\t0\t0\t0\t-\t-\tCannot connect to the Docker daemon\n"}, 60)
    assert st["overall"] == "unknown" and "Cannot connect" in st["reason"]
    assert not st["workers"]["read"] and "Cannot connect" in st["workers"]["error"]
    st = s.zoho_service_summary("none", "tsh-erp")
    assert st["managed"] is False and st["overall"] == "unknown" and "not managed" in st["reason"]
    with pytest.raises(AnsibleFilterError):
        s.zoho_service_summary("upstart", "tsh-erp")
    with pytest.raises(AnsibleFilterError):
        s.zoho_service_summary("docker", [])
