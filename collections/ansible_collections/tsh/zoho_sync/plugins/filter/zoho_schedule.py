# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command of one cron entry of the zoho_schedule role: a line that runs under cron's
minimal environment (no PATH beyond /usr/bin:/bin, no ANSIBLE_CONFIG, the user's home as the
working directory) exactly as the run that installed it did."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible.errors import AnsibleFilterError

DEFAULT_VAULT_ID = "default"
REQUIRED = ("project_dir", "flock", "lock", "path", "ansible_config", "ansible_playbook", "playbook", "log")


def _words(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    return [str(v) for v in value if str(v).strip()]


def zoho_schedule_command(job, settings):
    """``cd <project> && flock -n <lock> env PATH=... ANSIBLE_CONFIG=... <ansible-playbook>
    -i <inventory>... [-l <limit>] [--vault-password-file <file> | --vault-id <id>]... <playbook> <args> >> <log> 2>&1``,
    every word shell-quoted and every ``%`` escaped (cron turns a bare one into a newline)."""
    if not isinstance(job, dict) or not isinstance(settings, dict):
        raise AnsibleFilterError("zoho_schedule_command expects the job and the settings as mappings")
    merged = dict(settings, **job)
    missing = [key for key in REQUIRED if not str(merged.get(key) or "").strip()]
    if missing:
        raise AnsibleFilterError("zoho_schedule_command: missing %s" % ", ".join(missing))
    q = shlex.quote
    words = ["cd", q(merged["project_dir"]), "&&", q(merged["flock"]), "-n", q(merged["lock"]),
             "env", q("PATH=" + merged["path"]), q("ANSIBLE_CONFIG=" + merged["ansible_config"]), "ANSIBLE_NOCOLOR=1",
             q(merged["ansible_playbook"])]
    for source in _words(merged.get("inventory")):
        words += ["-i", q(source)]
    if str(merged.get("limit") or "").strip():
        words += ["-l", q(str(merged["limit"]))]
    for vault_id in _words(merged.get("vault_ids")):
        # the default identity is what --vault-password-file gives; a labelled one needs --vault-id
        if vault_id.startswith(DEFAULT_VAULT_ID + "@"):
            words += ["--vault-password-file", q(vault_id[len(DEFAULT_VAULT_ID) + 1:])]
        else:
            words += ["--vault-id", q(vault_id)]
    words.append(q(merged["playbook"]))
    # the job's own arguments and the operator's extra arguments are shell text already
    words += _words(merged.get("args")) + _words(merged.get("extra_args"))
    words += [">>", q(merged["log"]), "2>&1"]
    return " ".join(words).replace("%", "\\%")


class FilterModule(object):
    """The cron entries of the zoho_schedule role."""

    def filters(self):
        return {"zoho_schedule_command": zoho_schedule_command}
