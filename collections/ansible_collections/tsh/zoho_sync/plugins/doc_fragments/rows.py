# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    # How a module that writes shows its rows (module_utils/heal_run.rows_argument_spec).
    DOCUMENTATION = r'''
options:
  diff_rows:
    description:
      - With C(--diff), how many rows of each action the diff table lists (and, with O(rows_file), how many RV(rows) returns).
    type: int
    default: 50
  full_report:
    description:
      - Where the caller keeps every row (the C(zoho_heal) role passes the rows file of its heal report); the diff
        names it when it lists only the first O(diff_rows) rows.
    type: str
  rows_file:
    description:
      - In check mode and with C(--diff), append every row (a Markdown table per action and change) to this file on
        the host running the module (created with mode 0600), and return only the first O(diff_rows) rows of each
        action in RV(rows). Without it RV(rows) holds every row.
    type: path
'''
