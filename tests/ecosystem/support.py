"""Helpers of the ecosystem tests: the demo inventory's environment for a test database,
the health playbook, and a clean install of the collection tarball."""

import os
import subprocess

from helpers.playbook import ROOT, ansible_bin, run_playbook

COLLECTION = os.path.join(ROOT, "collections", "ansible_collections", "tsh", "zoho_sync")


def db_env(db, report_dir, **extra):
    """Environment for the demo inventory: the test database and a report directory."""
    p = db.server.params
    env = {"PGHOST": p.get("host"), "PGPORT": p.get("port", "5432"), "PGDATABASE": db.name,
           "PGUSER": p.get("user", "postgres"), "PGPASSWORD": p.get("password") or None,
           "ZOHO_REPORT_DIR": str(report_dir)}
    env.update(extra)
    return env


def run_health(db, report_dir, *args, **kwargs):
    return run_playbook("playbooks/health.yml", *args, env=db_env(db, report_dir), **kwargs)


def install_tarball(tarball, dest):
    """Install the tarball into a clean collections path `dest`, away from the repository's
    ansible.cfg and ./collections (which already hold tsh.zoho_sync). Returns the env to use it:
    ANSIBLE_COLLECTIONS_PATH is `dest` only, no site-packages collections, an empty config."""
    dest = str(dest)
    os.makedirs(dest, exist_ok=True)
    cfg = os.path.join(dest, "ansible.cfg")
    with open(cfg, "w") as fh:
        fh.write("[defaults]\n")
    env = dict(os.environ, ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=dest,
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1")
    for key in ("ANSIBLE_ROLES_PATH", "ANSIBLE_FILTER_PLUGINS", "ANSIBLE_LIBRARY", "ANSIBLE_MODULE_UTILS"):
        env.pop(key, None)
    proc = subprocess.run([ansible_bin("ansible-galaxy"), "collection", "install", tarball, "-p", dest],
                          cwd=dest, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert os.path.exists(os.path.join(dest, "ansible_collections", "tsh", "zoho_sync", "MANIFEST.json")), proc.stdout
    return env
