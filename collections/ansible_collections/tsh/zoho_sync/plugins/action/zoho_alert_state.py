# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of tsh.zoho_sync.zoho_alert_state: writes a JSON state file on the control
node, atomically (temporary file in the same directory, fsync, rename), without running a
module on any host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.atomic_file import write_atomic


def _read(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("path", "state"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        path = self._task.args.get("path")
        state = self._task.args.get("state")
        if not path or not isinstance(path, str):
            raise AnsibleActionFail("zoho_alert_state: 'path' is required (the state file on the control node)")
        if not isinstance(state, dict):
            raise AnsibleActionFail("zoho_alert_state: 'state' must be a mapping, got %s" % type(state).__name__)
        path = os.path.abspath(os.path.expanduser(path))
        try:
            text = json.dumps(state, indent=4, sort_keys=True, ensure_ascii=False) + "\n"
        except (TypeError, ValueError) as exc:
            raise AnsibleActionFail("zoho_alert_state: the state cannot be written as JSON: %s" % exc)
        before = _read(path)
        result["path"] = path
        result["changed"] = before != text
        if self._task.diff and result["changed"]:
            result["diff"] = {"before": before or "", "after": text,
                              "before_header": path, "after_header": path}
        if result["changed"] and not self._task.check_mode:
            try:
                write_atomic(path, text, 0o600, dir_mode=0o700)
            except (IOError, OSError) as exc:
                raise AnsibleActionFail("zoho_alert_state: could not write %s: %s"
                                        % (path, exc.strerror or exc))
        return result
