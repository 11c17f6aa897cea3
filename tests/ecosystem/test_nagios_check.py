"""scripts/check_zoho_sync: the one-line Nagios/Icinga status, its performance data and
its exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; a missing or stale report is UNKNOWN)."""

import datetime
import json
import os
import re
import subprocess
import sys

import pytest

from helpers.playbook import ROOT

SCRIPT = os.path.join(ROOT, "scripts", "check_zoho_sync")
# the plugin output: "ZOHO_SYNC <STATE> - <text> | <perfdata>", perfdata label=value[uom];warn;crit;min;max
LINE_RE = re.compile(r"^ZOHO_SYNC (OK|WARNING|CRITICAL|UNKNOWN) - ([^|\n]+?)(?: \| (.+))?$")
# labels graphing add-ons take as they are: letters, digits, underscores (no quotes, spaces, brackets, slashes)
PERF_RE = re.compile(r"^([A-Za-z0-9_]+)=(-?[0-9.]+)(s|%|)?;(-?[0-9.]*);(-?[0-9.]*);(-?[0-9.]*);(-?[0-9.]*)$")


def stamp(seconds_ago=60):
    when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def finding(check, severity, value, warning=None, critical=None, unit="rows", entity=None, target=None):
    return {"check": check, "entity": entity, "target": target, "severity": severity, "value": value,
            "warning": warning, "critical": critical, "unit": unit, "message": "%s is %s" % (check, value)}


def report(overall, findings, age=60):
    return {"overall": overall, "host": "erp-1", "generated_at": stamp(age), "findings": findings,
            "facts": {"zoho_queue": {"status_counts": {"pending": 12, "processing": 1, "completed": 99,
                                                       "failed": 3, "retry": 0, "dead_letter": 2},
                                     "live_total": 18, "stuck_locks": {"count": 0},
                                     "dead_letter": {"unrecorded": 1}, "retry": {"overdue": 0, "exhausted": 0},
                                     "throughput": {"completed_last_hour": 40}}},
            "recommendations": [], "trends": {}}


def run_check(tmp_path, data=None, *args, raw=None, env=None):
    path = tmp_path / "latest.json"
    if raw is not None:
        path.write_text(raw)
    elif data is not None:
        path.write_text(json.dumps(data))
    run_env = dict(os.environ)
    run_env.update(env or {})
    proc = subprocess.run([sys.executable, SCRIPT, "--report", str(path)] + list(args),
                          capture_output=True, text=True, env=run_env, timeout=60)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    match = LINE_RE.match(lines[0])
    assert match, lines[0]
    perf = {}
    for item in (match.group(3) or "").split():
        pm = PERF_RE.match(item)
        assert pm, "bad perfdata item %r in %s" % (item, lines[0])
        perf[pm.group(1).strip("'")] = pm.groups()[1:]
    assert len(perf) == len((match.group(3) or "").split("=")) - 1 if match.group(3) else True
    return proc.returncode, match.group(1), match.group(2), perf


def test_ok(tmp_path):
    rc, state, text, perf = run_check(tmp_path, report("ok", [finding("pending", "ok", 12, 50, 200)]))
    assert (rc, state) == (0, "OK")
    assert "queue healthy" in text and "erp-1" in text
    assert perf["pending"] == ("12", "", "50", "200", "0", "")
    assert perf["dead_letter_unrecorded"][0] == "1"
    assert perf["report_age"][1] == "s"


def test_warning_with_minutes_as_seconds(tmp_path):
    data = report("warning", [finding("sync_delay_minutes", "warning", 45, 30, 120, unit="min", entity="invoice"),
                              finding("pending", "ok", 12, 50, 200)])
    rc, state, text, perf = run_check(tmp_path, data)
    assert (rc, state) == (1, "WARNING")
    assert "sync_delay_minutes[invoice]" in text
    assert perf["sync_delay_invoice"] == ("2700", "s", "1800", "7200", "0", "")


def test_critical_lists_the_worst_first(tmp_path):
    data = report("critical", [finding("failed", "critical", 12, 5, 10, entity="invoice"),
                               finding("pending", "warning", 60, 50, 200),
                               finding("disk_used_pct", "ok", 40.5, 85, 95, unit="%", target="/var/lib/my db")])
    rc, state, text, perf = run_check(tmp_path, data)
    assert (rc, state) == (2, "CRITICAL")
    assert text.index("failed[invoice]") < text.index("pending")
    assert perf["failed_invoice"] == ("12", "", "5", "10", "0", "")
    assert perf["disk_used_var_lib_my_db"] == ("40.5", "%", "85", "95", "0", "100")


def test_overall_never_better_than_the_findings(tmp_path):
    rc, state, _text, _perf = run_check(tmp_path, report("ok", [finding("failed", "critical", 12, 5, 10)]))
    assert (rc, state) == (2, "CRITICAL")


def test_unknown_overall(tmp_path):
    data = report("unknown", [{"check": "database", "severity": "unknown", "value": None,
                               "message": "cannot read the queue: connection refused"}])
    data["facts"] = {"zoho_queue": None}
    rc, state, text, _perf = run_check(tmp_path, data)
    assert (rc, state) == (3, "UNKNOWN")
    assert "connection refused" in text


def test_stale_report_is_unknown(tmp_path):
    rc, state, text, _perf = run_check(tmp_path, report("ok", [], age=7200), "--max-age", "1800")
    assert (rc, state) == (3, "UNKNOWN")
    assert "stale" in text and "2h00m" in text


def test_fresh_enough_with_a_longer_max_age(tmp_path):
    rc, state, _text, _perf = run_check(tmp_path, report("ok", [], age=7200), "--max-age", "10800")
    assert (rc, state) == (0, "OK")


@pytest.mark.parametrize("raw, expected", [
    (None, "no health report"),
    ("{not json", "cannot read the health report"),
    ("[1, 2]", "not a health report"),
    ('{"overall": "ok"}', "no generated_at"),
    ('{"overall": "ok", "generated_at": "last tuesday"}', "is not a timestamp"),
])
def test_missing_or_broken_report_is_unknown(tmp_path, raw, expected):
    rc, state, text, _perf = run_check(tmp_path, raw=raw)
    assert (rc, state) == (3, "UNKNOWN")
    assert expected in text


def only_report_dir(report_dir, *args):
    """The plugin run with nothing in its environment but ZOHO_REPORT_DIR (as a Nagios or NRPE
    command runs it), through its own #! line."""
    proc = subprocess.run(["env", "-i", "ZOHO_REPORT_DIR=%s" % report_dir, SCRIPT] + list(args),
                          capture_output=True, text=True, timeout=60)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and proc.stderr == "", proc.stdout + proc.stderr
    return proc.returncode, lines[0]


def put(report_dir, host, data):
    (report_dir / host).mkdir(parents=True, exist_ok=True)
    data = dict(data, host=host)
    (report_dir / host / "latest.json").write_text(json.dumps(data))


def test_the_only_host_under_zoho_report_dir(tmp_path):
    put(tmp_path, "erp-7", report("warning", [finding("pending", "warning", 60, 50, 200)]))
    (tmp_path / "metrics").mkdir()  # the Prometheus textfile directory lives there too
    (tmp_path / "metrics" / "zoho_sync_erp-7.prom").write_text("zoho_sync_health_status 1\n")
    rc, line = only_report_dir(tmp_path)
    assert rc == 1 and line.startswith("ZOHO_SYNC WARNING - erp-7: "), line


def test_several_hosts_need_host(tmp_path):
    put(tmp_path, "erp-1", report("ok", [finding("pending", "ok", 1, 50, 200)]))
    put(tmp_path, "erp-2", report("critical", [finding("failed", "critical", 12, 5, 10)]))
    rc, line = only_report_dir(tmp_path)
    assert rc == 3 and line.startswith("ZOHO_SYNC UNKNOWN - 2 hosts have reports under %s (erp-1, erp-2): name one with --host"
                                       % tmp_path), line
    rc, line = only_report_dir(tmp_path, "--host", "erp-2")
    assert rc == 2 and line.startswith("ZOHO_SYNC CRITICAL - erp-2: "), line
    rc, line = only_report_dir(tmp_path, "-H", "erp-1")
    assert rc == 0 and line.startswith("ZOHO_SYNC OK - erp-1: "), line
    rc, line = only_report_dir(tmp_path, "--host", "erp-3")
    assert rc == 3 and "no health report at %s" % (tmp_path / "erp-3" / "latest.json") in line, line
    rc, line = only_report_dir(tmp_path, "--host", "../etc")
    assert rc == 3 and "--host must be an inventory host name" in line, line


def test_no_report_dir_or_no_report(tmp_path):
    rc, line = only_report_dir(tmp_path / "missing")
    assert rc == 3 and "does not exist" in line, line
    rc, line = only_report_dir(tmp_path)
    assert rc == 3 and "no health report under %s" % tmp_path in line, line


def test_a_host_directory_itself(tmp_path):
    (tmp_path / "latest.json").write_text(json.dumps(report("ok", [finding("pending", "ok", 1, 50, 200)])))
    rc, line = only_report_dir(tmp_path)
    assert rc == 0 and line.startswith("ZOHO_SYNC OK - erp-1: "), line


def test_labels_are_safe_for_graphing(tmp_path):
    data = report("warning", [finding("disk_used_pct", "ok", 40, 85, 95, unit="%", target="/"),
                              finding("disk_used_pct", "ok", 41, 85, 95, unit="%", target="/var/lib/postgresql 'x'=y|z"),
                              finding("sync_delay_minutes", "warning", 45, 30, 120, unit="min", entity="USER"),
                              finding("failure_rate_pct", "warning", 7.25, 5, 20, unit="%")])
    rc, state, _text, perf = run_check(tmp_path, data)
    assert (rc, state) == (1, "WARNING")
    assert perf["disk_used_root"] == ("40", "%", "85", "95", "0", "100")
    assert perf["disk_used_var_lib_postgresql_x_y_z"][0] == "41"
    assert perf["sync_delay_USER"] == ("2700", "s", "1800", "7200", "0", "")
    assert perf["failure_rate"] == ("7.25", "%", "5", "20", "0", "100")
    assert perf["report_age"][1] == "s"


def test_usage_error_is_unknown(tmp_path):
    proc = subprocess.run([sys.executable, SCRIPT, "--max-age", "soon"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout.startswith("ZOHO_SYNC UNKNOWN - argument -a/--max-age: invalid int value") and proc.stderr == ""
