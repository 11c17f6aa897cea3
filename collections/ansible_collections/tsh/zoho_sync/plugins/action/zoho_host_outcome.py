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


def _flag(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "t")


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
        if _flag(failure.get("config", False)):
            argument_errors = [str(e) for e in failure.get("argument_errors") or []]
            if argument_errors:
                # the role's argument check, worded by the callback as on the first failure
                result.update(failed=True, argument_errors=argument_errors,
                              argument_spec_data=failure.get("argument_spec_data") or {},
                              msg="Validation of arguments failed: " + "; ".join(argument_errors))
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
