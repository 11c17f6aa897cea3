# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the HTML health report (entry points only; the work is in plugin_utils):

``zoho_report_view(report)``
    What the page shows, from the health report dict: what to do first (diagnoses, else
    recommendations), one row per check with its per-entity values folded in, the error
    patterns, the trend charts as inline SVG (see report_view.build_view).
``zoho_report_value(value, unit='')``
    A value with its unit as a person reads it: ``'1 d 13 h'``, ``'4,050 rows'``,
    ``'12.5 %'``, ``'75.1 GB'`` (see report_format.value).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import report_format, report_view


def zoho_report_view(report):
    try:
        return report_view.build_view(report)
    except TypeError as exc:
        raise AnsibleFilterError("zoho_report_view: %s" % exc)


def zoho_report_value(value, unit=""):
    return report_format.value(value, unit)


class FilterModule(object):
    def filters(self):
        return {"zoho_report_view": zoho_report_view, "zoho_report_value": zoho_report_value}
