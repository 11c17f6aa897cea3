# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the zoho_health role: thin, pure entry points to the evaluator in
plugin_utils (thresholds, evaluation, diagnosis, trends, history, report).

Filters (FQCN ``tsh.zoho_sync.<name>``):

``zoho_health_thresholds(thresholds, by_entity={}, entity_types=None)``
    Validate and merge the thresholds over the built-in defaults; raises one error
    ("Invalid health thresholds: ...") listing every problem.
``zoho_health_threshold_error(thresholds, by_entity={}, entity_types=None)``
    The same check, returning that message ('' when valid), so a role can fail cleanly.
``zoho_health_error_rules_error(rules)``
    The problems of the operator's error rules ('' when valid).
``zoho_health_report(inputs)``
    The whole report: ``overall``, ``diagnoses``, ``findings``, ``facts``, ``recommendations``,
    ``trends``, ``summary``, ``generated_at``, ``host`` (see plugin_utils/report.py).
``zoho_health_snapshot(report)``
    The compact line a run appends to the per-host history.
``zoho_health_history(text, snapshot=None, keep=2000)``
    Parse a JSON-lines history (bad lines are skipped); with a snapshot, return the new
    file content with it appended, bounded to the last ``keep`` lines.
``zoho_health_fail_message(report, fail_on)``
    The one-line failure message naming the diagnoses and the worst findings ('' when the run passes).
``zoho_health_duration(minutes)``
    Minutes as '45 min', '3 h 10 min', '2 d 4 h'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tsh.zoho_sync.plugins.module_utils.error_classes import rule_problems
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import history as history_file
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report as report_builder
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import thresholds as thresholds_lib
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import duration


def effective_thresholds(thresholds=None, by_entity=None, entity_types=None):
    try:
        return thresholds_lib.effective_thresholds(thresholds, by_entity, entity_types)
    except thresholds_lib.ThresholdError as exc:
        raise AnsibleFilterError(str(exc))


def error_rules_error(rules=None):
    problems = rule_problems(rules)
    return "Invalid error rules: %s" % "; ".join(problems) if problems else ""


def build_report(inputs):
    try:
        return report_builder.build_report(inputs)
    except (report_builder.ReportError, thresholds_lib.ThresholdError) as exc:
        raise AnsibleFilterError(str(exc))


def snapshot(report):
    return report.get("snapshot") or {}


class FilterModule(object):
    def filters(self):
        return {
            "zoho_health_thresholds": effective_thresholds,
            "zoho_health_threshold_error": thresholds_lib.threshold_error,
            "zoho_health_error_rules_error": error_rules_error,
            "zoho_health_report": build_report,
            "zoho_health_snapshot": snapshot,
            "zoho_health_history": history_file.history,
            "zoho_health_fail_message": report_builder.fail_message,
            "zoho_health_duration": duration,
        }
