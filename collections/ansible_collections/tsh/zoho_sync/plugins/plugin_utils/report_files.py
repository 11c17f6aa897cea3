# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run's report files on the control node: the checks of a set of files (name to text)
and their writing, each file atomically, with the pruning of old ones - shared by the
controller-side writers (tsh.zoho_sync.zoho_report_files, tsh.zoho_sync.zoho_health_run)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.atomic_file import make_dir, parse_mode, prune_old, write_atomic


def check_files(directory, files, mode=None, dir_mode=None, prune_patterns=None, keep_days=None):
    """The arguments of a write, checked: (absolute directory, files, mode, dir_mode, patterns,
    keep_days or None); ValueError (or TypeError) naming the first problem."""
    files = files or {}
    if not directory or not isinstance(directory, str):
        raise ValueError("dir is required")
    if not isinstance(files, dict):
        raise ValueError("files must be a mapping of file name to content")
    for name, content in files.items():
        name = str(name)
        if not name or "/" in name or name in (".", "..") or name.startswith("."):
            raise ValueError("files: %r is not a plain file name" % name)
        if not isinstance(content, str):
            raise ValueError("files: the content of %s must be text" % name)
    mode = parse_mode(mode, 0o640)
    dir_mode = parse_mode(dir_mode, 0o750)
    patterns = prune_patterns or []
    if isinstance(patterns, str):
        patterns = [patterns]
    keep_days = None if keep_days in (None, "") else float(keep_days)
    if keep_days is not None and keep_days < 0:
        raise ValueError("keep_days must not be negative")
    return os.path.abspath(os.path.expanduser(directory)), files, mode, dir_mode, patterns, keep_days


def write_files(directory, files, mode, dir_mode, patterns, keep_days):
    """Write ``files`` (checked by check_files) into ``directory``, creating it with
    ``dir_mode``; prune the old files matching ``patterns`` when ``keep_days`` is set.
    Returns (changed, written paths, removed paths); IOError/OSError on a failure."""
    written, removed = [], []
    if make_dir(directory, dir_mode):
        written.append(directory)
    changed = False
    for name, content in files.items():
        path = os.path.join(directory, str(name))
        changed = write_atomic(path, content, mode) or changed
        written.append(path)
    if patterns and keep_days is not None:
        removed = prune_old(directory, patterns, keep_days, keep=files)
    return changed or bool(removed), written, removed
