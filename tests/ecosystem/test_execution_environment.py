"""The execution environment definition: `ansible-builder create` writes a complete build
context from execution-environment.yml, and ansible-builder's own introspection finds the
collection's Python and system requirements in the installed tarball (what the builder
stage of the image build does). Building the image itself needs a registry: not here."""

import os
import shutil
import subprocess
import sys

import yaml

from ecosystem.support import install_tarball
from helpers.playbook import ROOT, ansible_bin


def builder(*args, cwd=ROOT):
    proc = subprocess.run([ansible_bin("ansible-builder")] + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_ee_definition_is_v3_with_the_collection_and_pinned_ansible():
    with open(os.path.join(ROOT, "execution-environment.yml")) as fh:
        ee = yaml.safe_load(fh)
    assert ee["version"] == 3
    deps = ee["dependencies"]
    with open(os.path.join(ROOT, "requirements.txt")) as fh:
        pins = dict(line.strip().split("==", 1) for line in fh if "==" in line and not line.startswith("#"))
    assert deps["ansible_core"]["package_pip"] == "ansible-core==%s" % pins["ansible-core"]
    assert deps["ansible_runner"]["package_pip"] == "ansible-runner==%s" % pins["ansible-runner"]
    with open(os.path.join(ROOT, deps["galaxy"])) as fh:
        galaxy = yaml.safe_load(fh)
    with open(os.path.join(ROOT, "collections/ansible_collections/tsh/zoho_sync/galaxy.yml")) as fh:
        version = yaml.safe_load(fh)["version"]
    tarball = "tsh-zoho_sync-%s.tar.gz" % version
    assert [c["name"] for c in galaxy["collections"]] == ["/build/collections/" + tarball]
    assert [f["src"] for f in ee["additional_build_files"]] == ["build/" + tarball]


def test_ansible_builder_create_writes_the_build_context(tmp_path, collection_tarball):
    # execution-environment.yml takes the tarball from build/ (as `make ee-context` builds it)
    work = tmp_path / "repo"
    work.mkdir()
    for name in ("execution-environment.yml", "ee"):
        src = os.path.join(ROOT, name)
        (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, str(work / name))
    (work / "build").mkdir()
    shutil.copy(collection_tarball, str(work / "build"))
    context = tmp_path / "context"
    # the file name follows the container runtime ansible-builder finds; name it (podman's)
    builder("create", "--file", "execution-environment.yml", "--context", str(context),
            "--output-filename", "Containerfile", cwd=str(work))

    containerfile = (context / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert "ansible-core==2.19.14 ansible-runner==2.4.3" in containerfile
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    assert "introspect.py introspect" in containerfile
    build = context / "_build"
    assert (build / "collections" / os.path.basename(collection_tarball)).exists()
    assert "/build/collections/" + os.path.basename(collection_tarball) in (build / "requirements.yml").read_text()
    assert "jinja2" in (build / "requirements.txt").read_text()
    assert (build / "bindep.txt").exists()
    for script in ("assemble", "install-from-bindep", "introspect.py", "check_galaxy", "entrypoint"):
        assert (build / "scripts" / script).exists(), script

    # What the builder stage runs inside the image, run here on the installed tarball:
    # the collection's meta/execution-environment.yml brings psycopg2 and libpq in.
    installed = tmp_path / "installed"
    install_tarball(collection_tarball, installed)
    pip_out, bindep_out = tmp_path / "pip.txt", tmp_path / "bindep.txt"
    proc = subprocess.run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
                           str(installed),
                           "--user-pip", str(build / "requirements.txt"), "--user-bindep", str(build / "bindep.txt"),
                           "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pip_lines = pip_out.read_text()
    bindep_lines = bindep_out.read_text()
    assert "psycopg2-binary>=2.9,<3  # from collection tsh.zoho_sync" in pip_lines
    assert "jinja2>=3.1,<4  # from collection user" in pip_lines
    assert "libpq5 [platform:dpkg]  # from collection tsh.zoho_sync" in bindep_lines
    assert "postgresql-client [platform:dpkg]  # from collection tsh.zoho_sync" in bindep_lines
    assert "libpq [platform:rpm]  # from collection tsh.zoho_sync" in bindep_lines


def test_collection_ee_metadata_paths_exist():
    base = os.path.join(ROOT, "collections/ansible_collections/tsh/zoho_sync")
    with open(os.path.join(base, "meta/execution-environment.yml")) as fh:
        meta = yaml.safe_load(fh)
    for key in ("python", "system"):
        assert os.path.exists(os.path.join(base, meta["dependencies"][key])), key
