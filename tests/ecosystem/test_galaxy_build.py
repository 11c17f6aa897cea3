"""The collection as Galaxy ships it: `ansible-galaxy collection build`, installed into a
clean collections path (nothing else on ANSIBLE_COLLECTIONS_PATH, no site-packages
collections, no repository ansible.cfg), then a health check run from that install only
against a throwaway database: the queue facts module and the zoho_health role."""

import json
import os
import subprocess
import tarfile

import pytest

from ecosystem.support import install_tarball
from helpers.playbook import ansible_bin

PLAYBOOK = """
- name: Health from the installed collection
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Gather the queue facts
      tsh.zoho_sync.zoho_queue_facts:
        login_host: "{{ lookup('ansible.builtin.env', 'PGHOST') }}"
        login_port: "{{ lookup('ansible.builtin.env', 'PGPORT') | int }}"
        login_db: "{{ lookup('ansible.builtin.env', 'PGDATABASE') }}"
        login_user: "{{ lookup('ansible.builtin.env', 'PGUSER') }}"
      register: facts_result

    - name: Keep the facts for the test
      ansible.builtin.copy:
        content: "{{ facts_result.ansible_facts.zoho_queue | to_json }}"
        dest: "{{ out_dir }}/facts.json"
        mode: "0600"

    - name: Run the health role from the installed collection
      ansible.builtin.include_role:
        name: tsh.zoho_sync.zoho_health
      vars:
        zoho_db_host: "{{ lookup('ansible.builtin.env', 'PGHOST') }}"
        zoho_db_port: "{{ lookup('ansible.builtin.env', 'PGPORT') | int }}"
        zoho_db_name: "{{ lookup('ansible.builtin.env', 'PGDATABASE') }}"
        zoho_db_user: "{{ lookup('ansible.builtin.env', 'PGUSER') }}"
        zoho_service_manager: none
        zoho_health_report_dir: "{{ out_dir }}/reports"
        zoho_health_textfile_dir: "{{ out_dir }}/metrics"
        zoho_health_fail_on: []
"""


@pytest.fixture(scope="module")
def clean_install(tmp_path_factory, collection_tarball):
    dest = tmp_path_factory.mktemp("clean-collections")
    return dest, install_tarball(collection_tarball, dest)


def test_tarball_contents(collection_tarball):
    with tarfile.open(collection_tarball) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    assert manifest["collection_info"]["namespace"] == "tsh"
    assert manifest["collection_info"]["name"] == "zoho_sync"
    for required in ("meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt",
                     "meta/ee-bindep.txt", "plugins/modules/zoho_queue_facts.py",
                     "plugins/module_utils/queue_schema.py", "plugins/filter/zoho_exports.py",
                     "roles/zoho_health/tasks/main.yml", "roles/zoho_health/tasks/exports.yml",
                     "changelogs/changelog.yaml", "CHANGELOG.rst", "FILES.json"):
        assert required in names, required
    junk = [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/output")
            or n.endswith(".tar.gz")]
    assert junk == []


def test_installed_collection_is_the_only_one_and_verifies(clean_install):
    dest, env = clean_install
    proc = subprocess.run([ansible_bin("ansible-galaxy"), "collection", "list", "--format", "json"],
                          cwd=str(dest), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    # besides ansible-core's own internal collections, only the clean path
    paths = [p for p in listing if not p.endswith(os.path.join("ansible", "_internal", "ansible_collections"))]
    assert paths == [os.path.join(str(dest), "ansible_collections")]
    assert listing[paths[0]] == {"tsh.zoho_sync": {"version": "0.1.0"}}
    proc = subprocess.run([ansible_bin("ansible-galaxy"), "collection", "verify", "--offline", "tsh.zoho_sync",
                           "-p", str(dest)], cwd=str(dest), env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Successfully verified that checksums for 'tsh.zoho_sync:0.1.0' are internally consistent" \
        in proc.stdout


def test_health_runs_from_the_clean_install(clean_install, tsh_db, tmp_path):
    dest, env = clean_install
    for _ in range(3):
        tsh_db.add(status="pending", entity="invoice", age="10 minutes")
    tsh_db.add(status="failed", entity="customer", attempts=1, error="Zoho 429 rate limit", code="RATE_LIMIT")
    tsh_db.add(status="processing", entity="invoice", locked_by="worker-1", lock_expires="-45 minutes")
    done = tsh_db.add(status="dead_letter", entity="bill", attempts=3, error="Item 4711 not found")
    tsh_db.add_dlq_record(done)

    playbook = tmp_path / "health_from_install.yml"
    playbook.write_text(PLAYBOOK)
    p = tsh_db.server.params
    run_env = dict(env, PGHOST=p["host"], PGPORT=str(p.get("port", 5432)), PGDATABASE=tsh_db.name,
                   PGUSER=p.get("user", "postgres"))
    if p.get("password"):
        run_env["PGPASSWORD"] = p["password"]
    proc = subprocess.run([ansible_bin("ansible-playbook"), "-i", "localhost,", str(playbook),
                           "-e", "out_dir=%s" % tmp_path],
                          cwd=str(tmp_path), env=run_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    # nothing was loaded from the repository
    assert "/collections/ansible_collections/tsh/zoho_sync" not in proc.stdout.replace(str(dest), "")

    facts = json.loads((tmp_path / "facts.json").read_text())
    assert facts["status_counts"]["pending"] == 3
    assert facts["status_counts"]["failed"] == 1
    assert facts["status_counts"]["dead_letter"] == 1
    assert facts["stuck_locks"]["count"] == 1
    assert facts["dead_letter"]["unrecorded"] == 0

    report = json.loads((tmp_path / "reports" / "localhost" / "latest.json").read_text())
    assert report["host"] == "localhost"
    assert report["overall"] in ("warning", "critical")
    assert report["facts"]["zoho_queue"]["status_counts"]["pending"] == 3
    assert (tmp_path / "metrics" / "zoho_sync_localhost.prom").exists()
