# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line of a run (from ansible's parsed CLI arguments and the play's magic
variables), made into the pieces a paste-ready command repeats: the inventory sources,
the vault options and the extra variables, with paths made valid from the repository
root and secrets left out."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

# Names of extra variables that must never be copied into a report.
SECRET_NAME = re.compile(r"pass(word|wd)?|secret|token|webhook|api_?key|private|credential", re.IGNORECASE)
# The playbooks that mark the repository root.
ROOT_MARKERS = ("health.yml", "heal.yml", os.path.join("playbooks", "heal.yml"))


def repository_root(playbook_dir, cwd):
    """The nearest directory (from the playbook's up) holding health.yml, heal.yml and
    playbooks/heal.yml; else the working directory."""
    for start in (playbook_dir, cwd):
        probe = os.path.abspath(start or cwd)
        while True:
            if all(os.path.exists(os.path.join(probe, m)) for m in ROOT_MARKERS):
                return probe
            parent = os.path.dirname(probe)
            if parent == probe:
                break
            probe = parent
    return os.path.abspath(cwd)


def path_for(path, cwd, root):
    """A path as a command run from ``root`` must name it: relative to the root when it
    is inside it, absolute otherwise."""
    full = os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))
    rel = os.path.relpath(full, root)
    return rel if not rel.startswith("..") and not os.path.isabs(rel) else full


def _inventory(cli, task_vars, cwd, root):
    sources = list(task_vars.get("ansible_inventory_sources") or cli.get("inventory") or [])
    out = []
    for source in sources:
        source = str(source)
        if "," in source and not os.path.exists(os.path.join(cwd, source)):
            out.append(source)  # a host list ("erp1,erp2,"), not a path
        else:
            out.append(path_for(source, cwd, root))
    return out


def _vault(cli, cwd, root):
    words = []
    for vault_id in cli.get("vault_ids") or ():
        label, sep, source = str(vault_id).partition("@")
        if not sep:
            label, source = None, label
        if source != "prompt" and source:
            source = os.path.abspath(os.path.join(cwd, os.path.expanduser(source)))
        words += ["--vault-id", "%s@%s" % (label, source) if label else source]
    for path in cli.get("vault_password_files") or ():
        words += ["--vault-password-file", os.path.abspath(os.path.join(cwd, os.path.expanduser(str(path))))]
    if cli.get("ask_vault_pass"):
        words.append("--ask-vault-pass")
    return words


def _parse_extra(text):
    """A -e value as a dict, or None when it is not one we can read."""
    from ansible.parsing.splitter import parse_kv
    text = text.strip()
    if text.startswith("{") or text.startswith("["):
        try:
            import yaml
            value = yaml.safe_load(text)
        except Exception:  # an unparsable value: passed on as it is
            return None
        return value if isinstance(value, dict) else None
    try:
        return parse_kv(text)
    except Exception:
        return None


def _extra_vars(cli, cwd):
    kept, omitted = [], []
    for raw in cli.get("extra_vars") or ():
        raw = str(raw)
        if raw.startswith("@"):
            kept.append("@" + os.path.abspath(os.path.join(cwd, os.path.expanduser(raw[1:]))))
            continue
        value = _parse_extra(raw)
        if value is None:
            kept.append(raw)
            continue
        secret = sorted(k for k in value if SECRET_NAME.search(str(k)))
        if not secret:
            kept.append(raw)
            continue
        omitted.extend(secret)
        rest = dict((k, v) for k, v in value.items() if k not in secret)
        if rest:
            kept.append(json.dumps(rest, sort_keys=True, separators=(",", ":")))
    return kept, omitted


def run_context(cli, task_vars, cwd):
    """The pieces of the run's command line a recommended command repeats."""
    playbook_dir = task_vars.get("playbook_dir") or cwd
    root = repository_root(playbook_dir, cwd)
    extra, omitted = _extra_vars(cli, cwd)
    return {
        "root": root,
        "cwd": cwd,
        "playbook_dir": playbook_dir,
        "inventory": _inventory(cli, task_vars, cwd, root),
        "vault": _vault(cli, cwd, root),
        "extra_vars": extra,
        "omitted_extra_vars": omitted,
        "connection": task_vars.get("ansible_connection"),
    }
