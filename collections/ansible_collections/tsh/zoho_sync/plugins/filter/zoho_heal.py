# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the zoho_heal role: the business-hours guard, the queue summary used in
reports and audit records, and the decision tree of the original agent.

zoho_business_hours(spec, now=None)
    spec: {days: [mon, ...], start: "HH:MM", end: "HH:MM", timezone: "Area/City"}.
    Returns {inside, now, weekday, timezone, window}. Time-zone aware (zoneinfo, so
    daylight saving is handled); end "24:00" means midnight; a window whose end is
    before its start runs overnight and belongs to the day it starts on; an empty
    day list means there are no business hours. Any malformed value raises one clear
    error.

zoho_heal_queue_summary(zoho_queue)
    The numbers an operator compares before and after a heal.

zoho_heal_plan(zoho_queue, service_status, options)
    What the heal should do and why (see DOCUMENTATION in the role's README); the restart
    follows the diagnoses of the health report's engine.

zoho_heal_range_problems({name: value, ...}, {name: [min, max], ...})
    One message per setting that is not a whole number inside its range (booleans and
    fractions included), so nonsense limits stop the run before the heal lock.

zoho_heal_write_problems({label: path, ...}, dirs=[labels that are directories])
    One message per path of the control node that cannot be written or created
    (empty when all can): checked before the heal lock, so a run that could not
    audit or report what it does changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.tsh.zoho_sync.plugins.module_utils.paths import write_problem
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report import diagnoses_of
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.thresholds import effective_thresholds

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # Python < 3.9
    ZoneInfo = None
    ZoneInfoNotFoundError = Exception

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict((d, i) for i, d in enumerate(DAYS))
DAY_NAMES.update(dict((n, i) for i, n in enumerate(
    ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))))
TIME_RE = re.compile(r"^([01]?[0-9]|2[0-4]):([0-5][0-9])$")


def _minutes(value, name):
    text = str(value).strip()
    match = TIME_RE.match(text)
    if not match:
        raise AnsibleFilterError("zoho_heal_business_hours.%s must be a time HH:MM (00:00-24:00), got %r"
                                 % (name, value))
    hours, minutes = int(match.group(1)), int(match.group(2))
    if hours == 24 and minutes:
        raise AnsibleFilterError("zoho_heal_business_hours.%s: 24:00 is the latest time, got %r" % (name, value))
    return hours * 60 + minutes


def business_hours(spec, now=None):
    if not isinstance(spec, dict):
        raise AnsibleFilterError("zoho_heal_business_hours must be a dictionary with days, start, end and timezone")
    unknown = sorted(set(spec) - {"days", "start", "end", "timezone"})
    if unknown:
        raise AnsibleFilterError("zoho_heal_business_hours has unknown key(s) %s; known: days, start, end, timezone"
                                 % ", ".join(unknown))
    days = spec.get("days", [])
    if isinstance(days, str) or not isinstance(days, (list, tuple)):
        raise AnsibleFilterError("zoho_heal_business_hours.days must be a list of day names (mon ... sun)")
    day_numbers = set()
    for day in days:
        key = str(day).strip().lower()
        if key not in DAY_NAMES:
            raise AnsibleFilterError("zoho_heal_business_hours.days: unknown day %r; use mon, tue, wed, thu, fri, "
                                     "sat, sun" % (day,))
        day_numbers.add(DAY_NAMES[key])
    start = _minutes(spec.get("start", "08:00"), "start")
    end = _minutes(spec.get("end", "18:00"), "end")
    if start == end:
        raise AnsibleFilterError("zoho_heal_business_hours: start and end are both %s; to have no business hours, "
                                 "give an empty days list" % spec.get("start"))
    tz_name = str(spec.get("timezone", "UTC")).strip()
    if ZoneInfo is None:
        raise AnsibleFilterError("zoho_heal_business_hours needs Python 3.9+ (zoneinfo) on the control node")
    try:
        if not tz_name or tz_name.startswith("/") or ".." in tz_name:
            raise ValueError(tz_name)
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise AnsibleFilterError("zoho_heal_business_hours.timezone: unknown time zone %r (use an IANA name such "
                                 "as Asia/Baghdad or UTC)" % tz_name)
    if now is None or now == "":
        moment = datetime.datetime.now(datetime.timezone.utc)
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(now).replace("Z", "+00:00"))
        except ValueError:
            raise AnsibleFilterError("zoho_business_hours: now must be an ISO 8601 time, got %r" % (now,))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
    local = moment.astimezone(tz)
    minute = local.hour * 60 + local.minute
    weekday = local.weekday()
    if start < end:
        inside = weekday in day_numbers and start <= minute < end
    else:  # overnight: from start on a business day until end the next morning
        inside = (weekday in day_numbers and minute >= start) or \
                 (((weekday - 1) % 7) in day_numbers and minute < end)
    names = [DAYS[d] for d in sorted(day_numbers)]
    window = "%s %s-%s %s" % (",".join(names) or "(no days)", _fmt(start), _fmt(end), tz_name)
    return {"inside": inside, "now": local.isoformat(), "weekday": DAYS[weekday], "timezone": tz_name,
            "window": window}


def _fmt(minutes):
    return "%02d:%02d" % (minutes // 60, minutes % 60)


def _get(data, *path, **kw):
    default = kw.get("default")
    for key in path:
        if not isinstance(data, dict) or key not in data or data[key] is None:
            return default
        data = data[key]
    return data


def queue_summary(facts):
    if not facts:
        return {}
    counts = _get(facts, "status_counts", default={}) or {}
    return {
        "pending": counts.get("pending", 0),
        "processing": counts.get("processing", 0),
        "failed": counts.get("failed", 0),
        "retry": counts.get("retry", 0),
        "dead_letter": counts.get("dead_letter", 0),
        "live_total": _get(facts, "live_total", default=0),
        "retry_due": _get(facts, "retry", "due", default=0),
        "retry_overdue": _get(facts, "retry", "overdue", default=0),
        "exhausted": _get(facts, "retry", "exhausted", default=0),
        "stuck_leases": _get(facts, "stuck_locks", "count", default=0),
        "stranded_processing": _get(facts, "stranded_processing", "count"),
        "unrecorded_dead_letters": _get(facts, "dead_letter", "unrecorded", default=0),
        "open_dlq_records": _get(facts, "dead_letter", "unresolved", default=0),
        "active_leases": _get(facts, "workers", "active_leases", default=0),
        "seconds_since_last_lease": _get(facts, "workers", "seconds_since_last_lease"),
        "completed_last_hour": _get(facts, "throughput", "completed_last_hour", default=0),
        "collected_at": _get(facts, "collected_at"),
    }


# Causes a restart does not cure: the workers run; restarting them changes nothing.
NO_RESTART = ("retry_starvation", "expired_leases_not_reclaimed", "internal_worker_error",
              "completion_not_recorded", "stranded_processing", "zoho_auth_failure", "zoho_rate_limited",
              "zoho_unavailable", "payload_rejected")


def heal_plan(facts, service=None, options=None):
    """The decision tree: service down -> restart; failed -> requeue; stuck leases ->
    clear; processing rows without a lease -> reset; exhausted or unrecorded dead letters
    -> dead-letter (with records); workers idle -> restart; old data -> cleanup. The
    restart follows the diagnoses (the health report's engine): the workers are restarted
    when they are idle (work waits, no worker activity for worker_inactivity_minutes) or
    left expired leases with no progress at all - never for a cause a restart does not
    cure (retry starvation, the worker's own errors, Zoho's failures, ...). Returns what
    to do and why."""
    if not isinstance(facts, dict) or "status_counts" not in facts:
        raise AnsibleFilterError("zoho_heal_plan needs the zoho_queue facts (run tsh.zoho_sync.zoho_queue_facts)")
    options = options or {}
    service = service or {}
    inactivity_minutes = float(options.get("worker_inactivity_minutes", 30))
    s = queue_summary(facts)
    work_due = s["pending"] + s["retry_due"]
    manager = service.get("manager") or options.get("service_manager") or "none"
    overall = service.get("overall") or "unknown"
    service_down = manager != "none" and overall == "stopped"
    thresholds = effective_thresholds({"worker_inactivity_minutes": {
        "warning": inactivity_minutes, "critical": max(inactivity_minutes, 30)}})
    service_view = dict(service, managed=manager != "none") if service else {}
    diagnoses = diagnoses_of(facts, service_view, {"host": options.get("host") or "localhost"}, thresholds)
    ids = [d["id"] for d in diagnoses]
    reasons = []
    if "workers_idle" in ids:
        idle = [d for d in diagnoses if d["id"] == "workers_idle"][0]
        since = [e["value"] for e in idle["evidence"] if e["name"] == "last worker activity"]
        since = since[0] if since and isinstance(since[0], (int, float)) else None
        reasons.append("%d item(s) due and no lease taken for %s" % (
            work_due, "the whole look-back window" if since is None else "%d min" % since))
    leases_stalled = s["stuck_leases"] > 0 and s["active_leases"] == 0 and s["completed_last_hour"] == 0 \
        and not any(i in ids for i in NO_RESTART)
    if leases_stalled:
        reasons.append("%d lease(s) expired with no progress (no live lease, nothing completed in the last hour)"
                       % s["stuck_leases"])
    workers_stuck = bool(reasons)
    restart_reasons = []
    if service_down:
        restart_reasons.append("service down: %s" % (service.get("reason") or "stopped"))
    if workers_stuck:
        restart_reasons.append("workers stuck: " + "; ".join(reasons))
    stranded = s["stranded_processing"]
    return {
        "summary": s,
        "work_due": work_due,
        "service_manager": manager,
        "service_state": overall,
        "service_down": service_down,
        "workers_stuck": workers_stuck,
        "workers_stuck_reasons": reasons,
        "diagnoses": [i for i, d in zip(ids, diagnoses) if d["severity"] != "info"],
        "no_restart_causes": [i for i in ids if i in NO_RESTART],
        "requeue_failed": s["failed"] > 0,
        "clear_stuck": s["stuck_leases"] > 0,
        # the fact when the facts have it, else any processing row (the module finds the stranded ones)
        "reset_stranded": (stranded > 0) if stranded is not None else s["processing"] > 0,
        "move_exhausted": s["exhausted"] > 0 or s["unrecorded_dead_letters"] > 0,
        "restart": service_down or workers_stuck,
        "restart_reasons": restart_reasons,
    }


def range_problems(values, ranges):
    problems = []
    for name in sorted(ranges or {}):
        low, high = ranges[name]
        value = (values or {}).get(name)
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and re.match(r"^\s*[0-9]+\s*$", value):
            number = int(value)
        if number is None or not low <= number <= high:
            problems.append("%s must be a whole number from %d to %d, got %r" % (name, low, high, value))
    return problems


def write_problems(paths, dirs=None):
    dirs = set(dirs or [])
    problems = []
    for label in sorted(paths or {}):
        problem = write_problem(paths[label], is_dir=label in dirs)
        if problem:
            problems.append("%s: %s" % (label, problem))
    return problems


class FilterModule(object):
    def filters(self):
        return {
            "zoho_heal_write_problems": write_problems,
            "zoho_heal_range_problems": range_problems,
            "zoho_business_hours": business_hours,
            "zoho_heal_queue_summary": queue_summary,
            "zoho_heal_plan": heal_plan,
        }
