"""The HTML health report as an operator sees it: real `ansible-playbook health.yml` runs
against real databases seeded with testbed/generate.py mixes (a healthy queue drained by
the worker simulator, a backlog the workers are working off, the troubled default mix, a
database that cannot be reached), rendered by real Chromium.

The page must open with what to do, fold each check's per-entity values into one row,
give every value its unit, show the error patterns readably, draw the trends with axes,
units and thresholds, fetch nothing from anywhere, and read on a laptop, a phone and
paper. Screenshots and PDFs go to artifacts/html/ (test artefacts, not committed).

Reports carrying ``diagnoses`` (the key branch diag adds, CONTRACTS.md) are rendered
from a real run's report with diagnoses added, by the same template and filters
(tests/health/render_html.yml)."""

import copy
import json
import os
import re
import shutil
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from health.browser import Browser, parse, png_size
from health.conftest import HOST_THRESHOLDS, run_health
from helpers.playbook import ROOT, run_playbook
from testbed.generate import DEFAULT_MIX, generate
from testbed.worker import run_workers

ARTIFACTS = os.path.join(ROOT, "artifacts", "html")
SCENARIOS = ("healthy", "warning", "critical", "unknown")
BASE_VARS = {"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_health_color": "never"}
HOSTILE_ERROR = "<script>alert(1)</script> rejected by <b>Zoho</b> for {{ lookup('env', 'HOME') }}"

# A value with its unit, as the page must write it (findings table, per-entity tables).
UNIT_FORMS = {
    "min": re.compile(r"^(under a minute|\d{1,2} min|\d{1,2} h( \d{1,2} min)?|\d[\d,]* d( \d{1,2} h)?)$"),
    "rows": re.compile(r"^\d{1,3}(,\d{3})* rows?$"),
    "%": re.compile(r"^(< 0\.1|\d{1,3}(\.\d)?) %$"),
}


def drain(db, **options):
    """The worker simulator (production's claim/finish protocol) on ``db`` for a while."""
    opts = dict(workers=2, poll=0.2, work_ms=20, out=None, failure_rate=0.0)
    opts.update(options)
    return run_workers(db.dsn(), **opts)


def healthy_runs(db, report_dir):
    """A small fresh queue the workers keep empty; a few new rows arrive between runs."""
    generate(db.conn, live=30, history=0, seed=101, mix={"pending_fresh": 0.7, "processing_live": 0.3},
             with_logs=False)
    runs = []
    for n in range(3):
        drain(db, stop_when_idle=1.0)
        runs.append(run_health(report_dir, db, extra_vars=BASE_VARS))
        for i in range(2 + n):
            db.add(status="pending", entity=("invoice", "product", "customer")[i % 3], age="30 seconds")
    return runs


def warning_runs(db, report_dir):
    """A backlog above the pending warning (50) and under critical (200) that the workers
    are working off between runs (the trend goes down), and one retry whose error text is
    HTML and Jinja."""
    generate(db.conn, live=200, history=0, seed=102, mix={"pending_fresh": 0.9, "processing_live": 0.1},
             with_logs=False)
    db.add(status="retry", entity="bill", attempts=1, max_attempts=3, age="20 minutes", next_retry="30 minutes",
           error=HOSTILE_ERROR, code="VALIDATION")
    runs = []
    for _ in range(3):
        drain(db, workers=1, batch=10, work_ms=40, duration=1.5)
        runs.append(run_health(report_dir, db, extra_vars=BASE_VARS))
    return runs


def critical_runs(db, report_dir):
    """The generator's troubled default mix (stuck leases, overdue and exhausted retries,
    dead letters without a record, ...) and a backlog that grows between runs."""
    generate(db.conn, live=3000, history=2000, seed=103, mix=DEFAULT_MIX)
    runs = []
    for _ in range(3):
        runs.append(run_health(report_dir, db, extra_vars=BASE_VARS))
        for i in range(40):
            db.add(status="pending", entity=("invoice", "product")[i % 2], age="10 seconds")
    return runs


def unknown_runs(_db, report_dir):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return [run_health(report_dir, env={"PGHOST": "127.0.0.1", "PGPORT": port, "PGDATABASE": "postgres"},
                       extra_vars=BASE_VARS)]


class Page:
    """One scenario: its health runs, the report of the last one and its page in the browser."""

    def __init__(self, name, runs, browser):
        self.name = name
        self.runs = runs
        self.run = runs[-1]
        self.report = self.run.report
        self.path = os.path.join(self.run.dir, "latest.html")
        with open(self.path) as fh:
            self.html = fh.read()
        self.browser = browser
        self.dom_text = browser.dom(self.path)
        self.dom = parse(self.dom_text)

    def section(self, ident):
        node = self.dom.by_id(ident)
        assert node is not None, "no #%s in the page" % ident
        return node


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    return Browser(tmp_path_factory.mktemp("chromium"))


@pytest.fixture(scope="module")
def pages(module_db, tmp_path_factory, browser):
    jobs = {"healthy": healthy_runs, "warning": warning_runs, "critical": critical_runs, "unknown": unknown_runs}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = dict((name, pool.submit(job, module_db() if name != "unknown" else None,
                                          tmp_path_factory.mktemp(name)))
                       for name, job in jobs.items())
        runs = dict((name, f.result()) for name, f in futures.items())
    for name, scenario in runs.items():
        for run in scenario:
            assert run.report is not None, "%s: no report written\n%r" % (name, run)
    return dict((name, Page(name, scenario, browser)) for name, scenario in runs.items())


@pytest.fixture(params=SCENARIOS)
def page(request, pages):
    return pages[request.param]


def actions_expected(report):
    """What the page must list first: the diagnoses when the report has them."""
    if isinstance(report.get("diagnoses"), list):
        return "diagnoses", report["diagnoses"]
    return "recommendations", report["recommendations"]


# --------------------------------------------------------------------------- the scenarios are what they claim
def test_the_scenarios_have_the_overall_status_they_are_named_after(pages):
    for name in ("healthy", "warning", "critical", "unknown"):
        report = pages[name].report
        expected = "ok" if name == "healthy" else name
        assert report["overall"] == expected, (name, [(f["check"], f["severity"], f["message"])
                                                      for f in report["findings"] if f["severity"] != "ok"])
        assert pages[name].section("overall").attrs["data-overall"] == expected
        assert pages[name].dom.by_id("overall-status").words() == expected.upper()


# --------------------------------------------------------------------------- what to do first
def test_the_first_section_is_what_to_do(page):
    main = page.dom.find("main")
    first = main.find("section")
    assert first.attrs["id"] == "what-to-do", [s.attrs.get("id") for s in main.find_all("section")]
    # the masthead before it holds only the verdict (no findings, no tables)
    assert page.section("overall").find("table") is None
    source, expected = actions_expected(page.report)
    assert first.attrs["data-source"] == source
    cards = first.find_all("li", cls="action")
    assert len(cards) == len(expected)
    assert [c.attrs["data-severity"] for c in cards] == [e["severity"] for e in expected]
    if not expected:
        assert first.by_id("nothing-to-do") is not None
        if page.report["overall"] == "ok":
            assert "Nothing to do" in first.words()


def test_every_recommended_command_is_in_a_code_block_as_it_must_be_pasted(pages):
    for name in ("warning", "critical", "unknown"):
        page = pages[name]
        source, expected = actions_expected(page.report)
        blocks = [pre.text() for pre in page.section("what-to-do").find_all("pre", cls="cmd")]
        commands = []
        for item in expected:
            if source == "diagnoses":
                commands += [item["remedy"]["command"]] if item["remedy"].get("command") else []
            else:
                commands += [c for c in (item.get("command"), item.get("then")) if c and
                             re.match(r"(ansible-playbook|sudo|psql|journalctl|docker|systemctl|free|df) ", c)]
        assert commands or name != "critical", name
        for command in commands:
            assert command in blocks, (name, command, blocks)
        # nothing but commands in those blocks: prose goes to the steps
        for block in blocks:
            assert not block.startswith(("check ", "run it ", "compare ")), block


def test_the_urgent_actions_are_in_the_first_screen_on_a_laptop(pages, browser):
    for name in ("warning", "critical"):
        layout = browser.measure(pages[name].path, width=1300, height=900)
        box = layout["sections"]["what-to-do"]
        assert box["top"] < 260, (name, box)  # right under the masthead
        assert layout["sections"]["findings"]["top"] > box["top"]


# --------------------------------------------------------------------------- findings: one row per check
def test_one_row_per_check_with_the_per_entity_values_folded_in(page):
    rows = page.section("findings").find_all("tr", cls="finding")
    checks = [r.attrs["data-check"] for r in rows]
    assert len(checks) == len(set(checks)), checks
    measured = [f for f in page.report["findings"] if not f.get("depends_on")]
    assert set(checks) == set(f["check"] for f in measured)
    order = ["ok", "warning", "unknown", "critical"]
    for row in rows:
        own = [f for f in measured if f["check"] == row.attrs["data-check"]]
        worst = max((f["severity"] for f in own), key=order.index)
        assert row.attrs["data-severity"] == worst
        assert worst.upper() in row.find("span", cls="badge").words()  # a word, not colour alone
        parts = row.find_all("tr", cls="part")
        located = [f for f in own if f.get("entity") or f.get("target")]
        if len(located) > 1:
            assert sorted(p.attrs["data-entity"] for p in parts) == sorted(
                f.get("entity") or f.get("target") for f in located)
            assert row.find("details") is not None  # folded: open it to see the small table
        else:
            assert not parts
    # the checks that could not be measured are listed under the one they depend on
    for f in page.report["findings"]:
        if f.get("depends_on"):
            parent = [r for r in rows if r.attrs["data-check"] == f["depends_on"]][0]
            assert parent.find("li", data_check=f["check"]) is not None


def test_the_troubled_queue_has_one_delay_row_for_thirteen_entity_types(pages):
    page = pages["critical"]
    delay = [f for f in page.report["findings"] if f["check"] == "sync_delay_minutes"]
    assert len(delay) >= 10  # the default mix has old pending rows in (nearly) every entity type
    rows = page.section("findings").find_all("tr", cls="finding")
    assert len(rows) < len(page.report["findings"]) - len(delay) + 2
    row = [r for r in rows if r.attrs["data-check"] == "sync_delay_minutes"][0]
    assert len(row.find_all("tr", cls="part")) == len(delay)
    summary = row.find("summary").words()
    assert summary.startswith("%d entity types" % len(delay)), summary


def test_values_carry_their_units(page):
    findings = page.section("findings")
    for row in findings.find_all("tr", cls="finding"):
        own = [f for f in page.report["findings"] if f["check"] == row.attrs["data-check"]]
        unit = own[0].get("unit") or ""
        value = row.find("span", cls="value").words()
        if unit in UNIT_FORMS and any(isinstance(f["value"], (int, float)) for f in own):
            assert UNIT_FORMS[unit].match(value), (row.attrs["data-check"], unit, value)
        for part in row.find_all("tr", cls="part"):
            cell = part.find_all("td")[1].words()
            assert UNIT_FORMS[unit].match(cell), (row.attrs["data-check"], cell)
    # no raw minutes with decimals ("2219.1 min") anywhere in the findings
    assert not re.search(r"\d+\.\d+ min", findings.words()), findings.words()
    if page.report["facts"].get("zoho_queue"):
        counts = page.report["facts"]["zoho_queue"]["status_counts"]
        for status, n in counts.items():
            tile = page.section("queue").find("div", cls="tile", data_status=status)
            if tile is not None:
                assert tile.find("div", cls="big").words().lstrip("~") == "{:,}".format(n)


def test_thresholds_are_shown_with_their_units(pages):
    page = pages["critical"]
    rows = dict((r.attrs["data-check"], r) for r in page.section("findings").find_all("tr", cls="finding"))
    limits = rows["sync_delay_minutes"].find("td", cls="limits").words()
    assert "warning above 30 min" in limits and "critical above 2 h" in limits
    assert "critical above 200 rows" in rows["pending"].find("td", cls="limits").words()
    assert "warning above 5 %" in rows["failure_rate_pct"].find("td", cls="limits").words()


# --------------------------------------------------------------------------- error patterns
def test_error_patterns_are_readable(pages):
    page = pages["critical"]
    patterns = page.report["facts"]["zoho_queue"]["error_patterns"]
    items = page.section("errors").find_all("li", cls="error-pattern")
    assert len(items) == len(patterns) > 3
    for item, p in zip(items, patterns):
        shown = item.find("p", cls="pattern")
        assert shown.text() == p["pattern"]  # the pattern, every character of it, as text
        placeholders = [s.text() for s in shown.find_all("span", cls="ph")]
        assert placeholders == re.findall(r"<(?:uuid|hex|n)>", p["pattern"])
        assert item.find("div", cls="pcount").words() == "{:,} {}".format(p["count"], "row" if p["count"] == 1
                                                                           else "rows")
        if p["error_code"]:
            assert item.find("code", cls="code").words() == p["error_code"]
        words = item.words()
        for entity in p["entity_types"][:6]:
            assert entity in words
        if p.get("error_class") or p.get("class"):
            assert item.find("b", cls="error-class").words() == (p.get("error_class") or p.get("class"))
    assert any(s.words() == "<uuid>" for s in page.section("errors").find_all("span", cls="ph"))
    assert "stands for a UUID" in page.section("errors").words()


def test_error_text_that_is_html_or_jinja_stays_text(pages):
    page = pages["warning"]
    assert page.dom.find("script") is None
    assert not [b for b in page.dom.find("main").find_all("b") if not b.attrs.get("class")]  # <b>Zoho</b> is text
    hostile = [p for p in page.report["facts"]["zoho_queue"]["error_patterns"] if "rejected by" in p["pattern"]]
    assert hostile and "{{ lookup('env', 'HOME') }}" in hostile[0]["pattern"]  # the database's text, untemplated
    shown = [p for p in page.section("errors").find_all("p", cls="pattern") if "rejected by" in p.text()]
    assert shown[0].text() == hostile[0]["pattern"]
    assert "<script>alert" not in page.html and "&lt;script&gt;alert" in page.html


def test_a_healthy_queue_says_so_without_failing_rows(pages):
    page = pages["healthy"]
    assert page.section("what-to-do").by_id("nothing-to-do") is not None
    assert all(r.attrs["data-severity"] == "ok" for r in page.section("findings").find_all("tr", cls="finding"))
    assert page.section("errors").find("li", cls="error-pattern") is None
    assert "No failing rows" in page.section("errors").words()


def test_a_database_that_cannot_be_read_is_unknown_and_says_why(pages):
    page = pages["unknown"]
    rows = page.section("findings").find_all("tr", cls="finding")
    database = [r for r in rows if r.attrs["data-check"] == "database"][0]
    assert database.attrs["data-severity"] == "unknown"
    dependents = database.find_all("li", data_severity="unknown")
    assert len(dependents) == len([f for f in page.report["findings"] if f.get("depends_on") == "database"]) > 5
    assert "not read" in page.section("queue").words().lower()
    assert page.report["facts"]["zoho_queue_error"][:40] in page.section("queue").words()


# --------------------------------------------------------------------------- trend charts
def test_trend_charts_have_axes_units_and_thresholds(page):
    trends = page.section("trends")
    charts = trends.find_all("svg", cls="chart")
    assert [c.attrs["id"] for c in charts] == ["chart-backlog", "chart-failure_rate_pct", "chart-delay_minutes"]
    series = page.report["trends"]["series"]
    for chart in charts:
        key = chart.attrs["id"][len("chart-"):]
        texts = [t.words() for t in chart.find_all("text")]
        assert chart.find("title").words() and chart.find("desc").words()
        measured = [v for v in series[key] if v is not None]
        if not measured:
            assert "no measured run yet" in texts
            continue
        assert "time (UTC)" in texts
        assert set(texts) & {"rows", "percent", "minutes", "hours", "days"}, texts
        assert len([t for t in texts if re.match(r"^\d\d:\d\d(:\d\d)?", t)]) >= 1, texts  # time labels
        assert len(chart.find("g", cls="chart-grid").find_all("line")) >= 2  # gridlines
        points = chart.find_all("circle", cls="chart-dot")
        assert len(points) == len(measured) + 1  # one per measured run, the last one ringed
        if len(measured) > 1:
            assert chart.find("polyline", cls="chart-series") is not None
    limits = page.report["thresholds"]["global"]
    by_id = dict((c.attrs["id"], c) for c in charts)
    assert by_id["chart-backlog"].find("line", cls="chart-line-warning") is None
    for key, metric in (("failure_rate_pct", "failure_rate_pct"), ("delay_minutes", "sync_delay_minutes")):
        if [v for v in series[key] if v is not None]:
            label = by_id["chart-" + key].find("text", cls="chart-line-label-warning")
            assert label is not None, key
            assert label.words().startswith("warning ")
    if page.name == "critical":  # far above critical: both lines drawn
        assert by_id["chart-delay_minutes"].find("line", cls="chart-line-critical") is not None
        assert limits["sync_delay_minutes"]["critical"] == 120
        assert "critical 2 h" in [t.words() for t in by_id["chart-delay_minutes"].find_all("text")]


def test_the_backlog_chart_follows_the_runs(pages):
    page = pages["warning"]
    backlog = page.report["trends"]["series"]["backlog"]
    assert len(backlog) == 3 and backlog[0] > backlog[-1]  # the workers work it off
    card = page.section("trends").by_id("trend-backlog")
    assert card.find("span", cls="now").words() == "{:,} rows".format(backlog[-1])
    assert "-{:,} rows since the previous run".format(backlog[-2] - backlog[-1]) in card.words() \
        or backlog[-2] == backlog[-1]


# --------------------------------------------------------------------------- offline
def test_nothing_is_fetched_from_anywhere(page, browser):
    for attr in ("src", "href", "action", "xlink:href", "srcset", "poster", "data"):
        for node in page.dom.iter():
            value = node.attrs.get(attr)
            if value is not None:
                assert value.startswith("#"), (node, attr, value)
    assert page.dom.find("link") is None and page.dom.find("script") is None and page.dom.find("img") is None
    style = page.dom.find("style").text()
    assert "@import" not in style and "url(" not in style and "@font-face" not in style
    assert browser.requests(page.path) == []


def test_the_request_check_sees_an_external_fetch(tmp_path, browser):
    """The net-log check above can fail: a page with an external image is caught."""
    path = tmp_path / "external.html"
    path.write_text('<!DOCTYPE html><html><body><img src="http://203.0.113.9/x.png" alt=""></body></html>')
    assert "http://203.0.113.9/x.png" in browser.requests(str(path))


# --------------------------------------------------------------------------- accessible colours
def _luminance(hex_colour):
    channels = [int(hex_colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b):
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_severity_colours_are_readable_and_never_alone(pages):
    page = pages["critical"]
    style = page.dom.find("style").text()
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", style))
    for sev in ("critical", "unknown", "warning", "info", "ok"):
        # WCAG AA for normal text: the masthead's white on the colour, a badge's colour on its tint
        assert contrast("#ffffff", colours[sev]) >= 4.5, sev
        assert contrast(colours[sev], colours[sev + "-tint"]) >= 4.5, sev
    for badge in page.dom.find_all("span", cls="badge"):
        # every badge has a shape and a word besides its colour
        assert badge.find("use").attrs["href"].startswith("#i-") and badge.words(), badge
    shapes = dict((s.attrs["id"], s) for s in page.dom.find_all("symbol"))
    assert set(shapes) == {"i-critical", "i-unknown", "i-warning", "i-info", "i-ok"}


# --------------------------------------------------------------------------- laptop, phone, paper
def test_screenshots_on_a_laptop_and_a_phone_and_a_pdf(page, browser):
    os.makedirs(ARTIFACTS, exist_ok=True)
    laptop = browser.measure(page.path, width=1300)
    assert laptop["scroll_width"] <= laptop["width"], laptop
    assert not laptop["overflowing"], laptop
    phone = browser.measure(page.path, width=390, height=844)
    assert phone["scroll_width"] <= phone["width"], phone  # no sideways scrolling on a phone
    assert not phone["overflowing"], phone
    for section in phone["sections"].values():
        assert section["right"] <= 390
    shots = {
        "%s-laptop.png" % page.name: dict(width=1300, height=laptop["height"]),
        "%s-laptop-first-screen.png" % page.name: dict(width=1300, height=900),
        "%s-phone.png" % page.name: dict(width=390, height=phone["height"]),
    }
    for name, size in shots.items():
        out = browser.screenshot(page.path, os.path.join(ARTIFACTS, name), **size)
        assert png_size(out) == (size["width"], size["height"]), name
        assert os.path.getsize(out) > 20000, name
    shutil.copyfile(page.path, os.path.join(ARTIFACTS, "%s.html" % page.name))
    shutil.copyfile(os.path.join(page.run.dir, "latest.json"), os.path.join(ARTIFACTS, "%s.json" % page.name))
    pdf = browser.pdf(page.path, os.path.join(ARTIFACTS, "%s.pdf" % page.name))
    with open(pdf, "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    assert os.path.getsize(pdf) > 20000


# --------------------------------------------------------------------------- reports with diagnoses
DIAGNOSES = [
    {"id": "retry_starvation", "severity": "critical",
     "summary": "Retries are starved: the workers fill every batch of 100 with pending rows first.",
     "evidence": [{"name": "overdue retries", "value": 4050, "unit": "rows", "why": "due long ago, never leased"},
                  {"name": "oldest overdue retry", "value": 2219.1, "unit": "min", "why": "waits while new rows pass"},
                  {"name": "failure rate", "value": 12.46, "unit": "%", "why": "the retries themselves are fine"}],
     "remedy": {"command": "ansible-playbook heal.yml -i inventory/demo -l localhost --check --diff",
                "steps": ["Raise the worker batch size or add a worker for retry rows."]},
     "confidence": "high", "entities": ["invoice", "product"]},
    {"id": "internal_worker_error", "severity": "warning",
     "summary": "The worker fails in its own code before it calls Zoho <greenlet_spawn> & co.",
     "evidence": [{"name": "dead letters with attempts left", "value": 37, "unit": "rows",
                   "why": "Zoho never answered: the worker gave up on its own"}],
     "remedy": {"command": None, "steps": ["Read the ERP log for 'greenlet_spawn has not been called'.",
                                           "Fix the worker's session handling, then re-drive the dead letters."]},
     "confidence": "medium", "entities": []},
    {"id": "backlog_burst", "severity": "info", "summary": "A burst of webhooks; the workers keep their pace.",
     "evidence": [], "remedy": {"command": None, "steps": ["Nothing to do; it drains by itself."]},
     "confidence": "low", "entities": []},
]


def render(report, tmp_path, name):
    src = tmp_path / ("%s.json" % name)
    out = tmp_path / ("%s.html" % name)
    src.write_text(json.dumps(report))
    result = run_playbook("tests/health/render_html.yml", "-e", "zoho_html_report_file=%s" % src,
                          "-e", "zoho_html_out=%s" % out)
    assert result.rc == 0, result
    return str(out)


def test_diagnoses_come_first_with_remedy_and_folded_evidence(pages, browser, tmp_path):
    report = copy.deepcopy(pages["critical"].report)
    report["diagnoses"] = DIAGNOSES
    path = render(report, tmp_path, "diagnosed")
    dom = parse(browser.dom(path))
    first = dom.find("main").find("section")
    assert first.attrs["id"] == "what-to-do" and first.attrs["data-source"] == "diagnoses"
    cards = first.find_all("li", cls="action")
    assert [c.attrs["data-id"] for c in cards] == [d["id"] for d in DIAGNOSES]  # their order: cause first
    assert [c.attrs["data-severity"] for c in cards] == ["critical", "warning", "info"]
    for card, diag in zip(cards, DIAGNOSES):
        assert card.find("h3").words() == " ".join(diag["summary"].split())
        assert diag["severity"].upper() in card.find("span", cls="badge").words()
        assert ("Confidence: %s" % diag["confidence"]) in card.words()
        for entity in diag["entities"]:
            assert entity in [c.words() for c in card.find_all("span", cls="chip")]
    starve, internal, burst = cards
    assert [p.text() for p in starve.find_all("pre", cls="cmd")] == [DIAGNOSES[0]["remedy"]["command"]]
    assert "Raise the worker batch size" in starve.find("ol", cls="steps").words()
    evidence = starve.find("details", cls="evidence")
    assert evidence is not None and evidence.attrs.get("open") is None  # folded underneath
    values = [r.find_all("td")[1].words() for r in evidence.find("tbody").find_all("tr")]
    assert values == ["4,050 rows", "1 d 13 h", "12.5 %"]
    assert internal.find("pre", cls="cmd") is None  # no command: its steps instead
    assert [li.words() for li in internal.find("ol", cls="steps").find_all("li")] == DIAGNOSES[1]["remedy"]["steps"]
    assert burst.find("details", cls="evidence") is None
    # the recommendations are derived from the diagnoses: not shown a second time
    assert "Likely cause" not in first.words()
    assert dom.find("script") is None and "&lt;greenlet_spawn&gt;" in open(path).read()


def test_a_healthy_report_with_no_diagnosis_has_nothing_to_do(pages, browser, tmp_path):
    report = copy.deepcopy(pages["healthy"].report)
    report["diagnoses"] = []
    dom = parse(browser.dom(render(report, tmp_path, "healthy-diagnosed")))
    section = dom.find("main").find("section")
    assert section.attrs["data-source"] == "diagnoses"
    assert section.find("li", cls="action") is None and "Nothing to do" in section.words()
    report["diagnoses"] = DIAGNOSES[2:]  # an info diagnosis is shown, and is no alarm
    dom = parse(browser.dom(render(report, tmp_path, "healthy-info")))
    cards = dom.find("main").find("section").find_all("li", cls="action")
    assert [c.attrs["data-severity"] for c in cards] == ["info"]
    assert "INFO" in cards[0].find("span", cls="badge").words()
    assert dom.by_id("overall").attrs["data-overall"] == "ok"


def test_the_diagnosed_page_screenshot(pages, browser, tmp_path):
    report = copy.deepcopy(pages["critical"].report)
    report["diagnoses"] = DIAGNOSES
    path = render(report, tmp_path, "diagnosed")
    os.makedirs(ARTIFACTS, exist_ok=True)
    out = browser.screenshot(path, os.path.join(ARTIFACTS, "critical-diagnosed-laptop-first-screen.png"),
                             width=1300, height=900)
    assert png_size(out) == (1300, 900)
