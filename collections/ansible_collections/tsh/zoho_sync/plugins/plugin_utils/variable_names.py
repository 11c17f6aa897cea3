# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which ``zoho_*`` variables of a run nothing reads: a misspelt setting
(``tresholds`` for ``thresholds``) is silently ignored by Ansible, so the roles look for one first.

A variable is known when its name appears in the collection (its roles' defaults, argument
specifications, tasks and templates, its plugins), in the play that runs, or in the value of
another variable (an inventory may build one setting from another). A ``zoho_*`` variable that
none of them mentions cannot have any effect: it is reported, with the closest known name.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import os
import re

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.suggest import closest

NAME_RE = re.compile(r"(?<![A-Za-z0-9_])zoho_[A-Za-z0-9_]+")
SOURCE_SUFFIXES = (".yml", ".yaml", ".j2", ".py")
# Names another part of this repository defines in a run: awx/configure.yml's survey answers,
# and the results and facts of playbooks/health.yml's fleet plays (a playbook that imports
# health.yml and then heal.yml has them when the heal's settings are checked).
DEFAULT_IGNORE = ("zoho_awx_*", "zoho_fleet_*")


def names_in(value, depth=0):
    """Every zoho_* name mentioned in a value (text, or lists and mappings of text)."""
    found = set()
    if depth > 20:
        return found
    if isinstance(value, str):
        found.update(NAME_RE.findall(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.update(names_in(key, depth + 1))
            found.update(names_in(item, depth + 1))
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            found.update(names_in(item, depth + 1))
    return found


def source_files(root):
    """The YAML, template and Python files below ``root`` that may name a variable."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")) and d not in ("tests", "output"))
        for name in sorted(files):
            if name.endswith(SOURCE_SUFFIXES):
                yield os.path.join(directory, name)


def names_in_tree(root, files=None):
    """Every zoho_* name in ``files`` (by default the source files below ``root``)."""
    found = set()
    for path in source_files(root) if files is None else files:
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as handle:
                found.update(NAME_RE.findall(handle.read()))
        except (IOError, OSError):
            continue
    return found


def unknown_variables(defined, known, ignore=DEFAULT_IGNORE):
    """``[(name, closest known name or None), ...]`` for each defined zoho_* name that is not
    known and matches no ``ignore`` pattern, sorted by name."""
    problems = []
    for name in sorted(set(n for n in defined if NAME_RE.fullmatch(str(n)))):
        if name in known or any(fnmatch.fnmatchcase(name, pattern) for pattern in ignore or ()):
            continue
        problems.append((name, closest(name, known, cutoff=0.8)))
    return problems


def describe(problems):
    """One sentence per unknown variable."""
    return ["unknown variable %s%s: nothing in tsh.zoho_sync reads it"
            % (name, " (did you mean %s?)" % match if match else "") for name, match in problems]
