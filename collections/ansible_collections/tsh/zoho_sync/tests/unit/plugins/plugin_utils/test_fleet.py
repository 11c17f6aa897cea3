# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary and its pages: states, the first diagnosis, hosts that could not be read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import fleet_render as fr
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import fleet_summary as fs

LINKS = {"html": "../h/latest.html", "json": "../h/latest.json", "exists": True, "current": True}
DIAGNOSIS = {"id": "retry_starvation", "severity": "critical",
             "summary": "retry rows are never polled while 100 or more rows are pending",
             "evidence": [{"name": "pending", "value": 4200, "unit": "rows", "why": "a batch is pending first"}],
             "remedy": {"command": None, "steps": ["drain the pending backlog first"]},
             "confidence": "high", "entities": ["invoice"]}
RECOMMENDATION = {"check": "pending", "severity": "warning", "entities": ["invoice"], "problem": "60 rows  pending",
                  "cause": "a burst", "command": "journalctl -u tsh-erp", "then": None}


def report(overall, queue=True, diagnoses=None, recs=None, fails=False, error="", host="h"):
    out = {"host": host, "overall": overall, "generated_at": "2026-03-01T10:00:00Z",
           "facts": {"zoho_queue": {"status_counts": {}} if queue else None, "zoho_queue_error": error},
           "recommendations": recs or [], "summary": {"counts": {}, "backlog": 3, "fails": fails}}
    if diagnoses is not None:
        out["diagnoses"] = diagnoses
    return out


def entry(host, **kw):
    base = {"host": host, "report": None, "failure": None, "unreachable": None, "in_play": True,
            "links": dict(LINKS, html="../%s/latest.html" % host, json="../%s/latest.json" % host),
            "last_report": None}
    base.update(kw)
    return base


def test_first_diagnosis_wins_over_the_first_recommendation():
    first = fs.first_finding(report("critical", diagnoses=[DIAGNOSIS], recs=[RECOMMENDATION]))
    assert first["kind"] == "diagnosis" and first["id"] == "retry_starvation"
    assert first["command"] is None and first["steps"] == ["drain the pending backlog first"]
    assert first["entities"] == ["invoice"] and first["confidence"] == "high"
    # before the diagnoses exist (or when there are none), the first recommendation
    for diagnoses in (None, []):
        first = fs.first_finding(report("warning", diagnoses=diagnoses, recs=[RECOMMENDATION]))
        assert first["kind"] == "recommendation" and first["id"] == "pending"
        assert first["summary"] == "60 rows pending" and first["command"] == "journalctl -u tsh-erp"
        assert first["steps"] == ["a burst"]
    assert fs.first_finding(report("ok")) is None


def test_states_sorted_worst_first_and_unread_hosts_never_ok():
    s = fs.summarize([
        entry("ok-1", report=report("ok")),
        entry("warn-1", report=report("warning", recs=[RECOMMENDATION])),
        # a report that (wrongly) says ok although the queue was not read is still unknown
        entry("pw", report=report("ok", queue=False, error="password authentication failed")),
        entry("down", unreachable="Task failed: Failed to connect to the host via ssh: Connection refused"),
        entry("conf", failure={"task": "Check the thresholds", "msg": "Invalid health thresholds: x"}),
        entry("gone", in_play=False),
        entry("crit", report=report("critical", diagnoses=[DIAGNOSIS], fails=True)),
    ], "2026-03-01T10:01:00Z")
    names = [h["host"] for h in s["hosts"]]
    assert names == ["crit", "conf", "down", "gone", "pw", "warn-1", "ok-1"]
    assert s["overall"] == "critical" and s["counts"] == {"ok": 1, "warning": 1, "unknown": 4, "critical": 1}
    unread = dict((u["host"], u) for u in s["not_read"])
    assert sorted(unread) == ["conf", "down", "gone", "pw"]
    assert unread["down"]["stage"] == fs.UNREACHABLE
    assert unread["down"]["reason"] == "Failed to connect to the host via ssh: Connection refused"
    assert unread["conf"]["stage"] == fs.FAILED_BEFORE_REPORT
    assert unread["conf"]["reason"] == "Check the thresholds: Invalid health thresholds: x"
    assert unread["pw"]["stage"] == fs.QUEUE_NOT_READ and "password authentication failed" in unread["pw"]["reason"]
    assert unread["gone"]["stage"] == fs.NO_RESULT
    assert all(u["state"] == "unknown" for u in unread.values())
    assert sorted(s["failing"]) == ["conf", "crit", "down", "gone"]
    assert s["read"] == 3 and s["not_read_count"] == 4


def test_links_are_current_only_when_the_file_is_this_runs():
    s = fs.summarize([
        entry("a", report=report("ok", host="a")),
        entry("b", report=report("ok", host="b"), links=dict(LINKS, current=False)),
        entry("c", unreachable="x", last_report={"generated_at": "2026-01-01T00:00:00Z", "overall": "ok"}),
        entry("d", unreachable="x", links=dict(LINKS, exists=False)),
    ], "now")
    by = dict((h["host"], h) for h in s["hosts"])
    assert by["a"]["report"] == "../a/latest.html" and by["a"]["report_current"] is True
    assert by["b"]["report_current"] is False
    assert by["c"]["report"] == "../c/latest.html" and by["c"]["report_current"] is False
    assert by["c"]["state"] == "unknown" and by["c"]["last_report"]["overall"] == "ok"
    assert by["d"]["report"] is None and by["d"]["report_json"] is None


def test_text_one_line_per_host_worst_first():
    s = fs.summarize([entry("db-ok", report=report("ok")),
                      entry("db-crit", report=report("critical", diagnoses=[DIAGNOSIS])),
                      entry("erp-x", unreachable="Connection refused")], "t")
    text = fr.render_text(s, ansi=False, page="/r/fleet/latest.html")
    lines = text.splitlines()
    assert lines[0] == "Fleet: 3 hosts - CRITICAL (1 critical, 1 unknown, 0 warning, 1 ok) - 1 not read"
    assert lines[1].startswith("[CRIT] db-crit ") and "retry_starvation: retry rows are never polled" in lines[1]
    assert lines[2].startswith("[ ?? ] erp-x ") and "not read  unreachable: Connection refused" in lines[2]
    assert lines[3].startswith("[ OK ] db-ok ") and lines[3].rstrip().endswith("ok")
    assert lines[4] == "Fleet summary: /r/fleet/latest.html"
    coloured = fr.render_text(s, ansi=True)
    assert "\x1b[1;31m[CRIT]\x1b[0m db-crit" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured).splitlines()[:4] == lines[:4]


def test_html_escapes_everything_and_fetches_nothing():
    evil = "<script>alert(1)</script>"
    s = fs.summarize([entry("a&b", report=report("warning", recs=[dict(RECOMMENDATION, problem=evil)])),
                      entry("c", failure={"task": "t", "msg": evil})], "t")
    html = fr.render_html(s)
    assert "<script" not in html and "&lt;script&gt;" in html
    assert 'data-host="a&amp;b"' in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert html.count('<tr class="host') == 2 and html.count('<tr class="unread"') == 1
    json.dumps(s)  # the summary is plain JSON


def test_an_empty_fleet_is_unknown():
    s = fs.summarize([], "t")
    assert s["overall"] == "unknown" and s["hosts"] == [] and s["hosts_total"] == 0
    assert "Every host was read" in fr.render_html(s)


def test_a_limited_run_says_so():
    s = fs.summarize([entry("a", report=report("ok", host="a"))], "t", limit="a")
    assert s["limit"] == "a"
    assert fr.render_text(s).splitlines()[0].endswith(" - limited to a")
    assert 'id="limit"' in fr.render_html(s)
    assert fs.summarize([], "t")["limit"] is None and 'id="limit"' not in fr.render_html(fs.summarize([], "t"))
