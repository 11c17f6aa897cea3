# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shim: the alert filters of the tsh.zoho_sync collection under their short names
(zoho_alert_decide, ...) for playbooks of this repository. The code lives in
collections/ansible_collections/tsh/zoho_sync/plugins/filter/zoho_alert.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_alert import FilterModule  # noqa: F401
