"""Trends and the catch-up estimate that tell the truth (issue 12, item 5): the ETA comes
from the workers' completions, never from a backlog a heal shrank; the snapshot after an
applied heal is marked and the slopes restart there; runs that could not read the
database stay out of the slopes and the success criteria; every figure has its unit."""

import json

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import history, trends

from health.conftest import HOST_THRESHOLDS, run_health
from health.test_filter import queue, report
from helpers.playbook import run_playbook


def snap(t, backlog, **more):
    line = {"t": t, "measured": True, "backlog": backlog, "failure_rate_pct": 1, "delay_minutes": 2,
            "failed_pct": 0.5, "workers_running": True}
    line.update(more)
    return line


def test_the_eta_ignores_a_backlog_that_a_heal_shrank():
    # the workers complete 17 rows/h; a heal dead-lettered 2,000 rows between the runs
    runs = [snap("2026-03-02T08:00:00Z", 6100), snap("2026-03-02T09:00:00Z", 4050, after_heal=True)]
    q = queue(status_counts__pending=4050, throughput__completed_last_hour=17, throughput__created_last_hour=0)
    rep = report(q, history=runs)
    eta = rep["trends"]["eta"]
    assert eta["minutes"] == round(4050 / 17.0 * 60) and eta["unit"] == "min"
    assert eta["rates"]["completed_per_hour"] == 17 and eta["rates"]["unit"] == "rows/h"
    assert "17 rows/h" in eta["how"]
    # the backlog's drop across the heal (6,100 -> 4,050) is no slope of the workers: since the heal it is flat
    assert rep["trends"]["backlog"]["per_hour"] == 0 and rep["trends"]["backlog"]["per_hour_since_heal"]


def test_slopes_restart_after_a_heal_and_changes_say_a_heal_ran():
    runs = [snap("2026-03-02T06:00:00Z", 100), snap("2026-03-02T07:00:00Z", 120),
            snap("2026-03-02T08:00:00Z", 20, after_heal=True), snap("2026-03-02T09:00:00Z", 30)]
    t = trends.trends(runs, snap("2026-03-02T10:00:00Z", 40))
    assert t["backlog"]["per_hour"] == 10 and t["backlog"]["per_hour_since_heal"] is True
    assert t["backlog"]["rising_runs"] == 2 and t["since_heal_at"] == "2026-03-02T08:00:00Z"
    assert t["heal_runs"] == 1
    t = trends.trends(runs[:2], snap("2026-03-02T08:00:00Z", 20, after_heal=True))
    assert t["backlog"]["change"] == -100 and t["backlog"]["change_includes_heal"] is True
    assert t["current_after_heal"] is True


def test_unmeasured_runs_stay_out_of_slopes_and_criteria():
    runs = [snap("2026-03-02T06:00:00Z", 10), {"t": "2026-03-02T07:00:00Z", "measured": False, "backlog": None},
            snap("2026-03-02T08:00:00Z", 12)]
    t = trends.trends(runs, snap("2026-03-02T09:00:00Z", 14))
    assert t["runs"] == 4 and t["measured_runs"] == 3 and t["unmeasured_runs"] == 1
    crit = t["success_criteria"]["backlog_under_20"]
    assert crit["met"] == 3 and crit["runs"] == 3 and crit["share"] == 1 and crit["unmeasured"] == 1
    assert t["backlog"]["per_hour"] == 1.29 and t["backlog"]["rising_runs"] == 2
    # no run read the queue: nothing is met, and nothing is said to be known
    t = trends.trends([], {"t": "2026-03-02T09:00:00Z", "measured": False, "backlog": None})
    crit = t["success_criteria"]["workers_running"]
    assert crit["runs"] == 0 and crit["share"] == 0 and crit["share_known"] is False and crit["current"] is None


def test_every_trend_figure_has_its_unit():
    t = trends.trends([snap("2026-03-02T06:00:00Z", 10)], snap("2026-03-02T07:00:00Z", 14))
    assert t["backlog"]["unit"] == "rows" and t["backlog"]["per_hour_unit"] == "rows/h"
    assert t["delay_minutes"]["unit"] == "min" and t["failure_rate_pct"]["unit"] == "%"
    assert t["series_units"] == {"backlog": "rows", "failure_rate_pct": "%", "delay_minutes": "min"}
    assert t["hours_unit"] == "h" and all(c["share_unit"] for c in t["success_criteria"].values())


def test_the_heal_marker_is_read_only_for_applied_runs():
    applied = {"run_id": "r1", "mode": "apply", "kind": "heal", "finished_at": "2026-03-02T09:05:00Z",
               "status": "ok", "before": {"pending": 10, "retry": 5, "failed": 4, "processing": 1},
               "after": {"pending": 12, "retry": 0, "failed": 0, "processing": 0},
               "actions": [{"action": "requeue_failed", "status": "done"}, {"action": "restart", "status": "skipped"}]}
    marker = history.heal_marker(json.dumps(applied))
    assert marker["backlog_change"] == -8 and marker["actions_done"] == ["requeue_failed"]
    assert history.heal_marker(json.dumps(dict(applied, mode="check"))) is None
    assert history.heal_marker("not json") is None and history.heal_marker("") is None
    assert history.after_heal(marker, {"t": "2026-03-02T09:00:00Z"}, "2026-03-02T09:15:00Z") is True
    assert history.after_heal(marker, {"t": "2026-03-02T09:10:00Z", "heal_run_id": "r1"},
                              "2026-03-02T09:25:00Z") is False
    assert history.after_heal(marker, {"t": "2026-03-02T09:10:00Z", "heal_run_id": "r0"},
                              "2026-03-02T09:25:00Z") is True


def test_a_real_heal_marks_the_next_health_run(module_db, tmp_path):
    """health -> heal.yml (applied) -> health: the second snapshot is after_heal, its trend
    restarts there, and the ETA is still the workers' completions (none: not draining)."""
    db = module_db()
    for _ in range(8):
        db.add(status="failed", entity="invoice", attempts=1, age="2 hours", error="Zoho API error 503: Service "
               "Unavailable", code="ZOHO_503")
    for _ in range(4):
        db.add(status="retry", entity="bill", attempts=3, max_attempts=3, age="3 hours", next_retry="-2 hours",
               error="timeout after 30s", code="TIMEOUT")
    extra = {"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_health_color": "never"}
    first = run_health(tmp_path, db, extra_vars=extra)
    assert first.report["snapshot"]["after_heal"] is False
    p = db.server.params
    env = {"ZOHO_REPORT_DIR": str(tmp_path), "PGHOST": p.get("host"), "PGPORT": p.get("port"),
           "PGUSER": p.get("user"), "PGDATABASE": db.name, "PGPASSWORD": None}
    healed = run_playbook("heal.yml", "-e", "zoho_heal_confirm=true", env=env)
    assert healed.rc == 0, healed
    marker = json.loads((tmp_path / "localhost" / "last-heal.json").read_text())
    assert marker["mode"] == "apply"
    second = run_health(tmp_path, db, extra_vars=extra)
    snapshot = second.report["snapshot"]
    assert snapshot["after_heal"] is True and snapshot["heal_run_id"] == marker["run_id"]
    t = second.report["trends"]
    assert t["current_after_heal"] and t["backlog"]["change_includes_heal"]
    assert t["backlog"]["change"] == snapshot["backlog"] - first.report["snapshot"]["backlog"]
    assert t["backlog"]["per_hour"] is None  # one run since the heal: no slope of the workers yet
    assert second.report["facts"]["last_heal"]["run_id"] == marker["run_id"]
    assert second.report["trends"]["eta"]["minutes"] is None  # nothing completes: not draining
    assert "not draining" in second.report["trends"]["eta"]["how"]
    assert "a heal ran between" in second.read("latest.txt")
    # a preview (check mode) does not move the marker
    preview = run_playbook("heal.yml", "--check", env=env)
    assert preview.rc == 0, preview
    assert json.loads((tmp_path / "localhost" / "last-heal.json").read_text())["run_id"] == marker["run_id"]
    third = run_health(tmp_path, db, extra_vars=extra)
    assert third.report["snapshot"]["after_heal"] is False
    lines = [json.loads(line) for line in third.read("history.jsonl").splitlines()]
    assert [line["after_heal"] for line in lines] == [False, True, False]
