"""The reports rendered by plugin_utils/report_render.py (Jinja2 itself, compiled once and kept
in Jinja's bytecode cache) are the template lookup's, byte for byte, over reports of every
state: healthy, critical with hostile error texts (HTML, Markdown, ANSI codes, quotes), a queue
that cannot be read, trends over a history, a stopped service, host facts that cannot be read."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_render

from health.test_filter import queue, report

HERE = os.path.dirname(os.path.abspath(__file__))

HOSTILE = "<script>alert('x')</script> | *bold* `tick` \x1b[31mred\x1b[0m \"quoted\" & {{ not_a_template }}"
HISTORY = [{"t": "2026-03-02T%02d:00:00Z" % (5 + i), "overall": "warning", "measured": True, "backlog": b,
            "failed_pct": 0.5, "failure_rate_pct": 1.0 * i, "delay_minutes": 2 * i, "workers_running": True}
           for i, b in enumerate((10, 15, 30, 60, 90))]
STOPPED = {"managed": True, "manager": "docker", "names": ["blue", "green"], "units": {}, "overall": "stopped",
           "reason": "blue is exited; green is missing", "workers": {"read": False, "error": "x"}}


def _pattern(text, code, error_class, by_status):
    """An error pattern as zoho_queue_facts returns it."""
    count = sum(by_status.values())
    return {"pattern": text, "example": text + " 42", "error_code": code, "class": error_class,
            "classes": {error_class: count}, "count": count, "by_status": by_status, "statuses": sorted(by_status),
            "by_entity": {"invoice": count}, "entity_types": ["invoice"], "attempts_left": 1,
            "dead_letter_attempts_left": 0, "first_seen": "2026-03-01T10:00:00+00:00",
            "last_seen": "2026-03-02T10:10:00+00:00", "last_hour": 1, "last_24h": count, "rules": ["a rule"]}


def _reports():
    troubled = queue(
        status_counts__failed=12, status_counts__pending=2350,
        stuck_locks={"count": 3, "oldest_age_seconds": 90 * 60.0, "ids": ["a", "b", "c"], "by_status": {"pending": 3},
                     "stuck_after_minutes": 30},
        retry={"total": 2, "due": 2, "overdue": 2, "oldest_due_seconds": 7200, "exhausted": 2,
               "exhausted_ids": ["e", "f"], "overdue_after_minutes": 15},
        error_patterns=[_pattern(HOSTILE, "ZOHO_400", "zoho_validation", {"failed": 7}),
                        _pattern("HTTP 401 Unauthorized", None, "zoho_auth", {"dead_letter": 2, "retry": 3})],
        error_pattern_groups=2)
    return {
        "healthy": report(queue()),
        "critical": report(troubled, history=HISTORY),
        "unreadable": report(None, error="Cannot connect to database 'tsh': " + HOSTILE),
        "stopped service": report(queue(), service=STOPPED),
        "no host facts": report(queue(), host={"memory": {"read": False, "error": "no /proc/meminfo"}, "disks": []}),
    }


REPORTS = _reports()
RENDERINGS = [("report.json.j2", {}), ("report.md.j2", {}), ("report.html.j2", {}),
              ("summary.txt.j2", {"zoho_health_ansi": True}), ("summary.txt.j2", {"zoho_health_ansi": False}),
              ("zoho_sync.prom.j2", {})]


IDS = ["json", "md", "html", "txt-ansi", "txt", "prom"]


@pytest.fixture(scope="module")
def by_the_lookup(tmp_path_factory):
    """{(state, rendering id): text} as ansible.builtin.template's lookup renders them (what the
    role did before), in a process of its own (tests/health/lookup_render.py)."""
    work = tmp_path_factory.mktemp("lookup")
    cases = [{"id": "%d-%s" % (n, rid), "template": name, "template_vars": extra,
              "variables": {"zoho_health_report": REPORTS[state], "inventory_hostname": "erp-1"}}
             for n, state in enumerate(sorted(REPORTS)) for (name, extra), rid in zip(RENDERINGS, IDS)]
    (work / "cases.json").write_text(json.dumps(cases))
    (work / "out").mkdir()
    subprocess.run([sys.executable, os.path.join(HERE, "lookup_render.py"), str(work / "cases.json"), str(work / "out")],
                   check=True)
    found = {}
    for n, state in enumerate(sorted(REPORTS)):
        for rid in IDS:
            with open(str(work / "out" / ("%d-%s" % (n, rid))), encoding="utf-8", newline="") as f:
                found[(state, rid)] = f.read()
    return found


@pytest.mark.parametrize("state", sorted(REPORTS))
@pytest.mark.parametrize("name,extra", RENDERINGS, ids=IDS)
def test_each_rendering_is_the_template_lookups(by_the_lookup, state, name, extra):
    rid = IDS[RENDERINGS.index((name, extra))]
    variables = {"zoho_health_report": REPORTS[state], "inventory_hostname": "erp-1"}
    got = report_render.render(name, dict(variables, **extra))
    assert got == by_the_lookup[(state, rid)]
    assert got.endswith("\n") and len(got) > 100


def test_the_compiled_templates_are_cached_and_a_bad_cache_costs_a_compilation(tmp_path):
    templates = str(tmp_path / "templates")
    shutil.copytree(report_render.TEMPLATES, templates)
    cache = report_render._bytecode_cache()
    assert cache is not None
    variables = {"zoho_health_report": REPORTS["critical"], "inventory_hostname": "erp-1"}
    first = report_render.render("report.md.j2", variables, templates)
    source = os.path.join(templates, "report.md.j2")
    bucket = cache.get_bucket(report_render.environment(templates), "report.md.j2", source,
                              open(source).read())
    cached = cache._get_cache_filename(bucket)
    assert os.path.basename(cached).startswith("tsh.zoho_sync-") and os.path.getsize(cached) > 1000
    # a new process (a new environment) reads the compiled form; a corrupt file is compiled again
    report_render._ENVIRONMENTS.pop(templates)
    assert report_render.render("report.md.j2", variables, templates) == first
    with open(cached, "wb") as f:
        f.write(b"not bytecode")
    report_render._ENVIRONMENTS.pop(templates)
    assert report_render.render("report.md.j2", variables, templates) == first
    # an edited template is compiled again (the cache is keyed on the text)
    with open(source, "a") as f:
        f.write("edited\n")
    report_render._ENVIRONMENTS.pop(templates)
    assert report_render.render("report.md.j2", variables, templates) == first + "edited\n"


def test_a_template_error_is_one_clear_error(tmp_path):
    (tmp_path / "bad.j2").write_text("{{ zoho_health_report.nothing_here.deeper }}\n")
    with pytest.raises(ValueError, match="The template bad.j2 could not be rendered: .*nothing_here"):
        report_render.render("bad.j2", {"zoho_health_report": {}}, str(tmp_path))
