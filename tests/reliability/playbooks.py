"""The operators' playbooks (health.yml, heal.yml at the repository root) run as real
``ansible-playbook`` processes against a test database, through inventory/demo."""

import os
import signal
import subprocess
import tempfile
import time

from helpers.playbook import ANSIBLE_CFG, ansible_bin

from reliability.support import ROOT


# Ansible's own temporary files on the control node (the secrets test searches them too).
LOCAL_TEMP = os.path.join(tempfile.gettempdir(), "zoho-reliability-ansible-tmp")


def _book(name):
    path = os.path.join(ROOT, name)
    return path if os.path.exists(path) else None


def heal_playbook():
    return _book("heal.yml")


def health_playbook():
    return _book("health.yml")


def playbook_env(db, report_dir, user=None, password=None, extra=None):
    p = db.server.params
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": ANSIBLE_CFG, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
        "PYTHONUNBUFFERED": "1", "PGHOST": p["host"], "PGPORT": str(p["port"]), "PGDATABASE": db.name,
        "PGUSER": user or p["user"], "ZOHO_REPORT_DIR": str(report_dir),
        "ANSIBLE_LOCAL_TEMP": LOCAL_TEMP,
    })
    env.pop("PGPASSWORD", None)
    if password:
        env["PGPASSWORD"] = password
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


class Run:
    def __init__(self, cmd, rc, stdout, stderr):
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return "<%s rc=%s>\n%s\n%s" % (" ".join(self.cmd[-6:]), self.rc, self.stdout[-5000:], self.stderr[-3000:])


HEAL_VARS = ["-e", "zoho_heal_confirm=true", "-e", "zoho_heal_force=true"]


def command(playbook, *args):
    return [ansible_bin(), "-i", "inventory/demo", playbook] + [str(a) for a in args]


def run_playbook(db, report_dir, playbook, *args, user=None, password=None, env=None, timeout=600):
    cmd = command(playbook, *args)
    proc = subprocess.run(cmd, cwd=ROOT, env=playbook_env(db, report_dir, user, password, env),
                          capture_output=True, text=True, timeout=timeout)
    return Run(cmd, proc.returncode, proc.stdout, proc.stderr)


def run_heal(db, report_dir, *args, **kw):
    return run_playbook(db, report_dir, heal_playbook(), *(HEAL_VARS + list(args)), **kw)


def run_health(db, report_dir, *args, **kw):
    return run_playbook(db, report_dir, health_playbook(), *args, **kw)


def start_heal(db, report_dir, *args, user=None, password=None, env=None, out=None):
    """heal.yml in its own process group (so the whole tree can be killed at once)."""
    cmd = command(heal_playbook(), *(HEAL_VARS + list(args)))
    log = open(out or os.path.join(str(report_dir), "heal-%d.log" % time.time_ns()), "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=playbook_env(db, report_dir, user, password, env),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log = log
    return proc


def descendants(pid):
    """Every process below ``pid`` (from /proc), children first found first."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_group(proc):
    """SIGKILL the playbook and everything below it, all at once: its process group, and
    the process groups of its descendants. ansible-playbook's worker processes call
    setsid() (ansible/executor/process/worker.py), so a signal to the playbook's group
    alone leaves them - and the module in flight - running to the end of the task. What
    detached itself on purpose (the heal lock holder double-forks to init) is not below
    the playbook any more and must notice its owner's death by itself."""
    victims = descendants(proc.pid)
    commands = []
    for pid in victims:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as fh:
                commands.append(fh.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
    groups = set()
    for pid in [proc.pid] + victims:
        try:
            groups.add(os.getpgid(pid))
        except OSError:
            pass
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    proc.wait()
    proc.log.close()
    return commands
