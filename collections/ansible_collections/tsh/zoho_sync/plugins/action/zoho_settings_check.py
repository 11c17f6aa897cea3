# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop a run on a configuration mistake before it reads or writes anything: the problems
other checks found, and the zoho_* variables that nothing reads (a misspelt setting)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.variable_names import (
    DEFAULT_IGNORE, describe, names_in, names_in_tree, unknown_variables)

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# task variables that hold every other variable (a name in them is a definition, not a use)
CONTAINERS = frozenset(("vars", "hostvars", "groups", "group_names", "omit", "environment"))
_COLLECTION_NAMES = []


def collection_names():
    """The zoho_* names mentioned in the collection, read once per process."""
    if not _COLLECTION_NAMES:
        _COLLECTION_NAMES.append(frozenset(names_in_tree(COLLECTION_ROOT)))
    return _COLLECTION_NAMES[0]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("problems", "check_names", "ignore", "argument_errors", "argument_spec_data"))
    _requires_connection = False

    def _play_names(self):
        """The zoho_* names the running play mentions (its hosts, vars, roles and tasks)."""
        block = self._task._parent
        while block is not None and getattr(block, "_play", None) is None:
            block = getattr(block, "_parent", None)
        play = getattr(block, "_play", None)
        return names_in(getattr(play, "_ds", None) or {})

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        problems = args.get("problems") or []
        if isinstance(problems, str):
            problems = [problems]
        problems = [str(p).strip() for p in problems if p is not None and str(p).strip()]
        ignore = args.get("ignore")
        if ignore is None:
            ignore = list(DEFAULT_IGNORE) + list(task_vars.get("zoho_variables_ignore") or [])
        elif isinstance(ignore, str):
            ignore = [ignore]

        unknown = []
        if args.get("check_names", True):
            defined = [name for name in task_vars if str(name).startswith("zoho_")]
            known = set(collection_names()) | self._play_names()
            for name, value in task_vars.items():
                if name not in CONTAINERS:
                    known.update(names_in(value))
            unknown = unknown_variables(defined, known, ignore)
            problems.extend(describe(unknown))

        result["unknown_variables"] = [name for name, _match in unknown]
        result["problems"] = problems
        result["changed"] = False
        argument_errors = [str(e) for e in args.get("argument_errors") or []]
        if argument_errors:
            # a role's argument check, said again (health.yml's rescue keeps it for after the
            # fleet summary): the callback words each error as on the first failure
            result.update(failed=True, argument_errors=argument_errors,
                          argument_spec_data=args.get("argument_spec_data") or {},
                          msg="Validation of arguments failed: " + "; ".join(argument_errors))
            return result
        if problems:
            result["failed"] = True
            result["zoho_settings_error"] = True
            result["msg"] = "; ".join(problems) + ". Nothing was read or written."
        else:
            result["msg"] = "The settings are valid."
        return result
