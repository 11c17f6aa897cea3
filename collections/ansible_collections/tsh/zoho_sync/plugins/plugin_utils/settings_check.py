# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration check of a run, as the action plugins say it: the problems other checks
found and the zoho_* variables nothing reads (plugin_utils/variable_names.py), as one failed
result that the tsh.zoho_sync.operator callback prints as CONFIG ERROR. Used by
zoho_settings_check (the roles' first task) and by zoho_health_run (which checks the health
role's settings itself rather than pay a task for it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils import user_cache
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.variable_names import (
    DEFAULT_IGNORE, describe, names_in, names_in_tree, source_files, unknown_variables)

COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# task variables that hold every other variable (a name in them is a definition, not a use)
CONTAINERS = frozenset(("vars", "hostvars", "groups", "group_names", "omit", "environment"))
_COLLECTION_NAMES = []


def collection_names():
    """The zoho_* names mentioned in the collection: read once per process, and kept between runs
    under a fingerprint of the files' names, sizes and times (reading them all was a tenth of a
    health check's own work; looking at their times is a millisecond)."""
    if not _COLLECTION_NAMES:
        files = list(source_files(COLLECTION_ROOT))
        stamps = []
        for path in files:
            try:
                stat = os.stat(path)
            except OSError:
                continue
            stamps.append((path, stat.st_mtime_ns, stat.st_size))
        key = user_cache.fingerprint(COLLECTION_ROOT, stamps)
        names = None
        try:
            names = json.loads(user_cache.read_text("names", key) or "null")
        except ValueError:
            names = None
        if not isinstance(names, list):
            names = sorted(names_in_tree(COLLECTION_ROOT, files))
            user_cache.write_text("names", key, json.dumps(names))
        _COLLECTION_NAMES.append(frozenset(names))
    return _COLLECTION_NAMES[0]


def play_names(task):
    """The zoho_* names the play of ``task`` mentions (its hosts, vars, roles and tasks)."""
    block = getattr(task, "_parent", None)
    while block is not None and getattr(block, "_play", None) is None:
        block = getattr(block, "_parent", None)
    play = getattr(block, "_play", None)
    return names_in(getattr(play, "_ds", None) or {})


def clean_problems(problems):
    """The non-empty problems, as text (one string or a list)."""
    if isinstance(problems, str):
        problems = [problems]
    return [str(p).strip() for p in problems or [] if p is not None and str(p).strip()]


def unknown_names(task, task_vars, ignore=None):
    """``[(name, closest known name or None), ...]`` of the run's zoho_* variables nothing reads."""
    if ignore is None:
        ignore = list(DEFAULT_IGNORE) + list(task_vars.get("zoho_variables_ignore") or [])
    elif isinstance(ignore, str):
        ignore = [ignore]
    defined = [name for name in task_vars if str(name).startswith("zoho_")]
    known = set(collection_names()) | play_names(task)
    for name, value in task_vars.items():
        if name not in CONTAINERS:
            known.update(names_in(value))
    return unknown_variables(defined, known, ignore)


def check(task, task_vars, problems, check_names=True, ignore=None):
    """The result of the check: ``problems``, ``unknown_variables`` and, when there is a problem,
    ``failed``, ``zoho_settings_error`` and the one message."""
    problems = clean_problems(problems)
    unknown = unknown_names(task, task_vars, ignore) if check_names else []
    problems.extend(describe(unknown))
    result = {"problems": problems, "unknown_variables": [name for name, _match in unknown]}
    if problems:
        result.update(failed=True, zoho_settings_error=True,
                      msg="; ".join(problems) + ". Nothing was read or written.")
    return result


def argument_failure(argument_errors, argument_spec_data=None):
    """A role's argument check said again (health.yml records it for after the fleet summary, and
    zoho_host_outcome says it): the failed result the callback words as on the first failure, or
    None without errors."""
    errors = [str(e) for e in argument_errors or []]
    if not errors:
        return None
    return {"failed": True, "argument_errors": errors, "argument_spec_data": argument_spec_data or {},
            "msg": "Validation of arguments failed: " + "; ".join(errors)}
