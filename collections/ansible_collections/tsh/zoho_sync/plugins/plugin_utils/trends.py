# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trends across runs and the catch-up estimate, told truthfully:

* the ETA comes from the workers' own completions (minus what arrives meanwhile), never
  from a backlog that shrank because a heal dead-lettered or requeued rows;
* a snapshot taken after a heal changed the queue is marked ``after_heal``, and the
  slopes and rising runs only look at the runs since the last heal;
* runs that could not read the database (``measured: false``) are left out of the
  slopes and of the success criteria (they are counted as ``unmeasured``);
* every figure carries its unit.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import BACKLOG_STATUSES, SEVERITIES
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import dig, duration, fmt, parse_time, rounded

# The series of the trends: key, label, unit.
SERIES = (("backlog", "backlog", "rows"), ("failure_rate_pct", "failure rate", "%"),
          ("delay_minutes", "sync delay", "min"))
UNITS = dict((k, u) for k, _label, u in SERIES)

# A rise is only "sustained" once the value is past the healthy limit of the original
# write-up (a few fresh rows ageing between runs is not a trend worth a warning).
RISE_FLOORS = {"backlog": 20, "failure_rate_pct": 1, "delay_minutes": 5}

CRITERIA = (
    ("backlog_under_20", "backlog under 20 rows", lambda s: s.get("backlog") is not None and s["backlog"] < 20),
    ("failed_under_1pct", "failed under 1 % of total",
     lambda s: s.get("failed_pct") is not None and s["failed_pct"] < 1),
    ("delay_under_5min", "sync delay under 5 minutes",
     lambda s: s.get("measured") is not False and (s.get("delay_minutes") or 0) < 5),
    ("workers_running", "workers running", lambda s: s.get("workers_running") is True),
)


def backlog_of(counts):
    """The backlog: rows still to be synced (pending, processing, retry, failed)."""
    return sum((counts or {}).get(s, 0) for s in BACKLOG_STATUSES)


def measured(run):
    """Whether a history line read the queue (older lines without the flag: by their backlog)."""
    if run.get("measured") is not None:
        return bool(run.get("measured"))
    return run.get("backlog") is not None


# --------------------------------------------------------------------------- snapshots
def snapshot(report, heal=None, after_heal=False):
    """The compact history line of one run (units: rows, %, min)."""
    q = dig(report, "facts", "zoho_queue") or {}
    counts = q.get("status_counts") or {}
    findings = report.get("findings") or []
    is_measured = bool(q)

    def value_of(check, reducer=max):
        values = [f.get("value") for f in findings if f.get("check") == check and f.get("severity") != "unknown"
                  and isinstance(f.get("value"), (int, float))]
        return reducer(values) if values else None

    total = q.get("total")
    failed_pct = None
    if is_measured and total:
        failed_pct = rounded(100.0 * (counts.get("failed", 0) + counts.get("dead_letter", 0)) / total, 3)
    elif is_measured:
        failed_pct = 0
    svc = dig(report, "facts", "service") or {}
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
        "measured": is_measured,
        "backlog": backlog_of(counts) if is_measured else None,
        "pending": counts.get("pending") if is_measured else None,
        "failed": counts.get("failed") if is_measured else None,
        "dead_letter": counts.get("dead_letter") if is_measured else None,
        "total": total if is_measured else None,
        "failed_pct": failed_pct,
        "failure_rate_pct": (rounded(tp.get("failure_rate_24h") * 100.0, 2)
                             if is_measured and tp.get("failure_rate_24h") is not None else (0 if is_measured else None)),
        "delay_minutes": (value_of("sync_delay_minutes") if is_measured else None),
        "stuck": dig(q, "stuck_locks", "count") if is_measured else None,
        "stranded": dig(q, "stranded_processing", "count") if is_measured else None,
        "unrecorded": dig(q, "dead_letter", "unrecorded") if is_measured else None,
        "completed_last_hour": tp.get("completed_last_hour") if is_measured else None,
        "created_last_hour": tp.get("created_last_hour") if is_measured else None,
        "workers_running": workers_running,
        "heal_run_id": (heal or {}).get("run_id"),
        "after_heal": bool(after_heal),
        "diagnoses": [d.get("id") for d in report.get("diagnoses") or [] if d.get("severity") != "info"],
        "severities": sev_counts,
    }


# --------------------------------------------------------------------------- trends
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
    """How many consecutive increases end the series (unmeasured runs are skipped)."""
    vals = [v for v in values if v is not None]
    n = 0
    for i in range(len(vals) - 1, 0, -1):
        if not vals[i] > vals[i - 1]:
            break
        n += 1
    return n


def trends(history, current, window=96, sustained_runs=3):
    """Growth of backlog, failure rate and delay vs earlier runs; success criteria."""
    window = max(int(window or 96), 2)
    sustained_runs = max(int(sustained_runs or 3), 1)
    runs = [h for h in (history or []) if isinstance(h, dict)][-(window - 1):] + [current]
    # the runs since the last heal that changed the queue: the workers' own trend
    start = 0
    for index, run in enumerate(runs):
        if run.get("after_heal"):
            start = index
    segment = runs[start:]
    kept = [r for r in runs if measured(r)]
    out = {"runs": len(runs), "measured_runs": len(kept), "unmeasured_runs": len(runs) - len(kept),
           "window": window, "sustained_runs": sustained_runs,
           "first_at": runs[0].get("t"), "previous_at": runs[-2].get("t") if len(runs) > 1 else None,
           "heal_runs": sum(1 for r in runs if r.get("after_heal")),
           "since_heal_at": segment[0].get("t") if start else None,
           "current_after_heal": bool(current.get("after_heal")),
           "sustained_rise": [], "series": {}}
    times = [parse_time(r.get("t")) for r in runs]
    hours = None
    if times[0] and times[-1]:
        hours = rounded((times[-1] - times[0]).total_seconds() / 3600.0, 2)
    out["hours"] = hours
    out["hours_unit"] = "h"
    seg_times = times[start:]
    for key, label, unit in SERIES:
        values = [r.get(key) if measured(r) else None for r in runs]
        seg_values = values[start:]
        earlier = [v for v in values[:-1] if v is not None]
        prev = earlier[-1] if earlier else None
        cur = values[-1]
        slope = _slope(list(zip(seg_times, seg_values)))
        rising = _rising_runs(seg_values)
        item = {"current": cur, "previous": prev,
                "change": rounded(cur - prev, 2) if cur is not None and prev is not None else None,
                "change_includes_heal": bool(current.get("after_heal")),
                "first": values[0] if len(values) > 1 else None,
                "per_hour": rounded(slope, 2) if slope is not None else None,
                "per_hour_since_heal": bool(start),
                "rising_runs": rising,
                "sustained_rise": rising >= sustained_runs and cur is not None and cur >= RISE_FLOORS[key],
                "label": label, "unit": unit, "per_hour_unit": "%s/h" % unit if unit != "%" else "points/h"}
        out[key] = item
        out["series"][key] = values
        if item["sustained_rise"]:
            out["sustained_rise"].append(key)
    criteria = {}
    for key, label, test in CRITERIA:
        met = sum(1 for r in kept if test(r))
        criteria[key] = {"label": label, "met": met, "runs": len(kept), "unmeasured": len(runs) - len(kept),
                         # 0 (not None) when no run read the queue: nothing met, never "ok"
                         "share": rounded(float(met) / len(kept), 3) if kept else 0,
                         "share_known": bool(kept),
                         "share_unit": "of the runs that read the queue",
                         "current": bool(test(current)) if measured(current) else None}
    out["success_criteria"] = criteria
    out["series"]["t"] = [r.get("t") for r in runs]
    out["series"]["overall"] = [r.get("overall") for r in runs]
    out["series"]["after_heal"] = [bool(r.get("after_heal")) for r in runs]
    out["series_units"] = dict(UNITS)
    return out


def sparkline(values, width=240, height=40):
    """SVG polyline points for a chart of a series ('' when fewer than 2 numbers)."""
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


# --------------------------------------------------------------------------- the catch-up estimate
def eta(queue):
    """(minutes to catch up, explanation, rates) from the workers' completions minus the
    arrivals; (None, why not, rates) when the backlog is not draining. Rates in rows/h."""
    counts = dig(queue, "status_counts") or {}
    tp = dig(queue, "throughput") or {}
    backlog = backlog_of(counts)
    rates = {"backlog_rows": backlog, "completed_per_hour": None, "arrived_per_hour": tp.get("created_last_hour"),
             "net_per_hour": None, "source": None, "unit": "rows/h"}
    if not backlog:
        return 0, "nothing to catch up", rates
    rate = tp.get("completed_last_hour") or 0
    source = "completed in the last hour"
    if not rate and tp.get("completed_last_24h"):
        rate = tp["completed_last_24h"] / 24.0
        source = "completed per hour over 24 h"
    rates.update(completed_per_hour=rounded(rate, 1), source=source)
    if not rate:
        return None, "not draining: the workers completed nothing in the last 24 h", rates
    arrived = tp.get("created_last_hour")
    net = rate - (arrived or 0)
    rates["net_per_hour"] = rounded(net, 1)
    if net <= 0:
        return None, ("not draining: %s rows/h arrive and the workers complete %s rows/h (%s)"
                      % (fmt(arrived), fmt(rounded(rate, 1)), source)), rates
    minutes = rounded(backlog / net * 60.0, 0)
    how = "at the workers' %s rows/h (%s)" % (fmt(rounded(rate, 1)), source)
    if arrived:
        how += " minus %s rows/h arriving" % fmt(arrived)
    return minutes, how, rates


def eta_text(minutes, how, backlog):
    if minutes is None:
        return how
    if not backlog:
        return how
    return "about %s to catch up %s rows %s" % (duration(minutes), fmt(backlog), how)
