# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Paste-ready commands: the run's inventory, limit, vault option and extra variables,
paths valid from the repository root, secrets left out, shell commands for the host."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.commands import Commands
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.run_context import path_for, run_context


def test_run_context_from_the_command_line(tmp_path):
    root = tmp_path / "repo"
    (root / "playbooks").mkdir(parents=True)
    for name in ("health.yml", "heal.yml", "playbooks/heal.yml"):
        (root / name).write_text("---\n")
    cli = {"vault_password_files": ("secrets/pass",), "vault_ids": ("prod@/etc/vault", "dev@prompt"),
           "ask_vault_pass": False,
           "extra_vars": ('{"zoho_health_color": "never", "zoho_db_password": "s3cret"}', "@vars.yml",
                          "zoho_alert_webhook_url=https://x", "zoho_hosts=erp1")}
    sources = [str(root / "inventory/prod"), "/srv/ops/inventory"]
    vars_ = {"playbook_dir": str(root / "playbooks"), "ansible_inventory_sources": sources,
             "ansible_connection": "ssh"}
    ctx = run_context(cli, vars_, str(root))
    assert ctx["root"] == str(root)
    assert ctx["inventory"] == ["inventory/prod", "/srv/ops/inventory"]
    assert ctx["vault"] == ["--vault-id", "prod@/etc/vault", "--vault-id", "dev@prompt",
                            "--vault-password-file", str(root / "secrets/pass")]
    assert ctx["extra_vars"] == ['{"zoho_health_color":"never"}', "@" + str(root / "vars.yml"), "zoho_hosts=erp1"]
    assert sorted(ctx["omitted_extra_vars"]) == ["zoho_alert_webhook_url", "zoho_db_password"]
    assert "s3cret" not in repr(ctx)
    assert path_for("../elsewhere", str(root), str(root)) == os.path.normpath(str(tmp_path / "elsewhere"))


def test_playbook_and_shell_commands():
    run = {"inventory": ["/srv/ops/inventory"], "vault": ["--vault-password-file", "/srv/ops/pass file"],
           "extra_vars": ['{"a": 1}'], "omitted_extra_vars": ["zoho_db_password"], "connection": "ssh"}
    svc = {"managed": True, "manager": "docker", "names": ["blue", "green"], "active": ["green"]}
    cmd = Commands({"host": "erp-1", "run": run, "database": {"host": "db", "port": 5432, "name": "tsh_erp",
                                                              "user": "ops"}}, svc)
    assert cmd.play("heal") == ("ansible-playbook heal.yml -i /srv/ops/inventory -l erp-1 --vault-password-file "
                                "'/srv/ops/pass file' -e '{\"a\": 1}' --check --diff")
    assert cmd.play("emergency", check=False, extra=["zoho_heal_confirm=true"]).startswith(
        "ansible-playbook playbooks/emergency.yml -i /srv/ops/inventory -l erp-1 ")
    logs = cmd.logs(30, "Event processing failed")
    assert logs == ("ansible erp-1 -i /srv/ops/inventory --vault-password-file '/srv/ops/pass file' -m "
                    "ansible.builtin.shell -a 'docker logs --since 30m green 2>&1 | grep -F -e '\"'\"'Event "
                    "processing failed'\"'\"' | tail -n 50'")
    assert cmd.psql("SELECT 1").endswith("-a 'psql '\"'\"'host=db port=5432 dbname=tsh_erp user=ops'\"'\"' -X -c "
                                         "'\"'\"'SELECT 1'\"'\"''")
    assert "zoho_db_password" in cmd.omitted_note
    local = Commands({"host": "localhost", "run": {"inventory": ["inventory/demo"], "connection": "local"}},
                     {"managed": True, "manager": "systemd", "names": ["tsh-erp"]})
    assert local.logs(15) == "journalctl -u tsh-erp --since -15min --no-pager | tail -n 50"
    assert local.restart_words() == "sudo systemctl restart tsh-erp"
    none = Commands({"host": "db-only"}, {"managed": False, "manager": "none"})
    assert none.logs(30) is None and "zoho_service_manager is none" in none.log_step("x")
    assert none.play("health", check=False) == "ansible-playbook health.yml -l db-only"
