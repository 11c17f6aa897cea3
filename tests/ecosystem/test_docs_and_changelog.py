"""Release hygiene: docs/modules and docs/roles match what scripts/gen_docs.py generates from
the modules' DOCUMENTATION and the roles' argument_specs; the antsibull-changelog fragments
lint; CHANGELOG.rst is what antsibull-changelog generates; galaxy.yml's version is released."""

import os
import shutil
import subprocess
import sys

import yaml

from ecosystem.support import COLLECTION
from helpers.playbook import ROOT, ansible_bin


def test_generated_docs_are_up_to_date():
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_docs.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    modules = sorted(f for f in os.listdir(os.path.join(ROOT, "docs", "modules")) if f != "README.md")
    assert "tsh.zoho_sync.zoho_queue_facts.md" in modules
    roles = sorted(f for f in os.listdir(os.path.join(ROOT, "docs", "roles")) if f != "README.md")
    assert "zoho_health.md" in roles


def changelog(*args, cwd=COLLECTION):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "collections"),
               PATH=os.path.dirname(ansible_bin()) + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([ansible_bin("antsibull-changelog")] + list(args), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_changelog_fragments_lint():
    proc = changelog("lint")
    assert proc.returncode == 0 and proc.stdout.strip() == "", proc.stdout + proc.stderr


def test_changelog_is_generated_and_releases_the_galaxy_version(tmp_path):
    with open(os.path.join(COLLECTION, "galaxy.yml")) as fh:
        version = yaml.safe_load(fh)["version"]
    with open(os.path.join(COLLECTION, "changelogs", "changelog.yaml")) as fh:
        releases = yaml.safe_load(fh)["releases"]
    assert version in releases
    assert releases[version]["changes"]["release_summary"]
    # regenerate CHANGELOG.rst from changelogs/changelog.yaml in a copy: it must not change
    copy = tmp_path / "zoho_sync"
    copy.mkdir()
    for name in ("galaxy.yml", "CHANGELOG.rst"):
        shutil.copy(os.path.join(COLLECTION, name), str(copy / name))
    shutil.copytree(os.path.join(COLLECTION, "changelogs"), str(copy / "changelogs"))
    proc = changelog("generate", cwd=str(copy))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(COLLECTION, "CHANGELOG.rst")) as fh:
        assert (copy / "CHANGELOG.rst").read_text() == fh.read(), "run: make docs"
