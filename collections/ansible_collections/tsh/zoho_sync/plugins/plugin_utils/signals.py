# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the queue facts say about the workers, derived once for the findings and the
diagnoses: is work waiting, when did a worker last do anything (and how do we know),
are the workers leasing pending rows or retry rows, what share of the failures is the
worker's own code, which signs of the re-processing loop hold.

Every value is None when the facts that would give it are missing: a sign that could
not be looked at is never read as "absent".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.module_utils.error_classes import Classifier
from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import TRANSIENT_ERROR_CLASSES
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import dig, duration, parse_time

# The production worker's batch: it reads at most this many rows per poll, pending first.
DEFAULT_WORKER_BATCH = 100


class Signals(object):
    """Derived facts of one snapshot. ``queue`` is the zoho_queue fact (or None)."""

    def __init__(self, queue, service=None, history=None, options=None, inactivity_minutes=15):
        self.queue = queue if isinstance(queue, dict) else None
        self.service = service if isinstance(service, dict) else {}
        self.history = [h for h in (history or []) if isinstance(h, dict)]
        self.options = options or {}
        self.inactivity_minutes = float(inactivity_minutes)
        self.batch = int(self.options.get("worker_batch_size") or DEFAULT_WORKER_BATCH)

    def q(self, *keys):
        return dig(self.queue, *keys)

    @property
    def measured(self):
        return self.queue is not None

    # -- work and activity -------------------------------------------------------------
    def count(self, status):
        return self.q("status_counts", status) or 0

    @property
    def work_waiting(self):
        """Rows a worker should take now: pending, and retry rows that are due."""
        return self.count("pending") + (self.q("retry", "due") or 0)

    @property
    def log(self):
        """The worker log summary of the service role, when it was read."""
        workers = self.service.get("workers") or {}
        return workers if workers.get("read") else None

    def log_count(self, key):
        log = self.log
        return None if log is None else (log.get("counts") or {}).get(key, 0)

    def last_activity(self):
        """(seconds since the last worker activity, what showed it), from the leases, the
        completions and the worker log; (None, None) when nothing shows any."""
        candidates = []
        since_lease = self.q("workers", "seconds_since_last_lease")
        if since_lease is not None:
            candidates.append((float(since_lease), "a lease was taken"))
        collected = parse_time(self.q("collected_at"))
        last_done = None
        for entity in (self.q("entities") or {}).values():
            when = parse_time((entity or {}).get("last_completed_at"))
            if when and (last_done is None or when > last_done):
                last_done = when
        if last_done and collected:
            candidates.append((max(0.0, (collected - last_done).total_seconds()), "a row was completed"))
        # a failing row was attempted after its last known time (a failure leaves no timestamp
        # of its own, but the row was created - or last leased - before a worker took it)
        last_failed = None
        for data in (self.q("error_classes") or {}).values():
            when = parse_time((data or {}).get("last_seen"))
            if when and (last_failed is None or when > last_failed):
                last_failed = when
        if last_failed and collected:
            candidates.append((max(0.0, (collected - last_failed).total_seconds()),
                               "a row that has since failed was created or leased"))
        workers = self.service.get("workers") or {}
        if workers.get("seconds_since_activity") is not None:
            candidates.append((float(workers["seconds_since_activity"]), "the worker logged"))
        if not candidates:
            return None, None
        return min(candidates, key=lambda c: c[0])

    @property
    def seconds_since_activity(self):
        return self.last_activity()[0]

    @property
    def workers_active(self):
        """True when a worker did something within the inactivity threshold, False when
        nothing did for longer, None when the queue was not read."""
        if not self.measured:
            return None
        since = self.seconds_since_activity
        return since is not None and since <= self.inactivity_minutes * 60

    def leases(self, status, kind="taken_recently"):
        by_status = self.q("workers", "leases_by_status")
        if by_status is None:
            return None
        return (by_status.get(status) or {}).get(kind, 0)

    @property
    def completed_last_hour(self):
        return self.q("throughput", "completed_last_hour")

    @property
    def usual_per_hour(self):
        """The workers' usual completion rate: the 24 h average (rows/h)."""
        day = self.q("throughput", "completed_last_24h")
        return None if day is None else day / 24.0

    # -- failures ----------------------------------------------------------------------
    def error_class(self, cls):
        return (self.q("error_classes") or {}).get(cls) or {}

    def class_rows(self, cls, key="count"):
        return self.error_class(cls).get(key, 0)

    @property
    def failing_rows(self):
        return sum(c.get("count", 0) for c in (self.q("error_classes") or {}).values())

    def class_share(self, cls, key="count"):
        """The share (0..1) of the failing rows (or of their ``key`` count) of one class."""
        total = sum(c.get(key, 0) for c in (self.q("error_classes") or {}).values())
        return None if not total else float(self.class_rows(cls, key)) / total

    def internal_explains_zero_completions(self):
        """The worker's own errors explain why nothing completes: the failures of the last
        24 h (or all, when none is that recent) are mostly internal, and no worker logged
        a success (when the log was read)."""
        share = self.class_share("internal", "last_24h")
        if share is None:
            share = self.class_share("internal")
        if share is None or share < 0.5:
            return False
        processed = self.log_count("processed")
        return not processed

    def reprocessing_signs(self):
        """The signs of the re-processing loop (successes never recorded), each a sentence."""
        tp = self.q("throughput") or {}
        workers = self.q("workers") or {}
        signs = []
        since_lease = workers.get("seconds_since_last_lease")
        internal = self.internal_explains_zero_completions()
        in_loop = self.count("pending") + self.count("retry")  # a re-synced row stays pending or retry
        if (tp.get("completed_last_hour") or 0) == 0 and since_lease is not None and since_lease < 3600 \
                and in_loop and not internal:
            signs.append("zero completions in the last hour while workers keep taking leases (last %s ago)"
                         % duration(since_lease / 60.0))
        if workers.get("old_pending_leased") and (tp.get("completed_last_hour") or 0) == 0:
            signs.append("%s pending rows over an hour old sit under a live lease" % workers["old_pending_leased"])
        grew = self.dead_letter_growth()
        if grew:
            signs.append(grew)
        processed = self.log_count("processed")
        if processed and (tp.get("completed_last_hour") or 0) == 0:
            signs.append("the worker logged %s 'Event processed successfully' in %s min but no row was completed"
                         % (processed, (self.log or {}).get("window_minutes")))
        return signs

    def dead_letter_growth(self):
        """dead_letter grew since the previous run with transient errors only (rows that
        would have recovered left the loop by exhausting their attempts)."""
        previous = self.history[-1] if self.history else None
        now_dead = self.count("dead_letter")
        before = (previous or {}).get("dead_letter")
        if before is None or now_dead <= before:
            return None
        dead_patterns = [p for p in (self.q("error_patterns") or []) if "dead_letter" in (p.get("statuses") or [])]
        if dead_patterns and all(pattern_class(p) in TRANSIENT_ERROR_CLASSES for p in dead_patterns):
            return "dead_letter grew from %s to %s with transient errors only (%s)" % (
                before, now_dead, ", ".join(sorted(set(str(p.get("error_code") or p.get("class"))
                                                       for p in dead_patterns))))
        return None


_DEFAULT_CLASSIFIER = []


def pattern_class(pattern):
    """The error class of an error pattern of the facts (classified by the built-in rules
    when the facts predate the classes)."""
    if pattern.get("class"):
        return pattern["class"]
    if not _DEFAULT_CLASSIFIER:
        _DEFAULT_CLASSIFIER.append(Classifier())
    return _DEFAULT_CLASSIFIER[0].classify(pattern.get("example") or pattern.get("pattern"),
                                           pattern.get("error_code"))[0]
