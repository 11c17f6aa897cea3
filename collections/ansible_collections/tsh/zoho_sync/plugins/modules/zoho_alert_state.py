#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done on the control node by the action plugin
# plugins/action/zoho_alert_state.py.

DOCUMENTATION = r'''
---
module: zoho_alert_state
short_description: (internal) Write the alert state of a host as a JSON file on the control node, atomically
version_added: 0.1.0
description:
  - Internal to the roles of this collection (plumbing they share); not needed in playbooks.
  - Writes O(state) as indented, key-sorted JSON to O(path) on the control node (whatever the task's
    host or connection), through a temporary file in the same directory that is flushed, synced and renamed
    over the old file, so a reader sees either the old or the new state, never a partial one.
  - Creates the parent directory (mode C(0700)) when missing; the file gets mode C(0600).
  - Nothing is written when the content is already the same (the task is then not changed).
  - Used by the C(tsh.zoho_sync.zoho_alert) role; the state holds no secret by design.
author:
  - TSH operations team (@tsh-ops)
options:
  path:
    description:
      - Absolute path of the state file on the control node.
    type: path
    required: true
  state:
    description:
      - The state to write (a mapping).
    type: dict
    required: true
attributes:
  check_mode:
    support: full
    description: Reports whether the file would change, writes nothing.
  diff_mode:
    support: full
    description: Shows the old and the new JSON.
  platform:
    support: full
    platforms: posix
    description: Runs on the control node only.
'''

EXAMPLES = r'''
- name: Record the new alert state
  tsh.zoho_sync.zoho_alert_state:
    path: /var/lib/zoho_sync/reports/alert-state/erp-prod-1.json
    state:
      version: 1
      level: critical
'''

RETURN = r'''
path:
  description: The absolute path of the state file.
  returned: always
  type: str
  sample: /var/lib/zoho_sync/reports/alert-state/erp-prod-1.json
'''
