"""health.yml over a fleet: several databases on one cluster, a host that cannot be
reached, one with a wrong password and one with a configuration mistake - the real
ansible-playbook, the fleet summary it writes (JSON, HTML), the exit code and the
terminal lines."""

import json
import os
import re
from html.parser import HTMLParser

import pytest

from fleet.conftest import closed_port, local_host, run_fleet, write_inventory
from health.test_playbook import fill_healthy, fill_troubled

WRONG_PASSWORD = "wr0ng-Passw0rd-for-fleet"
ORDER = ["critical", "unknown", "warning", "ok"]


class Page(HTMLParser):
    """The rows, links and external references of the fleet page."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.rows, self.unread, self.links, self.external, self.scripts = [], [], [], [], 0
        self.overall = None
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            if a.get(key) and re.match(r"^(https?:)?//", a[key]):
                self.external.append(a[key])
        if tag == "script":
            self.scripts += 1
        if tag == "header":
            self.overall = a.get("data-overall")
        if tag == "tr" and "host" in (a.get("class") or "").split():
            self._row = {"host": a["data-host"], "state": a["data-state"], "read": a["data-read"], "links": []}
            self.rows.append(self._row)
        elif tag == "tr" and a.get("class") == "unread":
            self.unread.append((a["data-host"], a["data-stage"]))
            self._row = None
        if tag == "a" and self._row is not None:
            self._row["links"].append((a.get("class"), a["href"]))
            self.links.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None


@pytest.fixture(scope="module")
def fleet(module_db, pg_server, ro_role, tmp_path_factory):
    """One run over six hosts: ok, warning, critical, unreachable, wrong password, bad thresholds."""
    report_dir = tmp_path_factory.mktemp("fleet-reports")
    ok, warning, critical = module_db(), module_db(), module_db()
    fill_healthy(ok)
    fill_healthy(warning, pending=60)           # pending warning above 50
    fill_troubled(critical)
    bad = dict(local_host(pg_server, ok, report_dir)["zoho_health_thresholds"])
    bad["pending"] = {"warning": 300, "critical": 200}
    hosts = {
        "db-ok": local_host(pg_server, ok, report_dir),
        "db-warning": local_host(pg_server, warning, report_dir),
        "db-critical": local_host(pg_server, critical, report_dir),
        "erp-unreachable": dict(local_host(pg_server, ok, report_dir), ansible_connection="ssh",
                                ansible_host="127.0.0.1", ansible_port=closed_port(), ansible_user="nobody"),
        "erp-wrong-password": local_host(pg_server, ok, report_dir, zoho_db_user=ro_role,
                                         zoho_db_password=WRONG_PASSWORD),
        "erp-bad-config": local_host(pg_server, ok, report_dir, zoho_health_thresholds=bad),
    }
    inventory = write_inventory(tmp_path_factory.mktemp("fleet-inv") / "hosts.yml", hosts)
    return run_fleet("six-hosts", inventory, report_dir)


def test_the_run_fails_and_each_failing_host_fails_with_its_own_message(fleet):
    assert fleet.rc == 2, fleet
    out = fleet.output
    assert "Zoho sync health CRITICAL on db-critical" in out
    assert "Zoho sync health UNKNOWN on erp-wrong-password" in out and "password authentication failed" in out
    assert "Zoho sync health UNKNOWN on erp-unreachable: the host cannot be reached" in out
    assert "Invalid health thresholds:" in out and "pending: warning (300) is above critical (200)" in out
    for host in ("db-critical", "erp-unreachable", "erp-wrong-password", "erp-bad-config"):
        assert fleet.recap(host)["failed"] == "1", (host, fleet)
    for host in ("db-ok", "db-warning"):
        assert fleet.recap(host)["failed"] == "0", (host, fleet)
    assert "Traceback" not in out and WRONG_PASSWORD not in out


def test_fleet_json_states_worst_first(fleet):
    s = fleet.summary
    assert s is not None, fleet
    assert s["kind"] == "zoho_sync_fleet" and s["hosts_total"] == 6
    states = dict((h["host"], h["state"]) for h in s["hosts"])
    assert states == {"db-critical": "critical", "erp-unreachable": "unknown", "erp-wrong-password": "unknown",
                      "erp-bad-config": "unknown", "db-warning": "warning", "db-ok": "ok"}
    ranks = [ORDER.index(h["state"]) for h in s["hosts"]]
    assert ranks == sorted(ranks), [h["host"] for h in s["hosts"]]
    assert s["overall"] == "critical"
    assert s["counts"] == {"critical": 1, "unknown": 3, "warning": 1, "ok": 1}
    assert sorted(s["failing"]) == ["db-critical", "erp-bad-config", "erp-unreachable", "erp-wrong-password"]
    # every host's state is the one its own report says (for those that have one)
    for name in ("db-ok", "db-warning", "db-critical", "erp-wrong-password"):
        assert fleet.host(name)["state"] == fleet.host_report(name)["overall"]
        assert fleet.host(name)["generated_at"] == fleet.host_report(name)["generated_at"]


def test_first_diagnosis_or_recommendation_is_the_reports_first(fleet):
    for name in ("db-critical", "db-warning"):
        report = fleet.host_report(name)
        first = fleet.host(name)["first"]
        if report.get("diagnoses"):
            d = report["diagnoses"][0]
            assert first["kind"] == "diagnosis" and first["id"] == d["id"] and first["summary"] == d["summary"]
        else:
            r = report["recommendations"][0]
            assert first["kind"] == "recommendation"
            assert (first["id"], first["summary"], first["command"], first["severity"]) == (
                r["check"], " ".join(r["problem"].split()), r["command"], r["severity"])
    assert fleet.host("db-ok")["first"] is None or fleet.host_report("db-ok")["recommendations"]


def test_unreadable_hosts_are_listed_with_the_reason_and_never_ok(fleet):
    s = fleet.summary
    unread = dict((u["host"], u) for u in s["not_read"])
    assert set(unread) == {"erp-unreachable", "erp-wrong-password", "erp-bad-config"}
    assert unread["erp-unreachable"]["stage"] == "unreachable"
    assert "Connection refused" in unread["erp-unreachable"]["reason"]
    assert unread["erp-wrong-password"]["stage"] == "queue not read"
    assert "password authentication failed" in unread["erp-wrong-password"]["reason"]
    assert unread["erp-bad-config"]["stage"] == "failed before a report"
    assert "Check the settings, read the queue and write the reports: Invalid health thresholds" in unread["erp-bad-config"]["reason"]
    assert "warning (300) is above critical (200)" in unread["erp-bad-config"]["reason"]
    for h in s["hosts"]:
        assert h["read"] == (h["host"] not in unread)
        if not h["read"]:
            assert h["state"] != "ok" and h["state"] in ("unknown", "critical")
    # the host with the wrong password wrote its report this run; the other two wrote none
    assert unread["erp-wrong-password"]["report_current"] is True
    assert unread["erp-unreachable"]["report"] is None and unread["erp-bad-config"]["report"] is None
    text = fleet.read("latest.json") + fleet.read("latest.html")
    assert WRONG_PASSWORD not in text


def test_links_resolve_to_each_hosts_report_of_this_run(fleet):
    for h in fleet.summary["hosts"]:
        if h["report"] is None:
            continue
        assert h["report"] == os.path.join("..", h["host"], "latest.html")
        html = os.path.normpath(os.path.join(fleet.fleet_dir, h["report"]))
        data = os.path.normpath(os.path.join(fleet.fleet_dir, h["report_json"]))
        assert os.path.isfile(html), html
        linked = json.load(open(data))
        assert linked["host"] == h["host"] and linked["generated_at"] == h["generated_at"]
        assert h["report_current"] is True


def test_html_page_lists_every_host_worst_first_offline(fleet):
    html = fleet.read("latest.html")
    page = Page()
    page.feed(html)
    assert page.overall == "critical"
    assert [r["host"] for r in page.rows] == [h["host"] for h in fleet.summary["hosts"]]
    assert [r["state"] for r in page.rows] == [h["state"] for h in fleet.summary["hosts"]]
    assert sorted(page.unread) == sorted((u["host"], u["stage"]) for u in fleet.summary["not_read"])
    for row in page.rows:
        for _cls, href in row["links"]:
            assert os.path.exists(os.path.normpath(os.path.join(fleet.fleet_dir, href))), href
    reported = [r["host"] for r in page.rows if any(c == "report" for c, _h in r["links"])]
    assert sorted(reported) == ["db-critical", "db-ok", "db-warning", "erp-wrong-password"]
    assert page.external == [] and page.scripts == 0
    assert "<link" not in html and "@import" not in html and "url(" not in html
    # the timestamped copies are the same files
    stamped = sorted(f for f in os.listdir(fleet.fleet_dir) if f.startswith("fleet-"))
    assert [f.rsplit(".", 1)[1] for f in stamped] == ["html", "json"]
    assert fleet.read(stamped[0]) == html and fleet.read(stamped[1]) == fleet.read("latest.json")


def test_terminal_fleet_section_one_line_per_host_worst_first(fleet):
    lines = fleet.output.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith("Fleet: 6 hosts - CRITICAL")]
    assert "3 not read" in lines[start]
    body = lines[start + 1:start + 7]
    expected = [h["host"] for h in fleet.summary["hosts"]]
    marks = {"critical": "[CRIT]", "unknown": "[ ?? ]", "warning": "[WARN]", "ok": "[ OK ]"}
    for line, h in zip(body, fleet.summary["hosts"]):
        assert line.startswith(marks[h["state"]] + " " + h["host"] + " "), (line, h["host"])
        assert ("not read" in line) == (not h["read"])
    assert [line[len("[CRIT] "):].split()[0] for line in body] == expected
    unreachable = [line for line in body if " erp-unreachable " in line][0]
    assert "unreachable:" in unreachable and "Connection refused" in unreachable
    assert lines[start + 7].startswith("Fleet summary: ") and lines[start + 7].endswith("fleet/latest.html")


def test_a_limited_check_mode_run_summarises_its_own_hosts_and_says_so(fleet, tmp_path):
    """--limit and --check (health writes its reports in check mode too): the summary is of
    the limited run, says so, and every host in it was read."""
    run = run_fleet("limited", fleet.inventory, tmp_path, "--check", "-l", "db-ok,db-warning",
                    "-e", "zoho_report_dir=%s" % tmp_path)
    assert run.rc == 0, run
    s = run.summary
    assert s["limit"] == "db-ok,db-warning" and s["hosts_total"] == 2
    assert [h["host"] for h in s["hosts"]] == ["db-warning", "db-ok"] and s["not_read"] == []
    assert all(h["report_current"] for h in s["hosts"])
    assert "run limited to db-ok,db-warning" in run.read("latest.html")
    assert "Fleet: 2 hosts - WARNING (0 critical, 0 unknown, 1 warning, 1 ok) - limited to db-ok,db-warning" in run.output


@pytest.fixture(scope="module")
def all_failing(module_db, pg_server, tmp_path_factory):
    """Every host fails: an unreachable one with an older good report, a bad configuration;
    the fleet page of an earlier run said everything was ok."""
    report_dir = tmp_path_factory.mktemp("fleet-all-fail")
    db = module_db()
    old = {"host": "erp-down", "overall": "ok", "generated_at": "2026-01-01T00:00:00Z"}
    os.makedirs(str(report_dir / "erp-down"))
    (report_dir / "erp-down" / "latest.json").write_text(json.dumps(old))
    (report_dir / "erp-down" / "latest.html").write_text("<html>old</html>")
    os.makedirs(str(report_dir / "fleet"))
    (report_dir / "fleet" / "latest.json").write_text(json.dumps({"overall": "ok", "hosts": []}))
    bad = dict(local_host(pg_server, db, report_dir)["zoho_health_thresholds"])
    bad["failed"] = {"warning": -5}
    hosts = {
        "erp-down": dict(local_host(pg_server, db, report_dir), ansible_connection="ssh", ansible_host="127.0.0.1",
                         ansible_port=closed_port(), ansible_user="nobody"),
        "erp-misconfigured": local_host(pg_server, db, report_dir, zoho_health_thresholds=bad),
    }
    inventory = write_inventory(tmp_path_factory.mktemp("fleet-inv2") / "hosts.yml", hosts)
    return run_fleet("all-failing", inventory, report_dir)


def test_a_fleet_whose_every_host_fails_still_gets_its_summary(all_failing):
    run = all_failing
    assert run.rc == 2, run
    s = run.summary
    assert s["hosts_total"] == 2 and s["overall"] == "unknown" and s["counts"]["ok"] == 0
    down = run.host("erp-down")
    assert down["state"] == "unknown" and not down["read"] and down["stage"] == "unreachable"
    # its older report is linked as such, not shown as its state
    assert down["report"] == "../erp-down/latest.html" and down["report_current"] is False
    assert down["last_report"] == {"generated_at": "2026-01-01T00:00:00Z", "overall": "ok"}
    assert "older report" in run.read("latest.html")
    mis = run.host("erp-misconfigured")
    assert mis["stage"] == "failed before a report" and "failed.warning must not be negative" in mis["reason"]
    assert sorted(s["failing"]) == ["erp-down", "erp-misconfigured"]
    assert "Fleet: 2 hosts - UNKNOWN" in run.output
