# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the collection's export filters (zoho_prometheus, zoho_severity_code) under
their short names for playbooks run from this repository (ansible.cfg filter_plugins)."""

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_exports import FilterModule  # noqa: F401
