# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The judgement of the zoho_health role: thresholds, findings, overall status,
recommendations, trends and the report dict every report format is rendered from.

Filters (FQCN ``tsh.zoho_sync.<name>``):

``zoho_health_thresholds(thresholds, by_entity={}, entity_types=None)``
    Validate and merge the thresholds over the built-in defaults; raises
    AnsibleFilterError with one message ("Invalid health thresholds: ...") listing every
    problem (warning above critical, negative or non-numeric value, unknown metric,
    per-entity override for an unknown entity or a metric that has no per-entity value).
``zoho_health_threshold_error(thresholds, by_entity={}, entity_types=None)``
    The same check, returning that message ('' when valid), so a role can fail cleanly.
``zoho_health_host_facts(memory, disks)``
    Memory (``/proc/meminfo`` as slurped) and disk usage (``df -P -k`` results) as facts.
``zoho_health_report(inputs)``
    The whole report: ``overall``, ``findings``, ``facts``, ``recommendations``, ``trends``,
    ``summary``, ``generated_at``, ``host`` (see ``build_report``).
``zoho_health_snapshot(report)``
    The compact line a run appends to the per-host history.
``zoho_health_history(text, snapshot=None, keep=2000)``
    Parse a JSON-lines history (bad lines are skipped); with a snapshot, return the new
    file content with it appended, bounded to the last ``keep`` lines.
``zoho_health_fail_message(report, fail_on)``
    The one-line failure message naming the worst findings ('' when the run passes).

Severities and the overall status: ``ok < warning < unknown < critical``. The overall
status is the worst finding. Unknown outranks ok and warning - a metric that could not be
measured must never pass as healthy, and "I cannot see" is worse than a known, mild
problem - but critical outranks unknown: a problem that is known to be serious is the
more urgent message (and both fail the run by default).

A value is judged ``> warning`` -> warning, ``> critical`` -> critical (as in the
original agent configuration: "pending > 50"); a threshold of 0 means "any at all".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import difflib
import json
import math
import os
import shlex

from ansible.errors import AnsibleFilterError

try:  # the entity types of the production enum, from the collection's schema module
    from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import TSH_ENTITY_TYPES
except ImportError:  # pragma: no cover - the filter also works without the collection loader
    TSH_ENTITY_TYPES = ("product", "customer", "invoice", "bill", "credit_note", "stock_adjustment",
                        "price_list", "branch", "USER", "order", "PAYMENT", "VENDOR", "SUPPLIER")

SEVERITIES = ("ok", "warning", "unknown", "critical")
RANK = dict((s, i) for i, s in enumerate(SEVERITIES))
STATUSES = ("pending", "processing", "completed", "failed", "retry", "dead_letter")

# metric: (warning, critical, unit, description)
METRICS = (
    ("pending", 50, 200, "rows", "rows waiting in status pending"),
    ("failed", 5, 10, "rows", "rows in status failed"),
    ("sync_delay_minutes", 30, 120, "min", "age of the oldest pending row, per entity type"),
    ("worker_inactivity_minutes", 15, 30, "min", "time since the last worker activity while work waits"),
    ("stuck_lock_minutes", 30, 60, "min", "time since the oldest lease still held expired"),
    ("unrecorded_dead_letters", 0, 50, "rows", "dead_letter rows without a dead-letter record"),
    ("overdue_retries", 0, 50, "rows", "retry rows whose next_retry_at passed long ago"),
    ("exhausted_retries", 0, 50, "rows", "failed/retry rows whose attempts are used up"),
    ("failure_rate_pct", 5, 20, "%", "failed share of the work finished in the last 24 h"),
    ("reprocessing_loop_signs", 0, 1, "", "signs of the re-processing loop"),
    ("connection_usage_pct", 80, 95, "%", "database connections in use, of max_connections"),
    ("memory_used_pct", 90, 97, "%", "memory in use (MemAvailable) on the host"),
    ("disk_used_pct", 85, 95, "%", "disk space used"),
)
DEFAULT_THRESHOLDS = dict((m[0], {"warning": m[1], "critical": m[2]}) for m in METRICS)
METRIC_NAMES = tuple(m[0] for m in METRICS)
UNITS = dict((m[0], m[3]) for m in METRICS)
DESCRIPTIONS = dict((m[0], m[4]) for m in METRICS)
PERCENT_METRICS = ("failure_rate_pct", "connection_usage_pct", "memory_used_pct", "disk_used_pct")
ENTITY_METRICS = ("pending", "failed", "sync_delay_minutes")

# Error codes of failures that go away by themselves (the worker retries them).
TRANSIENT_CODES = ("RATE_LIMIT", "TIMEOUT", "NETWORK", "ZOHO_429", "ZOHO_500", "ZOHO_502", "ZOHO_503",
                   "ZOHO_504", "CONNECTION_ERROR", "SERVICE_UNAVAILABLE")

# Likely cause of a failure, by error code.
CAUSES = {
    "RATE_LIMIT": "Zoho's API rate limit: too many calls per minute; retries back off and usually recover",
    "ZOHO_429": "Zoho's API rate limit: too many calls per minute; retries back off and usually recover",
    "TIMEOUT": "Zoho's API did not answer in time (network, DNS or a Zoho outage)",
    "NETWORK": "the network path to Zoho drops connections (proxy, firewall, DNS or a Zoho outage)",
    "ZOHO_500": "errors inside Zoho (5xx); usually transient",
    "ZOHO_502": "errors inside Zoho (5xx); usually transient",
    "ZOHO_503": "Zoho is unavailable (5xx); usually transient",
    "ZOHO_404": "the record no longer exists in Zoho (deleted there, or a wrong id): a data problem",
    "AUTH_ERROR": "Zoho rejects the ERP's OAuth token: refresh the Zoho OAuth credentials of the ERP",
    "VALIDATION": "Zoho rejects the data (invalid field values): fix the record in the ERP",
    "MISSING_DEPENDENCY": "a record it refers to (customer, item) is not in Zoho yet: sync that first",
    "STOCK_CONFLICT": "stock levels differ between the ERP and Zoho Inventory",
    "DB_INTEGRITY": "a duplicate key in the ERP database (the same Zoho record synced twice)",
}


# --------------------------------------------------------------------------- numbers
def _number(value):
    """A finite number from an int, a float or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        number = value
    else:
        try:
            number = float(str(value).strip())
        except ValueError:
            return None
        if number == int(number) and "." not in str(value) and "e" not in str(value).lower():
            number = int(number)
    if isinstance(number, float) and (math.isnan(number) or math.isinf(number)):
        return None
    return number


def _round(value, digits=1):
    if value is None:
        return None
    value = round(float(value), digits)
    return int(value) if value == int(value) else value


def _fmt(value, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = _round(value, 1)
    text = "{:,}".format(value) if isinstance(value, int) else str(value)
    if unit in ("%",):
        return text + "%"
    if unit in ("min",):
        return "%s min" % text
    return text


def _duration(minutes):
    """Minutes as '45 min', '3 h 10 min', '2 d 4 h'."""
    if minutes is None:
        return "n/a"
    if float(minutes) < 1:
        return "under a minute"
    minutes = int(round(float(minutes)))
    if minutes < 60:
        return "%d min" % minutes
    hours, mins = divmod(minutes, 60)
    if hours < 48:
        return "%d h %d min" % (hours, mins) if mins else "%d h" % hours
    days, hours = divmod(hours, 24)
    return "%d d %d h" % (days, hours) if hours else "%d d" % days


def _parse_time(value):
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
    text = str(value).strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when


def _iso(when):
    return when.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z") if when else None


def _dig(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# --------------------------------------------------------------------------- thresholds
def _as_mapping(value, what):
    if value is None or value == "":
        return {}, None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, "%s must be a mapping, got the text %r" % (what, value[:60])
    if not isinstance(value, dict):
        return None, "%s must be a mapping, got %s" % (what, type(value).__name__)
    return value, None


def _suggest(name, choices):
    lowered = dict((c.lower(), c) for c in choices)
    if str(name).lower() in lowered:  # the entity enum is mixed case (USER, PAYMENT)
        close = [lowered[str(name).lower()]]
    else:
        close = difflib.get_close_matches(str(name), list(choices), n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def _check_pair(where, metric, pair, base, problems):
    """Validate one {warning, critical} mapping merged over ``base``; return the result."""
    if not isinstance(pair, dict):
        problems.append("%s.%s must be a mapping with warning and critical, got %r" % (where, metric, pair))
        return dict(base)
    merged = dict(base)
    ok = True
    for key, raw in pair.items():
        if key not in ("warning", "critical"):
            problems.append("%s.%s has an unknown key %r (only warning and critical)" % (where, metric, key))
            ok = False
            continue
        number = _number(raw)
        if number is None:
            problems.append("%s.%s.%s must be a number, got %r" % (where, metric, key, raw))
            ok = False
        elif number < 0:
            problems.append("%s.%s.%s must not be negative, got %s" % (where, metric, key, raw))
            ok = False
        elif metric in PERCENT_METRICS and number > 100:
            problems.append("%s.%s.%s is a percentage and must be at most 100, got %s" % (where, metric, key, raw))
            ok = False
        else:
            merged[key] = number
    if ok and merged["warning"] > merged["critical"]:
        problems.append("%s.%s: warning (%s) is above critical (%s)"
                        % (where, metric, merged["warning"], merged["critical"]))
    return merged


def validate_thresholds(thresholds=None, by_entity=None, entity_types=None):
    """Return (effective thresholds, [problems])."""
    problems = []
    effective = {"global": dict((m, dict(DEFAULT_THRESHOLDS[m])) for m in METRIC_NAMES), "by_entity": {}}
    entity_types = list(entity_types) if entity_types else list(TSH_ENTITY_TYPES)
    mapping, error = _as_mapping(thresholds, "zoho_health_thresholds")
    if error:
        problems.append(error)
        mapping = {}
    for metric, pair in mapping.items():
        if metric not in METRIC_NAMES:
            problems.append("zoho_health_thresholds: unknown metric %r%s (known metrics: %s)"
                            % (metric, _suggest(metric, METRIC_NAMES), ", ".join(METRIC_NAMES)))
            continue
        effective["global"][metric] = _check_pair("zoho_health_thresholds", metric, pair,
                                                  DEFAULT_THRESHOLDS[metric], problems)
    entities, error = _as_mapping(by_entity, "zoho_health_thresholds_by_entity")
    if error:
        problems.append(error)
        entities = {}
    for entity, metrics in entities.items():
        where = "zoho_health_thresholds_by_entity.%s" % entity
        if entity not in entity_types:
            problems.append("zoho_health_thresholds_by_entity: unknown entity type %r%s (known: %s)"
                            % (entity, _suggest(entity, entity_types), ", ".join(entity_types)))
            continue
        metrics, error = _as_mapping(metrics, where)
        if error:
            problems.append(error)
            continue
        for metric, pair in metrics.items():
            if metric not in ENTITY_METRICS:
                if metric in METRIC_NAMES:
                    problems.append("%s: metric %r has no per-entity value (per-entity metrics: %s)"
                                    % (where, metric, ", ".join(ENTITY_METRICS)))
                else:
                    problems.append("%s: unknown metric %r%s (per-entity metrics: %s)"
                                    % (where, metric, _suggest(metric, ENTITY_METRICS), ", ".join(ENTITY_METRICS)))
                continue
            effective["by_entity"].setdefault(entity, {})[metric] = _check_pair(
                where, metric, pair, effective["global"][metric], problems)
    return effective, problems


def threshold_error(thresholds=None, by_entity=None, entity_types=None):
    _effective, problems = validate_thresholds(thresholds, by_entity, entity_types)
    return "Invalid health thresholds: %s" % "; ".join(problems) if problems else ""


def effective_thresholds(thresholds=None, by_entity=None, entity_types=None):
    effective, problems = validate_thresholds(thresholds, by_entity, entity_types)
    if problems:
        raise AnsibleFilterError("Invalid health thresholds: %s" % "; ".join(problems))
    return effective


def _limits(thresholds, metric, entity=None):
    if entity is not None and metric in (_dig(thresholds, "by_entity", entity) or {}):
        return thresholds["by_entity"][entity][metric]
    return thresholds["global"][metric]


# --------------------------------------------------------------------------- host facts
def _statvfs_disk(path):
    """Disk usage of ``path`` on the control node (this filter runs there), read from the
    nearest existing directory (the report directory may not exist before the first run)."""
    disk = {"path": path, "where": "control node", "read": False, "error": None}
    probe = os.path.abspath(os.path.expanduser(str(path)))
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    try:
        st = os.statvfs(probe)
    except OSError as exc:
        disk["error"] = "cannot read %s: %s" % (probe, exc.strerror or exc)
        return disk
    size = st.f_blocks * st.f_frsize
    avail = st.f_bavail * st.f_frsize
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    disk.update(read=True, filesystem=None, mount=probe, size_mb=size // 1048576, used_mb=used // 1048576,
                available_mb=avail // 1048576,
                used_pct=_round(100.0 * used / (used + avail), 1) if used + avail else 0)
    return disk


def host_facts(memory=None, disks=None, control_paths=None):
    """Memory from a slurped /proc/meminfo, disk usage from ``df -P -k PATH`` results read on
    the host (``disks``) and of ``control_paths`` on the control node (the report directory)."""
    facts = {"memory": {"read": False, "error": None}, "disks": []}
    mem = memory if isinstance(memory, dict) else {}
    text = None
    if mem.get("content"):
        try:
            text = base64.b64decode(mem["content"]).decode("utf-8", "replace")
        except (ValueError, TypeError):
            facts["memory"]["error"] = "unreadable /proc/meminfo"
    elif isinstance(memory, str):
        text = memory
    if text:
        values = {}
        for line in text.splitlines():
            key, sep, rest = line.partition(":")
            if sep and rest.split():
                try:
                    values[key.strip()] = int(rest.split()[0])
                except ValueError:
                    pass
        total, available = values.get("MemTotal"), values.get("MemAvailable")
        if available is None and total is not None and "MemFree" in values:
            available = values["MemFree"] + values.get("Buffers", 0) + values.get("Cached", 0)
        if total:
            facts["memory"] = {
                "read": True, "error": None, "total_mb": total // 1024, "available_mb": (available or 0) // 1024,
                "used_pct": _round(100.0 * (total - (available or 0)) / total, 1),
                "swap_total_mb": values.get("SwapTotal", 0) // 1024,
                "swap_used_mb": (values.get("SwapTotal", 0) - values.get("SwapFree", 0)) // 1024,
            }
        else:
            facts["memory"]["error"] = "no MemTotal in /proc/meminfo"
    elif not facts["memory"]["error"]:
        facts["memory"]["error"] = mem.get("msg") or "memory not read"
    results = [(r, "host") for r in (disks.get("results", [disks]) if isinstance(disks, dict) else (disks or []))]
    for result, where in results:
        if not isinstance(result, dict) or result.get("skipped"):
            continue
        path = result.get("item")
        if isinstance(path, dict):
            where, path = path.get("where", where), path.get("path")
        if path is None:
            cmd = result.get("cmd")
            path = cmd[-1] if isinstance(cmd, list) and cmd else None
        disk = {"path": path, "where": where, "read": False, "error": None}
        lines = (result.get("stdout") or "").splitlines()
        if result.get("rc") == 0 and len(lines) >= 2:
            fields = " ".join(lines[1:]).split()
            try:
                size, used, avail = int(fields[1]), int(fields[2]), int(fields[3])
                disk.update(read=True, filesystem=fields[0], mount=fields[-1], size_mb=size // 1024,
                            used_mb=used // 1024, available_mb=avail // 1024,
                            used_pct=_round(100.0 * used / (used + avail), 1) if used + avail else 0)
            except (IndexError, ValueError):
                disk["error"] = "unreadable df output"
        else:
            text = (result.get("stderr") or result.get("msg") or "df failed").strip()
            disk["error"] = text.splitlines()[-1] if text else "df failed"
        facts["disks"].append(disk)
    if isinstance(control_paths, str):
        control_paths = [control_paths]
    for path in control_paths or []:
        if path:
            facts["disks"].append(_statvfs_disk(path))
    return facts


# --------------------------------------------------------------------------- findings
def _finding(check, severity, value, limits=None, message="", entity=None, **extra):
    item = {"check": check, "entity": entity, "severity": severity, "value": value,
            "warning": limits.get("warning") if limits else None,
            "critical": limits.get("critical") if limits else None,
            "unit": UNITS.get(check, ""), "message": message, "target": None}
    item.update(extra)
    return item


def classify(value, limits):
    if value is None:
        return "unknown"
    if value > limits["critical"]:
        return "critical"
    if value > limits["warning"]:
        return "warning"
    return "ok"


def _threshold_text(value, limits, unit):
    if value is None:
        return ""
    if value > limits["critical"]:
        return " (critical above %s)" % _fmt(limits["critical"], unit)
    if value > limits["warning"]:
        return " (warning above %s)" % _fmt(limits["warning"], unit)
    return ""


class Evaluation(object):
    """Everything measured, judged against the thresholds."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.thresholds = inputs.get("thresholds") or effective_thresholds()
        if "global" not in self.thresholds:
            self.thresholds = effective_thresholds(self.thresholds)
        self.queue = inputs.get("queue") if isinstance(inputs.get("queue"), dict) else None
        self.queue_error = inputs.get("queue_error") or None
        if self.queue is None and not self.queue_error:
            self.queue_error = "the queue facts were not gathered"
        self.service = inputs.get("service") if isinstance(inputs.get("service"), dict) else None
        self.host = inputs.get("host_facts") if isinstance(inputs.get("host_facts"), dict) else {}
        self.options = inputs.get("options") or {}
        self.history = [h for h in (inputs.get("history") or []) if isinstance(h, dict)]
        self.findings = []
        self.signs = []

    # -- helpers --------------------------------------------------------------
    def q(self, *keys):
        return _dig(self.queue, *keys)

    def add(self, *args, **kwargs):
        self.findings.append(_finding(*args, **kwargs))

    def metric(self, check, value, message, entity=None, **extra):
        limits = _limits(self.thresholds, check, entity)
        severity = classify(value, limits)
        self.add(check, severity, value, limits, message + _threshold_text(value, limits, UNITS[check]),
                 entity=entity, **extra)
        return severity

    def unknown(self, check, why, entity=None, **extra):
        limits = _limits(self.thresholds, check, entity) if check in METRIC_NAMES else None
        self.add(check, "unknown", None, limits, "not measured: %s" % why, entity=entity, **extra)

    # -- checks ---------------------------------------------------------------
    def run(self):
        self.check_database()
        self.check_service()
        if self.queue is None:
            why = "the queue could not be read (see the database finding)"
            for check in ("worker_inactivity_minutes", "pending", "failed", "sync_delay_minutes",
                          "stuck_lock_minutes", "unrecorded_dead_letters", "overdue_retries",
                          "exhausted_retries", "failure_rate_pct", "reprocessing_loop_signs",
                          "connection_usage_pct"):
                self.unknown(check, why, depends_on="database")
        else:
            self.check_workers()
            self.check_backlog()
            self.check_delay()
            self.check_leases()
            self.check_dead_letters()
            self.check_retries()
            self.check_failure_rate()
            self.check_reprocessing()
            self.check_connections()
            self.check_schema()
        self.check_memory()
        self.check_disks()
        return self.findings

    def check_database(self):
        if self.queue is None:
            self.add("database", "unknown", None, None, "cannot read the queue: %s" % self.queue_error)
            return
        self.add("database", "ok", self.q("server_version"), None,
                 "read %s in %s in %s ms (PostgreSQL %s)"
                 % (self.q("queue_table"), self.q("database"), self.q("duration_ms"), self.q("server_version")))

    def check_service(self):
        svc = self.service
        if not svc or not svc.get("managed"):
            return  # a database-only host: nothing to check (worker activity comes from the queue)
        names = ", ".join(svc.get("names") or [])
        overall = svc.get("overall")
        if overall == "running":
            units = svc.get("units") or {}
            detail = ", ".join("%s %s" % (n, (units.get(n) or {}).get("state")) for n in svc.get("names") or [])
            self.add("service", "ok", "running", None, "%s: %s" % (svc.get("manager"), detail))
        elif overall == "stopped":
            self.add("service", "critical", "stopped", None,
                     "%s service %s is not running: %s" % (svc.get("manager"), names, svc.get("reason")))
        else:
            self.add("service", "unknown", None, None,
                     "state of %s (%s) unknown: %s" % (names, svc.get("manager"), svc.get("reason")))

    def work_waiting(self):
        pending = self.q("status_counts", "pending") or 0
        due = self.q("retry", "due") or 0
        return pending + due

    def last_activity(self):
        """(seconds since the last worker activity, where it was seen) from the log and the queue."""
        candidates = []
        since_lease = self.q("workers", "seconds_since_last_lease")
        if since_lease is not None:
            candidates.append((float(since_lease), "a lease was taken"))
        collected = _parse_time(self.q("collected_at"))
        last_done = None
        for entity in (self.q("entities") or {}).values():
            when = _parse_time((entity or {}).get("last_completed_at"))
            if when and (last_done is None or when > last_done):
                last_done = when
        if last_done and collected:
            candidates.append((max(0.0, (collected - last_done).total_seconds()), "a row was completed"))
        workers = (self.service or {}).get("workers") or {}
        if workers.get("seconds_since_activity") is not None:
            candidates.append((float(workers["seconds_since_activity"]), "the worker logged"))
        if not candidates:
            return None, None
        return min(candidates, key=lambda c: c[0])

    def check_workers(self):
        waiting = self.work_waiting()
        since, source = self.last_activity()
        workers = (self.service or {}).get("workers") or {}
        log_text = ""
        if workers.get("read"):
            c = workers.get("counts") or {}
            log_text = "; log (%s min): %s processing, %s processed, %s retried, %s dead-lettered, %s starts" % (
                workers.get("window_minutes"), c.get("processing", 0), c.get("processed", 0),
                c.get("retried", 0), c.get("dead_lettered", 0), c.get("started", 0))
        elif (self.service or {}).get("managed"):
            log_text = "; worker log not read (%s)" % workers.get("error")
        if not waiting:
            value = _round(since / 60.0, 1) if since is not None else None
            self.add("worker_inactivity_minutes", "ok", value,
                     _limits(self.thresholds, "worker_inactivity_minutes"),
                     "no work waiting (nothing pending or due)" + (
                         "; last activity %s ago (%s)" % (_duration(value), source) if value is not None else "")
                     + log_text)
            return
        if since is None:
            lookback = self.q("throughput", "lookback_hours") or 24
            value = 24 * 60
            limits = _limits(self.thresholds, "worker_inactivity_minutes")
            self.add("worker_inactivity_minutes", classify(value, limits), value, limits,
                     "%s rows wait and no worker activity was seen (no lease taken in the last 24 h, "
                     "no completion in %s h%s)" % (waiting, lookback, ", no worker log line" if workers.get("read")
                                                   else "") + log_text)
            return
        value = _round(since / 60.0, 1)
        self.metric("worker_inactivity_minutes", value,
                    "%s rows wait; last worker activity %s ago (%s)" % (waiting, _duration(value), source) + log_text)

    def check_backlog(self):
        counts = self.q("status_counts") or {}
        entities = self.q("entities") or {}
        pending = counts.get("pending", 0)
        top = sorted(((e, (d.get("status_counts") or {}).get("pending", 0)) for e, d in entities.items()),
                     key=lambda x: -x[1])
        top_text = ", ".join("%s %s" % (e, n) for e, n in top[:3] if n)
        self.metric("pending", pending, "%s rows pending%s" % (_fmt(pending), " (%s)" % top_text if top_text else ""))
        failed = counts.get("failed", 0)
        self.metric("failed", failed, "%s rows failed (%s of them out of retries)" % (
            _fmt(failed), _fmt(self.q("retry", "exhausted") or 0)) if failed else "no rows in status failed")
        for entity, overrides in sorted((self.thresholds.get("by_entity") or {}).items()):
            sc = (entities.get(entity) or {}).get("status_counts") or {}
            for check in ("pending", "failed"):
                if check in overrides:
                    n = sc.get(check, 0)
                    self.metric(check, n, "%s: %s rows %s" % (entity, _fmt(n), check), entity=entity)

    def check_delay(self):
        entities = self.q("entities") or {}
        delays = []
        for entity, data in sorted(entities.items()):
            age = (data or {}).get("oldest_pending_age_seconds")
            if age is not None and ((data.get("status_counts") or {}).get("pending", 0) > 0):
                delays.append((entity, _round(float(age) / 60.0, 1), data))
        if not delays:
            self.add("sync_delay_minutes", "ok", 0, _limits(self.thresholds, "sync_delay_minutes"),
                     "nothing pending: no sync delay")
            return
        for entity, minutes, data in delays:
            self.metric("sync_delay_minutes", minutes,
                        "oldest pending %s waits %s (%s pending)" % (
                            entity, _duration(minutes), _fmt((data.get("status_counts") or {}).get("pending", 0))),
                        entity=entity)

    def check_leases(self):
        stuck = self.q("stuck_locks") or {}
        count = stuck.get("count") or 0
        if not count:
            self.add("stuck_lock_minutes", "ok", 0, _limits(self.thresholds, "stuck_lock_minutes"),
                     "no lease expired more than %s min ago is still held" % stuck.get("stuck_after_minutes", "?"),
                     count=0)
            return
        minutes = _round(float(stuck.get("oldest_age_seconds") or 0) / 60.0, 1)
        by_status = ", ".join("%s %s" % (k, v) for k, v in sorted((stuck.get("by_status") or {}).items()))
        self.metric("stuck_lock_minutes", minutes,
                    "%s rows still carry a lease that expired over %s min ago; the oldest expired %s ago (%s)"
                    % (_fmt(count), stuck.get("stuck_after_minutes"), _duration(minutes), by_status),
                    count=count, sample_ids=(stuck.get("ids") or [])[:5])

    def check_dead_letters(self):
        dead = self.q("dead_letter") or {}
        n = dead.get("unrecorded") or 0
        self.metric("unrecorded_dead_letters", n,
                    "%s of %s dead_letter rows have no dead-letter record (recorded: %s, unresolved: %s)" % (
                        _fmt(n), _fmt(dead.get("queue_rows", 0)), _fmt(dead.get("recorded", 0)),
                        _fmt(dead.get("unresolved", 0))), sample_ids=(dead.get("unrecorded_ids") or [])[:5])
        if dead.get("duplicate_records"):
            self.add("duplicate_dead_letter_records", "warning", dead["duplicate_records"], None,
                     "%s dead-letter records duplicate another record of the same queue row"
                     % dead["duplicate_records"])

    def check_retries(self):
        retry = self.q("retry") or {}
        overdue = retry.get("overdue") or 0
        self.metric("overdue_retries", overdue,
                    "%s of %s retry rows are overdue by more than %s min (%s due; oldest due %s ago)" % (
                        _fmt(overdue), _fmt(retry.get("total", 0)), retry.get("overdue_after_minutes", "?"),
                        _fmt(retry.get("due", 0)), _duration((retry.get("oldest_due_seconds") or 0) / 60.0)))
        exhausted = retry.get("exhausted") or 0
        self.metric("exhausted_retries", exhausted,
                    "%s failed/retry rows have used up their attempts and are not dead-lettered" % _fmt(exhausted),
                    sample_ids=(retry.get("exhausted_ids") or [])[:5])

    def check_failure_rate(self):
        tp = self.q("throughput") or {}
        rate = tp.get("failure_rate_24h")
        done, failed = tp.get("completed_last_24h", 0), tp.get("failed_last_24h", 0)
        if rate is None:
            self.add("failure_rate_pct", "ok", None, _limits(self.thresholds, "failure_rate_pct"),
                     "no work finished or failed in the last 24 h")
            return
        value = _round(float(rate) * 100.0, 1)
        top = self.top_error()
        self.metric("failure_rate_pct", value,
                    "%s failed vs %s completed in 24 h%s" % (
                        _fmt(failed), _fmt(done),
                        "; top error: %s (%s, %s rows)" % (top.get("pattern"), top.get("error_code"), top.get("count"))
                        if top else ""))

    def top_error(self):
        patterns = self.q("error_patterns") or []
        return patterns[0] if patterns else None

    def check_reprocessing(self):
        tp = self.q("throughput") or {}
        workers = self.q("workers") or {}
        signs = []
        since_lease = workers.get("seconds_since_last_lease")
        if (tp.get("completed_last_hour") or 0) == 0 and since_lease is not None and since_lease < 3600:
            signs.append("zero completions in the last hour while workers keep taking leases (last %s ago)"
                         % _duration(since_lease / 60.0))
        if workers.get("old_pending_leased"):
            signs.append("%s pending rows over an hour old sit under a live lease" % workers["old_pending_leased"])
        grew = self.dead_letter_growth()
        if grew:
            signs.append(grew)
        log = (self.service or {}).get("workers") or {}
        processed = (log.get("counts") or {}).get("processed", 0) if log.get("read") else 0
        if processed and (tp.get("completed_last_hour") or 0) == 0:
            signs.append("the worker logged %s 'Event processed successfully' in %s min but no row was completed"
                         % (processed, log.get("window_minutes")))
        self.signs = signs
        self.metric("reprocessing_loop_signs", len(signs),
                    "; ".join(signs) if signs else "no sign of the re-processing loop")

    def dead_letter_growth(self):
        previous = self.history[-1] if self.history else None
        now_dead = self.q("status_counts", "dead_letter") or 0
        before = (previous or {}).get("dead_letter")
        if before is None or now_dead <= before:
            return None
        transient = [c.upper() for c in (self.options.get("transient_error_codes") or TRANSIENT_CODES)]
        dead_patterns = [p for p in (self.q("error_patterns") or []) if "dead_letter" in (p.get("statuses") or [])]
        if dead_patterns and all(str(p.get("error_code") or "").upper() in transient for p in dead_patterns):
            return "dead_letter grew from %s to %s with transient errors only (%s)" % (
                before, now_dead, ", ".join(sorted(set(str(p.get("error_code")) for p in dead_patterns))))
        return None

    def check_connections(self):
        conns = self.q("workers", "connections") or {}
        usage = conns.get("usage_pct")
        if usage is None:
            self.unknown("connection_usage_pct", "pg_stat_activity gave no connection count")
            return
        idle = conns.get("idle_in_transaction") or 0
        self.metric("connection_usage_pct", _round(usage, 1),
                    "%s of %s connections in use (%s on this database, %s of them the application)%s" % (
                        conns.get("total"), conns.get("max_connections"), conns.get("database"),
                        conns.get("application"),
                        "; %s idle in transaction, the oldest for %s" % (
                            idle, _duration((conns.get("oldest_idle_in_transaction_seconds") or 0) / 60.0))
                        if idle else ""))

    def check_schema(self):
        unknown = self.q("unknown_statuses") or {}
        if unknown:
            # rows in a status no check understands are rows no check looked at: the
            # truthful answer is "unknown", never a mere warning (issue 6, truthful health)
            self.add("unknown_statuses", "unknown", sum(unknown.values()), None,
                     "rows with statuses this collection does not know: %s (the enum changed?)"
                     % ", ".join("%s %s" % kv for kv in sorted(unknown.items())))

    def check_memory(self):
        mem = self.host.get("memory") or {}
        if not mem.get("read"):
            self.unknown("memory_used_pct", mem.get("error") or "memory not read")
            return
        self.metric("memory_used_pct", mem.get("used_pct"),
                    "%s MB of %s MB in use, %s MB available" % (
                        mem["total_mb"] - mem["available_mb"], mem["total_mb"], mem["available_mb"]))

    def check_disks(self):
        disks = self.host.get("disks") or []
        if not disks:
            self.unknown("disk_used_pct", "no disk was read")
        for disk in disks:
            label = "%s (%s)" % (disk.get("path"), disk.get("where"))
            if not disk.get("read"):
                self.unknown("disk_used_pct", "%s: %s" % (label, disk.get("error")), target=disk.get("path"))
                continue
            self.metric("disk_used_pct", disk.get("used_pct"),
                        "%s: %s MB free of %s MB on %s"
                        % (label, _fmt(disk.get("available_mb")), _fmt(disk.get("size_mb")), disk.get("mount")),
                        target=disk.get("path"))


def overall_of(findings):
    worst = "ok"
    for f in findings:
        if RANK.get(f.get("severity"), RANK["unknown"]) > RANK[worst]:
            worst = f.get("severity") if f.get("severity") in RANK else "unknown"
    return worst


# Order of the checks inside one severity: the cause before its symptoms.
CHECK_ORDER = ("database", "service", "worker_inactivity_minutes", "reprocessing_loop_signs", "stuck_lock_minutes",
               "overdue_retries", "pending", "sync_delay_minutes", "failed", "exhausted_retries",
               "unrecorded_dead_letters", "failure_rate_pct", "connection_usage_pct", "memory_used_pct",
               "disk_used_pct", "sustained_rise")


def _sort_key(f):
    order = CHECK_ORDER.index(f["check"]) if f["check"] in CHECK_ORDER else len(CHECK_ORDER)
    value = f.get("value") if isinstance(f.get("value"), (int, float)) else 0
    return (-RANK.get(f["severity"], 2), order, f["check"], -value, str(f.get("entity") or ""),
            str(f.get("target") or ""))


# --------------------------------------------------------------------------- recommendations
class Commands(object):
    def __init__(self, options, service):
        self.options = options
        self.host = options.get("host") or "localhost"
        inv = options.get("inventory") or ""
        if inv and os.path.isabs(inv):
            # relative to where ansible-playbook runs (normally the repository root), when inside it
            rel = os.path.relpath(inv)
            inv = rel if not rel.startswith("..") else inv
        self.limit = "-i %s -l %s" % (shlex.quote(inv), shlex.quote(self.host)) if inv else "-l %s" % shlex.quote(
            self.host)
        self.service = service or {}

    def play(self, playbook, check=True, extra=""):
        cmd = "ansible-playbook %s %s" % (playbook, self.limit)
        if extra:
            cmd += " " + extra
        if check:
            cmd += " --check --diff"
        return cmd

    def logs(self, minutes=30, grep=None):
        svc = self.service
        names = svc.get("names") or []
        manager = svc.get("manager")
        if manager == "systemd" and names:
            cmd = "journalctl %s --since -%dmin --no-pager" % (" ".join("-u %s" % shlex.quote(n) for n in names),
                                                               minutes)
        elif manager == "docker" and names:
            active = svc.get("active") or names
            cmd = "docker logs --since %dm %s" % (minutes, shlex.quote(active[0]))
        else:
            return "check the ERP application log on %s (zoho_service_manager is none)" % self.host
        if grep:
            cmd += " | grep -c %s" % shlex.quote(grep) if manager == "systemd" else " 2>&1 | grep -c %s" % shlex.quote(
                grep)
        return cmd

    def restart(self):
        svc = self.service
        names = svc.get("names") or []
        if svc.get("manager") == "systemd" and names:
            return "sudo systemctl restart %s" % " ".join(shlex.quote(n) for n in (svc.get("active") or names[:1]))
        if svc.get("manager") == "docker" and names:
            return "docker restart %s" % shlex.quote((svc.get("active") or names)[0])
        return None


def backlog_of(counts):
    """The backlog: rows still to be synced (pending, processing, retry, failed)."""
    return sum((counts or {}).get(s, 0) for s in ("pending", "processing", "retry", "failed"))


def _eta(backlog, trends, throughput):
    """(minutes to catch up, explanation) for a backlog, or (None, why not)."""
    if not backlog:
        return 0, "nothing to catch up"
    slope = _dig(trends, "backlog", "per_hour")
    if slope is not None and slope < 0:
        minutes = backlog / (-slope) * 60.0
        return _round(minutes, 0), "the backlog shrinks by %s rows/h over the recent runs" % _fmt(_round(-slope, 1))
    if slope is not None and slope > 0:
        return None, "not draining: the backlog grows by %s rows/h over the recent runs" % _fmt(_round(slope, 1))
    rate = (throughput or {}).get("completed_last_hour") or 0
    source = "completions in the last hour"
    if not rate:
        rate = (throughput or {}).get("items_per_hour") or 0
        source = "completions per hour over 24 h"
    if rate:
        return _round(backlog / float(rate) * 60.0, 0), "at the measured throughput of %s rows/h (%s)" % (
            _fmt(_round(rate, 1)), source)
    return None, "not draining: no completion measured"


def recommendations(ev, findings, trends):
    # findings that are unknown only because the database was not read share its recommendation
    bad = [f for f in findings if f["severity"] != "ok" and not f.get("depends_on")]
    cmd = Commands(ev.options, ev.service)
    recs = []
    by_check = {}
    for f in bad:
        by_check.setdefault(f["check"], []).append(f)

    def rec(check, problem, cause, command, **extra):
        worst = max(by_check[check], key=lambda f: RANK[f["severity"]])
        item = {"check": check, "severity": worst["severity"],
                "entities": sorted(set(f["entity"] for f in by_check[check] if f.get("entity"))),
                "problem": problem, "cause": cause, "command": command, "then": None,
                "eta": None, "eta_minutes": None}
        item.update(extra)
        recs.append(item)

    heal = cmd.play("heal.yml")
    tp = ev.q("throughput") or {}
    counts = ev.q("status_counts") or {}
    workers_bad = any(f["check"] in ("service", "worker_inactivity_minutes") and f["severity"] in ("warning", "critical")
                      for f in findings)
    if "database" in by_check:
        db = ev.options.get("database") or {}
        rec("database", "the queue could not be read: %s" % ev.queue_error,
            "the database is down or unreachable from %s, or the credentials (zoho_db_user / the vaulted "
            "zoho_db_password) or zoho_db_name are wrong" % ev.options.get("host", "the host"),
            "psql %s -c 'SELECT 1'" % shlex.quote("host=%s port=%s dbname=%s user=%s" % (
                db.get("host"), db.get("port"), db.get("name"), db.get("user"))))
    if "service" in by_check:
        f = by_check["service"][0]
        if f["severity"] == "critical":
            rec("service", f["message"], "the ERP service (and with it every sync worker) is down",
                cmd.play("emergency.yml", check=False), then=cmd.restart())
        else:
            rec("service", f["message"], "the service state could not be read (permissions: set "
                "zoho_service_become, or the systemctl/docker command is missing)", cmd.logs(15))
    if "worker_inactivity_minutes" in by_check:
        f = by_check["worker_inactivity_minutes"][0]
        rec("worker_inactivity_minutes", f["message"],
            "the sync workers are stopped or stuck (all leases held, a hung Zoho call, or the service is down)",
            cmd.logs(30), then=cmd.play("emergency.yml", check=False))
    for check in ("pending", "sync_delay_minutes"):
        if check in by_check:
            backlog = backlog_of(counts)
            eta, how = _eta(backlog, trends, tp)
            worst = max(by_check[check], key=lambda f: RANK[f["severity"]])
            if workers_bad:
                cause = "the workers are not processing (see worker_inactivity_minutes / service)"
                command = cmd.play("emergency.yml", check=False)
            elif eta is not None:
                cause = "more arrives than the workers finish (a burst of webhooks, or slow Zoho calls)"
                command = cmd.logs(15, "Processing event")
            else:
                cause = "the workers are not keeping up (failures, slow Zoho calls or too few workers)"
                command = cmd.logs(15, "Processing event")
            rec(check, worst["message"], cause, command, eta_minutes=eta,
                eta=("about %s to catch up %s rows %s" % (_duration(eta), _fmt(backlog), how)
                     if eta is not None else how))
    if "stuck_lock_minutes" in by_check:
        f = by_check["stuck_lock_minutes"][0]
        rec("stuck_lock_minutes", f["message"],
            "a worker died or its failure path itself failed while holding the rows (the production worker "
            "leaves a row leased when the ORM fails after a rollback)", heal,
            then="run it again without --check to clear the leases")
    if "unrecorded_dead_letters" in by_check:
        f = by_check["unrecorded_dead_letters"][0]
        rec("unrecorded_dead_letters", f["message"],
            "the production worker sets status dead_letter without writing a tds_dead_letter_queue record",
            heal, then=cmd.play("dlq_review.yml", check=False))
    if "exhausted_retries" in by_check:
        f = by_check["exhausted_retries"][0]
        rec("exhausted_retries", f["message"],
            "rows used up their retry budget but were left in failed/retry (older code paths, manual scripts)",
            heal, then="run it again without --check to move them to the dead-letter queue")
    if "failed" in by_check:
        worst = max(by_check["failed"], key=lambda f: RANK[f["severity"]])
        top = ev.top_error()
        rec("failed", worst["message"], _cause(top), heal,
            then="failed rows under their retry budget are re-queued; the rest go to the dead-letter queue")
    if "overdue_retries" in by_check:
        f = by_check["overdue_retries"][0]
        rec("overdue_retries", f["message"], "the workers are not polling retry rows (stopped, or all stuck)",
            cmd.logs(30, "Processing event"), then=cmd.play("emergency.yml", check=False))
    if "failure_rate_pct" in by_check:
        f = by_check["failure_rate_pct"][0]
        top = ev.top_error()
        rec("failure_rate_pct", f["message"], _cause(top), cmd.play("dlq_review.yml", check=False),
            then=cmd.logs(60, "Event will be retried"))
    if "reprocessing_loop_signs" in by_check:
        rec("reprocessing_loop_signs", "the re-processing loop: " + "; ".join(ev.signs),
            "successful syncs are never recorded (the worker's completion update fails), so each row is synced "
            "again on every poll until it dead-letters - duplicates in Zoho; heal cannot fix this, the ERP code must",
            cmd.logs(60, "Event processed successfully"),
            then="compare with the zero completions; fix the worker, then review the dead letters with "
                 + cmd.play("dlq_review.yml", check=False))
    if "connection_usage_pct" in by_check:
        f = by_check["connection_usage_pct"][0]
        rec("connection_usage_pct", f["message"], "connections leak or sessions hang idle in transaction",
            "psql -c \"SELECT pid, application_name, state, now() - xact_start AS age FROM pg_stat_activity "
            "WHERE state LIKE 'idle in transaction%' ORDER BY xact_start\"")
    if "memory_used_pct" in by_check:
        f = by_check["memory_used_pct"][0]
        rec("memory_used_pct", f["message"], "the ERP workers or PostgreSQL use more memory than the host has",
            "free -m; ps aux --sort=-rss | head")
    if "disk_used_pct" in by_check:
        f = max(by_check["disk_used_pct"], key=lambda f: RANK[f["severity"]])
        paths = " ".join(shlex.quote(str(x.get("target"))) for x in by_check["disk_used_pct"] if x.get("target"))
        rec("disk_used_pct", f["message"], "logs, reports or the database fill the disk",
            "df -h %s; sudo du -xh --max-depth=1 %s | sort -h | tail" % (paths or "/", (paths.split() or ["/"])[0]))
    for check in ("duplicate_dead_letter_records", "unknown_statuses", "sustained_rise"):
        if check in by_check:
            f = by_check[check][0]
            command = cmd.play("dlq_review.yml", check=False) if check == "duplicate_dead_letter_records" else \
                cmd.play("health.yml", check=False)
            cause = {"duplicate_dead_letter_records": "two tools recorded the same dead letter",
                     "unknown_statuses": "the ERP's status enum changed; update the collection's queue_schema",
                     "sustained_rise": "the queue keeps growing run after run"}[check]
            rec(check, f["message"], cause, command)
    recs.sort(key=lambda r: (-RANK[r["severity"]], CHECK_ORDER.index(r["check"]) if r["check"] in CHECK_ORDER
                             else len(CHECK_ORDER)))
    return recs


def _cause(top):
    if not top:
        return "no error pattern recorded"
    cause = CAUSES.get(str(top.get("error_code") or "").upper())
    head = "top error: '%s' (%s, %s rows)" % (top.get("pattern"), top.get("error_code") or "no code", top.get("count"))
    return "%s - %s" % (head, cause) if cause else head


# --------------------------------------------------------------------------- snapshots and trends
def snapshot(report):
    """The compact history line of one run."""
    q = _dig(report, "facts", "zoho_queue") or {}
    counts = q.get("status_counts") or {}
    findings = report.get("findings") or []
    measured = bool(q)

    def value_of(check, reducer=max):
        values = [f.get("value") for f in findings if f.get("check") == check and f.get("severity") != "unknown"
                  and isinstance(f.get("value"), (int, float))]
        return reducer(values) if values else None

    total = q.get("total")
    failed_pct = None
    if measured and total:
        failed_pct = _round(100.0 * (counts.get("failed", 0) + counts.get("dead_letter", 0)) / total, 3)
    elif measured:
        failed_pct = 0
    svc = _dig(report, "facts", "service") or {}
    inactivity = [f for f in findings if f.get("check") == "worker_inactivity_minutes"]
    service = [f for f in findings if f.get("check") == "service"]
    workers_running = None
    if inactivity and inactivity[0].get("severity") != "unknown":
        workers_running = inactivity[0].get("severity") == "ok"
        if svc.get("managed"):
            workers_running = workers_running and bool(service) and service[0].get("severity") == "ok"
    elif service and service[0].get("severity") == "critical":
        workers_running = False
    tp = q.get("throughput") or {}
    sev_counts = dict((s, 0) for s in SEVERITIES)
    for f in findings:
        sev_counts[f.get("severity", "unknown")] = sev_counts.get(f.get("severity", "unknown"), 0) + 1
    return {
        "t": report.get("generated_at"),
        "overall": report.get("overall"),
        "measured": measured,
        "backlog": backlog_of(counts) if measured else None,
        "pending": counts.get("pending") if measured else None,
        "failed": counts.get("failed") if measured else None,
        "dead_letter": counts.get("dead_letter") if measured else None,
        "total": total if measured else None,
        "failed_pct": failed_pct,
        "failure_rate_pct": (_round(tp.get("failure_rate_24h") * 100.0, 2)
                             if measured and tp.get("failure_rate_24h") is not None else (0 if measured else None)),
        "delay_minutes": (value_of("sync_delay_minutes") if measured else None),
        "stuck": _dig(q, "stuck_locks", "count") if measured else None,
        "unrecorded": _dig(q, "dead_letter", "unrecorded") if measured else None,
        "completed_last_hour": tp.get("completed_last_hour") if measured else None,
        "workers_running": workers_running,
        "severities": sev_counts,
    }


def _slope(points):
    """Least-squares slope (value per hour) of [(datetime, value)]; None when undefined."""
    pts = [(t, v) for t, v in points if t is not None and v is not None]
    if len(pts) < 2:
        return None
    t0 = pts[0][0]
    xs = [(t - t0).total_seconds() / 3600.0 for t, _value in pts]
    ys = [float(v) for _when, v in pts]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den <= 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def _rising_runs(values):
    """How many consecutive increases end the series."""
    n = 0
    vals = list(values)
    for i in range(len(vals) - 1, 0, -1):
        if vals[i] is None or vals[i - 1] is None or not vals[i] > vals[i - 1]:
            break
        n += 1
    return n


CRITERIA = (
    ("backlog_under_20", "backlog under 20", lambda s: s.get("backlog") is not None and s["backlog"] < 20),
    ("failed_under_1pct", "failed under 1 % of total",
     lambda s: s.get("failed_pct") is not None and s["failed_pct"] < 1),
    ("delay_under_5min", "sync delay under 5 minutes",
     lambda s: s.get("measured") and (s.get("delay_minutes") or 0) < 5),
    ("workers_running", "workers running", lambda s: s.get("workers_running") is True),
)


# A rise is only "sustained" once the value is past the healthy limit of the original
# write-up (a few fresh rows ageing between runs is not a trend worth a warning).
RISE_FLOORS = {"backlog": 20, "failure_rate_pct": 1, "delay_minutes": 5}


def trends(history, current, window=96, sustained_runs=3):
    """Growth of backlog, failure rate and delay vs earlier runs; success criteria."""
    window = max(int(window or 96), 2)
    sustained_runs = max(int(sustained_runs or 3), 1)
    runs = [h for h in (history or []) if isinstance(h, dict)][-(window - 1):] + [current]
    out = {"runs": len(runs), "window": window, "sustained_runs": sustained_runs,
           "first_at": runs[0].get("t"), "previous_at": runs[-2].get("t") if len(runs) > 1 else None,
           "sustained_rise": [], "series": {}}
    times = [_parse_time(r.get("t")) for r in runs]
    hours = None
    if times[0] and times[-1]:
        hours = _round((times[-1] - times[0]).total_seconds() / 3600.0, 2)
    out["hours"] = hours
    for key, label in (("backlog", "backlog"), ("failure_rate_pct", "failure rate"),
                       ("delay_minutes", "sync delay")):
        values = [r.get(key) for r in runs]
        prev = values[-2] if len(values) > 1 else None
        cur = values[-1]
        slope = _slope(list(zip(times, values)))
        rising = _rising_runs(values)
        item = {"current": cur, "previous": prev,
                "change": _round(cur - prev, 2) if cur is not None and prev is not None else None,
                "first": values[0] if len(values) > 1 else None,
                "per_hour": _round(slope, 2) if slope is not None else None,
                "rising_runs": rising,
                "sustained_rise": rising >= sustained_runs and cur is not None and cur >= RISE_FLOORS[key],
                "label": label}
        out[key] = item
        out["series"][key] = values
        if item["sustained_rise"]:
            out["sustained_rise"].append(key)
    criteria = {}
    for key, label, test in CRITERIA:
        met = sum(1 for r in runs if test(r))
        criteria[key] = {"label": label, "met": met, "runs": len(runs),
                         "share": _round(float(met) / len(runs), 3), "current": bool(test(current))}
    out["success_criteria"] = criteria
    out["series"]["t"] = [r.get("t") for r in runs]
    out["series"]["overall"] = [r.get("overall") for r in runs]
    return out


def history(text, snap=None, keep=2000):
    """Parse JSON lines; with ``snap``, return the new bounded file content instead."""
    entries = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    if snap is None:
        return entries
    keep = max(int(keep or 1), 1)
    entries = (entries + [snap])[-keep:]
    return "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries)


# --------------------------------------------------------------------------- the report
def _sparkline(values, width=240, height=40):
    """SVG polyline points for the HTML report ('' when fewer than 2 numbers)."""
    nums = [v for v in values if isinstance(v, (int, float))]
    if len(nums) < 2:
        return ""
    lo, hi = min(nums), max(nums)
    span = (hi - lo) or 1
    step = float(width) / (len(values) - 1)
    pts = []
    for i, v in enumerate(values):
        if isinstance(v, (int, float)):
            pts.append("%.1f,%.1f" % (i * step, height - 2 - (float(v) - lo) / span * (height - 4)))
    return " ".join(pts)


def build_report(inputs):
    """The single source of every report format.

    ``inputs``: ``queue`` (the zoho_queue facts, or None), ``queue_error`` (why not),
    ``service`` (zoho_service_status), ``host_facts`` (zoho_health_host_facts),
    ``thresholds`` (zoho_health_thresholds result, or raw thresholds), ``history`` (earlier
    snapshots), ``options`` (``host``, ``generated_at``, ``inventory``, ``database``,
    ``trend_window``, ``trend_sustained_runs``, ``transient_error_codes``, ``fail_on``).
    """
    if not isinstance(inputs, dict):
        raise AnsibleFilterError("zoho_health_report expects a mapping of inputs, got %s" % type(inputs).__name__)
    options = inputs.get("options") or {}
    ev = Evaluation(inputs)
    findings = ev.run()
    generated_at = options.get("generated_at") or _iso(datetime.datetime.now(datetime.timezone.utc))
    report = {
        "schema_version": 1,
        "host": options.get("host") or "localhost",
        "generated_at": generated_at,
        "overall": None,
        "findings": [],
        "facts": {"zoho_queue": ev.queue, "zoho_queue_error": ev.queue_error, "service": ev.service,
                  "host": ev.host},
        "thresholds": ev.thresholds,
    }
    findings.sort(key=_sort_key)
    report["findings"] = findings
    report["overall"] = overall_of(findings)
    current = snapshot(report)
    trend = trends(ev.history, current, options.get("trend_window", 96), options.get("trend_sustained_runs", 3))
    if trend["sustained_rise"]:
        labels = ", ".join("%s (%s runs in a row, %s/h)" % (
            trend[k]["label"], trend[k]["rising_runs"], _fmt(trend[k]["per_hour"])) for k in trend["sustained_rise"])
        findings.append(_finding("sustained_rise", "warning", len(trend["sustained_rise"]), None,
                                 "sustained rise: %s" % labels))
        findings.sort(key=_sort_key)
        report["overall"] = overall_of(findings)
        current = snapshot(report)
        trend = trends(ev.history, current, options.get("trend_window", 96), options.get("trend_sustained_runs", 3))
    trend["sparkline"] = dict((k, _sparkline(trend["series"][k])) for k in ("backlog", "failure_rate_pct",
                                                                            "delay_minutes"))
    report["trends"] = trend
    report["recommendations"] = recommendations(ev, findings, trend)
    counts = dict((s, 0) for s in SEVERITIES)
    for f in findings:
        counts[f["severity"]] += 1
    worst = [f for f in findings if f["severity"] == report["overall"] and f["severity"] != "ok"]
    report["summary"] = {
        "counts": counts,
        "worst": ["%s%s" % (f["check"], "[%s]" % (f.get("entity") or f.get("target"))
                            if f.get("entity") or f.get("target") else "") for f in worst],
        "backlog": current.get("backlog"),
        "fail_on": list(options.get("fail_on") or []),
        "fails": report["overall"] in (options.get("fail_on") or []),
    }
    report["snapshot"] = current
    return report


def fail_message(report, fail_on=("critical", "unknown"), limit=4):
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
            parts.append("%s=%s (%s above %s)" % (name, _fmt(value, unit), f["severity"], _fmt(threshold, unit)))
    more = len(worst) - limit
    if more > 0:
        parts.append("and %d more" % more)
    if dependent:
        parts.append("%d metrics not measured because of it" % len(dependent))
    text = "Zoho sync health %s on %s: %s" % (overall.upper(), report.get("host"), "; ".join(parts))
    return " ".join(text.split())


class FilterModule(object):
    def filters(self):
        return {
            "zoho_health_thresholds": effective_thresholds,
            "zoho_health_threshold_error": threshold_error,
            "zoho_health_host_facts": host_facts,
            "zoho_health_report": build_report,
            "zoho_health_snapshot": snapshot,
            "zoho_health_history": history,
            "zoho_health_fail_message": fail_message,
            "zoho_health_duration": _duration,
        }
