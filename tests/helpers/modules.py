"""Run the collection's real modules the way Ansible does: a separate Python process
reading ANSIBLE_MODULE_ARGS, with check and diff mode passed as Ansible passes them."""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(ROOT, "collections")


def run_module(name, args, check=False, diff=False, env=None, timeout=120):
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump({"ANSIBLE_MODULE_ARGS": payload}, fh)
        path = fh.name
    run_env = dict(os.environ)
    run_env["PYTHONPATH"] = COLLECTIONS + os.pathsep + run_env.get("PYTHONPATH", "")
    run_env.update(env or {})
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "ansible_collections.tsh.zoho_sync.plugins.modules.%s" % name, path],
            capture_output=True, text=True, env=run_env, timeout=timeout)
    finally:
        os.unlink(path)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc=%s)\nstdout: %s\nstderr: %s"
                             % (name, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    result["_rc"] = proc.returncode
    result["_stderr"] = proc.stderr
    return result


def run_action(name, args, check=False, timeout=120):
    """Run one task of an action plugin (a module whose work happens on the controller) the
    way a play does: ``ansible localhost -m <name>`` with the JSON callback; returns the
    task's result with ``_rc``."""
    from helpers.playbook import ANSIBLE_CFG, ansible_bin
    env = dict(os.environ, ANSIBLE_CONFIG=ANSIBLE_CFG, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="json")
    cmd = [ansible_bin("ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", name,
           "-a", json.dumps(args)] + (["--check"] if check else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)
    try:
        out = json.loads(proc.stdout)
        result = out["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("%s printed no JSON result (rc=%s)\nstdout: %s\nstderr: %s"
                             % (name, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    result["_rc"] = proc.returncode
    result["_stderr"] = proc.stderr
    return result
