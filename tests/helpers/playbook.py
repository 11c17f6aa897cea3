"""Run the real `ansible-playbook` of the virtualenv as a subprocess, the way an operator does:
from the repository root, with the repository's ansible.cfg and (by default) inventory/demo."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ANSIBLE_CFG = os.path.join(ROOT, "ansible.cfg")


def ansible_bin(name="ansible-playbook"):
    """The Ansible executable next to the Python running the tests (the .venv one)."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


class PlaybookResult:
    def __init__(self, args, proc):
        self.args = args
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def __repr__(self):
        return "<ansible-playbook rc=%s>\n%s\n%s" % (self.rc, self.stdout[-6000:], self.stderr[-3000:])


def run_playbook(playbook, *args, env=None, inventory="inventory/demo", timeout=300):
    """Run `ansible-playbook -i <inventory> <playbook> <args...>`; env entries are added to
    (or, when None, removed from) the current environment. Returns a PlaybookResult."""
    run_env = dict(os.environ)
    run_env.update({"ANSIBLE_CONFIG": ANSIBLE_CFG, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                    "PYTHONUNBUFFERED": "1"})
    for key, value in (env or {}).items():
        if value is None:
            run_env.pop(key, None)
        else:
            run_env[key] = str(value)
    cmd = [ansible_bin(), "-i", inventory, playbook] + [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=timeout)
    return PlaybookResult(cmd, proc)
