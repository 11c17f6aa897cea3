# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the service filters of the tsh.zoho_sync collection (zoho_service_summary,
zoho_service_names) under their short names for playbooks of this repository.
The code lives in collections/ansible_collections/tsh/zoho_sync/plugins/filter/zoho_service.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_service import FilterModule  # noqa: F401
