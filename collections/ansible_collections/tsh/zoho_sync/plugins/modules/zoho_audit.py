# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the action plugin of the same name (plugins/action/zoho_audit.py)
# does the work, on the controller, with the argument spec of module_utils/audit_log.py.

DOCUMENTATION = r'''
---
module: zoho_audit
short_description: (internal) Append one audit record of a Zoho sync heal action to a JSON lines file and to syslog
version_added: 0.1.0
description:
  - Internal to the roles of this collection (plumbing they share); not needed in playbooks.
  - Appends O(record) as one JSON line to O(path) - one C(write) on a file opened with C(O_APPEND), under an
    exclusive C(flock), then C(fsync) - so concurrent heals (several hosts, forks delegating to the control
    node) never interleave or lose lines. The file is created with mode 0600, its directory with 0700.
  - Adds C(ts) (UTC, ISO 8601) and C(user) (the login running the module, and C(sudo_user) when run through
    sudo) when the record lacks them.
  - Any key that looks like a secret (C(password), C(passwd), C(secret), C(token), C(api_key), C(authorization))
    has its value replaced by C(********) at any depth, so a careless caller cannot leak one into the log.
  - Also sends a short form of the record (row id lists replaced by their counts) to syslog, tag O(syslog_tag),
    over the local syslog socket O(syslog_socket) (what C(logger -t tsh-zoho-sync) does). A missing socket is a
    warning, not a failure - the file is the record of truth.
  - In check mode nothing is written; a caller that wants check runs audited too (the C(zoho_heal) role does)
    sets C(check_mode=false) on the task.
  - An action - it runs on the control node (the audit trail lives there, beside the reports), with no module
    round trip; C(delegate_to) and the connection do not change where the record is written.
author:
  - TSH operations team (@tsh-ops)
extends_documentation_fragment:
  - tsh.zoho_sync.attributes
attributes:
  check_mode:
    support: full
    details: Writes nothing in check mode.
  diff_mode:
    support: none
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on
      the controller.
    support: full
options:
  path:
    description:
      - The audit log (JSON lines).
    type: path
    required: true
  record:
    description:
      - The record to append (a dictionary; serialised as JSON with sorted keys).
    type: dict
    required: true
  syslog:
    description:
      - Also send the record to syslog.
    type: bool
    default: true
  syslog_socket:
    description:
      - The local syslog socket.
    type: path
    default: /dev/log
  syslog_tag:
    description:
      - The syslog tag (program name).
    type: str
    default: tsh-zoho-sync
  facility:
    description:
      - The syslog facility.
    type: str
    default: user
    choices: [ user, daemon, local0, local1, local2, local3, local4, local5, local6, local7 ]
seealso:
  - module: tsh.zoho_sync.zoho_heal_lock
'''

EXAMPLES = r'''
- name: Audit a requeue
  tsh.zoho_sync.zoho_audit:
    path: /var/log/tsh-zoho-sync/audit.jsonl
    record:
      run_id: "{{ zoho_heal_run_id }}"
      host: "{{ inventory_hostname }}"
      mode: apply
      action: requeue_failed
      counts: {requeued: 12}
      ids: "{{ result.ids }}"
  delegate_to: localhost
  check_mode: false
'''

RETURN = r'''
line:
  description: The JSON line written (without its newline).
  returned: always
  type: str
path:
  description: The audit log.
  returned: always
  type: str
syslog_sent:
  description: Whether the short form reached the syslog socket.
  returned: always
  type: bool
'''
