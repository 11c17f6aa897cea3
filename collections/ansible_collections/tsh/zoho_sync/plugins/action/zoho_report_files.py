# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write a set of report files on the control node, each atomically (a temporary file
in the same directory, then a rename), and prune old ones - in one step, without a
module round trip per file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.atomic_file import parse_mode, prune_old, write_atomic


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dir", "files", "mode", "dir_mode", "prune_patterns", "keep_days"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        try:
            directory = args.get("dir")
            files = args.get("files") or {}
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
            mode = parse_mode(args.get("mode"), 0o640)
            dir_mode = parse_mode(args.get("dir_mode"), 0o750)
            patterns = args.get("prune_patterns") or []
            if isinstance(patterns, str):
                patterns = [patterns]
            keep_days = args.get("keep_days")
            keep_days = None if keep_days in (None, "") else float(keep_days)
            if keep_days is not None and keep_days < 0:
                raise ValueError("keep_days must not be negative")
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg=str(exc))
            return result

        directory = os.path.abspath(os.path.expanduser(directory))
        written, removed = [], []
        if self._task.check_mode:
            result.update(changed=bool(files), written=[os.path.join(directory, n) for n in files], removed=[],
                          msg="check mode: nothing written")
            return result
        try:
            if not os.path.isdir(directory):
                os.makedirs(directory, dir_mode)
                written.append(directory)
            changed = False
            for name, content in files.items():
                path = os.path.join(directory, str(name))
                changed = write_atomic(path, content, mode) or changed
                written.append(path)
            if patterns and keep_days is not None:
                removed = prune_old(directory, patterns, keep_days, keep=files)
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="Cannot write the reports in %s: %s" % (directory, exc))
            return result
        result.update(changed=changed or bool(removed), written=written, removed=removed)
        return result
