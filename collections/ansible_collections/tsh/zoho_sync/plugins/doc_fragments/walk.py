# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # The options of every module that writes in batches (module_utils/heal_run.walk_argument_spec).
    # A module sets its own default of limit and batch_size in its DOCUMENTATION.
    DOCUMENTATION = r'''
options:
  limit:
    description:
      - At most this many rows per run (M(tsh.zoho_sync.zoho_cleanup) - per phase, the sync logs deleted with
        their queue rows not counted). The candidates are selected once, oldest first, up to this limit.
      - In check mode the same selection with the same limit is previewed, so the preview lists exactly the
        rows a run would change; when a preview hits O(statement_timeout), lower the limit.
    type: int
  batch_size:
    description:
      - Rows per transaction. Each batch locks its rows (C(FOR UPDATE SKIP LOCKED)), changes them with every
        condition repeated and commits, so a smaller batch holds its row locks for less time
        (C(docs/performance.md) measures the lock hold per batch at 10M rows).
    type: int
'''
