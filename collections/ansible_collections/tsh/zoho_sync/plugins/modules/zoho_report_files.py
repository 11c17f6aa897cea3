#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_report_files
short_description: (internal) Write a run's report files on the control node, each atomically, and prune old ones
version_added: 0.1.0
description:
  - Internal to the roles of this collection (plumbing they share); not needed in playbooks.
  - Writes every file of O(files) (file name to content) into O(dir) on the control node - the directory is
    created with O(dir_mode) when missing - each through a temporary file in the same directory, C(fsync) and a
    rename, so a reader (AWX, a web server, the next run) never sees a half-written report. A file whose content
    is unchanged is left alone.
  - With O(prune_patterns) and O(keep_days), removes the files of O(dir) matching a pattern that are older than
    O(keep_days) days (never one of O(files)).
  - Runs on the controller only (an action plugin), in one step for all the files of a run - no module round
    trip per file.
  - In check mode nothing is written; the C(zoho_health) and C(zoho_heal) roles write their reports in check mode
    too (the report is the output of a preview) by setting C(check_mode=false) on the task.
author:
  - TSH operations team (@tsh-ops)
options:
  dir:
    description: The report directory (on the control node).
    type: path
    required: true
  files:
    description: File name (no directory part, not starting with a dot) to its text content.
    type: dict
    required: true
  mode:
    description: Mode of the files.
    type: raw
    default: "0640"
  dir_mode:
    description: Mode of the directory when it is created.
    type: raw
    default: "0750"
  prune_patterns:
    description: Shell patterns (C(fnmatch)) of the old files to remove, for example C(health-*.json).
    type: list
    elements: str
  keep_days:
    description: With O(prune_patterns), remove the matching files older than this many days.
    type: float
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
  diff_mode:
    support: none
    description: No diff.
notes:
  - The files are written on the control node whatever host the task runs for.
seealso:
  - module: tsh.zoho_sync.zoho_audit
'''

EXAMPLES = r'''
- name: Write the heal report
  tsh.zoho_sync.zoho_report_files:
    dir: /var/lib/tsh-zoho-sync/reports/erp1
    files:
      heal-20260130T101500Z-4f2a1c.json: "{{ report | to_nice_json }}"
      heal-20260130T101500Z-4f2a1c.md: "{{ lookup('ansible.builtin.template', 'heal_report.md.j2') }}"
  check_mode: false

- name: Write the health reports and keep 30 days of them
  tsh.zoho_sync.zoho_report_files:
    dir: /var/lib/tsh-zoho-sync/reports/erp1
    files: "{{ health_files }}"
    prune_patterns: ["health-*.json", "health-*.md", "health-*.html", "health-*.txt"]
    keep_days: 30
'''

RETURN = r'''
written:
  description: The files (and a created directory) written; in check mode, that would be.
  returned: always
  type: list
  elements: str
removed:
  description: The old files pruned.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            files=dict(type="dict", required=True),
            mode=dict(type="raw", default="0640"),
            dir_mode=dict(type="raw", default="0750"),
            prune_patterns=dict(type="list", elements="str"),
            keep_days=dict(type="float"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_report_files runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
