# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary of one health run over many hosts: pure functions, no I/O.

``summarize(hosts, generated_at)`` takes one entry per host of the run, as the
``tsh.zoho_sync.zoho_fleet_report`` action collects them::

    {"host": "erp-prod-1",
     "report": <this run's health report dict, or None>,
     "failure": {"task": "...", "msg": "..."} or None,   # why its run failed (rescued)
     "unreachable": "<Ansible's message>" or None,        # the connection probe failed
     "in_play": True,                                      # still active at the end
     "links": {"html": "../erp-prod-1/latest.html", "json": "...", "exists": True,
               "current": True},                           # latest.json is this run's report
     "last_report": {"generated_at": "...", "overall": "ok"} or None}  # an older latest.json

and returns the summary every fleet format is rendered from. A host that could not be
read - unreachable, failed before writing a report, or whose queue could not be read -
is listed under ``not_read`` with the reason and is never ``ok``: its state is at least
``unknown``, whatever an older report said.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

try:  # the severities of the health reports (one definition, in the health filter)
    from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_health import RANK, SEVERITIES
except ImportError:  # pragma: no cover - outside the collection loader
    SEVERITIES = ("ok", "warning", "unknown", "critical")
    RANK = dict((s, i) for i, s in enumerate(SEVERITIES))

SCHEMA_VERSION = 1

# Why a host could not be read (the ``stage`` of a not_read entry).
UNREACHABLE = "unreachable"
FAILED_BEFORE_REPORT = "failed before a report"
QUEUE_NOT_READ = "queue not read"
NO_RESULT = "no result"


def _text(value):
    return " ".join(str(value if value is not None else "").split())


def _state(value):
    return value if value in RANK else "unknown"


def first_finding(report):
    """The first diagnosis of a report (``diagnoses[0]``) when it has one, else its first
    recommendation, as one shape: kind, id, severity, summary, command, steps; or None."""
    report = report or {}
    diagnoses = report.get("diagnoses") or []
    if diagnoses and isinstance(diagnoses[0], dict):
        d = diagnoses[0]
        remedy = d.get("remedy") or {}
        return {"kind": "diagnosis", "id": d.get("id"), "severity": _state(d.get("severity")),
                "summary": _text(d.get("summary")), "command": remedy.get("command"),
                "steps": list(remedy.get("steps") or []), "confidence": d.get("confidence"),
                "entities": list(d.get("entities") or [])}
    recs = report.get("recommendations") or []
    if recs and isinstance(recs[0], dict):
        r = recs[0]
        steps = [_text(r.get(k)) for k in ("cause", "then") if r.get(k)]
        return {"kind": "recommendation", "id": r.get("check"), "severity": _state(r.get("severity")),
                "summary": _text(r.get("problem")), "command": r.get("command"), "steps": steps,
                "confidence": None, "entities": list(r.get("entities") or [])}
    return None


def host_entry(item):
    """One host of the fleet: its state, whether it was read, why not, its first
    diagnosis/recommendation and the link to its report."""
    report = item.get("report") if isinstance(item.get("report"), dict) else None
    failure = item.get("failure") or None
    links = item.get("links") or {}
    entry = {"host": str(item.get("host")), "state": "unknown", "read": False, "stage": None, "reason": None,
             "generated_at": None, "fails": False, "report_fails": False, "first": None, "counts": None, "backlog": None,
             "failure": failure, "report": links.get("html") if links.get("exists") else None,
             "report_json": links.get("json") if links.get("exists") else None,
             "report_current": False, "last_report": item.get("last_report") or None}
    if report is not None:
        summary = report.get("summary") or {}
        queue = (report.get("facts") or {}).get("zoho_queue")
        entry.update(state=_state(report.get("overall")), generated_at=report.get("generated_at"),
                     first=first_finding(report), counts=summary.get("counts"), backlog=summary.get("backlog"),
                     fails=bool(summary.get("fails")) or failure is not None, report_fails=bool(summary.get("fails")),
                     report_current=entry["report"] is not None and bool(links.get("current")))
        if queue:
            entry["read"] = True
        else:
            entry.update(stage=QUEUE_NOT_READ, reason="the queue could not be read: %s" % _text(
                (report.get("facts") or {}).get("zoho_queue_error") or "no reason given"))
    elif item.get("unreachable"):
        reason = _text(item["unreachable"])
        if reason.startswith("Task failed: "):  # Ansible's prefix says nothing here
            reason = reason[len("Task failed: "):]
        entry.update(stage=UNREACHABLE, reason=reason, fails=True)
    elif failure:
        task = _text(failure.get("task"))
        entry.update(stage=FAILED_BEFORE_REPORT, fails=True,
                     reason=("%s: %s" % (task, _text(failure.get("msg")))) if task else _text(failure.get("msg")))
    else:
        entry.update(stage=NO_RESULT, fails=not item.get("in_play", True),
                     reason=("the host failed or was unreachable before a report (see the play output)"
                             if not item.get("in_play", True) else
                             "no health report this run (the role was skipped: tags, --start-at-task or a condition)"))
    if not entry["read"] and RANK[entry["state"]] < RANK["unknown"]:
        entry["state"] = "unknown"  # could not look: never ok, never a mere warning
    return entry


def sort_key(entry):
    """Worst first; inside a state, the hosts that could not be read first; then by name."""
    return (-RANK[entry["state"]], entry["read"], entry["host"])


def summarize(hosts, generated_at, limit=None):
    """The fleet summary (see the module docstring); ``limit`` is the run's --limit, if any
    (the hosts outside it are not in this summary)."""
    entries = sorted((host_entry(h) for h in hosts or []), key=sort_key)
    counts = dict((s, 0) for s in SEVERITIES)
    for e in entries:
        counts[e["state"]] += 1
    overall = entries[0]["state"] if entries else "unknown"
    not_read = [{"host": e["host"], "stage": e["stage"], "reason": e["reason"], "state": e["state"],
                 "report": e["report"], "report_current": e["report_current"], "last_report": e["last_report"]}
                for e in entries if not e["read"]]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "zoho_sync_fleet",
        "generated_at": generated_at,
        "limit": limit or None,
        "overall": overall,
        "hosts_total": len(entries),
        "counts": counts,
        "read": len(entries) - len(not_read),
        "not_read_count": len(not_read),
        "failing": [e["host"] for e in entries if e["fails"]],
        "hosts": entries,
        "not_read": not_read,
    }
