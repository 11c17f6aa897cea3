# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fail a host of playbooks/health.yml after the fleet summary, as its check failed: a
configuration mistake said again as one (CONFIG ERROR, through plugin_utils/settings_check.py),
anything else - a failed task, a report whose state fails, an unreachable host - with its message.
One task per failing host instead of one per kind of failure."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import settings_check
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.values import flag


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("failure", "msg"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        failure = args.get("failure") or {}
        if not hasattr(failure, "get"):
            failure = {}
        result["changed"] = False
        if flag(failure.get("config", False)):
            argument = settings_check.argument_failure(failure.get("argument_errors"),
                                                       failure.get("argument_spec_data"))
            if argument:
                result.update(argument)
                return result
            checked = settings_check.check(self._task, task_vars or {}, failure.get("problems"), check_names=False)
            if checked.get("failed"):
                result.update(checked)
                return result
        msg = failure.get("msg") or args.get("msg")
        if msg:
            result.update(failed=True, msg=str(msg))
        else:
            result["msg"] = "Nothing to fail."
        return result
