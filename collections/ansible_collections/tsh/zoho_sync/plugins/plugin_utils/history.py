# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host run history (``history.jsonl``: one compact snapshot per health run) and
the heal marker (``last-heal.json``: the report of the last heal run that applied
changes, written by the zoho_heal role beside the health reports).

A snapshot line holds the figures of the trends (see trends.snapshot) and, since the
diagnoses, ``heal_run_id`` (the last applied heal the run knew of) and ``after_heal``
(a heal changed the queue since the previous run: its backlog is not the workers' doing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import BACKLOG_STATUSES
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import iso, parse_time


def parse(text):
    """The JSON-lines history as a list of dicts (unreadable lines are skipped)."""
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
    return entries


def append(text, snap, keep=2000):
    """The new file content: the history with ``snap`` appended, the last ``keep`` lines."""
    keep = max(int(keep or 1), 1)
    entries = (parse(text) + [snap])[-keep:]
    return "".join(json.dumps(e, sort_keys=True, separators=(",", ":")) + "\n" for e in entries)


def history(text, snap=None, keep=2000):
    """Parse JSON lines; with ``snap``, return the new bounded file content instead."""
    if snap is None:
        return parse(text)
    return append(text, snap, keep)


def _backlog(summary):
    if not isinstance(summary, dict) or not summary:
        return None
    return sum(int(summary.get(s) or 0) for s in BACKLOG_STATUSES)


def heal_marker(text):
    """The last applied heal, from the text of last-heal.json (a heal report): run_id,
    kind, finished_at, status, backlog before and after, the actions that did something.
    None when there is none (or it is unreadable, or a preview)."""
    if not text:
        return None
    try:
        report = json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None
    if not isinstance(report, dict) or report.get("mode") != "apply" or not report.get("run_id"):
        return None
    finished = parse_time(report.get("finished_at"))
    if finished is None:
        return None
    before, after = _backlog(report.get("before")), _backlog(report.get("after"))
    done = [a.get("action") for a in report.get("actions") or []
            if isinstance(a, dict) and a.get("status") == "done"]
    return {"run_id": report["run_id"], "kind": report.get("kind") or "heal", "finished_at": iso(finished),
            "status": report.get("status"), "backlog_before": before, "backlog_after": after,
            "backlog_change": (after - before) if before is not None and after is not None else None,
            "actions_done": sorted(set(a for a in done if a))}


def after_heal(marker, previous, now):
    """Whether the applied heal of ``marker`` changed the queue since the ``previous``
    snapshot (or, without one, in the hour before ``now``)."""
    if not marker:
        return False
    finished = parse_time(marker.get("finished_at"))
    moment = parse_time(now)
    if finished is None or (moment is not None and finished > moment):
        return False
    if previous:
        if previous.get("heal_run_id") is not None:
            return previous.get("heal_run_id") != marker.get("run_id")
        since = parse_time(previous.get("t"))
        return since is None or finished > since
    return moment is None or (moment - finished).total_seconds() <= 3600
