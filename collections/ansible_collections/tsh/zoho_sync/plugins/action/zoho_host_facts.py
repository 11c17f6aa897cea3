# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Memory and disks of the host (the module, or in-process on the control node) and
the disks of control_paths on the control node, where this action runs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase
from ansible_collections.tsh.zoho_sync.plugins.module_utils.host_facts import disk_usage, host_facts

CONTROL_NODE = "control node"


def host_paths(value, name):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) for p in value):
        raise ValueError("%s must be a list of paths" % name)
    return list(value)


def read_host_facts(action, paths, control_paths, task_vars):
    """{memory, disks} of the host of ``action`` (an action plugin running for it): read in
    this process on a local connection, else by the module on the host (a failure of the
    module is each fact's error); then the disks of ``control_paths`` on the control node."""
    if getattr(action._connection, "transport", None) == "local":
        facts = host_facts(paths, CONTROL_NODE)
    else:
        remote = action._execute_module(module_name="tsh.zoho_sync.zoho_host_facts",
                                        module_args={"paths": paths}, task_vars=task_vars)
        if remote.get("failed"):
            error = remote.get("msg") or "the host facts module failed"
            facts = {"memory": {"read": False, "error": error},
                     "disks": [{"path": p, "where": "host", "read": False, "error": error} for p in paths]}
        else:
            facts = {"memory": remote.get("memory") or {"read": False, "error": "no memory facts"},
                     "disks": list(remote.get("disks") or [])}
    facts["disks"].extend(disk_usage(p, CONTROL_NODE) for p in control_paths if p)
    return facts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("paths", "control_paths"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        try:
            paths = host_paths(self._task.args.get("paths", ["/"]), "paths")
            control_paths = host_paths(self._task.args.get("control_paths"), "control_paths")
        except ValueError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        facts = read_host_facts(self, paths, control_paths, task_vars)
        result.update(changed=False, **facts)
        return result
