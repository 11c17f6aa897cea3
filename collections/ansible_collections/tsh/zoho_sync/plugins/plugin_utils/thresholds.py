# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The health thresholds: the metrics, their defaults and units, and the validation of
what an operator sets (one message listing every problem, with "did you mean").

A value is judged ``> warning`` -> warning, ``> critical`` -> critical (as in the
original agent configuration: "pending > 50"); a threshold of 0 means "any at all".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json

from ansible_collections.tsh.zoho_sync.plugins.module_utils.vocabulary import ENTITY_TYPES
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import dig, number as as_number

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
    ("stranded_processing", 0, 50, "rows", "processing rows with no lease, older than the stuck-lease age"),
)
DEFAULT_THRESHOLDS = dict((m[0], {"warning": m[1], "critical": m[2]}) for m in METRICS)
METRIC_NAMES = tuple(m[0] for m in METRICS)
UNITS = dict((m[0], m[3]) for m in METRICS)
DESCRIPTIONS = dict((m[0], m[4]) for m in METRICS)
PERCENT_METRICS = ("failure_rate_pct", "connection_usage_pct", "memory_used_pct", "disk_used_pct")
ENTITY_METRICS = ("pending", "failed", "sync_delay_minutes")


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
        number = as_number(raw)
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
    entity_types = list(entity_types) if entity_types else list(ENTITY_TYPES)
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


class ThresholdError(ValueError):
    """Invalid thresholds; the message lists every problem."""


def threshold_error(thresholds=None, by_entity=None, entity_types=None):
    _effective, problems = validate_thresholds(thresholds, by_entity, entity_types)
    return "Invalid health thresholds: %s" % "; ".join(problems) if problems else ""


def effective_thresholds(thresholds=None, by_entity=None, entity_types=None):
    effective, problems = validate_thresholds(thresholds, by_entity, entity_types)
    if problems:
        raise ThresholdError("Invalid health thresholds: %s" % "; ".join(problems))
    return effective


def limits_of(thresholds, metric, entity=None):
    if entity is not None and metric in (dig(thresholds, "by_entity", entity) or {}):
        return thresholds["by_entity"][entity][metric]
    return thresholds["global"][metric]


def classify(value, limits):
    """The severity of a measured value against its {warning, critical} (None: unknown)."""
    if value is None:
        return "unknown"
    if value > limits["critical"]:
        return "critical"
    if value > limits["warning"]:
        return "warning"
    return "ok"
