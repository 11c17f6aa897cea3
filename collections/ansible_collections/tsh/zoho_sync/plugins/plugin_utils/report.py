# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health report: one dict every format is rendered from (JSON, Markdown, HTML,
terminal, Prometheus), assembled from the findings, the trends, the diagnoses and the
recommendations derived from them; and the one-line failure message of a run."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import SEVERITIES, vocabulary
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import diagnosis_rules
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.commands import Commands
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.diagnosis import diagnose
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.evaluation import Evaluation, finding, overall_of, sort_key
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.history import after_heal, heal_marker
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.recommendations import recommendations
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.trends import eta, snapshot, sparkline, trends
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import fmt, now_iso

SCHEMA_VERSION = 2


class ReportError(ValueError):
    """The inputs of a report are not what the role passes."""


def _sustained(trend):
    labels = ", ".join("%s (%s runs in a row, %s %s)" % (
        trend[k]["label"], trend[k]["rising_runs"], fmt(trend[k]["per_hour"]), trend[k]["per_hour_unit"])
        for k in trend["sustained_rise"])
    return finding("sustained_rise", "warning", len(trend["sustained_rise"]), None, "sustained rise: %s" % labels)


def build_report(inputs):
    """The single source of every report format.

    ``inputs``: ``queue`` (the zoho_queue facts, or None), ``queue_error`` (why not),
    ``service`` (zoho_service_status), ``host_facts`` (tsh.zoho_sync.zoho_host_facts),
    ``thresholds`` (zoho_health_thresholds result, or raw thresholds), ``history`` (earlier
    snapshots), ``last_heal`` (the text of last-heal.json, or its dict), ``options``
    (``host``, ``generated_at``, ``run`` (tsh.zoho_sync.zoho_run_context), ``inventory``,
    ``database``, ``trend_window``, ``trend_sustained_runs``, ``worker_batch_size``,
    ``service_become``, ``fail_on``).
    """
    if not isinstance(inputs, dict):
        raise ReportError("zoho_health_report expects a mapping of inputs, got %s" % type(inputs).__name__)
    options = inputs.get("options") or {}
    ev = Evaluation(inputs)
    findings = ev.run()
    generated_at = options.get("generated_at") or now_iso()
    marker = heal_marker(inputs.get("last_heal"))
    previous = ev.history[-1] if ev.history else None
    healed = after_heal(marker, previous, generated_at)
    report = {
        "schema_version": SCHEMA_VERSION,
        "host": options.get("host") or "localhost",
        "generated_at": generated_at,
        "overall": None,
        "diagnoses": [],
        "findings": [],
        "facts": {"zoho_queue": ev.queue, "zoho_queue_error": ev.queue_error, "service": ev.service,
                  "host": ev.host, "last_heal": marker},
        "thresholds": ev.thresholds,
        "vocabulary": vocabulary(),
    }
    findings.sort(key=sort_key)
    report["findings"] = findings
    report["overall"] = overall_of(findings)
    window, runs = options.get("trend_window", 96), options.get("trend_sustained_runs", 3)
    trend = trends(ev.history, snapshot(report, marker, healed), window, runs)
    if trend["sustained_rise"]:
        findings.append(_sustained(trend))
        findings.sort(key=sort_key)
        report["overall"] = overall_of(findings)
    commands = Commands(options, ev.service)
    context = diagnosis_rules.Context(ev, findings, trend, commands)
    report["diagnoses"] = diagnose(context, findings, diagnosis_rules.RULES, diagnosis_rules.FALLBACKS)
    current = snapshot(report, marker, healed)
    trend = trends(ev.history, current, window, runs)
    trend["sparkline"] = dict((k, sparkline(trend["series"][k])) for k in ("backlog", "failure_rate_pct",
                                                                           "delay_minutes"))
    minutes, how, rates = eta(ev.queue) if ev.queue else (None, "the queue was not read", {})
    trend["eta"] = {"minutes": minutes, "unit": "min", "how": how, "rates": rates}
    report["trends"] = trend
    report["recommendations"] = recommendations(report["diagnoses"], findings)
    counts = dict((s, 0) for s in SEVERITIES)
    for f in findings:
        counts[f["severity"]] += 1
    worst = [f for f in findings if f["severity"] == report["overall"] and f["severity"] != "ok"]
    report["summary"] = {
        "counts": counts,
        "worst": ["%s%s" % (f["check"], "[%s]" % (f.get("entity") or f.get("target"))
                            if f.get("entity") or f.get("target") else "") for f in worst],
        "diagnoses": [d["id"] for d in report["diagnoses"] if d["severity"] != "info"],
        "backlog": current.get("backlog"),
        "fail_on": list(options.get("fail_on") or []),
        "fails": report["overall"] in (options.get("fail_on") or []),
    }
    report["snapshot"] = current
    return report


def diagnoses_of(queue, service=None, options=None, thresholds=None):
    """The diagnoses of a queue snapshot alone (no history, no host facts): what the heal
    plan follows. ``thresholds``: raw or effective thresholds (defaults when None)."""
    inputs = {"queue": queue, "service": service, "thresholds": thresholds,
              "host_facts": {"memory": {"read": True, "used_pct": 0, "total_mb": 0, "available_mb": 0},
                             "disks": [{"path": "/", "where": "host", "read": True, "used_pct": 0}]},
              "options": options or {}}
    ev = Evaluation(inputs)
    findings = ev.run()
    context = diagnosis_rules.Context(ev, findings, {}, Commands(options or {}, ev.service))
    return diagnose(context, findings, diagnosis_rules.RULES, diagnosis_rules.FALLBACKS)


def fail_message(report, fail_on=("critical", "unknown"), limit=4):
    """The one line a failing run ends with ('' when the run passes): the overall status,
    the first diagnoses, the worst findings."""
    overall = report.get("overall")
    if overall not in (fail_on or []):
        return ""
    worst, seen = [], set()
    dependent = [f for f in report.get("findings") or [] if f.get("severity") == overall and f.get("depends_on")]
    for f in report.get("findings") or []:  # sorted worst first; one per check (its worst entity)
        if f.get("severity") == overall and f.get("check") not in seen and not f.get("depends_on"):
            seen.add(f.get("check"))
            worst.append(f)
    parts = []
    for f in worst[:limit]:
        where = f.get("entity") or f.get("target")
        value = f.get("value")
        name = "%s%s" % (f["check"], "[%s]" % where if where else "")
        threshold = f.get(f.get("severity")) if f.get("severity") in ("warning", "critical") else None
        if f.get("severity") == "unknown" or threshold is None or not isinstance(value, (int, float)):
            parts.append("%s: %s" % (name, f.get("message")))
        else:
            unit = f.get("unit") or ""
            parts.append("%s=%s (%s above %s)" % (name, fmt(value, unit), f["severity"], fmt(threshold, unit)))
    more = len(worst) - limit
    if more > 0:
        parts.append("and %d more" % more)
    if dependent:
        parts.append("%d metrics not measured because of it" % len(dependent))
    causes = [d["id"] for d in report.get("diagnoses") or [] if d.get("severity") in ("warning", "critical")][:3]
    diagnosed = "diagnosed %s; " % ", ".join(causes) if causes else ""
    text = "Zoho sync health %s on %s: %s%s" % (overall.upper(), report.get("host"), diagnosed, "; ".join(parts))
    return " ".join(text.split())
