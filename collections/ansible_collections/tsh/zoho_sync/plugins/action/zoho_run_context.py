# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How this ansible-playbook run was started, read on the controller: its executable,
inventory, limit, vault secrets and configuration file, and the control node's crontab and
flock, so that the zoho_schedule role installs cron entries that run the same way under
cron; and (``context``) the pieces of its command line that the commands a report
recommends repeat, so that they run as pasted from the repository root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import sys

from ansible import constants as C
from ansible import context
from ansible.plugins.action import ActionBase
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.run_context import run_context

# cron's own PATH (Debian's cron runs jobs with PATH=/usr/bin:/bin)
CRON_PATH = "/usr/local/bin:/usr/bin:/bin"


def _absolute(path):
    path = os.path.expanduser(str(path))
    return path if os.path.isabs(path) else os.path.abspath(path)


def vault_arguments(cli_ids, cli_files, default_ids, default_file):
    """(vault ids as label@source with absolute file sources, the ids that prompt) of the run:
    its --vault-id and --vault-password-file options, then the configured defaults."""
    ids, prompts = [], []
    for slug in list(default_ids or []) + list(cli_ids or []):
        label, sep, source = str(slug).rpartition("@")
        if not sep:
            label, source = C.DEFAULT_VAULT_IDENTITY, slug
        if source in ("prompt", "prompt_ask_vault_pass"):
            prompts.append(slug)
            continue
        ids.append("%s@%s" % (label, _absolute(source)))
    for path in list(cli_files or []) + ([default_file] if default_file else []):
        slug = "%s@%s" % (C.DEFAULT_VAULT_IDENTITY, _absolute(path))
        if slug not in ids:
            ids.append(slug)
    return ids, prompts


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset()
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = context.CLIARGS
        ids, prompts = vault_arguments(args.get("vault_ids"), args.get("vault_password_files"),
                                       C.DEFAULT_VAULT_IDENTITY_LIST, C.DEFAULT_VAULT_PASSWORD_FILE)
        if args.get("ask_vault_pass"):
            prompts.append("--ask-vault-pass")
        playbook_bin = _absolute(sys.argv[0]) if os.path.basename(sys.argv[0]) == "ansible-playbook" else \
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        sources = [_absolute(s) for s in task_vars.get("ansible_inventory_sources") or args.get("inventory") or []]
        result.update(
            changed=False,
            ansible_playbook=playbook_bin,
            inventory=sources,
            limit=args.get("subset") or "",
            vault_ids=ids,
            vault_prompts=prompts,
            config_file=C.CONFIG_FILE or "",
            crontab=shutil.which("crontab") or "",
            flock=shutil.which("flock", path=os.environ.get("PATH", "") + ":" + CRON_PATH) or "",
            path="%s:%s" % (os.path.dirname(playbook_bin), CRON_PATH),
            context=run_context(dict(args or {}), task_vars, os.getcwd()),
        )
        return result
