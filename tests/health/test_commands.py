"""Every command a report recommends runs as pasted from the repository root (issue 11):
the reports of several real health runs (the demo inventory, an inventory outside the
repository with a vaulted password read through a vault password file, one through
--vault-id, one through --ask-vault-pass, a database that is down) are read, each command
of their recommendations and diagnoses is pasted into a shell (with --check added for
playbooks) and must run: no "could not be found", no "no vault secrets", no syntax
error, and the exit code of a run that worked (a playbook's own documented non-zero for a
critical health only)."""

import json
import os
import shlex
import socket
import subprocess
import textwrap

import pytest

from health.conftest import ARTIFACTS, HOST_THRESHOLDS, write_fakes
from health.test_playbook import fill_troubled
from helpers.playbook import ANSIBLE_CFG, ROOT, ansible_bin

VAULT_PASSWORD = "vault-Pa55-for-the-test"
DB_PASSWORD = "Db-Pa55word-never-written"
BROKEN = ("could not be found", "no vault secrets", "Syntax Error", "syntax error", "command not found",
          "No such file or directory", "Unable to parse", "Could not match supplied host pattern",
          "unrecognized arguments", "invalid option", "Traceback", "ERROR! ", "[ERROR]", "CONFIG ERROR",
          "UNREACHABLE", "FAILED ")


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({"ANSIBLE_CONFIG": ANSIBLE_CFG, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "PATH": os.path.dirname(ansible_bin()) + os.pathsep + env.get("PATH", "")})
    env.pop("PGPASSWORD", None)
    env.update(extra or {})
    return env


def outside_inventory(base, db, report_dir, host="erp-outside"):
    """An operator's own inventory outside the repository, its password in Ansible Vault."""
    inv = base / "inventory"
    (inv / "group_vars" / "zoho_sync").mkdir(parents=True)
    (inv / "hosts.yml").write_text(textwrap.dedent("""\
        all:
          children:
            zoho_sync:
              hosts:
                %s:
                  ansible_connection: local
                  ansible_python_interpreter: "{{ ansible_playbook_python }}"
        """ % host))
    p = db.server.params
    (inv / "group_vars" / "zoho_sync" / "main.yml").write_text(textwrap.dedent("""\
        zoho_db_host: %s
        zoho_db_port: %s
        zoho_db_name: %s
        zoho_db_user: %s
        zoho_db_password: "{{ vault_zoho_db_password }}"
        zoho_service_manager: docker
        zoho_service_name: [tsh_erp_app_blue, tsh_erp_app_green]
        zoho_report_dir: %s
        zoho_audit_log: %s/audit.jsonl
        zoho_backup_dir: %s/backups
        zoho_health_thresholds: {memory_used_pct: {warning: 100, critical: 100},
                                 disk_used_pct: {warning: 100, critical: 100}}
        """ % (p.get("host"), p.get("port"), db.name, p.get("user"), report_dir, report_dir, report_dir)))
    secret = base / "vault-pass"
    secret.write_text(VAULT_PASSWORD + "\n")
    plain = base / "vault-plain.yml"
    plain.write_text('vault_zoho_db_password: "%s"\n' % DB_PASSWORD)
    subprocess.run([ansible_bin("ansible-vault"), "encrypt", "--vault-password-file", str(secret),
                    "--output", str(inv / "group_vars" / "zoho_sync" / "vault.yml"), str(plain)],
                   check=True, capture_output=True, env=ansible_env())
    plain.unlink()
    return inv, secret


def health(args, env, report_dir, host, stdin=None):
    proc = subprocess.run([ansible_bin(), "health.yml"] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True, input=stdin, timeout=300)
    path = os.path.join(str(report_dir), host, "latest.json")
    assert os.path.exists(path), proc.stdout[-3000:] + proc.stderr[-2000:]
    with open(path) as fh:
        return proc, json.load(fh)


def commands_of(report):
    found = []
    for rec in report["recommendations"]:
        if rec["command"]:
            found.append(rec["command"])
    for d in report["diagnoses"]:
        if d["remedy"]["command"]:
            found.append(d["remedy"]["command"])
        assert all(isinstance(s, str) and s for s in d["remedy"]["steps"]), d
    return sorted(set(found))


def paste(command, env, stdin=None):
    """Run a pasted command from the repository root (playbooks in check mode)."""
    words = shlex.split(command)
    if words[0] == "ansible-playbook" and "--check" not in words:
        command += " --check"
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                          input=stdin, timeout=600)
    return proc, words[0]


def assert_runs(command, proc, program, allowed_rc=(0,)):
    output = proc.stdout + proc.stderr
    for broken in BROKEN:
        assert broken not in output, "%s\n-> %s\n%s" % (command, broken, output[-3000:])
    assert proc.returncode in allowed_rc, "%s\nrc=%s\n%s" % (command, proc.returncode, output[-3000:])
    if program == "ansible-playbook":
        # the play ran: the operator callback prints no recap, so ask for no problem line
        # (above) and some output of the run's own
        assert output.strip(), command


@pytest.fixture(scope="module")
def reports(module_db, tmp_path_factory, pg_server):
    """The runs: (label, report, environment to paste in, stdin for prompts)."""
    runs = []
    base = tmp_path_factory.mktemp("commands")
    p = pg_server.params
    # 1. the demo inventory, a troubled queue, systemd (fake systemctl/journalctl)
    troubled = module_db()
    fill_troubled(troubled)
    systemd = write_fakes(str(base / "systemd"), "systemd", "running")
    demo_dir = base / "demo-reports"
    env = ansible_env({"PATH": systemd + os.pathsep + ansible_env()["PATH"], "ZOHO_REPORT_DIR": str(demo_dir),
                       "PGHOST": p.get("host"), "PGPORT": p.get("port"), "PGUSER": p.get("user"),
                       "PGDATABASE": troubled.name})
    extra = json.dumps({"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_service_manager": "systemd",
                        "zoho_service_name": "tsh-erp"})
    proc, report = health(["-i", "inventory/demo", "-e", extra, "-e", "zoho_health_color=never"], env, demo_dir,
                          "localhost")
    runs.append(("demo inventory, systemd", report, env, None))

    # 2. an inventory outside the repository, vaulted password, --vault-password-file, docker
    outside_db = module_db()
    fill_troubled(outside_db)
    out_dir = base / "outside-reports"
    inv, secret = outside_inventory(base / "op", outside_db, out_dir)
    docker = write_fakes(str(base / "docker"), "docker", "running")
    env2 = ansible_env({"PATH": docker + os.pathsep + ansible_env()["PATH"]})
    proc, report = health(["-i", str(inv), "--vault-password-file", str(secret), "-e", "zoho_health_color=never"],
                          env2, out_dir, "erp-outside")
    assert "--vault-password-file %s" % secret in json.dumps(report["recommendations"]), proc.stdout[-2000:]
    runs.append(("outside inventory, --vault-password-file", report, env2, None))

    # 3. the same inventory through --vault-id label@file
    vid_dir = base / "vault-id-reports"
    inv3, secret3 = outside_inventory(base / "op3", outside_db, vid_dir, host="erp-vault-id")
    proc, report = health(["-i", str(inv3), "--vault-id", "prod@%s" % secret3], env2, vid_dir, "erp-vault-id")
    runs.append(("outside inventory, --vault-id", report, env2, None))

    # 4. --ask-vault-pass: the password typed at the prompt (here on stdin)
    ask_dir = base / "ask-reports"
    inv4, _secret4 = outside_inventory(base / "op4", outside_db, ask_dir, host="erp-ask")
    proc, report = health(["-i", str(inv4), "--ask-vault-pass"], env2, ask_dir, "erp-ask",
                          stdin=VAULT_PASSWORD + "\n")
    runs.append(("outside inventory, --ask-vault-pass", report, env2, VAULT_PASSWORD + "\n"))

    # 5. the service is stopped (the emergency playbook), a run with -l and a JSON extra-vars file
    stopped = write_fakes(str(base / "stopped"), "systemd", "stopped")
    stop_dir = base / "stopped-reports"
    vars_file = base / "vars.json"
    vars_file.write_text(json.dumps({"zoho_service_manager": "systemd", "zoho_service_name": ["tsh_erp-blue"]}))
    env6 = dict(env, PATH=stopped + os.pathsep + ansible_env()["PATH"], ZOHO_REPORT_DIR=str(stop_dir))
    proc, report = health(["-i", "inventory/demo", "-l", "localhost", "-e", "@%s" % vars_file, "-e", extra.replace(
        '"tsh-erp"', '["tsh_erp-blue"]')], env6, stop_dir, "localhost")
    assert report["diagnoses"][0]["id"] == "service_down", report["diagnoses"]
    runs.append(("service stopped", report, env6, None))

    # 6. the database is down
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    down_dir = base / "down-reports"
    env5 = ansible_env({"ZOHO_REPORT_DIR": str(down_dir), "PGHOST": "127.0.0.1", "PGPORT": str(closed),
                        "PGUSER": p.get("user"), "PGDATABASE": "tsh_erp"})
    proc, report = health(["-i", "inventory/demo"], env5, down_dir, "localhost")
    runs.append(("database down", report, env5, None))
    return runs


def test_every_recommended_command_runs_as_pasted(reports):
    pasted = 0
    record = []
    for label, report, env, stdin in reports:
        commands = commands_of(report)
        assert commands, (label, report["diagnoses"])
        for command in commands:
            assert "\n" not in command
            proc, program = paste(command, env, stdin)
            if program == "psql" and report["facts"]["zoho_queue"] is None:
                # the database is down: psql says so, as the diagnosis does
                assert_runs(command, proc, program, allowed_rc=(2,))
                assert "Connection refused" in proc.stderr or "could not connect" in proc.stderr
            elif program == "ansible-playbook" and shlex.split(command)[1] == "health.yml":
                assert_runs(command, proc, program, allowed_rc=(0, 2))
            else:
                assert_runs(command, proc, program)
            pasted += 1
            record.append({"run": label, "command": command, "rc": proc.returncode})
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, "pasted-commands.json"), "w") as fh:
        json.dump(record, fh, indent=2)
    assert pasted >= 12


def test_commands_repeat_the_run_and_never_hold_a_secret(reports):
    by_label = dict((label, report) for label, report, _env, _stdin in reports)
    demo = json.dumps(by_label["demo inventory, systemd"]["recommendations"])
    assert "ansible-playbook heal.yml -i inventory/demo -l localhost" in demo
    assert "journalctl -u tsh-erp" in demo or "journalctl" in json.dumps(by_label["demo inventory, systemd"])
    outside = by_label["outside inventory, --vault-password-file"]
    for command in commands_of(outside):
        if command.startswith("ansible"):
            assert " -i /" in command and "--vault-password-file /" in command and "-l erp-outside" in command
    vault_id = commands_of(by_label["outside inventory, --vault-id"])
    assert any("--vault-id prod@/" in c for c in vault_id), vault_id
    ask = commands_of(by_label["outside inventory, --ask-vault-pass"])
    assert any("--ask-vault-pass" in c for c in ask), ask
    stopped = commands_of(by_label["service stopped"])
    assert any(c.startswith("ansible-playbook playbooks/emergency.yml -i inventory/demo -l localhost -e @/")
               for c in stopped), stopped
    down = by_label["database down"]
    assert down["diagnoses"][0]["id"] == "database_unreachable"
    for _label, report, _env, _stdin in reports:
        text = json.dumps(report)
        assert DB_PASSWORD not in text and VAULT_PASSWORD not in text
        for d in report["diagnoses"]:
            command = d["remedy"]["command"]
            assert command is None or not command.startswith(("check ", "read ", "look ")), command


def test_shell_commands_for_another_host_go_through_ansible():
    """A host that is not the control node: the log command runs there through an ad-hoc
    ansible command with the run's inventory (pasted against the demo inventory's localhost)."""
    from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.commands import Commands
    service = {"managed": True, "manager": "systemd", "names": ["tsh-erp"]}
    cmd = Commands({"host": "localhost", "run": {"inventory": ["inventory/demo"], "connection": "ssh"}}, service)
    command = cmd.logs(30, "Event processing failed")
    assert command.startswith("ansible localhost -i inventory/demo -m ansible.builtin.shell -a ")
    fakes = write_fakes(os.path.join(ARTIFACTS, "fakes-adhoc"), "systemd", "running")
    env = ansible_env({"PATH": fakes + os.pathsep + ansible_env()["PATH"]})
    proc, program = paste(command, env)
    assert_runs(command, proc, program)
    assert "CHANGED" in proc.stdout or "SUCCESS" in proc.stdout, proc.stdout
