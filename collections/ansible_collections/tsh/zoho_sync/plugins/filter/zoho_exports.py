# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exports of a health report for the monitoring operators already have.

``zoho_prometheus`` renders the health report (the dict the zoho_health role writes as
``latest.json``: ``overall``, ``findings``, ``facts`` with ``zoho_queue``, ``generated_at``,
``host``) in the Prometheus text exposition format, for node_exporter's textfile
collector. Every metric is prefixed ``zoho_sync_``, in base units (seconds, ratios),
with the status counts per entity type as labels. ``zoho_severity_code`` maps a
severity to the Nagios/Prometheus code (0 ok, 1 warning, 2 critical, 3 unknown).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import math

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import (  # noqa: F401
    ERROR_CLASSES,
    SEVERITY_CODES,
    STATUSES,
)


def zoho_severity_code(severity):
    """0 ok, 1 warning, 2 critical, 3 unknown (anything not recognised)."""
    if isinstance(severity, dict):
        severity = severity.get("status", severity.get("severity"))
    return SEVERITY_CODES.get(to_text(severity or "unknown").strip().lower(), 3)


def parse_timestamp(value):
    """ISO 8601 (with Z or an offset; naive means UTC) or epoch seconds -> epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("not a timestamp: %r" % (value,))
    if isinstance(value, (int, float)):
        return float(value)
    text = to_text(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    when = datetime.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def _escape_label(value):
    return to_text(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text):
    return to_text(text).replace("\\", "\\\\").replace("\n", "\\n")


def _number(value):
    """A sample value, or None when the report has none."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number


def _format_value(value):
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Exposition:
    """Collects samples per metric family; renders HELP/TYPE once per family."""

    def __init__(self, base_labels):
        self.base = list(base_labels)
        self.families = []
        self.index = {}
        self.notes = {}

    def note(self, name, text):
        """A comment line before a family (parsers skip it): what a label value stands for."""
        self.notes.setdefault(name, []).append(" ".join(to_text(text).split()))

    def add(self, name, help_text, value, labels=None, mtype="gauge"):
        number = _number(value)
        if number is None:
            return
        if name not in self.index:
            self.index[name] = (help_text, mtype, [])
            self.families.append(name)
        pairs = self.base + sorted((labels or {}).items())
        self.index[name][2].append((pairs, number))

    def render(self):
        lines = []
        for name in self.families:
            help_text, mtype, samples = self.index[name]
            lines.extend("# %s" % note for note in self.notes.get(name, []))
            lines.append("# HELP %s %s" % (name, _escape_help(help_text)))
            lines.append("# TYPE %s %s" % (name, mtype))
            seen = set()
            for pairs, number in samples:
                label_text = ",".join('%s="%s"' % (k, _escape_label(v)) for k, v in pairs)
                if label_text in seen:
                    continue  # a duplicate series would make the whole file unreadable
                seen.add(label_text)
                lines.append("%s{%s} %s" % (name, label_text, _format_value(number)) if label_text
                             else "%s %s" % (name, _format_value(number)))
        return "\n".join(lines) + "\n"


def _dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def queue_facts(report):
    """The zoho_queue facts inside a report (facts.zoho_queue, or facts itself)."""
    facts = report.get("facts") if isinstance(report.get("facts"), dict) else {}
    queue = facts.get("zoho_queue")
    if isinstance(queue, dict):
        return queue
    if "status_counts" in facts:
        return facts
    return {}


def zoho_prometheus(report, host=None):
    if not isinstance(report, dict):
        raise AnsibleFilterError("zoho_prometheus expects the health report (a dict), got %s"
                                 % type(report).__name__)
    queue = queue_facts(report)
    host = host if host is not None else report.get("host") or "unknown"
    base = [("host", host)]
    database = queue.get("database") or _dig(report, "facts", "database")
    if database:
        base.append(("database", database))
    out = _Exposition(base)

    out.add("zoho_sync_health_status", "Overall health: 0 ok, 1 warning, 2 critical, 3 unknown.",
            zoho_severity_code(report.get("overall")))
    try:
        generated = parse_timestamp(report.get("generated_at"))
    except ValueError:
        raise AnsibleFilterError("zoho_prometheus: generated_at %r is not an ISO 8601 timestamp"
                                 % (report.get("generated_at"),))
    out.add("zoho_sync_last_run_timestamp_seconds",
            "When the health run that wrote this file finished gathering (Unix time).", generated)
    try:
        collected = parse_timestamp(queue.get("collected_at"))
    except ValueError:
        collected = None
    out.add("zoho_sync_collected_timestamp_seconds",
            "Database time of the queue snapshot (Unix time).", collected)
    duration = _number(queue.get("duration_ms"))
    out.add("zoho_sync_collection_duration_seconds", "How long gathering the queue facts took.",
            None if duration is None else duration / 1000.0)
    out.add("zoho_sync_facts_available", "1 when the queue facts were gathered, 0 when they were not.",
            1 if queue else 0)

    findings = report.get("findings") or []
    per_severity = dict((s, 0) for s in SEVERITY_CODES)
    for finding in findings:
        if not isinstance(finding, dict):
            continue
        severity = to_text(finding.get("severity") or "unknown").lower()
        per_severity[severity if severity in per_severity else "unknown"] += 1
        labels = {"check": finding.get("check") or "unnamed"}
        for key in ("entity", "target"):
            if finding.get(key):
                labels[key] = finding[key]
        out.add("zoho_sync_check_status", "Status of one check: 0 ok, 1 warning, 2 critical, 3 unknown.",
                zoho_severity_code(severity), labels)
    for severity, count in per_severity.items():
        out.add("zoho_sync_findings", "Findings of the run per severity.", count, {"severity": severity})

    if queue:
        _queue_metrics(out, queue)
    return out.render()


def pattern_id(pattern):
    """A short stable id of an error pattern (its error code and its normalised message): the
    label of its series, so the number of series stays bounded by the patterns that occur, and a
    new wording of a message is a new id rather than free text in a label."""
    key = "%s\0%s" % (to_text(pattern.get("error_code") or ""), to_text(pattern.get("pattern") or ""))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def error_class(pattern):
    """The pattern's error class (from the facts' classification), unknown when it has none."""
    value = to_text(pattern.get("error_class") or pattern.get("class") or "unknown").strip().lower()
    return value if value in ERROR_CLASSES else "unknown"


def _error_metrics(out, patterns):
    """Failing rows per error class (every class, zeros included) and per pattern id for the most
    frequent patterns, each id named in a comment line of the file."""
    patterns = [p for p in patterns if isinstance(p, dict)]
    per_class = dict((name, 0) for name in ERROR_CLASSES)
    for pattern in patterns:
        per_class[error_class(pattern)] += _number(pattern.get("count")) or 0
    for name in ERROR_CLASSES:
        out.add("zoho_sync_error_class_items",
                "Failing rows (failed, retry, dead_letter) of the reported error patterns per error class.",
                per_class[name], {"class": name})
    for pattern in patterns[:10]:
        ident = pattern_id(pattern)
        out.note("zoho_sync_error_pattern_items", "pattern_id %s = %s%s" % (
            ident, "(%s) " % pattern["error_code"] if pattern.get("error_code") else "",
            to_text(pattern.get("pattern") or "")[:160]))
        out.add("zoho_sync_error_pattern_items",
                "Failing rows per error pattern (the most frequent ones; the comments above name each pattern_id).",
                pattern.get("count"), {"pattern_id": ident, "class": error_class(pattern)})


def _queue_metrics(out, q):
    counts = q.get("status_counts") or {}
    for status in sorted(set(STATUSES) | set(counts)):
        out.add("zoho_sync_queue_status_items", "Queue rows per status, all entity types.",
                counts.get(status, 0), {"status": status})
    for status, count in sorted((q.get("unknown_statuses") or {}).items()):
        out.add("zoho_sync_queue_status_items", "Queue rows per status, all entity types.",
                count, {"status": status})
    out.add("zoho_sync_queue_completed_estimated",
            "1 when the completed counts are the planner's estimate (large table).", q.get("completed_estimated"))
    out.add("zoho_sync_queue_live_items", "Queue rows that are not completed (exact).", q.get("live_total"))

    for entity, data in sorted((q.get("entities") or {}).items()):
        if not isinstance(data, dict):
            continue
        for status, count in sorted((data.get("status_counts") or {}).items()):
            out.add("zoho_sync_queue_items", "Queue rows per entity type and status.", count,
                    {"entity": entity, "status": status})
        out.add("zoho_sync_oldest_pending_age_seconds", "Age of the oldest pending row per entity type.",
                data.get("oldest_pending_age_seconds"), {"entity": entity})
        for key, metric, text in (
                ("last_completed_at", "zoho_sync_last_completed_timestamp_seconds",
                 "Last completion per entity type inside the look-back window (Unix time)."),
                ("last_activity_at", "zoho_sync_last_activity_timestamp_seconds",
                 "Latest activity on any row per entity type (Unix time).")):
            try:
                out.add(metric, text, parse_timestamp(data.get(key)), {"entity": entity})
            except ValueError:
                pass
        out.add("zoho_sync_entity_completed_items", "Rows of the entity type completed in the window.",
                data.get("completed_last_hour"), {"entity": entity, "window": "1h"})
        out.add("zoho_sync_entity_completed_items", "Rows of the entity type completed in the window.",
                data.get("completed_last_24h"), {"entity": entity, "window": "24h"})

    stuck = q.get("stuck_locks") or {}
    out.add("zoho_sync_stuck_locks", "Rows whose lease expired long ago but is still held.", stuck.get("count"))
    out.add("zoho_sync_stuck_lock_oldest_age_seconds", "Time since the oldest stuck lease expired.",
            stuck.get("oldest_age_seconds"))
    out.add("zoho_sync_error_pattern_groups", "Distinct error patterns among failing rows.",
            q.get("error_pattern_groups"))
    _error_metrics(out, q.get("error_patterns") or [])

    dead = q.get("dead_letter") or {}
    for key in ("recorded", "unresolved", "unrecorded", "duplicate_records"):
        out.add("zoho_sync_dead_letter_items",
                "Dead letters: recorded, unresolved records, dead_letter rows without a record, duplicate records.",
                dead.get(key), {"state": key})

    retry = q.get("retry") or {}
    for key in ("total", "due", "overdue", "exhausted"):
        out.add("zoho_sync_retry_items", "Retry rows: total, due, overdue; exhausted retry budgets.",
                retry.get(key), {"state": key})
    out.add("zoho_sync_retry_oldest_due_seconds", "How long the oldest retry has been due.",
            retry.get("oldest_due_seconds"))

    thr = q.get("throughput") or {}
    for key, label in (("completed_last_hour", "1h"), ("completed_last_24h", "24h")):
        out.add("zoho_sync_completed_items", "Rows completed in the window.", thr.get(key), {"window": label})
    for key, label in (("failed_last_hour", "1h"), ("failed_last_24h", "24h")):
        out.add("zoho_sync_failed_items", "Rows that failed in the window.", thr.get(key), {"window": label})
    out.add("zoho_sync_failure_ratio", "Failed share of finished work over 24 hours (0-1).", thr.get("failure_rate_24h"))
    per_hour = _number(thr.get("items_per_hour"))
    out.add("zoho_sync_throughput_items_per_second", "Completions per second, 24 hour average.",
            None if per_hour is None else per_hour / 3600.0)
    out.add("zoho_sync_processing_duration_seconds", "Average processing time of a row (24 hours).",
            thr.get("avg_processing_seconds"))
    out.add("zoho_sync_throughput_estimated",
            "1 when the completion, arrival and processing-time figures are estimated from bounded probes.",
            thr.get("estimated"))

    workers = q.get("workers") or {}
    out.add("zoho_sync_worker_active_leases", "Rows under a live lease.", workers.get("active_leases"))
    out.add("zoho_sync_worker_lease_holders", "Distinct lease holders (locked_by).", workers.get("lease_holders"))
    out.add("zoho_sync_worker_last_lease_age_seconds", "Time since a worker last took a lease.",
            workers.get("seconds_since_last_lease"))
    out.add("zoho_sync_worker_old_pending_leased_items",
            "Pending rows over an hour old under a live lease (re-processing loop).", workers.get("old_pending_leased"))
    conns = workers.get("connections") or {}
    for key in ("database", "application", "total"):
        out.add("zoho_sync_db_connections", "Client connections (this database, its application, the server).",
                conns.get(key), {"scope": key})
    out.add("zoho_sync_db_max_connections", "The server's max_connections.", conns.get("max_connections"))
    usage = _number(conns.get("usage_pct"))
    out.add("zoho_sync_db_connection_usage_ratio", "Share of max_connections in use (0-1).",
            None if usage is None else usage / 100.0)
    out.add("zoho_sync_db_idle_in_transaction_connections", "Sessions idle in a transaction on this database.",
            conns.get("idle_in_transaction"))
    out.add("zoho_sync_db_oldest_idle_in_transaction_seconds", "Age of the oldest idle-in-transaction session.",
            conns.get("oldest_idle_in_transaction_seconds"))


class FilterModule(object):
    """Exports of the health report."""

    def filters(self):
        return {
            "zoho_prometheus": zoho_prometheus,
            "zoho_severity_code": zoho_severity_code,
        }
