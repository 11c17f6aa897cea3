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
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report_files import check_files, write_files


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("dir", "files", "mode", "dir_mode", "prune_patterns", "keep_days"))
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        try:
            directory, files, mode, dir_mode, patterns, keep_days = check_files(
                args.get("dir"), args.get("files"), args.get("mode"), args.get("dir_mode"),
                args.get("prune_patterns"), args.get("keep_days"))
        except (TypeError, ValueError) as exc:
            result.update(failed=True, msg=str(exc))
            return result

        if self._task.check_mode:
            result.update(changed=bool(files), written=[os.path.join(directory, n) for n in files], removed=[],
                          msg="check mode: nothing written")
            return result
        try:
            changed, written, removed = write_files(directory, files, mode, dir_mode, patterns, keep_days)
        except (IOError, OSError) as exc:
            result.update(failed=True, msg="Cannot write the reports in %s: %s" % (directory, exc))
            return result
        result.update(changed=changed, written=written, removed=removed)
        return result
