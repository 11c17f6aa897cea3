#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: zoho_run_context
short_description: Internal - how this playbook run was invoked, for paste-ready commands in the reports
version_added: 0.2.0
description:
  - Internal plumbing of the C(zoho_health) role (an action plugin; runs on the controller only).
  - Returns the inventory sources, the limit, the vault options (C(--ask-vault-pass), C(--vault-password-file),
    C(--vault-id)) and the extra variables of the running C(ansible-playbook), read from its command line, and
    the repository root (the directory that holds C(health.yml), C(heal.yml) and C(playbooks/)).
  - The health report repeats them in every command it recommends, so a command runs as pasted from the
    repository root with the inventory and vault secrets of the run that produced it.
  - Extra variables whose name looks like a secret (password, token, secret, webhook, key) are left out and
    named in C(omitted_extra_vars) of RV(context); paths are made absolute (inside the repository - relative to its root).
author:
  - TSH operations team (@tsh-ops)
options: {}
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: No diff.
'''

EXAMPLES = r'''
- name: Learn how this run was invoked
  tsh.zoho_sync.zoho_run_context:
  register: run
'''

RETURN = r'''
context:
  description: C(root), C(cwd), C(inventory) (list, as given to C(-i), absolute or relative to the root),
    C(vault) (the vault options, a list of command-line words), C(extra_vars) (a list of C(-e) values),
    C(omitted_extra_vars) (names left out as secrets), C(connection), C(playbook_dir).
  returned: always
  type: dict
'''
