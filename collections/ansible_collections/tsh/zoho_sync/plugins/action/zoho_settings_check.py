# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop a run on a configuration mistake before it reads or writes anything: the problems
other checks found, and the zoho_* variables that nothing reads (a misspelt setting)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import settings_check


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("problems", "check_names", "ignore"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        checked = settings_check.check(self._task, task_vars, args.get("problems"),
                                       args.get("check_names", True), args.get("ignore"))
        result["unknown_variables"] = checked["unknown_variables"]
        result["problems"] = checked["problems"]
        result["changed"] = False
        result.update(checked)
        result.setdefault("msg", "The settings are valid.")
        return result
