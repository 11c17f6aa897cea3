# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""facts_queries helpers: pure functions and the error-pattern regexes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils import facts_queries as fq
from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import STATUSES, QueueSchema
from ansible_collections.tsh.zoho_sync.tests.unit.plugins.module_utils.sqltext import render


class RecordingCursor(object):
    """Records what would be executed and answers with canned rows."""

    def __init__(self, rows):
        self.rows = list(rows)
        self.executed = []

    def execute(self, query, args=None):
        self.executed.append((render(query) if not isinstance(query, str) else query, args))

    def fetchone(self):
        return self.rows.pop(0)

    def fetchall(self):
        return self.rows.pop(0)


def test_empty_status_counts_has_every_status_at_zero():
    counts = fq.empty_status_counts()
    assert counts == dict((s, 0) for s in STATUSES)
    counts["pending"] += 1
    assert fq.empty_status_counts()["pending"] == 0  # a fresh dict each time


def test_seconds_and_iso():
    assert fq._seconds(None) is None
    assert fq._seconds(12.345) == 12.3
    assert fq._iso(None) is None
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    assert fq._iso(when) == "2026-01-02T03:04:05+00:00"


def test_status_in_passes_labels_as_parameters():
    clause, args = fq._status_in(QueueSchema(), ("failed", "retry"))
    assert render(clause) == '"status" IN %(statuses)s'
    assert args == {"statuses": ("failed", "retry")}


def test_error_pattern_regexes_collapse_ids():
    # UUID and number patterns are POSIX-compatible; check them with Python's re
    message = "Item 12345 of 0f8fad5b-d9cb-469f-a165-70867728950e not found (HTTP 404)"
    collapsed = re.sub(fq.NUM_RE, "<n>", re.sub(fq.UUID_RE, "<uuid>", message))
    assert collapsed == "Item <n> of <uuid> not found (HTTP <n>)"
    # the hex pattern needs a digit and a letter, so plain words survive
    hex_re = fq.HEX_RE.replace("\\m", "\\b").replace("\\M", "\\b")
    assert re.sub(hex_re, "<hex>", "token 9f86d081884c7d65 failed") == "token <hex> failed"
    assert re.sub(hex_re, "<hex>", "a bad cafe face") == "a bad cafe face"


def test_stuck_locks_query_and_result_shape():
    cur = RecordingCursor([(2, 3725.55, ["a", "b"]), [("processing", 1), ("pending", 1)]])
    result = fq.stuck_locks(cur, QueueSchema(), {"stuck_after": 30, "sample": 20})
    assert result == {"count": 2, "oldest_age_seconds": 3725.6, "ids": ["a", "b"],
                      "by_status": {"processing": 1, "pending": 1}}
    query, args = cur.executed[0]
    assert '"locked_by" IS NOT NULL' in query
    assert '"lock_expires_at" < now() - make_interval(mins => %(stuck_after)s)' in query
    assert args == {"stuck_after": 30, "sample": 20}


def test_retry_state_without_next_retry_at_uses_last_change():
    simple = QueueSchema({"queue_columns": {"next_retry_at": None, "updated_at": "updated_at",
                                            "completed_at": None}})
    cur = RecordingCursor([(3, 2, 1, -5.0, 1, ["x"], 0)])
    result = fq.retry_state(cur, simple, {"overdue_after": 15, "sample": 20, "max_attempts": None})
    assert result == {"total": 3, "due": 2, "overdue": 1, "oldest_due_seconds": 0,
                      "exhausted": 1, "exhausted_ids": ["x"], "overdue_high_attempts": 0}
    query = cur.executed[0][0]
    assert "next_retry_at" not in query and '"updated_at" IS NULL OR "updated_at" <= now()' in query


def test_completed_counts_exact_on_a_small_table():
    cur = RecordingCursor([(1000,), [("invoice", 7)]])
    counts, estimated = fq.completed_counts(cur, QueueSchema(), ["invoice"], 200000)
    assert (counts, estimated) == ({"invoice": 7}, False)
    assert "count(*)" in cur.executed[1][0]


def test_completed_counts_estimated_on_a_large_table():
    plan = [{"Plan": {"Plan Rows": 5000}}]
    cur = RecordingCursor([(10 ** 7,), (plan,), ('[{"Plan": {"Plan Rows": 1}}]',)])
    counts, estimated = fq.completed_counts(cur, QueueSchema(), ["invoice", "bill"], 200000)
    assert estimated is True
    assert counts == {"invoice": 5000, "bill": 0}  # one planner row means about none
    assert cur.executed[1][0].startswith("EXPLAIN (FORMAT JSON) SELECT 1 FROM")
    assert cur.executed[1][1] == {"entity": "invoice"}


class Verdicts(object):
    """A classifier that counts its calls (one per distinct pattern, code and HTTP status)."""

    def __init__(self):
        self.calls = []

    def classify(self, message, code):
        self.calls.append((message, code))
        return ("internal" if code == "xd2s" else "zoho_unavailable"), "rule", "built-in"


def test_error_groups_are_classified_once_per_pattern_and_folded_per_class():
    when = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    # pattern, code, http, entity, count, failed, retry, dead_letter, attempts_left, dl_left, hour, day, example, first, last
    rows = [("greenlet <n>", "xd2s", None, "invoice", 5, 0, 0, 5, 5, 5, 5, 5, "greenlet 1", when, when),
            ("greenlet <n>", "xd2s", None, "bill", 2, 0, 0, 2, 1, 1, 0, 2, "greenlet 2", when, when),
            ("Zoho API error <n>", None, "503", "bill", 3, 0, 3, 0, 3, 0, 3, 3, "Zoho API error 503", when, when)]
    verdicts = Verdicts()
    patterns, distinct, classes = fq.classify_errors(rows, verdicts, top=1)
    assert len(verdicts.calls) == 2 and distinct == 2
    assert [p["pattern"] for p in patterns] == ["greenlet <n>"]
    top = patterns[0]
    assert top["class"] == "internal" and top["count"] == 7 and top["by_entity"] == {"invoice": 5, "bill": 2}
    assert top["dead_letter_attempts_left"] == 6 and top["statuses"] == ["dead_letter"]
    assert top["entity_types"] == ["bill", "invoice"] and top["example"] == "greenlet 1"
    assert classes["internal"]["count"] == 7 and classes["internal"]["codes"] == {"xd2s": 7}
    assert classes["zoho_unavailable"]["retry"] == 3 and classes["zoho_unavailable"]["patterns"] == 1
    assert classes["internal"]["first_seen"] == "2026-01-02T03:04:05+00:00"


def test_stranded_processing_query_and_result_shape():
    cur = RecordingCursor([[("invoice", 3, 7200.04, ["a", "b", "c"]), ("bill", 1, 1900.0, ["d"])]])
    result = fq.stranded_processing(cur, QueueSchema(), {"stuck_after": 30, "sample": 3})
    assert result == {"count": 4, "oldest_age_seconds": 7200.0, "ids": ["a", "b", "c"],
                      "by_entity": {"invoice": 3, "bill": 1}}
    query = cur.executed[0][0]
    assert '"status" = \'processing\'' in query
    assert '"lock_expires_at" IS NULL OR "locked_by" IS NULL' in query
    assert 'COALESCE("started_at", "created_at") < now() - make_interval(mins => %(stuck_after)s)' in query


def test_completion_slices_cover_the_look_back_without_gaps():
    for hours in (24, 48, 24 * 366):
        slices = fq.completion_slices(hours)
        assert slices[0][0] < 0  # the newest slice has no upper bound (clock skew)
        assert slices[0][1] == 300.0
        for (_n1, older), (newer, _o2) in zip(slices, slices[1:]):
            assert newer == older
        assert slices[-1][1] == pytest.approx(hours * 3600.0)
        assert len(slices) <= 12 + 23 + 24 + 1
        # the 1 h and 24 h figures fall on slice boundaries
        assert 3600.0 in [s[1] for s in slices] and 86400.0 in [s[1] for s in slices]


def test_slice_scale_exact_below_a_full_probe_and_a_density_above():
    # fewer rows than a probe reads: the whole slice was read
    assert fq.slice_scale(10, 300.0, 600.0, 590.0) == 1.0
    # a full probe covering a tenth of a 1 h slice stands for about ten times its rows
    scale = fq.slice_scale(fq.PROBE_ROWS, 3600.0, 7200.0, 3960.0)
    assert scale == pytest.approx((fq.PROBE_ROWS - 1) * 10.0 / fq.PROBE_ROWS)
    # rows sharing one timestamp: the span is taken as MIN_PROBE_SPAN, never zero
    capped = fq.slice_scale(fq.PROBE_ROWS, 0.0, 300.0, 0.0)
    assert capped == pytest.approx((fq.PROBE_ROWS - 1) * 300.0 / fq.MIN_PROBE_SPAN / fq.PROBE_ROWS)
    # never below one row per row read
    assert fq.slice_scale(fq.PROBE_ROWS, 0.0, 300.0, 299.0) >= 1.0


def test_pattern_guards_are_the_identity_where_they_fail():
    # the guards only spare the regexps: a message failing them has nothing they would replace
    samples = ["Item 12345 not found", "deadbeefcafe no digits", "hash 3f2b8c1e9a in it",
               "Customer 006d5475-68c1-16b2-dd83-91436b7b0c5f not found", "plain text"]
    hex_re = re.compile(r"\b(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")
    for text in samples:
        if "-" not in text:
            assert not re.search(fq.UUID_RE, text)
        if not re.search(fq.HEX_GUARD_RE, text):
            assert not hex_re.search(text)
