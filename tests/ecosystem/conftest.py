"""Fixtures of the ecosystem tests: the collection tarball, built once per session."""

import glob
import subprocess

import pytest

from ecosystem.support import COLLECTION
from helpers.playbook import ansible_bin


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    """`ansible-galaxy collection build` of the collection, into a temporary directory."""
    out = tmp_path_factory.mktemp("galaxy-build")
    proc = subprocess.run([ansible_bin("ansible-galaxy"), "collection", "build", COLLECTION,
                           "--output-path", str(out), "--force"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tarballs = glob.glob(str(out / "tsh-zoho_sync-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    return tarballs[0]
