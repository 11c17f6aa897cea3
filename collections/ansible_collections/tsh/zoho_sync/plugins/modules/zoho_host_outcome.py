#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_host_outcome
short_description: (internal) Fail a host of health.yml after the fleet summary, as its check failed
version_added: 0.2.0
description:
  - Internal to C(playbooks/health.yml) (its last play, for the hosts that fail); not needed in playbooks.
  - The first play of C(health.yml) records why a host's check failed (its rescue) and each host's outcome, so that
    the fleet summary is written whatever failed; this task then fails the host as the check would have.
  - "A configuration mistake (O(failure) with C(config)) is said again as one - C(zoho_settings_error=true) or the
    role's argument errors - so the C(tsh.zoho_sync.operator) callback prints it as C(CONFIG ERROR <host>: ...).
    Any other failure fails with its message, or with O(msg) when nothing was recorded (a report whose state
    fails, an unreachable host)."
  - Runs on the controller only (an action plugin).
author:
  - TSH operations team (@tsh-ops)
options:
  failure:
    description:
      - The failure recorded by the rescue - C(msg), C(config), C(problems), C(argument_errors),
        C(argument_spec_data) - or nothing.
    type: dict
    default: {}
  msg:
    description: The message when O(failure) holds none (the outcome of the report, or why the host was not reached).
    type: str
attributes:
  check_mode:
    support: full
    description: The same in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
seealso:
  - module: tsh.zoho_sync.zoho_settings_check
'''

EXAMPLES = r'''
- name: Set the outcome of the run
  tsh.zoho_sync.zoho_host_outcome:
    failure: "{{ zoho_fleet_failure | default({}) }}"
    msg: "{{ zoho_health_outcome.msg | default('') }}"
'''

RETURN = r'''
zoho_settings_error:
  description: True when the host failed on a configuration mistake.
  returned: on a configuration mistake
  type: bool
problems:
  description: The configuration mistakes said again.
  returned: on a configuration mistake
  type: list
  elements: str
argument_errors:
  description: The role's argument errors said again.
  returned: on a configuration mistake of the role's arguments
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            failure=dict(type="dict", default={}),
            msg=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_host_outcome runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
