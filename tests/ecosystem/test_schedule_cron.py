"""playbooks/schedule.yml as an operator uses it: installed from an inventory outside the
repository, whose database password is in Ansible Vault, with a vault password file and a
--limit; then every installed cron line is run the way cron runs it (env -i, PATH=/usr/bin:/bin,
HOME, LOGNAME, SHELL=/bin/sh) against a real PostgreSQL role that needs that password. The
README's cron example is the same lines, with the README's paths."""

import json
import os
import pwd
import re
import shutil
import subprocess
import uuid

import pytest

from helpers.db import drop_database, new_database
from helpers.playbook import ROOT, ansible_bin, run_playbook

CRON_LINE = re.compile(r"^(\S+ \S+ \S+ \S+ \S+) (\S+) (.*)$")
README_PATHS = {"project": "/opt/tsh-zoho-sync", "inventory": "/etc/tsh-zoho-sync/inventory",
                "vault": "/etc/tsh-zoho-sync/vault-pass", "log": "/var/log/tsh-zoho-sync",
                "lock": "/run/lock", "host": "erp-prod-1"}


def cron_entries(path):
    """{entry name: (schedule, user, command)} of a cron file written by ansible.builtin.cron."""
    entries, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith("#Ansible: "):
            name = line[len("#Ansible: "):]
        elif name and CRON_LINE.match(line):
            entries[name] = CRON_LINE.match(line).groups()
            name = None
    return entries


def run_as_cron(command, home):
    """The command as cron runs it: /bin/sh -c, nothing in the environment but what cron sets."""
    user = pwd.getpwuid(os.getuid()).pw_name
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LOGNAME": user, "SHELL": "/bin/sh"}
    return subprocess.run(["env", "-i"] + ["%s=%s" % kv for kv in env.items()] + ["/bin/sh", "-c", command],
                          cwd=str(home), capture_output=True, text=True, timeout=900)


@pytest.fixture
def site(pg_server, tmp_path):
    """A site of its own: a database whose role needs a password, and an inventory outside the
    repository with that password vaulted (group_vars/zoho_sync/vault.yml, encrypted)."""
    db = new_database(pg_server, prefix="zs")
    role, password = "zoho_cron_%s" % uuid.uuid4().hex[:8], "pw-%s" % uuid.uuid4().hex
    db.execute("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'" % (role, password))
    base = tmp_path / "site"
    inventory = base / "inventory"
    (inventory / "group_vars" / "zoho_sync").mkdir(parents=True)
    reports = base / "reports"
    p = pg_server.params
    (inventory / "hosts.yml").write_text(
        "all:\n  children:\n    zoho_sync:\n      hosts:\n"
        "        %s:\n          ansible_connection: local\n"
        "          ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n"
        # outside the limit: a run that reached for it would fail (TEST-NET address)
        "        erp-elsewhere:\n          ansible_host: 192.0.2.10\n" % README_PATHS["host"].replace("prod", "test"))
    (inventory / "group_vars" / "zoho_sync" / "main.yml").write_text(json.dumps({
        "zoho_db_host": p.get("host", "127.0.0.1"), "zoho_db_port": int(p.get("port", 5432)), "zoho_db_name": db.name,
        "zoho_db_user": role, "zoho_db_password": "{{ vault_zoho_db_password }}", "zoho_db_ssl_mode": "disable",
        "zoho_service_manager": "none", "zoho_report_dir": str(reports),
        "zoho_audit_log": str(reports / "audit.jsonl"), "zoho_backup_dir": str(reports / "backups"),
        "zoho_heal_audit_syslog": False}, indent=1))
    vault_file = base / "vault-pass"
    vault_file.write_text("vault-%s\n" % uuid.uuid4().hex)
    vault_file.chmod(0o600)
    secret = inventory / "group_vars" / "zoho_sync" / "vault.yml"
    secret.write_text("vault_zoho_db_password: %s\n" % password)
    proc = subprocess.run([ansible_bin("ansible-vault"), "encrypt", "--vault-password-file", str(vault_file), str(secret)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert secret.read_text().startswith("$ANSIBLE_VAULT;") and password not in secret.read_text()
    yield {"db": db, "base": base, "inventory": inventory, "vault": vault_file, "reports": reports,
           "host": README_PATHS["host"].replace("prod", "test"), "role": role}
    drop_database(pg_server, db)
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS %s" % role)
    admin.close()


def install(site, *args, **extra):
    settings = {"zoho_schedule_cron_file": str(site["base"] / "cron.d" / "tsh-zoho-sync"),
                "zoho_schedule_log_dir": str(site["base"] / "log"), "zoho_schedule_lock_dir": str(site["base"] / "lock"),
                "zoho_schedule_user": pwd.getpwuid(os.getuid()).pw_name}
    settings.update(extra)
    (site["base"] / "cron.d").mkdir(exist_ok=True)
    (site["base"] / "lock").mkdir(exist_ok=True)
    # from a directory that is not the repository, with no PG* variables to lean on
    return run_playbook(os.path.join(ROOT, "playbooks", "schedule.yml"), "-l", site["host"],
                        "--vault-password-file", str(site["vault"]), "-e", json.dumps(settings),
                        *args, inventory=str(site["inventory"]),
                        env={"PGHOST": None, "PGPORT": None, "PGDATABASE": None, "PGUSER": None, "PGPASSWORD": None,
                             "ZOHO_REPORT_DIR": None})


def test_installed_lines_run_under_cron(site, tmp_path):
    db = site["db"]
    for _ in range(40):  # a healthy queue: health exits 0
        db.add(status="completed", entity="invoice", age="20 minutes", started="-19 minutes", completed="-18 minutes")
    failed = db.add(status="failed", entity="invoice", attempts=1, age="5 minutes", error="Zoho 500", code="ZOHO_500")

    result = install(site)
    assert result.rc == 0, result
    entries = cron_entries(site["base"] / "cron.d" / "tsh-zoho-sync")
    assert sorted(entries) == ["tsh.zoho_sync dlq review", "tsh.zoho_sync heal", "tsh.zoho_sync health"]
    for schedule, _user, command in entries.values():
        assert "-i %s " % site["inventory"] in command and "-l %s " % site["host"] in command
        assert "--vault-password-file %s " % site["vault"] in command
        lock_and_path = r"&& /\S*flock -n %s/tsh-zoho-sync-[a-z-]+\.lock env PATH=%s:/usr/local/bin:/usr/bin:/bin " % (
            re.escape(str(site["base"] / "lock")), re.escape(os.path.dirname(ansible_bin())))
        assert re.search(lock_and_path, command), command
        assert " %s " % ansible_bin() in command  # the virtualenv's ansible-playbook, absolute
    assert "-e zoho_heal_invoked_by=cron -e zoho_heal_confirm=true" in entries["tsh.zoho_sync heal"][2]
    assert entries["tsh.zoho_sync health"][0] == "*/15 * * * *"
    # the summary says what the pre-confirmed heal may do, and how to schedule it unconfirmed
    assert "pre-confirmed" in result.stdout and "zoho_schedule_heal_confirm=false" in result.stdout

    home = tmp_path / "home"
    home.mkdir()
    health = run_as_cron(entries["tsh.zoho_sync health"][2], home)
    log = (site["base"] / "log" / "health.log").read_text()
    assert health.returncode == 0, log[-4000:]
    report = json.loads((site["reports"] / site["host"] / "latest.json").read_text())
    assert report["overall"] != "unknown" and report["facts"]["zoho_queue"]["database"] == db.name
    assert not (site["reports"] / "erp-elsewhere").exists()  # the limit holds
    assert log.lstrip().startswith("TSH Zoho sync health - %s" % site["host"])  # the summary first, no task noise

    heal = run_as_cron(entries["tsh.zoho_sync heal"][2], home)
    heal_log = (site["base"] / "log" / "heal.log").read_text()
    assert heal.returncode == 0, heal_log[-4000:]
    assert db.status_of(failed) == "pending"
    records = [json.loads(line) for line in (site["reports"] / "audit.jsonl").read_text().splitlines() if line.strip()]
    assert records and {r["invoked_by"] for r in records} == {"cron"}

    review = run_as_cron(entries["tsh.zoho_sync dlq review"][2], home)
    assert review.returncode == 0, (site["base"] / "log" / "dlq_review.log").read_text()[-4000:]
    assert list((site["reports"] / site["host"]).glob("dlq-review-*.json"))

    # the lock: a second health run while one holds it exits at once and runs nothing
    lock = site["base"] / "lock" / "tsh-zoho-sync-health.lock"
    holder = subprocess.Popen(["flock", str(lock), "sleep", "30"])
    try:
        for _ in range(50):
            if subprocess.run(["flock", "-n", str(lock), "true"]).returncode != 0:
                break
        before = (site["base"] / "log" / "health.log").read_text()
        busy = run_as_cron(entries["tsh.zoho_sync health"][2], home)
        assert busy.returncode == 1
        assert (site["base"] / "log" / "health.log").read_text() == before
    finally:
        holder.kill()
        holder.wait()

    removed = install(site, zoho_schedule_state="absent")
    assert removed.rc == 0, removed
    cron_file = site["base"] / "cron.d" / "tsh-zoho-sync"
    assert not cron_file.exists() or "tsh.zoho_sync" not in cron_file.read_text()


def readme_cron_lines():
    """The entries of the README's cron example: {playbook: (schedule, user, command)}."""
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    block = re.search(r"## Scheduling.*?```cron\n(.*?)```", text, re.S)
    assert block, "README.md has no cron example under ## Scheduling"
    lines = {}
    for line in block.group(1).splitlines():
        match = CRON_LINE.match(line.strip())
        if match and not line.startswith("#"):
            lines[re.search(r"playbooks/(\w+)\.yml", line).group(1)] = match.groups()
    return lines


def test_readme_cron_example_is_what_schedule_installs_and_runs_under_cron(site, tmp_path):
    site["db"].add(status="completed", entity="bill", age="9 minutes", started="-8 minutes", completed="-7 minutes")
    result = install(site)
    assert result.rc == 0, result
    installed = cron_entries(site["base"] / "cron.d" / "tsh-zoho-sync")
    to_readme = [(os.path.dirname(ansible_bin()), README_PATHS["project"] + "/.venv/bin"), (ROOT, README_PATHS["project"]),
                 (str(site["inventory"]), README_PATHS["inventory"]), (str(site["vault"]), README_PATHS["vault"]),
                 (str(site["base"] / "log"), README_PATHS["log"]), (str(site["base"] / "lock"), README_PATHS["lock"]),
                 (shutil.which("flock") or "/usr/bin/flock", "/usr/bin/flock"), (site["host"], README_PATHS["host"])]
    readme = readme_cron_lines()
    assert sorted(readme) == ["dlq_review", "heal", "health"]
    for name, playbook in (("tsh.zoho_sync health", "health"), ("tsh.zoho_sync heal", "heal"),
                           ("tsh.zoho_sync dlq review", "dlq_review")):
        schedule, _user, command = installed[name]
        for ours, theirs in to_readme:
            command = command.replace(ours, theirs)
        assert (schedule, command) == (readme[playbook][0], readme[playbook][2]), "README.md's %s line differs" % playbook

    # and the README's health line, with this machine's paths put back, runs under cron
    command = readme["health"][2]
    for ours, theirs in reversed(to_readme):
        command = command.replace(theirs, ours)
    home = tmp_path / "home"
    home.mkdir()
    ran = run_as_cron(command, home)
    assert ran.returncode == 0, (site["base"] / "log" / "health.log").read_text()[-4000:]


def test_without_crontab_one_clear_message_and_nothing_changed(site, tmp_path):
    bindir = tmp_path / "bin"  # a PATH with flock and the venv, but no crontab
    bindir.mkdir()
    os.symlink(shutil.which("flock"), str(bindir / "flock"))
    path = "%s:%s" % (os.path.dirname(ansible_bin()), bindir)
    settings = {"zoho_schedule_cron_file": str(site["base"] / "cron.d" / "tsh-zoho-sync"),
                "zoho_schedule_log_dir": str(site["base"] / "log")}
    result = run_playbook(os.path.join(ROOT, "playbooks", "schedule.yml"), "-l", site["host"],
                          "--vault-password-file", str(site["vault"]), "-e", json.dumps(settings),
                          inventory=str(site["inventory"]), env={"PATH": path})
    assert result.rc == 2, result
    problems = [line for line in result.output.splitlines() if line.strip()]
    assert len(problems) == 1, result.output
    assert problems[0].startswith("CONFIG ERROR %s: there is no crontab program on the control node" % site["host"])
    assert "apt-get install cron" in problems[0]
    assert not (site["base"] / "cron.d").exists() and not (site["base"] / "log").exists()


def test_a_prompted_vault_password_is_refused(site):
    """--ask-vault-pass: cron cannot answer the prompt, so nothing is installed."""
    settings = {"zoho_schedule_cron_file": str(site["base"] / "cron.d" / "tsh-zoho-sync"),
                "zoho_schedule_log_dir": str(site["base"] / "log")}
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    secret = site["vault"].read_text()
    proc = subprocess.run([ansible_bin(), "-i", str(site["inventory"]), os.path.join(ROOT, "playbooks", "schedule.yml"),
                           "-l", site["host"], "--ask-vault-pass", "-e", json.dumps(settings)],
                          input=secret, capture_output=True, text=True, env=run_env, cwd=ROOT, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = [x for x in (proc.stdout + proc.stderr).splitlines() if x.startswith("CONFIG ERROR")]
    assert len(line) == 1 and "cron cannot answer" in line[0] and "--vault-password-file" in line[0], proc.stdout
    assert not (site["base"] / "cron.d").exists()


def docs_wrapper():
    text = open(os.path.join(ROOT, "docs", "cron.md"), encoding="utf-8").read()
    block = re.search(r"```bash\n(#!/bin/sh\n# health-then-page.*?)```", text, re.S)
    assert block, "docs/cron.md has no wrapper example"
    return block.group(1)


def test_the_documented_wrapper_tells_the_outcomes_apart(site, tmp_path):
    """docs/cron.md's wrapper, with this site's paths, under cron's environment: 0 for a healthy
    queue, 2 for a critical one, 3 when it could not look, 78 for a configuration mistake."""
    script = docs_wrapper()
    for theirs, ours in ((README_PATHS["project"], ROOT), (README_PATHS["inventory"], str(site["inventory"])),
                         (README_PATHS["vault"], str(site["vault"])), (README_PATHS["host"], site["host"]),
                         ("/var/lib/tsh-zoho-sync/reports", str(site["reports"]))):
        script = script.replace(theirs, ours)
    wrapper = tmp_path / "wrapper.sh"
    wrapper.write_text(script)
    wrapper.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    db = site["db"]
    for _ in range(40):
        db.add(status="completed", entity="invoice", age="20 minutes", started="-19 minutes", completed="-18 minutes")
    settings = site["inventory"] / "group_vars" / "zoho_sync" / "main.yml"
    good = settings.read_text()

    healthy = run_as_cron(str(wrapper), home)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr

    for _ in range(12):
        db.add(status="failed", entity="invoice", attempts=1, age="5 minutes", error="Zoho 500", code="ZOHO_500")
    critical = run_as_cron(str(wrapper), home)
    assert critical.returncode == 2 and critical.stdout.startswith("CRITICAL: ZOHO_SYNC CRITICAL - %s" % site["host"]), \
        critical.stdout + critical.stderr

    history = (site["reports"] / site["host"] / "history.jsonl").read_text()
    latest = (site["reports"] / site["host"] / "latest.json").read_text()
    settings.write_text(good.rstrip().rstrip("}") + ', "zoho_health_tresholds": {"pending": {"warning": 1, "critical": 2}}}')
    mistake = run_as_cron(str(wrapper), home)
    assert mistake.returncode == 78, mistake.stdout + mistake.stderr
    assert mistake.stdout.splitlines()[1].startswith(
        "CONFIG ERROR %s: unknown variable zoho_health_tresholds (did you mean zoho_health_thresholds?)" % site["host"])
    assert (site["reports"] / site["host"] / "history.jsonl").read_text() == history
    assert (site["reports"] / site["host"] / "latest.json").read_text() == latest

    settings.write_text(good.replace('"zoho_db_port": %d' % int(site["db"].server.params.get("port", 5432)),
                                     '"zoho_db_port": 1'))
    blind = run_as_cron(str(wrapper), home)
    assert blind.returncode == 3 and blind.stdout.startswith("could not look: ZOHO_SYNC UNKNOWN"), \
        blind.stdout + blind.stderr


def test_one_documented_lock_path():
    """README.md, docs/cron.md and docs/heal.md name the lock files the role uses, and no other."""
    with open(os.path.join(ROOT, "roles", "zoho_schedule", "defaults", "main.yml")) as fh:
        lock_dir = re.search(r"^zoho_schedule_lock_dir: (\S+)$", fh.read(), re.M).group(1)
    with open(os.path.join(ROOT, "roles", "zoho_schedule", "tasks", "main.yml")) as fh:
        names = set(re.findall(r"\{\{ zoho_schedule_lock_dir \}\}/(tsh-zoho-sync-[a-z-]+\.lock)", fh.read()))
    expected = set("%s/%s" % (lock_dir, name) for name in names)
    assert len(expected) == 3, expected
    for doc in ("README.md", os.path.join("docs", "cron.md"), os.path.join("docs", "heal.md")):
        with open(os.path.join(ROOT, doc), encoding="utf-8") as fh:
            found = set(re.findall(r"/[\w/.-]*\.lock\b", fh.read()))
        assert found and found <= expected, (doc, sorted(found - expected))
