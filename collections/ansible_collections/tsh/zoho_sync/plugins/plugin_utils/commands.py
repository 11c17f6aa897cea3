# -*- coding: utf-8 -*-
# Copyright: (c) 2026, TSH operations team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commands a report recommends, built to run as pasted from the repository root:

* playbooks named as they are in the repository (``heal.yml`` at the root,
  ``playbooks/dlq_review.yml``, ``playbooks/emergency.yml``, ...), with the inventory,
  the vault option and the extra variables of the run that produced the report, and
  ``-l <host>``;
* shell commands (journalctl, docker logs, psql, free, df) as they run on the host: on
  the control node directly, on another host through ``ansible <host> -m
  ansible.builtin.shell`` with the same inventory and vault option;
* ``None`` where no command fits (the words go in the remedy's steps).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex

PLAYBOOKS = {
    "health": "health.yml",
    "heal": "heal.yml",
    "dlq_review": "playbooks/dlq_review.yml",
    "emergency": "playbooks/emergency.yml",
    "rollback": "playbooks/rollback.yml",
    "schedule": "playbooks/schedule.yml",
}
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def _q(word):
    return shlex.quote(str(word))


class Commands(object):
    """Command builder for one host of one run. ``options``: the report options
    (``host``, ``run``: the zoho_run_context result, ``inventory`` when there is none,
    ``database``, ``service_become``)."""

    def __init__(self, options, service):
        self.options = options or {}
        self.host = self.options.get("host") or "localhost"
        self.service = service or {}
        run = self.options.get("run") or {}
        self.run = run
        inventory = list(run.get("inventory") or [])
        if not inventory and self.options.get("inventory"):
            inv = self.options["inventory"]
            if os.path.isabs(inv):
                rel = os.path.relpath(inv)
                inv = rel if not rel.startswith("..") else inv
            inventory = [inv]
        self.inventory = inventory
        self.vault = list(run.get("vault") or [])
        self.extra_vars = list(run.get("extra_vars") or [])
        self.omitted = list(run.get("omitted_extra_vars") or [])
        connection = run.get("connection") or self.options.get("connection")
        self.local = connection == "local" or (connection is None and self.host in LOCAL_NAMES)

    # -- the words every command of this run repeats -----------------------------------
    def _target(self):
        words = []
        for source in self.inventory:
            words += ["-i", _q(source)]
        return words

    def _secrets(self):
        """The vault option of the run, as given (a password file as an absolute path)."""
        return [w if w.startswith("--") else _q(w) for w in self.vault]

    def play(self, name, check=True, extra=()):
        """ansible-playbook <path> -i <inventory> -l <host> [vault] [-e ...] [--check --diff]."""
        words = ["ansible-playbook", PLAYBOOKS.get(name, name)] + self._target() + ["-l", _q(self.host)]
        words += self._secrets()
        for value in self.extra_vars:
            words += ["-e", _q(value)]
        for value in extra:
            words += ["-e", _q(value)]
        if check:
            words += ["--check", "--diff"]
        return " ".join(words)

    @property
    def omitted_note(self):
        """A step to add when the run's command line held secrets the report leaves out."""
        if not self.omitted:
            return None
        return "the run that wrote this report also set %s on its command line (left out here): add them " \
               "with -e as you did then" % ", ".join(sorted(set(self.omitted)))

    def on_host(self, command, become=False):
        """A shell command as it runs on the report's host: as it is on the control node,
        through an ad-hoc ansible command elsewhere."""
        if command is None:
            return None
        if self.local:
            return ("sudo " + command) if become and not command.startswith("sudo ") else command
        words = ["ansible", _q(self.host)] + self._target() + self._secrets()
        words += ["-m", "ansible.builtin.shell", "-a", _q(command)]
        if become:
            words.append("--become")
        return " ".join(words)

    # -- the service ---------------------------------------------------------------------
    @property
    def manager(self):
        return self.service.get("manager") if self.service.get("managed") else None

    def _names(self):
        return self.service.get("active") or self.service.get("names") or []

    def logs(self, minutes=30, grep=None, lines=50):
        """The worker's log lines of the last ``minutes`` (optionally those holding
        ``grep``), the last ``lines`` of them; None without a service manager."""
        names = self.service.get("names") or []
        become = bool(self.options.get("service_become"))
        if self.manager == "systemd" and names:
            command = "journalctl %s --since -%dmin --no-pager" % (" ".join("-u %s" % _q(n) for n in names), minutes)
        elif self.manager == "docker" and names:
            command = "docker logs --since %dm %s 2>&1" % (minutes, _q(self._names()[0]))
        else:
            return None
        if grep:
            command += " | grep -F -e %s" % _q(grep)
        command += " | tail -n %d" % lines
        return self.on_host(command, become and self.manager == "systemd")

    def log_step(self, grep):
        """Words for reading the log where no command can (zoho_service_manager none)."""
        return ("read the ERP application's log on %s for the lines holding '%s' (zoho_service_manager is none, "
                "so the collection does not know where the log is)" % (self.host, grep))

    def restart_words(self):
        names = self._names()
        if self.manager == "systemd" and names:
            return "sudo systemctl restart %s" % " ".join(_q(n) for n in names[:1])
        if self.manager == "docker" and names:
            return "docker restart %s" % _q(names[0])
        return None

    # -- the database --------------------------------------------------------------------
    def psql(self, sql):
        """psql with the connection of the run (the password from PGPASSWORD or ~/.pgpass)."""
        db = self.options.get("database") or {}
        conninfo = "host=%s port=%s dbname=%s user=%s" % (
            db.get("host") or "127.0.0.1", db.get("port") or 5432, db.get("name") or "tsh_erp",
            db.get("user") or "postgres")
        return self.on_host("psql %s -X -c %s" % (_q(conninfo), _q(sql)))
