# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the HTML report filters of the tsh.zoho_sync collection (zoho_report_view,
zoho_report_value) under their short names for playbooks of this repository.
The code lives in collections/ansible_collections/tsh/zoho_sync/plugins/filter/zoho_report_view.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_report_view import FilterModule  # noqa: F401
