# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""facts_queries helpers: pure functions and the error-pattern regexes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

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
    cur = RecordingCursor([(3, 2, 1, -5.0, 1, ["x"])])
    result = fq.retry_state(cur, simple, {"overdue_after": 15, "sample": 20, "max_attempts": None})
    assert result == {"total": 3, "due": 2, "overdue": 1, "oldest_due_seconds": 0,
                      "exhausted": 1, "exhausted_ids": ["x"]}
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
