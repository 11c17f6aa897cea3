# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every write of the collection, declared once.

An action is the condition a row must meet (its conditions, the live-lease guard among
them) and what happens to a row that meets it: the assignments that change it (plus,
for the dead-letter move and the reconcile, the record it gets; for the re-drive, the
records it resolves), "back up, then delete", or "insert from the backup". Everything
else is derived from this declaration (heal_queries renders it, walker runs it):

* the selection (the conditions, in keyset order) and the privileges the real run needs;
* the locking (``FOR UPDATE SKIP LOCKED`` on the conditions) and the UPDATE or DELETE
  that repeats the conditions;
* the check-mode preview: each row's after-state is computed by the very expressions the
  UPDATE assigns, in the selection itself;
* the diff rows, and the words of the audit record (``condition`` and ``change``).

Conditions and assignments are SQL on a row alias, with named placeholders for the
options (``%(max_attempts)s``, ``%(stuck_after)s``, ...) that heal_run fills in.
"""

from ansible_collections.tsh.zoho_sync.plugins.module_utils.connection import sql


# ----------------------------------------------------------------------------- parts
class Cond(object):
    """One condition a row must meet. ``render(schema, alias, ctx)`` returns its SQL;
    ``reads`` names the other tables it reads (for the privilege check); ``ctx.gone``
    (check mode only) describes the queue rows an earlier phase of the same run would
    have deleted."""

    def __init__(self, words, render, reads=()):
        self.words = words
        self.render = render
        self.reads = tuple(reads)


class Assign(object):
    """``column = expression``; the expression is SQL on the row as it is before the
    change, so the UPDATE and the preview compute the same after-state."""

    def __init__(self, column, render, words):
        self.column = column
        self.render = render
        self.words = words


class Record(object):
    """One dead-letter record for each row that has none, copied from the queue row;
    ``reason`` is the default failure_reason (SQL on the queue row alias ``q``)."""

    def __init__(self, reason, words):
        self.reason = reason
        self.words = words


class Action(object):
    """A heal action: ``table`` is ``queue``, ``logs`` or ``inbox``; exactly one of
    ``assigns``/``record`` (an update, possibly without assignments), ``deletes`` or
    ``inserts`` says what happens to each row."""

    def __init__(self, name, table, conditions, verb, assigns=(), record=None, resolves=False, deletes=False,
                 dependents=(), inserts=False, keeps=(), live_set=True, order="created_at"):
        self.name = name
        self.table = table
        self.conditions = list(conditions)
        self.verb = verb                      # (present, past): ("requeue", "requeued")
        self.assigns = list(assigns)
        self.record = record
        self.resolves = resolves
        self.deletes = deletes
        self.dependents = tuple(dependents)   # tables whose rows referencing a row go with it
        self.inserts = inserts
        self.keeps = tuple(keeps)             # columns worth saying are left alone
        self.live_set = live_set              # candidates are few (the live set): select, then sort
        self.order = order                    # the keyset's column (logical, of ``table``)

    def with_conditions(self, extra):
        """The same action restricted by more conditions (the entity and id filters)."""
        clone = Action(self.name, self.table, self.conditions + list(extra), self.verb, self.assigns, self.record,
                       self.resolves, self.deletes, self.dependents, self.inserts, self.keeps, self.live_set,
                       self.order)
        return clone

    def without_dependents(self):
        """The same action on a layout that lacks its dependent tables."""
        clone = self.with_conditions([])
        clone.dependents = ()
        return clone

    # -- the words of the audit record and the diff ------------------------------------
    def condition_words(self):
        return ", ".join(c.words for c in self.conditions)

    def change_words(self, schema=None):
        if self.deletes:
            with_deps = " with the %s referencing it" % " and ".join(TABLE_WORDS[d] for d in self.dependents) \
                if self.dependents else ""
            return "deleted%s, each batch written to the backup file and fsync'd before its DELETE commits" % with_deps
        if self.inserts:
            return "inserted exactly as backed up (rows that exist are left as they are)"
        parts = []
        cleared = [a.column for a in self.assigns if a.words is None
                   and (schema is None or schema.has(a.column))]
        for assign in self.assigns:
            if assign.words is not None and (schema is None or schema.has(assign.column)):
                parts.append(assign.words)
        if cleared:
            parts.append("%s -> null" % ", ".join(cleared))
        if schema is not None and schema.has("updated_at") and self.assigns:
            parts.append("updated_at -> now()")
        if self.record is not None:
            parts.append(self.record.words)
        if self.resolves:
            parts.append("its open dead-letter records resolved")
        parts.extend("%s kept" % k for k in self.keeps)
        return "; ".join(parts) or "nothing"

    def summary(self, count, check_mode, refused=None, condition=True):
        verb = ("would %s" % self.verb[0]) if check_mode else self.verb[1]
        text = "%s %d %s" % (verb[0].upper() + verb[1:], count, TABLE_ROWS[self.table])
        if condition:
            text += " (%s)" % self.condition_words()
        if refused:
            text += "; the real run would be refused: the connected role lacks %s" % refused
        return text


TABLE_WORDS = {"queue": "queue rows", "logs": "sync logs", "inbox": "inbox events", "dlq": "dead-letter records"}
TABLE_ROWS = {"queue": "queue row(s)", "logs": "sync log(s)", "inbox": "inbox event(s)"}


# ------------------------------------------------------------------------ conditions
def status_is(*labels):
    def render(s, a, ctx):
        if len(labels) == 1:
            return sql.SQL("{} = {}").format(s.col("status", a), sql.Literal(labels[0]))
        return sql.SQL("{} IN ({})").format(s.col("status", a), sql.SQL(", ").join(sql.Literal(x) for x in labels))
    return Cond("status %s" % " or ".join(labels), render)


UNDER_BUDGET = Cond(
    "attempt_count below the retry budget",
    lambda s, a, ctx: sql.SQL("{} < {}").format(s.col("attempt_count", a), s.max_attempts_expr(a)))
BUDGET_USED = Cond(
    "attempt_count at or above the retry budget",
    lambda s, a, ctx: sql.SQL("{} >= {}").format(s.col("attempt_count", a), s.max_attempts_expr(a)))
# The guard of every action on the queue: a row a worker holds right now is never touched.
NO_LIVE_LEASE = Cond("no live lease", lambda s, a, ctx: s.not_live_lease_expr(a))
LEASE_EXPIRED = Cond(
    "a lease that expired more than stuck_after minutes ago",
    lambda s, a, ctx: sql.SQL("{} AND {} < now() - make_interval(mins => %(stuck_after)s)").format(
        s.leased_expr(a), s.col("lock_expires_at", a)))


def _no_lease(s, a, ctx):
    if s.has("locked_by"):
        return sql.SQL("({} IS NULL OR {} IS NULL)").format(s.col("locked_by", a), s.col("lock_expires_at", a))
    return sql.SQL("{} IS NULL").format(s.col("lock_expires_at", a))


NO_LEASE = Cond("no lease (locked_by or lock_expires_at empty)", _no_lease)


def _idle(s, a, ctx):
    since = s.col("created_at", a)
    if s.has("started_at"):
        since = sql.SQL("COALESCE({}, {})").format(s.col("started_at", a), since)
    return sql.SQL("{} < now() - make_interval(mins => %(stuck_after)s)").format(since)


IDLE = Cond("started (else created) more than stuck_after minutes ago", _idle)
NO_RECORD = Cond(
    "no dead-letter record",
    lambda s, a, ctx: sql.SQL("NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {id})").format(
        dlq=s.dlq, ref=s.dcol("sync_queue_id", "d"), id=s.col("id", a)),
    reads=("dlq",))
FINISHED_BEFORE = Cond(
    "finished and created more than completed_older_than_days days ago",
    lambda s, a, ctx: sql.SQL("{} < now() - make_interval(days => %(queue_days)s) AND "
                              "{} < now() - make_interval(days => %(queue_days)s)").format(
        s.finished_at_expr(a), s.col("created_at", a)))
LOG_OLDER = Cond(
    "older than logs_older_than_days days",
    lambda s, a, ctx: sql.SQL("{} < now() - make_interval(days => %(logs_days)s)").format(s.lcol("timestamp", a)))


def _not_evidence(s, a, ctx):
    # the sync logs of dead letters, and of rows with a record, are the weekly review's evidence
    dead = sql.SQL("NOT EXISTS (SELECT 1 FROM {q} q WHERE {qid} = {fk} AND {status} = 'dead_letter')").format(
        q=s.queue, qid=s.col("id", "q"), fk=s.lcol("queue_fk", a), status=s.col("status", "q"))
    recorded = sql.SQL("NOT EXISTS (SELECT 1 FROM {dlq} d WHERE {ref} = {fk})").format(
        dlq=s.dlq, ref=s.dcol("sync_queue_id", "d"), fk=s.lcol("queue_fk", a))
    parts = [dead, recorded]
    if ctx.gone is not None:
        # a preview: the logs of queue rows the queue phase would delete went with them
        parts.append(sql.SQL("NOT EXISTS (SELECT 1 FROM {q} q WHERE {qid} = {fk} AND {gone})").format(
            q=s.queue, qid=s.col("id", "q"), fk=s.lcol("queue_fk", a), gone=ctx.gone("q")))
    return sql.SQL(" AND ").join(parts)


NOT_EVIDENCE = Cond("not the log of a dead letter or of a row with a dead-letter record", _not_evidence,
                    reads=("queue", "dlq"))
RECEIVED_BEFORE = Cond(
    "received more than inbox_older_than_days days ago",
    lambda s, a, ctx: sql.SQL("{} < now() - make_interval(days => %(inbox_days)s)").format(s.icol("received_at", a)))


def _queue_fk(s, alias):
    """The queue's column that references the inbox event."""
    return sql.Identifier(alias, s.icols["queue_fk"])


def _unreferenced(s, a, ctx):
    if ctx.gone is None:
        return sql.SQL("NOT EXISTS (SELECT 1 FROM {q} q WHERE {fk} = {id})").format(
            q=s.queue, fk=_queue_fk(s, "q"), id=s.icol("id", a))
    # a preview: only queue rows that outlive the queue phase keep an event. Said as the real
    # run's anti join over the queue's reference index, with the references the queue phase
    # would delete all of taken out first: "no reference whose event is not one of those
    # whose every reference is gone". The gone references are bounded by the queue phase's
    # limit; each of their events is counted through the index (a correlated count in the
    # HAVING, which the planner cannot turn into a join). Said as "NOT EXISTS (reference AND
    # NOT (gone))" the planner made it an anti join over every surviving queue row (a
    # sequential scan of the queue's heap), and as "no reference OR no surviving one" two
    # probes per old event (3.6 s against the real run's 0.9 s at 1M).
    return sql.SQL(
        "NOT EXISTS (SELECT 1 FROM {q} q WHERE {fk} = {id} AND NOT EXISTS ("
        "SELECT 1 FROM (SELECT {gfk} AS event_id FROM {q} g WHERE {gfk} IS NOT NULL AND ({gone}) "
        "GROUP BY {gfk} HAVING count(*) = (SELECT count(*) FROM {q} r WHERE {rfk} = {gfk})) all_gone "
        "WHERE all_gone.event_id = {fk}))").format(
        q=s.queue, fk=_queue_fk(s, "q"), id=s.icol("id", a), gfk=_queue_fk(s, "g"),
        rfk=_queue_fk(s, "r"), gone=ctx.gone("g"))


UNREFERENCED = Cond("referenced by no queue row", _unreferenced, reads=("queue",))
ABSENT = Cond("absent from the table (by id)", lambda s, a, ctx: sql.SQL("true"))


def entity_filter(values):
    return Cond("entity type %s" % ", ".join(values),
                lambda s, a, ctx: sql.SQL("{} IN %(entity_types)s").format(s.col("entity_type", a)))


def id_filter(values):
    return Cond("one of the %d id(s) given" % len(values),
                lambda s, a, ctx: sql.SQL("{} IN %(filter_ids)s").format(s.col("id", a)))


# ------------------------------------------------------------------------ assignments
def to(column, value):
    return Assign(column, lambda s, a: sql.Literal(value), "%s -> %s" % (column, value))


def cleared(column):
    return Assign(column, lambda s, a: sql.SQL("NULL"), None)


def remap(column, old, new):
    return Assign(column, lambda s, a: sql.SQL("CASE WHEN {c} = {old} THEN {new} ELSE {c} END").format(
        c=s.col(column, a), old=sql.Literal(old), new=sql.Literal(new)), "%s %s -> %s" % (column, old, new))


LEASE_CLEARED = [cleared("locked_by"), cleared("lock_expires_at")]

EXHAUSTED_REASON = Record(
    lambda s: sql.SQL("'Retry budget exhausted after ' || {} || ' attempts'").format(s.col("attempt_count", "q")),
    "one dead-letter record (failure_reason: the attempts used)")
RECONCILED_REASON = Record(
    lambda s: sql.SQL("'Dead-lettered by the worker without a record (recorded by tsh.zoho_sync)'"),
    "row unchanged; its missing dead-letter record created")


# --------------------------------------------------------------------------- actions
REQUEUE_FAILED = Action(
    "requeue_failed", "queue", [status_is("failed"), UNDER_BUDGET, NO_LIVE_LEASE], ("requeue", "requeued"),
    assigns=[to("status", "pending")] + LEASE_CLEARED + [cleared("next_retry_at")],
    # a manual requeue does not consume an attempt: only the worker counts failures
    keeps=("attempt_count",))
CLEAR_STUCK = Action(
    "clear_stuck", "queue", [LEASE_EXPIRED, NO_LIVE_LEASE], ("clear", "cleared"),
    assigns=LEASE_CLEARED + [remap("status", "processing", "pending")])
RESET_STRANDED = Action(
    "reset_stranded", "queue", [status_is("processing"), NO_LEASE, IDLE, NO_LIVE_LEASE], ("reset", "reset"),
    assigns=[to("status", "pending")] + LEASE_CLEARED + [cleared("next_retry_at")], keeps=("attempt_count",))
MOVE_EXHAUSTED = Action(
    "move_exhausted", "queue", [status_is("failed", "retry"), BUDGET_USED, NO_LIVE_LEASE],
    ("dead-letter", "dead-lettered"),
    assigns=[to("status", "dead_letter")] + LEASE_CLEARED, record=EXHAUSTED_REASON)
RECONCILE = Action(
    "reconcile_dead_letters", "queue", [status_is("dead_letter"), NO_RECORD, NO_LIVE_LEASE],
    ("record", "recorded"), record=RECONCILED_REASON)
REDRIVE = Action(
    "redrive_dead_letters", "queue", [status_is("dead_letter"), NO_LIVE_LEASE], ("re-drive", "re-drove"),
    assigns=[to("status", "pending")] + LEASE_CLEARED + [cleared("next_retry_at"), to("attempt_count", 0)],
    resolves=True)

CLEANUP_QUEUE = Action(
    "cleanup_queue", "queue", [status_is("completed"), FINISHED_BEFORE, NO_RECORD, NO_LIVE_LEASE],
    ("delete", "deleted"), deletes=True, dependents=("logs",), live_set=False)
CLEANUP_LOGS = Action(
    "cleanup_logs", "logs", [LOG_OLDER, NOT_EVIDENCE], ("delete", "deleted"), deletes=True, live_set=False,
    order="timestamp")
CLEANUP_INBOX = Action(
    "cleanup_inbox", "inbox", [RECEIVED_BEFORE, UNREFERENCED], ("delete", "deleted"), deletes=True,
    live_set=False, order="received_at")
CLEANUP = {"queue": CLEANUP_QUEUE, "logs": CLEANUP_LOGS, "inbox": CLEANUP_INBOX}


def restore(table):
    return Action("restore_%s" % table, table, [ABSENT], ("restore", "restored"), inserts=True, live_set=False,
                  order="id")


# zoho_requeue's sources
REQUEUE_SOURCES = {"failed": REQUEUE_FAILED, "stuck": CLEAR_STUCK, "dead_letter": REDRIVE,
                   "stranded": RESET_STRANDED}
