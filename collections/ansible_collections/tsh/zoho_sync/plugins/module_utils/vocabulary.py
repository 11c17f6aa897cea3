# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The words the whole collection shares, defined once: queue statuses, entity types,
severities, diagnosis severities and confidences, error classes.

Modules, filters, action plugins and (through the report dict) the templates take them
from here, so a status or a class can never mean one thing in the facts and another in
the report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The production enum tds_event_status, in its own order.
STATUSES = ("pending", "processing", "completed", "failed", "retry", "dead_letter")
# Rows a worker may claim (pending, and retry once next_retry_at has passed).
CLAIMABLE_STATUSES = ("pending", "retry")
# Rows that carry an error of their last attempt.
FAILING_STATUSES = ("failed", "retry", "dead_letter")
# Rows still to be synced: the backlog of the trends and the ETA.
BACKLOG_STATUSES = ("pending", "processing", "retry", "failed")
# The order the reports list the statuses in (work first, the history last).
STATUS_DISPLAY_ORDER = ("pending", "processing", "retry", "failed", "dead_letter", "completed")

# Entity types of the production enum tds_entity_type (the mixed case is real).
ENTITY_TYPES = (
    "product", "customer", "invoice", "bill", "credit_note", "stock_adjustment",
    "price_list", "branch", "USER", "order", "PAYMENT", "VENDOR", "SUPPLIER",
)

# Severities of findings and of the overall status, mildest first. Unknown outranks ok
# and warning (what could not be measured never passes as healthy); critical outranks
# unknown (a problem known to be serious is the more urgent message).
SEVERITIES = ("ok", "warning", "unknown", "critical")
SEVERITY_RANK = dict((s, i) for i, s in enumerate(SEVERITIES))
# Nagios / Icinga plugin exit codes (and the Prometheus health code) of each severity.
SEVERITY_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}

# Severities of a diagnosis (what to do now), mildest first, and how sure it is.
DIAGNOSIS_SEVERITIES = ("info", "warning", "critical")
DIAGNOSIS_RANK = dict((s, i) for i, s in enumerate(DIAGNOSIS_SEVERITIES))
CONFIDENCES = ("low", "medium", "high")

# What caused a failure, as the error rules classify each distinct error pattern.
ERROR_CLASSES = ("zoho_auth", "zoho_rate_limit", "zoho_unavailable", "zoho_validation", "internal", "unknown")
# Classes of failures that go away by themselves (the worker's retries recover).
TRANSIENT_ERROR_CLASSES = ("zoho_rate_limit", "zoho_unavailable")
# Classes of failures caused by Zoho's answer (the call reached Zoho).
ZOHO_ERROR_CLASSES = ("zoho_auth", "zoho_rate_limit", "zoho_unavailable", "zoho_validation")


def vocabulary():
    """The lists a template may need, as one dict (put in the report)."""
    return {
        "statuses": list(STATUS_DISPLAY_ORDER),
        "severities": list(SEVERITIES),
        "diagnosis_severities": list(DIAGNOSIS_SEVERITIES),
        "confidences": list(CONFIDENCES),
        "error_classes": list(ERROR_CLASSES),
        "entity_types": list(ENTITY_TYPES),
    }
