# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the HTML health report shows, in the order an operator needs it, computed from the
report dict (``latest.json``) without judging anything again:

* ``actions``: what to do first - the report's ``diagnoses`` when it has them (cause,
  remedy command or steps, evidence), else its ``recommendations``;
* ``findings``: one row per check, the per-entity (or per-path) values of that check
  folded into the row, the checks that could not be measured because of another one
  listed under it;
* ``patterns``: the error patterns, placeholders marked, with their share of the failures;
* ``trends``: one chart per trend series (report_charts), with thresholds where they apply.

Every value is formatted with its unit (report_format). Text that is HTML already is in
keys ending ``_html`` (escaped here); everything else is plain text the template escapes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_charts
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report_charts import escape
from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import SEVERITIES
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_format as fmt

# Severities of findings and diagnoses, mildest first: the collection's order, with a
# diagnosis's "info" just above ok.
SEVERITY_RANK = dict((s, i) for i, s in enumerate(SEVERITIES[:1] + ("info",) + SEVERITIES[1:]))

# How the page names the checks of the health report; a check not listed here is shown
# by its id with the underscores as spaces.
CHECK_LABELS = {
    "database": "Database",
    "service": "Service",
    "worker_inactivity_minutes": "Worker activity",
    "reprocessing_loop_signs": "Re-processing loop",
    "stuck_lock_minutes": "Stuck leases",
    "overdue_retries": "Overdue retries",
    "pending": "Pending rows",
    "sync_delay_minutes": "Sync delay",
    "failed": "Failed rows",
    "exhausted_retries": "Retries used up",
    "unrecorded_dead_letters": "Dead letters without a record",
    "duplicate_dead_letter_records": "Duplicate dead-letter records",
    "failure_rate_pct": "Failure rate (24 h)",
    "connection_usage_pct": "Database connections",
    "memory_used_pct": "Memory",
    "disk_used_pct": "Disk space",
    "unknown_statuses": "Unknown statuses",
    "sustained_rise": "Sustained rise",
    "stranded_processing": "Stranded processing rows",
}

# What a value without a unit counts, for the checks whose findings have no unit.
CHECK_NOUNS = {"reprocessing_loop_signs": "sign", "unknown_statuses": "row", "duplicate_dead_letter_records": "record",
               "sustained_rise": "series"}

# The placeholders the queue facts put in an error pattern for what varies between rows.
PLACEHOLDERS = {"n": "a number", "uuid": "a UUID", "hex": "a hexadecimal id"}
_PLACEHOLDER_RE = re.compile(r"&lt;(%s)&gt;" % "|".join(sorted(PLACEHOLDERS, key=len, reverse=True)))

# A recommendation's "command" or "then" that does not start with one of these is prose
# (older reports carry "check the ERP application log on ..." there): shown as a step,
# not in a block meant for pasting into a shell.
COMMAND_WORDS = ("ansible-playbook", "ansible", "sudo", "psql", "journalctl", "systemctl", "docker", "podman",
                 "free", "df", "du", "ps", "grep", "tail", "crontab", "make", "python", "python3", ".venv/bin/")

# The trend series of the report: key, title, unit of the values, thresholds that apply.
TRENDS = (
    ("backlog", "Backlog", "rows", None),
    ("failure_rate_pct", "Failure rate (24 h)", "%", "failure_rate_pct"),
    ("delay_minutes", "Sync delay (oldest pending)", "min", "sync_delay_minutes"),
)

# The " (critical above 120 min)" a finding's message ends with: the page shows the
# thresholds in a column of their own.
_THRESHOLD_SUFFIX = re.compile(r"\s*\((?:warning|critical) above [^()]*\)\s*$")


def _mapping(value):
    return value if isinstance(value, dict) else {}


def severity(value):
    """A known severity, or ``unknown``."""
    text = str(value or "").strip().lower()
    return text if text in SEVERITY_RANK else "unknown"


def check_label(check):
    return CHECK_LABELS.get(check) or str(check or "").replace("_", " ").strip().capitalize()


def looks_like_command(text):
    words = str(text or "").strip().split()
    return bool(words) and any(words[0] == w or (w.endswith("/") and words[0].startswith(w)) for w in COMMAND_WORDS)


def mark_placeholders(text):
    """The error pattern as HTML: escaped, its ``<n>``/``<uuid>``/``<hex>`` placeholders in
    ``<span class="ph">`` with a title saying what they stand for."""
    return _PLACEHOLDER_RE.sub(
        lambda m: '<span class="ph" title="%s">&lt;%s&gt;</span>' % (PLACEHOLDERS[m.group(1)], m.group(1)),
        escape(str(text if text is not None else "")))


def _strings(value):
    if value in (None, ""):
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


# --------------------------------------------------------------------------- what to do
def _remedy(items):
    """The remedy as blocks in reading order, from ``[("command"|"step", text)]``: each
    command a block of its own, consecutive steps one numbered list; labelled "Run",
    "Then", "What to do"/"Steps"."""
    blocks = []
    for kind, text in items:
        if not text:
            continue
        if kind == "step" and blocks and blocks[-1]["type"] == "steps":
            blocks[-1]["items"].append(text)
        elif kind == "step":
            blocks.append({"type": "steps", "label": "", "items": [text]})
        else:
            blocks.append({"type": "command", "label": "", "text": text})
    for index, block in enumerate(blocks):
        if block["type"] == "command":
            block["label"] = "Run" if index == 0 else "Then run"
        elif index == 0:
            block["label"] = "What to do" if len(block["items"]) == 1 else "Steps"
        else:
            block["label"] = "Then"
    return blocks


def _action(kind, ident, sev, title, remedy, **extra):
    action = {"kind": kind, "id": ident, "severity": severity(sev), "title": title, "text": "", "cause": "",
              "eta": "", "confidence": "", "entities": [], "evidence": [], "remedy": _remedy(remedy)}
    action.update(extra)
    commands = [b["text"] for b in action["remedy"] if b["type"] == "command"]
    action["commands"] = commands
    return action


def diagnosis_action(diag):
    remedy = _mapping(diag.get("remedy"))
    evidence = []
    for item in diag.get("evidence") or []:
        if isinstance(item, dict):
            evidence.append({"name": str(item.get("name") or ""),
                             "value": fmt.value(item.get("value"), item.get("unit") or ""),
                             "why": str(item.get("why") or "")})
    steps = [("command", str(remedy.get("command") or ""))] + [("step", t) for t in _strings(remedy.get("steps"))]
    return _action("diagnosis", str(diag.get("id") or ""), diag.get("severity"),
                   str(diag.get("summary") or check_label(diag.get("id"))), steps,
                   confidence=str(diag.get("confidence") or ""), entities=_strings(diag.get("entities")),
                   evidence=evidence)


def recommendation_action(rec):
    items = []
    command = str(rec.get("command") or "")
    items.append(("command" if looks_like_command(command) else "step", command))
    items.extend(("step", t) for t in _strings(rec.get("steps")))
    then = str(rec.get("then") or "")
    if then and looks_like_command(then):
        items.append(("command", then))
    elif then:
        items.append(("step", then[0].upper() + then[1:]))
    return _action("recommendation", str(rec.get("check") or ""), rec.get("severity"), check_label(rec.get("check")),
                   items, text=_THRESHOLD_SUFFIX.sub("", str(rec.get("problem") or "")),
                   cause=str(rec.get("cause") or ""), eta=str(rec.get("eta") or ""),
                   entities=_strings(rec.get("entities")))


def actions(report):
    """(source, actions): the diagnoses when the report has the key, else the recommendations."""
    if isinstance(report.get("diagnoses"), list):
        return "diagnoses", [diagnosis_action(d) for d in report["diagnoses"] if isinstance(d, dict)]
    return "recommendations", [recommendation_action(r) for r in report.get("recommendations") or []
                               if isinstance(r, dict)]


# --------------------------------------------------------------------------- findings
def _worst(findings):
    def key(f):
        num = fmt.number(f.get("value"))
        return (SEVERITY_RANK[severity(f.get("severity"))], num if num is not None else float("-inf"))
    return max(findings, key=key)


def _part(f):
    unit = f.get("unit") or ""
    return {"name": str(f.get("entity") or f.get("target") or ""), "severity": severity(f.get("severity")),
            "value": _value_text(f), "threshold": fmt.thresholds(f.get("warning"), f.get("critical"), unit),
            "message": _THRESHOLD_SUFFIX.sub("", str(f.get("message") or ""))}


def _value_text(f):
    if f.get("value") is None and severity(f.get("severity")) == "unknown":
        return "not measured"
    if f.get("check") == "database" and isinstance(f.get("value"), str):
        return "PostgreSQL %s" % f["value"].split(" (")[0]  # the version; the full text is in the message
    noun = CHECK_NOUNS.get(f.get("check"))
    if not f.get("unit") and noun and fmt.number(f.get("value")) is not None:
        return fmt.count(f.get("value"), noun, "series" if noun == "series" else None)
    return fmt.value(f.get("value"), f.get("unit") or "")


def _tally(parts):
    counts = {}
    for part in parts:
        counts[part["severity"]] = counts.get(part["severity"], 0) + 1
    order = sorted(counts, key=lambda s: -SEVERITY_RANK[s])
    return ", ".join("%d %s" % (counts[s], s) for s in order)


def finding_rows(report):
    """One row per check, in the report's order (worst first)."""
    findings = [f for f in report.get("findings") or [] if isinstance(f, dict) and f.get("check")]
    groups, dependents = {}, {}
    order = []
    for f in findings:
        if f.get("depends_on"):
            dependents.setdefault(f["depends_on"], []).append(f)
            continue
        if f["check"] not in groups:
            groups[f["check"]] = []
            order.append(f["check"])
        groups[f["check"]].append(f)
    for parent, items in list(dependents.items()):
        if parent not in groups:  # nothing to fold them under: rows of their own
            for f in items:
                groups.setdefault(f["check"], []).append(f)
                if f["check"] not in order:
                    order.append(f["check"])
            del dependents[parent]
    rows = []
    for check in order:
        items = groups[check]
        overall = [f for f in items if not f.get("entity") and not f.get("target")]
        parted = [f for f in items if f.get("entity") or f.get("target")]
        head = overall[0] if overall else _worst(items)
        worst = _worst(items)
        unit = head.get("unit") or ""
        parts = [_part(f) for f in parted]
        where = "" if overall or len(parts) > 1 else (parts[0]["name"] if parts else "")
        kind = "path" if any(f.get("target") for f in parted) else "entity type"
        row = {"check": check, "label": check_label(check), "severity": severity(worst.get("severity")),
               "value": _value_text(head), "where": where, "unit": unit,
               "threshold": fmt.thresholds(head.get("warning"), head.get("critical"), unit),
               "limits": fmt.threshold_parts(head.get("warning"), head.get("critical"), unit),
               "message": _THRESHOLD_SUFFIX.sub("", str(head.get("message") or "")),
               "parts": parts if len(parts) > 1 or (overall and parts) else [],
               "part_kind": kind, "parts_summary": "", "parts_preview": "", "parts_thresholds": False,
               "not_measured": [{"check": f["check"], "label": check_label(f["check"]),
                                 "message": str(f.get("message") or "")} for f in dependents.get(check, [])]}
        if row["parts"]:
            plural = "paths" if kind == "path" else "entity types"
            worst_first = sorted(parts, key=lambda p: -SEVERITY_RANK[p["severity"]])
            row["parts_preview"] = ", ".join("%s %s" % (p["name"], p["value"]) for p in worst_first[:3]) + (
                ", ..." if len(parts) > 3 else "")
            row["parts_summary"] = "%d %s: %s" % (len(parts), plural if len(parts) != 1 else kind, _tally(parts))
            # a thresholds column only when some entity has thresholds of its own
            row["parts_thresholds"] = len(set(p["threshold"] for p in parts) | {row["threshold"]}) > 1
            if not overall:  # the headline is the worst part: say where
                row["where"] = "%s: %s" % ("highest" if row["severity"] == "ok" else "worst", _part(worst)["name"])
                row["value"] = _value_text(worst)
                row["message"] = _part(worst)["message"]
                row["threshold"] = fmt.thresholds(worst.get("warning"), worst.get("critical"), unit)
                row["limits"] = fmt.threshold_parts(worst.get("warning"), worst.get("critical"), unit)
        rows.append(row)
    return rows


def row_counts(rows):
    counts = dict((s, 0) for s in SEVERITY_RANK if s != "info")
    for row in rows:
        counts[row["severity"]] = counts.get(row["severity"], 0) + 1
    counts["not_measured"] = sum(len(r["not_measured"]) for r in rows)
    return counts


# --------------------------------------------------------------------------- error patterns
def patterns(report):
    queue = _mapping(_mapping(report.get("facts")).get("zoho_queue"))
    items = [p for p in queue.get("error_patterns") or [] if isinstance(p, dict)]
    counts = queue.get("status_counts") or {}
    failing = sum(fmt.number(counts.get(s)) or 0 for s in ("failed", "retry", "dead_letter"))
    failing = max(failing, sum(fmt.number(p.get("count")) or 0 for p in items))  # counted at different instants
    ref = report.get("generated_at")
    out = []
    for p in items:
        n = fmt.number(p.get("count")) or 0
        share = 100.0 * n / failing if failing else 0.0
        out.append({"count": fmt.count(n), "share": fmt.percent(share), "bar_pct": "%.1f" % min(max(share, 0.5), 100),
                    "code": str(p.get("error_code") or ""),
                    "error_class": str(p.get("error_class") or p.get("class") or ""),
                    "pattern_html": mark_placeholders(p.get("pattern") or "(no error message)"),
                    "example": str(p.get("example") or ""),
                    "statuses": _strings(p.get("statuses")), "entities": _strings(p.get("entity_types")),
                    "first_seen": fmt.age(p.get("first_seen"), ref), "last_seen": fmt.age(p.get("last_seen"), ref),
                    "last_seen_at": fmt.timestamp(p.get("last_seen"))})
    groups = fmt.number(queue.get("error_pattern_groups"))
    return {"items": out, "failing_rows": fmt.count(failing), "groups": int(groups) if groups else len(out),
            "placeholders": [{"name": "<%s>" % k, "means": v} for k, v in sorted(PLACEHOLDERS.items())]}


# --------------------------------------------------------------------------- trends
def _signed(val, unit, per_hour=False):
    """A change with its sign: ``'+14 rows'``, ``'-2 h 5 min'``, ``'+0.4 min'``; ``'no change'``."""
    num = fmt.number(val)
    if num is None:
        return ""
    if num == 0:
        return "no change"
    sign = "+" if num > 0 else "-"
    if per_hour:
        return "%s%s %s per hour" % (sign, fmt.decimal(abs(num), 1), unit or "")
    if unit == "min" and abs(num) < 1:
        return "%s%s min" % (sign, fmt.decimal(abs(num), 1))
    return sign + fmt.value(abs(num), unit)


def trend_cards(report):
    trend = _mapping(report.get("trends"))
    series = _mapping(trend.get("series"))
    times = series.get("t") or []
    limits = _mapping(_mapping(report.get("thresholds")).get("global"))
    cards = []
    for key, title, unit, metric in TRENDS:
        item = _mapping(trend.get(key))
        if key not in series and not item:
            continue
        unit = item.get("unit") or unit
        lines = []
        for kind in ("warning", "critical"):
            level = fmt.number(_mapping(limits.get(metric)).get(kind)) if metric else None
            if level is not None:
                lines.append({"value": level, "kind": kind, "label": kind})
        cards.append({
            "key": key, "title": title, "unit": unit,
            "current": fmt.value(item.get("current"), unit) if item.get("current") is not None else "not measured",
            "change": _signed(item.get("change"), unit),
            "per_hour": _signed(item.get("per_hour"), unit, per_hour=True),
            "measured": any(fmt.number(v) is not None for v in series.get(key) or []),
            "rising": bool(item.get("sustained_rise")), "rising_runs": fmt.number(item.get("rising_runs")) or 0,
            "thresholds": fmt.thresholds(*[ln["value"] for ln in lines], unit=unit) if len(lines) == 2 else "",
            "svg": report_charts.line_chart(times, series.get(key) or [], title, unit, lines,
                                            chart_id="chart-%s" % key),
        })
    criteria = []
    for key, c in sorted((trend.get("success_criteria") or {}).items()):
        if isinstance(c, dict):
            criteria.append({"key": key, "label": str(c.get("label") or key),
                             "share": fmt.percent(100.0 * (fmt.number(c.get("share")) or 0)),
                             "met": fmt.number(c.get("met")) or 0, "runs": fmt.number(c.get("runs")) or 0,
                             "current": bool(c.get("current"))})
    snap = _mapping(report.get("snapshot"))
    return {"cards": cards, "criteria": criteria, "runs": fmt.number(trend.get("runs")) or 0,
            "measured_now": snap.get("measured") is not False,
            "span": fmt.duration_minutes(60.0 * fmt.number(trend.get("hours"))) if fmt.number(trend.get("hours"))
            else "", "first_at": fmt.timestamp(trend.get("first_at")) if trend.get("first_at") else "",
            "sustained_rise": [check_label(k) if k in CHECK_LABELS else str(k).replace("_", " ")
                               for k in trend.get("sustained_rise") or []]}


# --------------------------------------------------------------------------- the page
def build_view(report):
    """Everything the HTML template shows, from the health report dict."""
    if not isinstance(report, dict):
        raise TypeError("the report must be a mapping (the zoho_health_report dict), got %s" % type(report).__name__)
    source, todo = actions(report)
    rows = finding_rows(report)
    return {
        "overall": severity(report.get("overall")),
        "actions_source": source,
        "actions": todo,
        "urgent": [a for a in todo if a["severity"] in ("critical", "unknown", "warning")],
        "findings": rows,
        "counts": row_counts(rows),
        "patterns": patterns(report),
        "trends": trend_cards(report),
        "generated": fmt.timestamp(report.get("generated_at")),
    }
