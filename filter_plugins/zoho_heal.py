# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the heal filters of the tsh.zoho_sync collection under their short names
(zoho_business_hours, zoho_heal_queue_summary, zoho_heal_plan) for playbooks of this
repository. The code lives in
collections/ansible_collections/tsh/zoho_sync/plugins/filter/zoho_heal.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_heal import FilterModule  # noqa: F401
