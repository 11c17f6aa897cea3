#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_settings_check
short_description: (internal) Stop a run on a configuration mistake, with "did you mean" for unknown variables
version_added: 0.2.0
description:
  - Internal to the roles of this collection (their first task); not needed in playbooks.
  - Fails, before anything is read or written, when O(problems) holds a problem found by another check, or when
    a C(zoho_*) variable of the run is one that nothing reads - no role, template or plugin of the collection,
    not the running play, not the value of another variable. A misspelt setting (C(tresholds) for C(thresholds))
    would otherwise be ignored; the message names the closest known variable.
  - "The failed result carries C(zoho_settings_error=true), so the C(tsh.zoho_sync.operator) callback prints it
    as C(CONFIG ERROR <host>: ...)."
  - Runs on the controller only (an action plugin).
author:
  - TSH operations team (@tsh-ops)
options:
  problems:
    description: Problems already found (empty strings are ignored); the run fails when there is one.
    type: list
    elements: str
    default: []
  check_names:
    description: Look for unknown C(zoho_*) variables.
    type: bool
    default: true
  ignore:
    description:
      - Shell patterns of C(zoho_*) names never reported. By default C(zoho_awx_*) (the survey answers of
        C(awx/configure.yml)), C(zoho_fleet_*) (the results of the fleet plays of C(playbooks/health.yml)) and
        the patterns in the variable C(zoho_variables_ignore).
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: The same in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
'''

EXAMPLES = r'''
- name: Check the settings
  tsh.zoho_sync.zoho_settings_check:
    problems:
      - "{{ zoho_health_thresholds | tsh.zoho_sync.zoho_health_threshold_error(zoho_health_thresholds_by_entity) }}"
'''

RETURN = r'''
problems:
  description: Every problem, one sentence each.
  returned: always
  type: list
  elements: str
unknown_variables:
  description: The C(zoho_*) variables nothing reads.
  returned: always
  type: list
  elements: str
zoho_settings_error:
  description: True when the run stops on a configuration mistake.
  returned: failure
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(
            problems=dict(type="list", elements="str", default=[]),
            check_names=dict(type="bool", default=True),
            ignore=dict(type="list", elements="str"),
        ),
        supports_check_mode=True,
    )
    module.fail_json(msg="zoho_settings_check runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
