# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How this ansible-playbook run was invoked (inventory sources, vault options, extra
variables, the repository root), read on the controller, so the commands a report
recommends repeat them and run as pasted from the repository root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.run_context import run_context

try:
    from ansible import context as ansible_context
except ImportError:  # pragma: no cover
    ansible_context = None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(())
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        cli = dict(getattr(ansible_context, "CLIARGS", {}) or {}) if ansible_context else {}
        context = run_context(cli, task_vars, os.getcwd())
        result.update(changed=False, context=context)
        return result
