# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the health filters of the tsh.zoho_sync collection (zoho_health_thresholds,
zoho_health_report, ...) under their short names for playbooks of this repository.
The entry points live in collections/ansible_collections/tsh/zoho_sync/plugins/filter/zoho_health.py,
the logic in its plugins/plugin_utils/."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_health import FilterModule  # noqa: F401
