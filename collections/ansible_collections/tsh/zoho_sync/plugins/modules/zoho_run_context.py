#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_run_context
short_description: (internal) How this ansible-playbook run was started, for cron entries and paste-ready commands
version_added: 0.2.0
description:
  - Internal to the C(tsh.zoho_sync.zoho_schedule) and C(tsh.zoho_sync.zoho_health) roles; not needed in playbooks.
  - Returns the absolute path of the C(ansible-playbook) that runs, the inventory sources, the C(--limit), the vault
    secrets (C(--vault-id) and C(--vault-password-file), and the configured C(vault_identity_list) and
    C(vault_password_file)) with absolute paths, the configuration file, and where C(crontab) and C(flock) are.
  - Runs on the controller only (an action plugin); reads nothing but the run's own options.
  - RV(context) holds what the commands a health report recommends repeat, so that they run as pasted from the
    repository root (the directory that holds C(health.yml), C(heal.yml) and C(playbooks/)) with the inventory and
    vault secrets of the run that produced the report.
  - Extra variables whose name looks like a secret (password, token, secret, webhook, key) are left out and
    named in C(omitted_extra_vars) of RV(context).
author:
  - TSH operations team (@tsh-ops)
options: {}
attributes:
  check_mode:
    support: full
    description: The same in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
'''

EXAMPLES = r'''
- name: Learn how this run was started
  tsh.zoho_sync.zoho_run_context:
  register: run
'''

RETURN = r'''
ansible_playbook:
  description: Absolute path of the running C(ansible-playbook).
  returned: always
  type: str
inventory:
  description: The inventory sources, absolute.
  returned: always
  type: list
  elements: str
limit:
  description: The C(--limit) of the run (empty for none).
  returned: always
  type: str
vault_ids:
  description: The vault secrets as C(label@/absolute/file) (password files included).
  returned: always
  type: list
  elements: str
vault_prompts:
  description: The vault secrets that were asked for at a prompt (cron cannot answer one).
  returned: always
  type: list
  elements: str
config_file:
  description: The C(ansible.cfg) in use (empty for none).
  returned: always
  type: str
crontab:
  description: The C(crontab) program (empty when there is none).
  returned: always
  type: str
flock:
  description: The C(flock) program (empty when there is none).
  returned: always
  type: str
path:
  description: The E(PATH) for the cron entries - the directory of C(ansible-playbook), then cron's own.
  returned: always
  type: str
context:
  description: C(root), C(cwd), C(inventory) (list, as given to C(-i), absolute or relative to the root),
    C(vault) (the vault options, a list of command-line words), C(extra_vars) (a list of C(-e) values),
    C(omitted_extra_vars) (names left out as secrets), C(connection), C(playbook_dir).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.fail_json(msg="zoho_run_context runs on the controller (action plugin); the module file is documentation only")


if __name__ == "__main__":
    main()
