"""health.yml end to end: the real ansible-playbook on the demo inventory against real
databases, the four reports, the outcome, the history, the terminal colours."""

import json
import re
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from health.conftest import HOST_THRESHOLDS, run_health, with_fakes, write_fakes

PASSWORD_MARKER = "Sup3r-S3cret-Pa55word"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REPORT_FILES = ("latest.json", "latest.md", "latest.html", "latest.txt", "history.jsonl")


def fill_troubled(db):
    """Failures, stuck leases, exhausted retries, dead letters without a record."""
    for _ in range(12):
        db.add(status="failed", entity="invoice", attempts=1, max_attempts=3, age="2 hours",
               error="Rate limit exceeded, retry after 30 seconds", code="RATE_LIMIT")
    db.add(status="failed", entity="bill", attempts=1, max_attempts=3, age="2 hours",
           error="<script>alert(1)</script> rejected", code="VALIDATION")
    stuck = [db.add(status="pending", entity="product", age="3 hours", locked_by="worker-1",
                    lock_expires="-90 minutes") for _ in range(3)]
    exhausted = [db.add(status="retry", entity="customer", attempts=3, max_attempts=3, age="5 hours",
                        next_retry="-2 hours", error="Item 123456 not found in Zoho", code="ZOHO_404")
                 for _ in range(2)]
    unrecorded = [db.add(status="dead_letter", entity="invoice", attempts=3, age="6 hours",
                         error="Validation failed for invoice 1: rate must be positive", code="VALIDATION")
                  for _ in range(4)]
    recorded = db.add(status="dead_letter", entity="invoice", attempts=3, age="6 hours",
                      error="Validation failed for invoice 2: rate must be positive", code="VALIDATION")
    db.add_dlq_record(recorded)
    return {"stuck": stuck, "exhausted": exhausted, "unrecorded": unrecorded}


def fill_healthy(db, pending=3):
    """A few fresh pending rows and recent completions."""
    for _ in range(pending):
        db.add(status="pending", entity="invoice", age="1 minute")
    for _ in range(5):
        db.add(status="completed", entity="invoice", age="20 minutes", started="-3 minutes",
               completed="-2 minutes")


# --------------------------------------------------------------------------- all runs at once
BAD_THRESHOLDS = [
    ({"pending": {"warning": 300, "critical": 200}}, "pending: warning (300) is above critical (200)"),
    ({"failed": {"warning": -5}}, "failed.warning must not be negative, got -5"),
    ({"stuck_lock_minutes": {"critical": "an hour"}}, "stuck_lock_minutes.critical must be a number, got 'an hour'"),
    ({"pending_items": {"warning": 1}}, "unknown metric 'pending_items'"),
]


def trend_sequence(db, report_dir):
    """Three runs while the backlog grows, the last one with a history limit of 2."""
    extra = {"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_health_trend_sustained_runs": 2,
             "zoho_health_color": "never"}
    runs = []
    for more, keep in ((0, 10), (14, 10), (14, 2)):
        for _ in range(more):
            db.add(status="pending", entity="invoice", age="1 minute")
        runs.append(run_health(report_dir, db, extra_vars=dict(extra, zoho_health_history_max=keep)))
    return runs


class Runs:
    def __init__(self, futures, **data):
        self.futures = futures
        self.__dict__.update(data)

    def __getitem__(self, name):
        return self.futures[name].result()


@pytest.fixture(scope="module")
def runs(module_db, pg_server, tmp_path_factory):
    """Every independent health.yml run of this module, started together (three at a time)."""
    mk = tmp_path_factory.mktemp
    troubled_db, healthy_db, trend_db = module_db(), module_db(), module_db()
    rows = fill_troubled(troubled_db)
    before = troubled_db.checksum()
    fill_healthy(healthy_db)
    fill_healthy(trend_db, pending=2)
    fakes = mk("fakes")
    docker = write_fakes(str(fakes / "docker"), "docker", "running")
    systemd = write_fakes(str(fakes / "systemd"), "systemd", "running")
    stopped = write_fakes(str(fakes / "stopped"), "systemd", "stopped")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS zoho_health_ops")
        cur.execute("CREATE ROLE zoho_health_ops LOGIN PASSWORD 'the-right-one'")
    admin.close()
    host, port = pg_server.params.get("host"), pg_server.params.get("port")
    base = {"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_health_color": "never"}
    jobs = [
        ("trends", lambda: trend_sequence(trend_db, mk("trends"))),
        ("troubled", lambda: run_health(mk("troubled"), troubled_db, env={"PGPASSWORD": PASSWORD_MARKER},
                                        extra_vars=dict(base, zoho_health_color="always"))),
        ("ok", lambda: run_health(mk("ok"), healthy_db, env=with_fakes(docker), extra_vars=dict(
            base, zoho_service_manager="docker", zoho_service_name=["tsh_erp_app_blue", "tsh_erp_app_green"]))),
        ("warning", lambda: run_health(mk("warning"), healthy_db, env=with_fakes(systemd), args=["--check", "--diff"],
                                       extra_vars=dict(base, zoho_service_manager="systemd",
                                                       zoho_service_name="tsh-erp",
                                                       zoho_health_thresholds=dict(
                                                           HOST_THRESHOLDS, pending={"warning": 1, "critical": 100})))),
        ("stopped", lambda: run_health(mk("stopped"), healthy_db, env=with_fakes(stopped), extra_vars=dict(
            base, zoho_service_manager="systemd", zoho_service_name=["tsh_erp-blue", "tsh_erp-green"]))),
        ("down", lambda: run_health(mk("down"), env={"PGHOST": "127.0.0.1", "PGPORT": closed_port})),
        ("password", lambda: run_health(mk("password"), env={
            "PGHOST": host, "PGPORT": port, "PGDATABASE": "postgres", "PGUSER": "zoho_health_ops",
            "PGPASSWORD": PASSWORD_MARKER})),
        ("configured", lambda: run_health(mk("configured"), env={"PGHOST": "127.0.0.1", "PGPORT": closed_port},
                                          extra_vars={"zoho_health_fail_on": ["critical"]})),
    ]
    for index, (thresholds, _expected) in enumerate(BAD_THRESHOLDS):
        jobs.append(("bad-%d" % index, lambda t=thresholds: run_health(
            mk("bad"), env={"PGPORT": "1"}, extra_vars={"zoho_health_thresholds": t})))
    pool = ThreadPoolExecutor(max_workers=3)
    futures = dict((name, pool.submit(job)) for name, job in jobs)
    yield Runs(futures, troubled_db=troubled_db, troubled_rows=rows, troubled_before=before)
    pool.shutdown(wait=True)
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS zoho_health_ops")
    admin.close()


@pytest.fixture
def troubled(runs):
    return runs.troubled_db, runs.troubled_rows, runs.troubled_before, runs["troubled"]


@pytest.fixture
def healthy(runs):
    return runs["ok"], runs["warning"], runs["stopped"]


@pytest.fixture
def no_database(runs):
    return runs["down"], runs["password"], runs["configured"]


def test_troubled_queue_fails_after_writing_the_four_reports(troubled):
    db, _rows, before, run = troubled
    assert run.rc != 0, run
    for name in REPORT_FILES:
        assert name in run.files(), run.files()
    stamps = [f for f in run.files() if f.startswith("health-")]
    assert sorted(f.rsplit(".", 1)[1] for f in stamps) == ["html", "json", "md", "txt"]
    # the timestamped files and latest.* hold the same report
    stamp = stamps[0].rsplit(".", 1)[0]
    for ext in ("json", "md", "html", "txt"):
        assert run.read("%s.%s" % (stamp, ext)) == run.read("latest.%s" % ext)
    assert db.checksum() == before, "health wrote to the database"
    # one clear failure line naming the worst findings, after the reports
    fatal = [line for line in run.output.splitlines() if "Zoho sync health CRITICAL on localhost" in line]
    assert fatal, run
    assert "stuck_lock_minutes" in run.output and "latest.html" in run.output


def test_troubled_queue_severities(troubled):
    _db, rows, _before, run = troubled
    report = run.report
    assert report["overall"] == "critical"
    assert set(["overall", "findings", "facts", "recommendations", "trends", "generated_at", "host"]) <= set(report)
    assert report["host"] == "localhost"
    assert run.severity("failed") == "critical"
    assert run.severity("stuck_lock_minutes") == "critical"
    assert run.severity("worker_inactivity_minutes") == "critical"
    assert run.severity("failure_rate_pct") == "critical"
    assert run.severity("exhausted_retries") == "warning"
    assert run.severity("overdue_retries") == "warning"
    assert run.severity("unrecorded_dead_letters") == "warning"
    assert run.severity("pending") == "ok"
    assert run.severity("database") == "ok"
    stuck = run.findings("stuck_lock_minutes")[0]
    assert stuck["count"] == 3 and set(stuck["sample_ids"]) == set(rows["stuck"])
    assert set(run.findings("unrecorded_dead_letters")[0]["sample_ids"]) == set(rows["unrecorded"])
    assert run.findings("failed")[0]["value"] == 13
    q = report["facts"]["zoho_queue"]
    assert q["status_counts"]["dead_letter"] == 5 and q["dead_letter"]["unrecorded"] == 4
    assert report["facts"]["host"]["memory"]["read"] is True
    # recommendations: concrete commands
    # diagnoses: the stopped workers first (work waits, no lease for over an hour), the causes of the failures next
    ids = [d["id"] for d in report["diagnoses"]]
    assert ids[0] == "workers_idle", ids
    assert {"zoho_rate_limited", "payload_rejected", "failed_rows", "exhausted_retries",
            "unrecorded_dead_letters"} <= set(ids)
    assert ids.index("zoho_rate_limited") < ids.index("payload_rejected")  # 12 rows vs 8
    assert "completion_not_recorded" not in ids and "internal_worker_error" not in ids
    for d in report["diagnoses"]:
        assert d["evidence"] and d["summary"] and (d["remedy"]["command"] or d["remedy"]["steps"]), d
    # recommendations derive from them: concrete commands, or the steps where none fits
    commands = dict((r["diagnosis"], r["command"]) for r in report["recommendations"])
    assert commands["unrecorded_dead_letters"].startswith("ansible-playbook heal.yml -i inventory/demo -l localhost ")
    assert commands["unrecorded_dead_letters"].endswith(" --check --diff")
    assert commands["workers_idle"].startswith("ansible-playbook playbooks/emergency.yml -i inventory/demo ")
    assert commands["zoho_rate_limited"] is None
    assert all(r["problem"] and r["cause"] and (r["command"] or r["steps"]) for r in report["recommendations"])
    assert [r["diagnosis"] for r in report["recommendations"]] == [d["id"] for d in report["diagnoses"]
                                                                  if d["severity"] != "info"]


def test_reports_agree_and_never_hold_the_password(troubled):
    _db, _rows, _before, run = troubled
    md, txt, html = run.read("latest.md"), run.read("latest.txt"), run.read("latest.html")
    assert md.startswith("# TSH Zoho sync health: CRITICAL on `localhost`")
    assert "| **CRITICAL** | `stuck_lock_minutes` |" in md
    assert "Overall: [CRIT] CRITICAL" in txt and "\x1b[" not in txt  # the file has no colours
    for f in run.report["findings"]:
        assert "data-check=\"%s\"" % f["check"] in html
        assert f["check"] in md and f["check"] in txt
    # the HTML escapes what the database says
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "http://" not in html and "https://" not in html and "<link" not in html
    for name in REPORT_FILES:
        assert PASSWORD_MARKER not in run.read(name)
    assert PASSWORD_MARKER not in run.output


def test_terminal_summary_has_colour_coded_marks(troubled):
    _db, _rows, _before, run = troubled
    out = run.result.stdout
    assert "\x1b[1;31m[CRIT]\x1b[0m" in out
    assert "\x1b[33m[WARN]\x1b[0m" in out
    assert "\x1b[32m[ OK ]\x1b[0m" in out
    plain = ANSI.sub("", out)
    assert "Overall: [CRIT] CRITICAL" in plain
    assert re.search(r"\[CRIT\] stuck_lock_minutes\s+3 rows still carry a lease", plain)


# --------------------------------------------------------------------------- a healthy queue, services
def test_healthy_queue_passes_with_docker_blue_green(healthy):
    run = healthy[0]
    assert run.rc == 0, run
    assert run.report["overall"] == "ok", [f for f in run.report["findings"] if f["severity"] != "ok"]
    assert run.report["recommendations"] == []
    svc = run.report["facts"]["service"]
    assert svc["manager"] == "docker" and svc["overall"] == "running" and svc["active"] == ["tsh_erp_app_blue"]
    assert svc["units"]["tsh_erp_app_green"]["state"] == "missing"
    assert svc["workers"]["read"] is True
    assert svc["workers"]["counts"] == {"started": 1, "processing": 3, "processed": 3, "retried": 0,
                                        "dead_lettered": 1}
    assert run.severity("service") == "ok"
    assert run.findings("worker_inactivity_minutes")[0]["value"] < 5
    assert "\x1b[" not in run.result.stdout  # zoho_health_color: never
    assert "Overall: [ OK ] OK" in run.result.stdout


def test_warning_does_not_fail_the_run_and_check_mode_still_reports(healthy):
    run = healthy[1]
    assert run.rc == 0, run
    assert run.report["overall"] == "warning"
    pending = run.findings("pending")[0]
    assert pending["severity"] == "warning" and pending["value"] == 3 and pending["warning"] == 1
    svc = run.report["facts"]["service"]
    assert svc["manager"] == "systemd" and svc["overall"] == "running"
    assert svc["units"]["tsh-erp"]["pid"] == 4242
    assert svc["workers"]["counts"]["processed"] == 3 and svc["workers"]["counts"]["retried"] == 1
    assert "latest.html" in run.files()


def test_stopped_service_is_critical(healthy):
    run = healthy[2]
    assert run.rc != 0, run
    assert run.report["overall"] == "critical"
    assert run.severity("service") == "critical"
    svc = run.report["facts"]["service"]
    assert svc["overall"] == "stopped" and "tsh_erp-blue is failed" in svc["reason"]
    rec = [r for r in run.report["recommendations"] if r["check"] == "service"][0]
    assert rec["command"].startswith("ansible-playbook playbooks/emergency.yml -i inventory/demo -l localhost ")
    assert "by hand: sudo systemctl restart tsh_erp-blue" in rec["steps"]
    assert run.report["diagnoses"][0]["id"] == "service_down"
    assert "workers_idle" not in [d["id"] for d in run.report["diagnoses"]]


# --------------------------------------------------------------------------- bad input, no database
@pytest.mark.parametrize("index", range(len(BAD_THRESHOLDS)))
def test_invalid_thresholds_fail_with_one_clear_message(runs, index):
    expected = BAD_THRESHOLDS[index][1]
    run = runs["bad-%d" % index]
    assert run.rc != 0
    errors = [line for line in run.output.splitlines() if "Invalid health thresholds:" in line]
    assert errors and expected in errors[0], run
    assert "Traceback" not in run.output
    assert run.files() == [], "nothing may be written on bad input"


@pytest.mark.parametrize("index, reason", [(0, "Connection refused"), (1, "password authentication failed")])
def test_unreadable_database_is_unknown_with_the_reason(no_database, index, reason):
    run = no_database[index]
    assert run.rc != 0, run
    for name in REPORT_FILES:
        assert name in run.files()
    assert run.report["overall"] == "unknown"
    db = run.findings("database")[0]
    assert db["severity"] == "unknown" and reason in db["message"]
    assert run.report["facts"]["zoho_queue"] is None and reason in run.report["facts"]["zoho_queue_error"]
    for check in ("pending", "failed", "stuck_lock_minutes", "worker_inactivity_minutes"):
        assert run.severity(check) == "unknown"
    assert not [f for f in run.report["findings"] if f["severity"] == "ok" and f["check"] not in
                ("memory_used_pct", "disk_used_pct")]
    line = [x for x in run.output.splitlines() if "Zoho sync health UNKNOWN on localhost" in x]
    assert line and reason in run.output
    assert run.report["recommendations"][0]["check"] == "database"
    for name in REPORT_FILES:
        assert PASSWORD_MARKER not in run.read(name)
    assert PASSWORD_MARKER not in run.output


def test_the_failing_levels_are_configurable(no_database):
    run = no_database[2]
    assert run.rc == 0, run
    assert run.report["overall"] == "unknown"  # still reported as unknown, never ok


# --------------------------------------------------------------------------- trends across runs
def test_trends_after_several_runs(runs):
    first, second, last = runs["trends"]
    for run in (first, second, last):
        assert run.rc == 0, run
    assert first.report["trends"]["runs"] == 1 and first.report["trends"]["backlog"]["previous"] is None
    assert second.report["trends"]["backlog"]["change"] == 14
    assert second.report["trends"]["backlog"]["sustained_rise"] is False  # 16 rows: under the healthy limit
    t = last.report["trends"]
    assert t["runs"] == 3
    assert t["series"]["backlog"] == [2, 16, 30]
    assert t["backlog"]["previous"] == 16 and t["backlog"]["current"] == 30
    assert t["backlog"]["rising_runs"] == 2 and t["backlog"]["sustained_rise"] is True
    assert t["backlog"]["per_hour"] > 0
    assert "backlog" in t["sustained_rise"] and "failure_rate_pct" not in t["sustained_rise"]
    assert last.severity("sustained_rise") == "warning"
    assert last.report["overall"] == "warning"
    crit = t["success_criteria"]
    assert crit["backlog_under_20"]["met"] == 2 and crit["backlog_under_20"]["runs"] == 3
    assert crit["backlog_under_20"]["share"] == 0.667 and crit["backlog_under_20"]["current"] is False
    assert crit["workers_running"]["share"] == 1
    assert crit["failed_under_1pct"]["share"] == 1
    assert "sustained rise" in last.read("latest.md")
    assert "sustained rise" in last.read("latest.txt")
    # the history is bounded: the last run kept two lines (zoho_health_history_max: 2)
    history = [json.loads(line) for line in last.read("history.jsonl").splitlines()]
    assert [h["backlog"] for h in history] == [16, 30]
