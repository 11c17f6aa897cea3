# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""zoho_schedule_command: the cron line, read back by a POSIX shell parser (shlex)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_schedule import zoho_schedule_command

SETTINGS = {"project_dir": "/opt/tsh zoho", "flock": "/usr/bin/flock", "path": "/opt/tsh zoho/.venv/bin:/usr/bin:/bin",
            "ansible_config": "/opt/tsh zoho/ansible.cfg", "ansible_playbook": "/opt/tsh zoho/.venv/bin/ansible-playbook",
            "inventory": ["/etc/tsh/inv", "/etc/tsh/extra.yml"], "limit": "erp-1:erp-2",
            "vault_ids": ["default@/etc/tsh/vault pass", "prod@/etc/tsh/prod-pass"], "extra_args": ""}
JOB = {"playbook": "playbooks/heal.yml", "lock": "/run/lock/tsh-zoho-sync-heal.lock", "log": "/var/log/tsh/heal.log",
       "args": "-e zoho_heal_invoked_by=cron -e zoho_heal_confirm=true"}


def test_the_line_runs_what_the_settings_say():
    line = zoho_schedule_command(JOB, SETTINGS)
    words = shlex.split(line)
    assert words[:3] == ["cd", "/opt/tsh zoho", "&&"]
    assert words[3:6] == ["/usr/bin/flock", "-n", "/run/lock/tsh-zoho-sync-heal.lock"]
    assert words[6:10] == ["env", "PATH=/opt/tsh zoho/.venv/bin:/usr/bin:/bin", "ANSIBLE_CONFIG=/opt/tsh zoho/ansible.cfg",
                           "ANSIBLE_NOCOLOR=1"]
    assert words[10] == "/opt/tsh zoho/.venv/bin/ansible-playbook"
    assert words[11:15] == ["-i", "/etc/tsh/inv", "-i", "/etc/tsh/extra.yml"]
    assert words[15:17] == ["-l", "erp-1:erp-2"]
    assert words[17:21] == ["--vault-password-file", "/etc/tsh/vault pass", "--vault-id", "prod@/etc/tsh/prod-pass"]
    assert words[21:26] == ["playbooks/heal.yml", "-e", "zoho_heal_invoked_by=cron", "-e", "zoho_heal_confirm=true"]
    assert words[26:] == [">>", "/var/log/tsh/heal.log", "2>&1"]


def test_percent_is_escaped_for_cron():
    line = zoho_schedule_command(dict(JOB, log="/var/log/tsh/%Y.log"), dict(SETTINGS, limit="", vault_ids=[]))
    assert "\\%Y.log" in line and " -l " not in line and "--vault" not in line


def test_missing_settings():
    with pytest.raises(AnsibleFilterError, match="missing ansible_playbook"):
        zoho_schedule_command(JOB, dict(SETTINGS, ansible_playbook=""))
