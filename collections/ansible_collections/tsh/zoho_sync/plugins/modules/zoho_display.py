#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r'''
---
module: zoho_display
short_description: (internal) Print a text block as it is, ANSI colours included
version_added: 0.1.0
description:
  - Internal to the roles of this collection (plumbing they share); not needed in playbooks.
  - Prints O(msg) on the controller's output without the escaping the result callbacks apply, so a
    colour-coded summary (the zoho_health terminal report) shows its colours in a terminal.
  - Runs on the controller only (an action plugin); it never connects to the host and never changes anything.
author:
  - TSH operations team (@tsh-ops)
options:
  msg:
    description: The text to print.
    type: str
    required: true
  color:
    description:
      - V(always) keeps the ANSI colour codes of O(msg), V(never) strips them, V(auto) keeps them when
        Ansible itself would colour its output (a terminal, and neither E(ANSIBLE_NOCOLOR) nor
        E(NO_COLOR) set; E(ANSIBLE_FORCE_COLOR) forces them).
    type: str
    choices: [auto, always, never]
    default: auto
attributes:
  check_mode:
    support: full
    description: Prints the same in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
notes:
  - The text is shown on screen only (not in the Ansible log file).
'''

EXAMPLES = r'''
- name: Show the health summary
  tsh.zoho_sync.zoho_display:
    msg: "{{ lookup('ansible.builtin.template', 'summary.txt.j2') }}"
    color: auto
'''

RETURN = r'''
color:
  description: Whether the colours were kept.
  type: bool
  returned: always
lines:
  description: How many lines were printed.
  type: int
  returned: always
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            msg=dict(type="str", required=True),
            color=dict(type="str", default="auto", choices=["auto", "always", "never"]),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_display runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
