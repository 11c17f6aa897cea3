# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The catalogue of diagnoses: one rule per id, each with the signs it needs and what
tells it apart from its look-alikes (docs/diagnosis.md describes them for operators).

A rule returns Candidates (diagnosis.Candidate) - or nothing when its signs are absent -
and marks a candidate ``contradicted`` when the evidence speaks against its cause; the
engine never shows those. Rules run in order and may look at what earlier rules found
(``found``: id -> Candidate), so a cause can keep its symptoms from passing as causes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import SEVERITY_RANK
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.diagnosis import Candidate
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.thresholds import limits_of
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.trends import backlog_of, eta, eta_text
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import duration, fmt, rounded

# The error text of a queue-facts failure that means the layout, not the connection.
SCHEMA_ERROR = re.compile(r"Table \S+ (does not exist|has no column)|has no column|queue_schema|unknown key|"
                          r"is not mapped|must be a PostgreSQL identifier", re.IGNORECASE)
CONNECTION_ERROR = re.compile(r"connect|connection|password authentication|pg_hba|timeout|timed out|"
                              r"could not translate host|Name or service not known|database \S+ does not exist|"
                              r"role \S+ does not exist|SSL|server closed", re.IGNORECASE)
FAILURE_CHECKS = ("failure_rate_pct", "failed", "exhausted_retries")
BACKLOG_CHECKS = ("pending", "sync_delay_minutes", "sustained_rise")
# A class of failures "dominates" when it holds at least this share of the failing rows.
DOMINANT_SHARE = 0.25


class Context(object):
    """What the rules read: the evaluation (facts, findings, signals), the trends and
    the command builder of the run."""

    def __init__(self, evaluation, findings, trend, commands):
        self.ev = evaluation
        self.s = evaluation.signals
        self.findings = findings
        self.trend = trend or {}
        self.cmd = commands
        self.options = evaluation.options
        self.service = evaluation.service or {}

    def q(self, *keys):
        return self.s.q(*keys)

    def severity(self, check):
        """The worst severity of a check's findings (None when there is none)."""
        sevs = [f["severity"] for f in self.findings if f.get("check") == check]
        return max(sevs, key=lambda s: SEVERITY_RANK.get(s, 2)) if sevs else None

    def bad(self, check):
        return self.severity(check) in ("warning", "critical")

    @property
    def inactivity_minutes(self):
        return limits_of(self.ev.thresholds, "worker_inactivity_minutes")["warning"]

    def heal_check(self):
        return self.cmd.play("heal", check=True)

    def notes(self):
        return [self.cmd.omitted_note]


def _short(text, limit=160):
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _entities_text(entities, limit=4):
    names = sorted(entities, key=lambda e: -entities[e])
    text = ", ".join("%s %s" % (n, entities[n]) for n in names[:limit])
    return text + (" and %d more" % (len(names) - limit) if len(names) > limit else "")


# --------------------------------------------------------------------------- the platform
def database(ctx, found):
    if ctx.s.measured:
        return []
    error = ctx.ev.queue_error or "the queue facts were not gathered"
    db = ctx.options.get("database") or {}
    schema = bool(SCHEMA_ERROR.search(error)) and not CONNECTION_ERROR.search(error)
    if schema:
        c = Candidate("schema_mismatch", "The queue tables do not look as the collection expects: %s"
                      % _short(error), layer=0, explains=["database"], severity="critical",
                      command=ctx.cmd.psql("SELECT table_name, column_name, data_type FROM information_schema.columns "
                                           "WHERE table_name LIKE 'tds_%' ORDER BY table_name, ordinal_position"),
                      steps=["compare the columns with the collection's mapping: set zoho_queue_schema (queue_table, "
                             "queue_columns, ...) for a layout that differs from the production TSH schema",
                             "nothing else was judged: every queue check is unknown until the queue can be read"]
                      + ctx.notes())
        c.add("error", _short(error, 300), "", "what the facts module said when it read the tables").sign(True)
        return [c]
    c = Candidate("database_unreachable", "The queue database cannot be read, so nothing about the sync could be "
                  "judged: %s" % _short(error), layer=0, explains=["database"], severity="critical",
                  command=ctx.cmd.psql("SELECT 1"),
                  steps=["check that PostgreSQL runs on %s:%s and accepts connections from %s"
                         % (db.get("host"), db.get("port"), ctx.cmd.host),
                         "check zoho_db_name (%s), zoho_db_user (%s) and the vaulted zoho_db_password "
                         "(psql reads the password from PGPASSWORD or ~/.pgpass)" % (db.get("name"), db.get("user")),
                         "every queue check is unknown until the database answers; run health again then"]
                  + ctx.notes())
    c.add("error", _short(error, 300), "", "what the facts module said when it connected").sign(True)
    c.add("database", "%s@%s:%s/%s" % (db.get("user"), db.get("host"), db.get("port"), db.get("name")), "",
          "the connection the run used (no password)")
    return [c]


def schema_statuses(ctx, found):
    unknown = ctx.q("unknown_statuses") or {}
    if not ctx.s.measured or not unknown:
        return []
    rows = sum(unknown.values())
    c = Candidate("schema_mismatch", "%s rows are in statuses this collection does not know (%s): the ERP's "
                  "status enum changed, and no check looked at those rows" % (fmt(rows), ", ".join(sorted(unknown))),
                  layer=0, explains=["unknown_statuses"], severity="warning",
                  steps=["find out what the new statuses mean in the ERP (its tds_event_status enum)",
                         "update the collection (module_utils/vocabulary.py STATUSES and the checks) before trusting "
                         "the other figures: rows in those statuses are not counted as backlog, failures or leases"])
    for status, count in sorted(unknown.items()):
        c.add("rows in status %s" % status, count, "rows", "a status no check judges")
    c.sign(True)
    return [c]


def service_down(ctx, found):
    svc = ctx.service
    if not svc.get("managed") or svc.get("overall") != "stopped":
        return []
    names = ", ".join(svc.get("names") or [])
    c = Candidate("service_down", "The ERP service (%s, %s) is not running, and with it every sync worker: %s"
                  % (names, svc.get("manager"), _short(svc.get("reason") or "stopped")), layer=0,
                  explains=["service", "worker_inactivity_minutes", "pending", "sync_delay_minutes",
                            "overdue_retries", "stuck_lock_minutes", "sustained_rise", "reprocessing_loop_signs"],
                  command=ctx.cmd.play("emergency", check=False, extra=["zoho_heal_confirm=true"]),
                  steps=["the emergency run restarts the service (outside business hours; inside them add "
                         "-e zoho_heal_force=true) and watches the backlog drain",
                         "if it does not come up, read why: %s" % (ctx.cmd.logs(30) or ctx.cmd.log_step("error")),
                         "by hand: %s" % ctx.cmd.restart_words() if ctx.cmd.restart_words() else None]
                  + ctx.notes())
    c.add("service", svc.get("overall"), "", svc.get("reason") or "every unit or container is down").sign(True, 3)
    if ctx.s.measured:
        c.add("work waiting", ctx.s.work_waiting, "rows", "pending and due retry rows no worker can take")
        c.sign(ctx.s.work_waiting > 0)
    return [c]


# --------------------------------------------------------------------------- the workers
def workers_idle(ctx, found):
    s = ctx.s
    if not s.measured or s.work_waiting <= 0:
        return []
    since, source = s.last_activity()
    limit = ctx.inactivity_minutes
    if since is not None and since <= limit * 60:
        return []
    minutes = None if since is None else rounded(since / 60.0, 1)
    c = Candidate("workers_idle", "Work waits but no worker has taken a lease %s: the workers are stopped or hung "
                  "inside a running service" % ("for %s" % duration(minutes) if minutes is not None
                                                else "in the whole look-back window"), layer=1,
                  explains=["worker_inactivity_minutes", "pending", "sync_delay_minutes", "overdue_retries",
                            "stuck_lock_minutes", "sustained_rise"],
                  command=ctx.cmd.play("emergency", check=False, extra=["zoho_heal_confirm=true"]),
                  steps=["first read what the workers last said: %s"
                         % (ctx.cmd.logs(60) or ctx.cmd.log_step("Sync worker")),
                         "the emergency run restarts the service (outside business hours; inside them add "
                         "-e zoho_heal_force=true) and watches the backlog drain",
                         "preview the heal for the leases they left: %s" % ctx.heal_check()
                         if ctx.q("stuck_locks", "count") else None] + ctx.notes())
    if "service_down" in found:
        c.contradicted("the service is down: that is the cause")
    c.add("work waiting", s.work_waiting, "rows", "pending rows and retry rows that are due").sign(True)
    c.add("last worker activity", minutes if minutes is not None else "none seen", "min" if minutes is not None else "",
          "the most recent lease, completion or worker log line (%s); the threshold is %s min"
          % (source or "none", fmt(limit))).sign(True, 2)
    live = ctx.q("workers", "active_leases") or 0
    c.add("live leases", live, "rows", "rows a worker holds right now").sign(live == 0)
    if s.log is not None:
        lines = s.log_count("processing")
        c.add("'Processing event' log lines", lines, "lines", "in the last %s min of the worker log"
              % s.log.get("window_minutes")).sign(lines == 0)
    if ctx.service.get("managed"):
        c.add("service", ctx.service.get("overall"), "", "the service itself looks %s" % ctx.service.get("overall"))
    return [c]


def retry_starvation(ctx, found):
    s = ctx.s
    retry = ctx.q("retry") or {}
    overdue = retry.get("overdue") or 0
    high = retry.get("overdue_high_attempts") or 0
    if not s.measured or not overdue:
        return []
    pending = s.count("pending")
    deep = pending >= s.batch
    if not deep and not high:
        return []
    pending_leases = (s.leases("pending", "taken_recently") or 0) + (s.leases("pending", "live") or 0)
    retry_leases = (s.leases("retry", "taken_recently") or 0) + (s.leases("retry", "live") or 0)
    retried_done = ctx.q("throughput", "completed_retries_last_hour") or 0
    fresh_done = (s.completed_last_hour or 0) - retried_done
    busy = pending_leases > 0 or fresh_done > 0 or (s.log_count("processing") or 0) > 0
    why = ("the worker fills each batch of %d rows with pending rows first; while %s rows are pending, no retry row "
           "is polled" % (s.batch, fmt(pending))) if deep else \
        "the worker's poll skips rows with attempt_count 5 or more, whatever their max_retry_attempts"
    c = Candidate("retry_starvation", "Retries starve: %s retry rows are overdue while the workers stay busy on "
                  "pending rows - %s. A restart does not help." % (fmt(overdue), why), layer=1,
                  explains=["overdue_retries", "pending", "sync_delay_minutes", "sustained_rise"],
                  steps=["do not restart the service: the workers are running, and a restarted worker polls the "
                         "same pending-first batch",
                         "the retries get through once fewer than %d rows are pending (%s now): the backlog drains "
                         "at the workers' pace" % (s.batch, fmt(pending)) if deep else None,
                         "rows with attempt_count 5 or more are never polled by the production worker: %s of the "
                         "overdue rows; they need the ERP fix or a manual re-queue" % fmt(high) if high else None,
                         "the fix is in the ERP's worker: poll due retry rows in their own share of each batch (or "
                         "order pending and due retries together by their due time)"] + ctx.notes())
    if not s.workers_active and not busy:
        c.contradicted("the workers are not active at all (workers_idle)")
    if retry_leases or retried_done:
        c.contradicted("retry rows are being polled (%d leased, %d completed in the last hour)"
                       % (retry_leases, retried_done))
    c.add("overdue retries", overdue, "rows", "retry rows whose next_retry_at passed more than %s min ago"
          % retry.get("overdue_after_minutes", "?")).sign(True)
    c.add("oldest overdue", rounded((retry.get("oldest_due_seconds") or 0) / 60.0, 1), "min",
          "how long the oldest retry has been due")
    c.add("pending backlog", pending, "rows", "at least one worker batch (%d) keeps retries out of every poll"
          % s.batch).sign(deep, 2)
    window = ctx.q("workers", "activity_window_minutes") or "?"
    c.add("leases on pending rows", pending_leases, "rows", "workers keep taking pending rows (live or in the last "
          "%s min)" % window).sign(pending_leases > 0 or fresh_done > 0, 2)
    c.add("leases on retry rows", retry_leases, "rows", "no retry row is being taken").sign(retry_leases == 0)
    c.add("retried rows completed in the last hour", retried_done, "rows",
          "none of the rows that had failed before completes").sign(retried_done == 0)
    if high:
        c.add("overdue rows with attempt_count >= 5", high, "rows", "the production poll never takes them")
    return [c]


def leases(ctx, found):
    s = ctx.s
    stuck = ctx.q("stuck_locks") or {}
    count = stuck.get("count") or 0
    if not s.measured or not count:
        return []
    by_status = stuck.get("by_status") or {}
    claimable = sum(by_status.get(st, 0) for st in ("pending", "retry"))
    minutes = rounded((stuck.get("oldest_age_seconds") or 0) / 60.0, 1)
    out = []
    others_live = ctx.q("workers", "active_leases") or 0
    active = s.workers_active or others_live > 0
    explained_by_idle = "workers_idle" in found or "service_down" in found
    if claimable:
        c = Candidate("expired_leases_not_reclaimed", "%s pending/retry rows keep a lease that expired %s ago while the "
                      "workers are active on other rows: the worker never re-claims an expired lease, so only a heal "
                      "frees them" % (fmt(claimable), duration(minutes)), layer=1,
                      explains=["stuck_lock_minutes", "sync_delay_minutes"],
                      command=ctx.heal_check(),
                      steps=["the production worker's claim compares a naive and an aware datetime (TypeError: can't "
                             "compare offset-naive and offset-aware datetimes) and fails on every row whose lease "
                             "expired", "run the heal without --check to clear those leases; the workers then take "
                             "the rows", "the fix is in the ERP's claim (compare aware datetimes)"] + ctx.notes())
        if explained_by_idle or not active:
            c.contradicted("no worker is active: the leases are the leftovers of stopped workers")
        c.add("expired leases on pending/retry rows", claimable, "rows",
              "rows a worker should have taken again long ago").sign(True, 2)
        c.add("oldest expired lease", minutes, "min", "since the oldest such lease expired (stuck after %s min)"
              % stuck.get("stuck_after_minutes", "?"))
        since = s.seconds_since_activity
        c.add("last worker activity", rounded(since / 60.0, 1) if since is not None else None, "min",
              "the workers are active meanwhile").sign(active, 2)
        c.add("live leases on other rows", others_live, "rows", "rows the workers hold right now").sign(others_live > 0)
        c.extra["sample_ids"] = (stuck.get("ids") or [])[:5]
        out.append(c)
    rest = count - (claimable if claimable and not explained_by_idle and active else 0)
    if rest > 0 and not explained_by_idle:
        left = ", ".join("%s %s" % kv for kv in sorted(by_status.items()))
        finished = set(by_status) <= {"dead_letter", "failed", "completed"}
        why = ("the update that finished them left the lease of their last attempt behind" if finished else
               "the worker that held them died or its failure path failed, and no worker takes them again")
        c = Candidate("stuck_leases", "%s rows still carry a lease that expired over %s min ago (%s): %s"
                      % (fmt(rest), stuck.get("stuck_after_minutes", "?"), left, why), layer=2,
                      explains=["stuck_lock_minutes"], command=ctx.heal_check(),
                      steps=["run the heal without --check to clear the leases (rows in processing then go back to "
                             "pending through the stranded-processing reset)"] + ctx.notes())
        c.add("stuck leases", rest, "rows", "leases expired more than %s min ago" % stuck.get("stuck_after_minutes"))
        c.add("oldest expired lease", minutes, "min", "since the oldest expired")
        c.sign(True)
        c.extra["sample_ids"] = (stuck.get("ids") or [])[:5]
        out.append(c)
    return out


def stranded(ctx, found):
    st = ctx.q("stranded_processing") or {}
    count = st.get("count") or 0
    if not ctx.s.measured or not count:
        return []
    minutes = rounded((st.get("oldest_age_seconds") or 0) / 60.0, 1)
    by_entity = st.get("by_entity") or {}
    c = Candidate("stranded_processing", "%s rows sit in processing with no lease, the oldest for %s: no worker holds "
                  "them and none will ever poll them again, so they never sync" % (fmt(count), duration(minutes)),
                  layer=1, explains=["stranded_processing"], entities=list(by_entity), command=ctx.heal_check(),
                  steps=["an earlier worker's lock cleanup cleared the lease of rows still in processing without "
                         "changing their status (the worker polls only pending and retry rows)",
                         "the heal resets them to pending (action reset_stranded; attempt_count kept, rows under a "
                         "live lease never touched): preview it, then run it without --check"] + ctx.notes())
    c.add("processing rows without a lease", count, "rows", "older than %s min (from started_at, else created_at)"
          % st.get("stuck_after_minutes", "?")).sign(True, 2)
    c.add("oldest", minutes, "min", "how long the oldest has been stranded")
    c.add("by entity type", _entities_text(by_entity), "rows", "where they are")
    c.extra["sample_ids"] = (st.get("ids") or [])[:5]
    return [c]


# --------------------------------------------------------------------------- failures
def _class_candidate(ctx, cls, id, layer, summary, steps, command=None, dead_letters_explained=False):
    s = ctx.s
    data = s.error_class(cls)
    count = data.get("count") or 0
    if not s.measured or not count:
        return None
    share = s.class_share(cls) or 0.0
    recent = data.get("last_24h") or 0
    recent_share = s.class_share(cls, "last_24h")
    explains = []
    failed_rows = s.count("failed")
    recent_total = sum(c.get("last_24h", 0) for c in (ctx.q("error_classes") or {}).values())
    # a class explains the failure findings while it is happening (rows active in the last 24 h);
    # failures of last week are history, not the cause of what to do now
    if recent and failed_rows and (data.get("failed") or 0) >= DOMINANT_SHARE * failed_rows:
        explains.append("failed")
    if recent_total and recent >= DOMINANT_SHARE * recent_total:
        explains.append("failure_rate_pct")
    if recent and share >= DOMINANT_SHARE:
        explains.append("exhausted_retries")
        if "failure_rate_pct" in (ctx.trend.get("sustained_rise") or []):
            explains.append("sustained_rise")
        unrecorded = ctx.q("dead_letter", "unrecorded") or 0
        if dead_letters_explained and recent and unrecorded and (data.get("dead_letter") or 0) >= 0.5 * unrecorded:
            explains.append("unrecorded_dead_letters")
    entities = data.get("entities") or {}
    c = Candidate(id, summary(data, share, entities), layer=layer, explains=explains, entities=list(entities),
                  command=command, steps=steps(data, entities) + ctx.notes())
    c.strength = max(share, recent_share or 0.0)
    # a minor share of the failures that will not recover by itself is still worth a warning
    # (a bug in the worker at any share; Zoho rejecting credentials or data at 5 % or more)
    if not explains and recent and any(ctx.bad(ch) for ch in FAILURE_CHECKS) and \
            (cls == "internal" or (cls in ("zoho_validation", "zoho_auth") and (recent_share or 0) >= 0.05)):
        c.forced_severity = "warning"
    c.add("failing rows of this class", count, "rows", "failed, retry and dead_letter rows whose error the rules "
          "classify as %s" % cls).sign(True, 2)
    c.add("share of the failing rows", rounded(share * 100.0, 1), "%", "of %s failing rows" % fmt(s.failing_rows))
    c.sign(share >= 0.5)
    c.add("in the last 24 h", recent, "rows", "rows whose last activity is that recent").sign(recent > 0)
    c.add("entity types", _entities_text(entities), "rows", "where the failures are")
    if data.get("example"):
        c.add("example", _short(data["example"], 240), "", "the most frequent error text of this class")
    codes = data.get("codes") or {}
    if codes:
        c.add("error codes", _entities_text(codes), "rows", "error_code of these rows")
    return c


def internal_error(ctx, found):
    s = ctx.s
    data = s.error_class("internal")
    zero_done = (ctx.q("throughput", "completed_last_24h") or 0) == 0

    def summary(data, share, entities):
        head = "The sync worker fails in its own code (%s), not in Zoho" % _short(data.get("example"), 110)
        dl = data.get("dead_letter_attempts_left") or 0
        left = ", %s of them dead-lettered with attempts left" % fmt(dl) if dl else ""
        tail = ": %s rows failed%s" % (fmt(data["count"]), left)
        if zero_done and share >= 0.5:
            return head + tail + "; nothing completed, so nothing reached Zoho (no duplicates there)."
        return head + tail + "; these rows never reached Zoho."

    def steps(data, entities):
        return ["fix the worker (the ERP code): its ORM or its own logic raises this before the Zoho call",
                "nothing was sent to Zoho for these rows: there is nothing to clean up in Zoho",
                "once fixed, re-drive the dead letters that still had attempts left (%s rows): review them with %s"
                % (fmt(data.get("dead_letter_attempts_left") or 0), ctx.cmd.play("dlq_review", check=False)),
                "meanwhile the heal records the dead letters (one DLQ record each) but re-drives nothing",
                None if ctx.cmd.logs(60, "Event processing failed") else
                ctx.cmd.log_step("Event processing failed")]

    c = _class_candidate(ctx, "internal", "internal_worker_error", 1, summary, steps,
                         command=ctx.cmd.logs(60, "Event processing failed"), dead_letters_explained=True)
    if c is None:
        return []
    if zero_done and (s.class_share("internal") or 0) >= 0.5:
        c.explains.append("reprocessing_loop_signs")
    dl = data.get("dead_letter_attempts_left") or 0
    c.add("dead letters with attempts left", dl, "rows", "dead-lettered at once: the error is not retryable, as the "
          "worker's own failures are").sign(dl > 0)
    c.add("completed in the last 24 h", ctx.q("throughput", "completed_last_24h"), "rows",
          "nothing completes when the worker fails before the handler").sign(zero_done)
    if "xd2s" in [str(k).lower() for k in (data.get("codes") or {})]:
        c.add("SQLAlchemy error code xd2s", (data["codes"].get("xd2s") or data["codes"].get("XD2S")), "rows",
              "MissingGreenlet: the async session was used outside its greenlet").sign(True)
    processed = s.log_count("processed")
    if processed is not None:
        c.add("'Event processed successfully' log lines", processed, "lines", "a worker that fails before the "
              "handler logs no success").sign(processed == 0)
    return [c]


def completion_lost(ctx, found):
    s = ctx.s
    if not s.measured:
        return []
    signs = s.reprocessing_signs()
    if not signs:
        return []
    done = s.completed_last_hour or 0
    processed = s.log_count("processed") or 0
    c = Candidate("completion_not_recorded", "Successful syncs are not recorded: the workers keep taking leases but no "
                  "row completes, so each row is synced again whenever its lease expires - duplicates in Zoho are "
                  "likely", layer=1, explains=["reprocessing_loop_signs", "pending", "sync_delay_minutes",
                                               "sustained_rise"],
                  command=ctx.cmd.logs(60, "Event processed successfully"),
                  steps=[None if ctx.cmd.logs(60, "Event processed successfully") else
                         ctx.cmd.log_step("Event processed successfully"),
                         "the worker's completion update fails (the ERP code): heal cannot fix this",
                         "check Zoho for duplicates of the rows synced more than once (entities below)",
                         "after the fix, review the dead letters with %s" % ctx.cmd.play("dlq_review", check=False)]
                  + ctx.notes())
    if done > 0 and not processed > 2 * done:
        c.contradicted("rows do complete (%d in the last hour)" % done)
    if "service_down" in found or "workers_idle" in found:
        c.contradicted("no worker runs: nothing is being synced, let alone twice")
    if s.internal_explains_zero_completions() and not (ctx.q("workers", "old_pending_leased") or 0) \
            and not processed:
        c.contradicted("the failures are the worker's own errors before the handler: nothing was synced")
    for sign in signs:
        c.add("sign", sign, "", "a sign of the re-processing loop").sign(True)
    c.add("completed in the last hour", done, "rows", "a worker that syncs but never records it completes nothing")
    c.sign(done == 0)
    c.sign(processed > 0, 2)
    pending_entities = dict((e, (d.get("status_counts") or {}).get("pending", 0))
                            for e, d in (ctx.q("entities") or {}).items()
                            if (d.get("status_counts") or {}).get("pending"))
    c.entities = list(pending_entities)
    return [c]


def zoho_auth(ctx, found):
    def summary(data, share, entities):
        return ("Zoho rejects the ERP's credentials (401/403, invalid OAuth token): %s rows failed across %d entity "
                "types - %s" % (fmt(data["count"]), len(entities), _short(data.get("example"), 110)))

    def steps(data, entities):
        return ["renew the Zoho OAuth connection of the ERP (refresh token, client id/secret, scopes, data center); "
                "the collection never calls Zoho itself",
                "retry rows recover by themselves once Zoho accepts the token; failed rows are requeued by the heal "
                "(%s)" % ctx.heal_check(),
                "dead letters from this error: review and re-drive them with %s"
                % ctx.cmd.play("dlq_review", check=False)]

    c = _class_candidate(ctx, "zoho_auth", "zoho_auth_failure", 1, summary, steps)
    if c is None:
        return []
    failing_entities = set()
    for data in (ctx.q("error_classes") or {}).values():
        failing_entities.update(data.get("entities") or {})
    spread = len(c.entities) >= 2 or set(c.entities) >= failing_entities
    c.add("entity types affected", len(c.entities), "types", "an auth failure hits every entity type alike")
    c.sign(spread)
    return [c]


def zoho_rate(ctx, found):
    def summary(data, share, entities):
        return ("Zoho throttles the ERP's calls (429, API call limit): %s rows failed - %s"
                % (fmt(data["count"]), _short(data.get("example"), 110)))

    def steps(data, entities):
        return ["the worker's retries back off (2^attempt minutes) and usually recover: nothing to heal while "
                "they do",
                "Zoho Books allows about 100 API calls per minute per organization and a daily limit by plan: lower "
                "the workers' concurrency or batch, or spread webhook bursts",
                "rows dead-lettered by it: review and re-drive them with %s once the limit clears"
                % ctx.cmd.play("dlq_review", check=False)]

    c = _class_candidate(ctx, "zoho_rate_limit", "zoho_rate_limited", 1, summary, steps)
    return [c] if c else []


def zoho_down(ctx, found):
    def summary(data, share, entities):
        return ("Zoho (or the way to it) is unavailable - timeouts, 5xx, connection resets: %s rows failed - %s"
                % (fmt(data["count"]), _short(data.get("example"), 110)))

    def steps(data, entities):
        return ["check Zoho's status page and the network path from %s to www.zohoapis.com (DNS, proxy, firewall)"
                % ctx.cmd.host,
                "retries recover once Zoho answers: nothing to heal meanwhile",
                "rows dead-lettered by it: re-drive them with %s once Zoho answers"
                % ctx.cmd.play("dlq_review", check=False)]

    c = _class_candidate(ctx, "zoho_unavailable", "zoho_unavailable", 1, summary, steps)
    return [c] if c else []


def payload(ctx, found):
    s = ctx.s
    data = s.error_class("zoho_validation")
    entities = data.get("entities") or {}
    total = sum(entities.values()) or 1
    top, held = [], 0
    for name in sorted(entities, key=lambda e: -entities[e]):
        if held >= 0.8 * total or len(top) >= 3:
            break
        top.append(name)
        held += entities[name]

    def summary(data, share, ents):
        return ("Zoho rejects the data of %s (400-class validation: %s): %s rows; retrying will not help"
                % (", ".join(top) or "some rows", _short(data.get("example"), 110), fmt(data["count"])))

    def steps(data, ents):
        return ["the review lists the rejected rows by error and entity type (read-only)",
                "fix the records in the ERP (the field Zoho names), then re-drive them: "
                "-e '{\"zoho_dlq_review_redrive_entity_types\": [\"%s\"]}' with zoho_heal_confirm=true"
                % (top[0] if top else "invoice")]

    c = _class_candidate(ctx, "zoho_validation", "payload_rejected", 1, summary, steps,
                         command=ctx.cmd.play("dlq_review", check=False), dead_letters_explained=True)
    if c is None:
        return []
    c.entities = top
    c.add("share of these rows in %s" % ", ".join(top), rounded(100.0 * held / total, 1), "%",
          "validation errors concentrate in the entity types whose data is wrong").sign(len(top) <= 2)
    return [c]


def unclassified(ctx, found):
    s = ctx.s
    data = s.error_class("unknown")
    if not s.measured or not data.get("count"):
        return []
    share = s.class_share("unknown") or 0
    if share < DOMINANT_SHARE and not any(ctx.bad(ch) for ch in FAILURE_CHECKS):
        return []

    def summary(data, share, entities):
        return ("%s failing rows carry errors no rule classifies - %s"
                % (fmt(data["count"]), _short(data.get("example"), 140)))

    def steps(data, entities):
        return ["add a rule to zoho_health_error_rules ({class, message and/or code}) so the report can tell its "
                "cause (docs/diagnosis.md, error rules)",
                None if ctx.cmd.logs(60, "Event processing failed") else ctx.cmd.log_step("Event processing failed")]

    c = _class_candidate(ctx, "unknown", "failures_unclassified", 2, summary, steps,
                         command=ctx.cmd.logs(60, "Event processing failed"))
    return [c] if c else []


# --------------------------------------------------------------------------- backlog
def burst(ctx, found):
    s = ctx.s
    # a burst is more rows than usual: the pending count or a rising backlog (an old row alone,
    # a sync delay, is not a burst - a stuck or starved row ages too)
    rising = "backlog" in (ctx.trend.get("sustained_rise") or [])
    if not s.measured or not (ctx.bad("pending") or rising):
        return []
    done = s.completed_last_hour or 0
    usual = s.usual_per_hour
    arrived = ctx.q("throughput", "created_last_hour")
    failed_hour = ctx.q("throughput", "failed_last_hour") or 0
    minutes, how, rates = eta(ctx.ev.queue)
    backlog = backlog_of(ctx.q("status_counts"))
    c = Candidate("backlog_burst", "A burst of work: %s rows arrived in the last hour and the workers complete %s "
                  "rows/h at their usual rate with few failures; %s" % (fmt(arrived), fmt(done),
                                                                        eta_text(minutes, how, backlog)),
                  layer=1, explains=list(BACKLOG_CHECKS),
                  steps=["nothing to heal: the workers are healthy and keep their usual pace",
                         eta_text(minutes, how, backlog),
                         "if bursts like this recur, add worker capacity (API processes) or spread the webhook "
                         "sources"] + ctx.notes(),
                  extra={"eta_minutes": minutes, "eta": eta_text(minutes, how, backlog), "rates": rates})
    if not done:
        c.contradicted("nothing completed in the last hour")
    if not s.workers_active:
        c.contradicted("the workers are not active")
    if done and failed_hour > 0.5 * (done + failed_hour):
        c.contradicted("most of the finished work failed")
    c.add("backlog", backlog, "rows", "pending, processing, retry and failed rows").sign(True)
    c.add("arrived in the last hour", arrived, "rows", "more arrives than usual").sign(
        arrived is not None and arrived > done)
    c.add("completed in the last hour", done, "rows", "the workers' pace now").sign(done > 0, 2)
    c.add("usual completions", rounded(usual, 1), "rows/h", "the 24 h average").sign(
        usual is not None and usual > 0 and done >= 0.5 * usual)
    c.add("failed in the last hour", failed_hour, "rows", "few failures: the workers are not the problem").sign(
        failed_hour <= 0.1 * max(done, 1))
    c.add("catch-up estimate", minutes, "min", how)
    return [c]


# --------------------------------------------------------------------------- what is left behind
def dead_letters(ctx, found):
    dead = ctx.q("dead_letter") or {}
    out = []
    if ctx.s.measured and dead.get("unrecorded"):
        c = Candidate("unrecorded_dead_letters", "%s dead_letter rows have no dead-letter record: the production worker "
                      "sets the status without writing one, so the weekly review does not see them"
                      % fmt(dead["unrecorded"]), layer=2, explains=["unrecorded_dead_letters"],
                      command=ctx.heal_check(),
                      steps=["the heal writes exactly one record per row (reconcile) and re-drives nothing: preview "
                             "it, then run it without --check", "then review them: %s"
                             % ctx.cmd.play("dlq_review", check=False)] + ctx.notes())
        c.add("dead letters without a record", dead["unrecorded"], "rows", "invisible to the dead-letter review")
        c.add("dead letters with attempts left", dead.get("with_attempts_left"), "rows",
              "dead-lettered by a non-retryable error while they still had attempts")
        c.sign(True)
        c.extra["sample_ids"] = (dead.get("unrecorded_ids") or [])[:5]
        out.append(c)
    if ctx.s.measured and dead.get("duplicate_records"):
        c = Candidate("duplicate_dead_letter_records", "%s dead-letter records duplicate another record of the same "
                      "queue row (two tools recorded the same dead letter)" % fmt(dead["duplicate_records"]), layer=2,
                      explains=["duplicate_dead_letter_records"], command=ctx.cmd.play("dlq_review", check=False),
                      steps=["resolve the extra records in the review; the heal never writes a second record"])
        c.add("duplicate records", dead["duplicate_records"], "records", "records beyond the first per queue row")
        c.sign(True)
        out.append(c)
    return out


def retries_left_behind(ctx, found):
    retry = ctx.q("retry") or {}
    out = []
    if ctx.s.measured and retry.get("exhausted"):
        c = Candidate("exhausted_retries", "%s failed/retry rows have used up their attempts but were left there "
                      "(older code paths, manual scripts)" % fmt(retry["exhausted"]), layer=2,
                      explains=["exhausted_retries"], command=ctx.heal_check(),
                      steps=["the heal moves them to the dead-letter queue with one record each: preview it, then "
                             "run it without --check"] + ctx.notes())
        c.add("exhausted rows", retry["exhausted"], "rows", "attempt_count at or above max_retry_attempts").sign(True)
        c.extra["sample_ids"] = (retry.get("exhausted_ids") or [])[:5]
        out.append(c)
    failed = ctx.s.count("failed") if ctx.s.measured else 0
    if failed:
        c = Candidate("failed_rows", "%s rows are in status failed: no worker polls them (only older code paths and "
                      "scripts set it), so they wait for a heal" % fmt(failed), layer=2, explains=["failed"],
                      command=ctx.heal_check(),
                      steps=["the heal requeues those under their retry budget and dead-letters the rest: preview "
                             "it, then run it without --check"] + ctx.notes())
        c.add("failed rows", failed, "rows", "status failed").sign(True)
        out.append(c)
    return out


# --------------------------------------------------------------------------- the host
def connections(ctx, found):
    if not ctx.bad("connection_usage_pct"):
        return []
    conns = ctx.q("workers", "connections") or {}
    c = Candidate("connections_exhausted", "PostgreSQL is running out of connections: %s of %s in use (%s%%)%s"
                  % (conns.get("total"), conns.get("max_connections"), fmt(conns.get("usage_pct")),
                     "; %s sessions idle in transaction" % conns.get("idle_in_transaction")
                     if conns.get("idle_in_transaction") else ""), layer=0, explains=["connection_usage_pct"],
                  command=ctx.cmd.psql("SELECT pid, usename, application_name, state, now() - xact_start AS age "
                                       "FROM pg_stat_activity WHERE backend_type = 'client backend' "
                                       "ORDER BY xact_start NULLS LAST LIMIT 50"),
                  steps=["look for sessions idle in transaction and applications holding many connections",
                         "a leaking worker pool or hung sessions: restart the leaking application, or raise "
                         "max_connections / add a pooler"])
    c.add("connections in use", conns.get("usage_pct"), "%", "of max_connections").sign(True)
    c.add("connections", conns.get("total"), "sessions", "client backends on the server")
    c.add("idle in transaction", conns.get("idle_in_transaction"), "sessions", "sessions holding a transaction open")
    c.add("of the application", conns.get("application"), "sessions", "on this database, not this collection's")
    return [c]


def host(ctx, found):
    out = []
    mem = (ctx.ev.host or {}).get("memory") or {}
    if ctx.bad("memory_used_pct"):
        c = Candidate("memory_pressure", "The host is short of memory: %s%% in use, %s MB available"
                      % (fmt(mem.get("used_pct")), fmt(mem.get("available_mb"))), layer=3,
                      explains=["memory_used_pct"], command=ctx.cmd.on_host("free -m; ps aux --sort=-rss | head -n 15"),
                      steps=["the ERP workers or PostgreSQL use more memory than the host has"])
        c.add("memory used", mem.get("used_pct"), "%", "of MemTotal (from MemAvailable)").sign(True)
        out.append(c)
    if ctx.bad("disk_used_pct"):
        disks = [d for d in (ctx.ev.host or {}).get("disks") or [] if d.get("read")]
        bad = [f for f in ctx.findings if f.get("check") == "disk_used_pct" and f.get("severity") in
               ("warning", "critical")]
        worst = max(bad, key=lambda f: f.get("value") or 0)
        disk = [d for d in disks if d.get("path") == worst.get("target")]
        where = disk[0].get("where") if disk else "host"
        command = "df -h %s" % shlex.quote(str(worst.get("target") or "/"))
        c = Candidate("disk_filling", "The disk of %s (%s) is %s%% full"
                      % (worst.get("target"), where, fmt(worst.get("value"))), layer=3,
                      explains=["disk_used_pct"],
                      command=command if where == "control node" else ctx.cmd.on_host(command),
                      steps=["logs, reports or the database fill the disk: find the largest directories with "
                             "du -xh --max-depth=1 on that mount"])
        for f in bad:
            c.add("disk used: %s" % f.get("target"), f.get("value"), "%", "used of the file system").sign(True)
        out.append(c)
    return out


def not_measured(ctx, found):
    unknown = [f for f in ctx.findings if f.get("severity") == "unknown" and not f.get("depends_on")
               and f.get("check") not in ("database", "unknown_statuses")]
    if not unknown:
        return []
    c = Candidate("not_measured", "Some checks could not be made, so they are not judged healthy: %s"
                  % ", ".join(sorted(set(f["check"] for f in unknown))), layer=3,
                  explains=sorted(set(f["check"] for f in unknown)), severity="warning",
                  steps=["%s: %s" % (f["check"] + ("[%s]" % f["target"] if f.get("target") else ""), f.get("message"))
                         for f in unknown[:6]]
                  + ["service state: set zoho_service_become (or add the connecting user to the systemd-journal / "
                     "docker group)" if any(f["check"] == "service" for f in unknown) else None])
    for f in unknown:
        c.add(f["check"], "unknown", "", _short(f.get("message"), 200))
    c.sign(True)
    return [c]


RULES = (database, schema_statuses, service_down, workers_idle, retry_starvation, leases, stranded,
         internal_error, completion_lost, zoho_auth, zoho_rate, zoho_down, payload, unclassified, burst,
         dead_letters, retries_left_behind, connections, host, not_measured)


# --------------------------------------------------------------------------- fallbacks
def fallback_backlog(ctx, found, uncovered):
    checks = [f for f in uncovered if f["check"] in BACKLOG_CHECKS]
    if not checks:
        return []
    minutes, how, rates = eta(ctx.ev.queue)
    backlog = backlog_of(ctx.q("status_counts"))
    c = Candidate("backlog_growing", "The backlog (%s rows) grows or ages and no cause shows in the queue: %s"
                  % (fmt(backlog), "; ".join(_short(f["message"], 100) for f in checks[:2])), layer=1,
                  explains=[f["check"] for f in checks], command=ctx.cmd.logs(30, "Processing event"),
                  steps=[None if ctx.cmd.logs(30, "Processing event") else ctx.cmd.log_step("Processing event"),
                         eta_text(minutes, how, backlog)] + ctx.notes(),
                  extra={"eta_minutes": minutes, "eta": eta_text(minutes, how, backlog), "rates": rates})
    for f in checks:
        c.add(f["check"], f.get("value"), f.get("unit") or "", _short(f["message"], 200))
    c.sign(True)
    return [c]


def fallback_retries(ctx, found, uncovered):
    checks = [f for f in uncovered if f["check"] == "overdue_retries"]
    if not checks:
        return []
    f = checks[0]
    c = Candidate("retries_overdue", "%s retry rows are overdue although the workers are active and fewer than a "
                  "batch of rows is pending: the workers do not poll them" % fmt(f.get("value")), layer=1,
                  explains=["overdue_retries"], command=ctx.cmd.logs(60, "Event will be retried"),
                  steps=[None if ctx.cmd.logs(60, "Event will be retried") else ctx.cmd.log_step(
                      "Event will be retried"), "check which rows the worker version polls (its batch query)"])
    c.add("overdue retries", f.get("value"), "rows", _short(f["message"], 200)).sign(True)
    return [c]


def fallback_any(ctx, found, uncovered):
    rest = [f for f in uncovered if f["check"] not in BACKLOG_CHECKS and f["check"] != "overdue_retries"]
    if not rest:
        return []
    c = Candidate("needs_attention", "Findings no diagnosis explains: %s"
                  % "; ".join("%s: %s" % (f["check"], _short(f["message"], 90)) for f in rest[:3]), layer=2,
                  explains=[f["check"] for f in rest],
                  steps=["look at these findings in the report; no known failure mode fits them"])
    for f in rest:
        c.add(f["check"], f.get("value"), f.get("unit") or "", _short(f["message"], 200))
    c.sign(True)
    return [c]


FALLBACKS = (fallback_backlog, fallback_retries, fallback_any)
