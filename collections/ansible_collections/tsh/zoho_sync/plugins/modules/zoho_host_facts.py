#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_host_facts
short_description: (internal) Memory and disk usage of a host, for the health report of the zoho_health role
version_added: 0.2.0
description:
  - Reads C(/proc/meminfo) and the disk usage (C(statvfs)) of O(paths) on the host, and of O(control_paths) on the
    control node, in one step.
  - On the control node itself (a local connection) it reads everything in the controller's process, with no
    module process; on another host it runs once there.
  - Read-only; never fails because a value cannot be read - that value comes back with C(read=false) and the
    reason, and the health report judges it V(unknown).
author:
  - TSH operations team (@tsh-ops)
options:
  paths:
    description: Paths whose disk usage is read on the host (the nearest existing directory of each).
    type: list
    elements: path
    default: [/]
  control_paths:
    description: Paths whose disk usage is read on the control node (for example the report directory).
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: Read-only; the same in check mode.
  diff_mode:
    support: none
    description: No diff.
notes:
  - Linux hosts (C(/proc/meminfo)).
'''

EXAMPLES = r'''
- name: Read memory and disks
  tsh.zoho_sync.zoho_host_facts:
    paths: [/, /var/lib/postgresql]
    control_paths: [/var/lib/tsh-zoho-sync/reports]
  register: host_facts
'''

RETURN = r'''
memory:
  description: C(read), C(error), C(total_mb), C(available_mb), C(used_pct) (of MemTotal, from MemAvailable),
    C(swap_total_mb), C(swap_used_mb).
  returned: always
  type: dict
disks:
  description: Per path - C(path), C(where) (V(host) or V(control node)), C(read), C(error), C(mount), C(size_mb),
    C(used_mb), C(available_mb), C(used_pct).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tsh.zoho_sync.plugins.module_utils.host_facts import host_facts


def main():
    module = AnsibleModule(argument_spec=dict(
        paths=dict(type="list", elements="path", default=["/"]),
        control_paths=dict(type="list", elements="path", default=[]),
    ), supports_check_mode=True)
    facts = host_facts(module.params["paths"], "host")
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
