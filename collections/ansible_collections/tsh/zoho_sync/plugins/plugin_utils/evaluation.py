# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings: every measured value judged against its thresholds (``check``,
``entity``/``target``, ``severity``, ``value``, ``unit``, ``warning``, ``critical``,
``message``). A metric that could not be measured is ``unknown`` with the reason, never
``ok``. The overall status is the worst finding (``ok < warning < unknown < critical``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import SEVERITY_RANK as RANK
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.signals import Signals
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.thresholds import (
    METRIC_NAMES,
    UNITS,
    classify,
    effective_thresholds,
    limits_of,
)
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import dig, duration, fmt, rounded


def finding(check, severity, value, limits=None, message="", entity=None, **extra):
    item = {"check": check, "entity": entity, "severity": severity, "value": value,
            "warning": limits.get("warning") if limits else None,
            "critical": limits.get("critical") if limits else None,
            "unit": UNITS.get(check, ""), "message": message, "target": None}
    item.update(extra)
    return item


def _threshold_text(value, limits, unit):
    if value is None:
        return ""
    if value > limits["critical"]:
        return " (critical above %s)" % fmt(limits["critical"], unit)
    if value > limits["warning"]:
        return " (warning above %s)" % fmt(limits["warning"], unit)
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
        self.signals = Signals(self.queue, self.service, self.history, self.options,
                               limits_of(self.thresholds, "worker_inactivity_minutes")["warning"])
        self.findings = []
        self.signs = []

    # -- helpers --------------------------------------------------------------
    def q(self, *keys):
        return dig(self.queue, *keys)

    def add(self, *args, **kwargs):
        self.findings.append(finding(*args, **kwargs))

    def metric(self, check, value, message, entity=None, **extra):
        limits = limits_of(self.thresholds, check, entity)
        severity = classify(value, limits)
        self.add(check, severity, value, limits, message + _threshold_text(value, limits, UNITS[check]),
                 entity=entity, **extra)
        return severity

    def unknown(self, check, why, entity=None, **extra):
        limits = limits_of(self.thresholds, check, entity) if check in METRIC_NAMES else None
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
                          "connection_usage_pct", "stranded_processing"):
                self.unknown(check, why, depends_on="database")
        else:
            self.check_workers()
            self.check_backlog()
            self.check_delay()
            self.check_leases()
            self.check_stranded()
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
        return self.signals.work_waiting

    def last_activity(self):
        return self.signals.last_activity()

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
            value = rounded(since / 60.0, 1) if since is not None else None
            self.add("worker_inactivity_minutes", "ok", value,
                     limits_of(self.thresholds, "worker_inactivity_minutes"),
                     "no work waiting (nothing pending or due)" + (
                         "; last activity %s ago (%s)" % (duration(value), source) if value is not None else "")
                     + log_text)
            return
        if since is None:
            lookback = self.q("throughput", "lookback_hours") or 24
            value = 24 * 60
            limits = limits_of(self.thresholds, "worker_inactivity_minutes")
            self.add("worker_inactivity_minutes", classify(value, limits), value, limits,
                     "%s rows wait and no worker activity was seen (no lease taken in the last 24 h, "
                     "no completion in %s h%s)" % (waiting, lookback, ", no worker log line" if workers.get("read")
                                                   else "") + log_text)
            return
        value = rounded(since / 60.0, 1)
        self.metric("worker_inactivity_minutes", value,
                    "%s rows wait; last worker activity %s ago (%s)" % (waiting, duration(value), source) + log_text)

    def check_backlog(self):
        counts = self.q("status_counts") or {}
        entities = self.q("entities") or {}
        pending = counts.get("pending", 0)
        top = sorted(((e, (d.get("status_counts") or {}).get("pending", 0)) for e, d in entities.items()),
                     key=lambda x: -x[1])
        top_text = ", ".join("%s %s" % (e, n) for e, n in top[:3] if n)
        self.metric("pending", pending, "%s rows pending%s" % (fmt(pending), " (%s)" % top_text if top_text else ""))
        failed = counts.get("failed", 0)
        self.metric("failed", failed, "%s rows failed (%s of them out of retries)" % (
            fmt(failed), fmt(self.q("retry", "exhausted") or 0)) if failed else "no rows in status failed")
        for entity, overrides in sorted((self.thresholds.get("by_entity") or {}).items()):
            sc = (entities.get(entity) or {}).get("status_counts") or {}
            for check in ("pending", "failed"):
                if check in overrides:
                    n = sc.get(check, 0)
                    self.metric(check, n, "%s: %s rows %s" % (entity, fmt(n), check), entity=entity)

    def check_delay(self):
        entities = self.q("entities") or {}
        delays = []
        for entity, data in sorted(entities.items()):
            age = (data or {}).get("oldest_pending_age_seconds")
            if age is not None and ((data.get("status_counts") or {}).get("pending", 0) > 0):
                delays.append((entity, rounded(float(age) / 60.0, 1), data))
        if not delays:
            self.add("sync_delay_minutes", "ok", 0, limits_of(self.thresholds, "sync_delay_minutes"),
                     "nothing pending: no sync delay")
            return
        for entity, minutes, data in delays:
            self.metric("sync_delay_minutes", minutes,
                        "oldest pending %s waits %s (%s pending)" % (
                            entity, duration(minutes), fmt((data.get("status_counts") or {}).get("pending", 0))),
                        entity=entity)

    def check_leases(self):
        stuck = self.q("stuck_locks") or {}
        count = stuck.get("count") or 0
        if not count:
            self.add("stuck_lock_minutes", "ok", 0, limits_of(self.thresholds, "stuck_lock_minutes"),
                     "no lease expired more than %s min ago is still held" % stuck.get("stuck_after_minutes", "?"),
                     count=0)
            return
        minutes = rounded(float(stuck.get("oldest_age_seconds") or 0) / 60.0, 1)
        by_status = ", ".join("%s %s" % (k, v) for k, v in sorted((stuck.get("by_status") or {}).items()))
        self.metric("stuck_lock_minutes", minutes,
                    "%s rows still carry a lease that expired over %s min ago; the oldest expired %s ago (%s)"
                    % (fmt(count), stuck.get("stuck_after_minutes"), duration(minutes), by_status),
                    count=count, sample_ids=(stuck.get("ids") or [])[:5])

    def check_stranded(self):
        stranded = self.q("stranded_processing")
        if stranded is None:
            self.unknown("stranded_processing", "the queue facts have no stranded_processing (an older module)")
            return
        count = stranded.get("count") or 0
        if not count:
            self.metric("stranded_processing", 0, "no processing row without a lease older than %s min"
                        % stranded.get("stuck_after_minutes", "?"), sample_ids=[])
            return
        by_entity = ", ".join("%s %s" % kv for kv in sorted((stranded.get("by_entity") or {}).items()))
        self.metric("stranded_processing", count,
                    "%s rows sit in processing with no lease (no worker holds them, none will take them again); "
                    "the oldest since %s (%s)" % (fmt(count), duration((stranded.get("oldest_age_seconds") or 0) / 60.0),
                                                  by_entity),
                    sample_ids=(stranded.get("ids") or [])[:5])

    def check_dead_letters(self):
        dead = self.q("dead_letter") or {}
        n = dead.get("unrecorded") or 0
        self.metric("unrecorded_dead_letters", n,
                    "%s of %s dead_letter rows have no dead-letter record (recorded: %s, unresolved: %s)" % (
                        fmt(n), fmt(dead.get("queue_rows", 0)), fmt(dead.get("recorded", 0)),
                        fmt(dead.get("unresolved", 0))), sample_ids=(dead.get("unrecorded_ids") or [])[:5])
        if dead.get("duplicate_records"):
            self.add("duplicate_dead_letter_records", "warning", dead["duplicate_records"], None,
                     "%s dead-letter records duplicate another record of the same queue row"
                     % dead["duplicate_records"])

    def check_retries(self):
        retry = self.q("retry") or {}
        overdue = retry.get("overdue") or 0
        self.metric("overdue_retries", overdue,
                    "%s of %s retry rows are overdue by more than %s min (%s due; oldest due %s ago)" % (
                        fmt(overdue), fmt(retry.get("total", 0)), retry.get("overdue_after_minutes", "?"),
                        fmt(retry.get("due", 0)), duration((retry.get("oldest_due_seconds") or 0) / 60.0)))
        exhausted = retry.get("exhausted") or 0
        self.metric("exhausted_retries", exhausted,
                    "%s failed/retry rows have used up their attempts and are not dead-lettered" % fmt(exhausted),
                    sample_ids=(retry.get("exhausted_ids") or [])[:5])

    def check_failure_rate(self):
        tp = self.q("throughput") or {}
        rate = tp.get("failure_rate_24h")
        done, failed = tp.get("completed_last_24h", 0), tp.get("failed_last_24h", 0)
        if rate is None:
            self.add("failure_rate_pct", "ok", None, limits_of(self.thresholds, "failure_rate_pct"),
                     "no work finished or failed in the last 24 h")
            return
        value = rounded(float(rate) * 100.0, 1)
        top = self.top_error()
        self.metric("failure_rate_pct", value,
                    "%s failed vs %s completed in 24 h%s" % (
                        fmt(failed), fmt(done),
                        "; top error: %s (%s, %s rows)" % (top.get("pattern"), top.get("error_code"), top.get("count"))
                        if top else ""))

    def top_error(self):
        patterns = self.q("error_patterns") or []
        return patterns[0] if patterns else None

    def check_reprocessing(self):
        signs = self.signals.reprocessing_signs()
        self.signs = signs
        message = "; ".join(signs) if signs else "no sign of the re-processing loop"
        if not signs and self.signals.internal_explains_zero_completions() and \
                not (self.q("throughput", "completed_last_hour") or 0):
            message += " (nothing completes, but the failures are the worker's own errors: see the diagnoses)"
        self.metric("reprocessing_loop_signs", len(signs), message)

    def check_connections(self):
        conns = self.q("workers", "connections") or {}
        usage = conns.get("usage_pct")
        if usage is None:
            self.unknown("connection_usage_pct", "pg_stat_activity gave no connection count")
            return
        idle = conns.get("idle_in_transaction") or 0
        self.metric("connection_usage_pct", rounded(usage, 1),
                    "%s of %s connections in use (%s on this database, %s of them the application)%s" % (
                        conns.get("total"), conns.get("max_connections"), conns.get("database"),
                        conns.get("application"),
                        "; %s idle in transaction, the oldest for %s" % (
                            idle, duration((conns.get("oldest_idle_in_transaction_seconds") or 0) / 60.0))
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
                        % (label, fmt(disk.get("available_mb")), fmt(disk.get("size_mb")), disk.get("mount")),
                        target=disk.get("path"))


def overall_of(findings):
    worst = "ok"
    for f in findings:
        if RANK.get(f.get("severity"), RANK["unknown"]) > RANK[worst]:
            worst = f.get("severity") if f.get("severity") in RANK else "unknown"
    return worst


# Order of the checks inside one severity: the cause before its symptoms.
CHECK_ORDER = ("database", "service", "worker_inactivity_minutes", "reprocessing_loop_signs", "stuck_lock_minutes",
               "stranded_processing",
               "overdue_retries", "pending", "sync_delay_minutes", "failed", "exhausted_retries",
               "unrecorded_dead_letters", "failure_rate_pct", "connection_usage_pct", "memory_used_pct",
               "disk_used_pct", "sustained_rise")


def sort_key(f):
    order = CHECK_ORDER.index(f["check"]) if f["check"] in CHECK_ORDER else len(CHECK_ORDER)
    value = f.get("value") if isinstance(f.get("value"), (int, float)) else 0
    return (-RANK.get(f["severity"], 2), order, f["check"], -value, str(f.get("entity") or ""),
            str(f.get("target") or ""))
