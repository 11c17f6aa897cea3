"""The modules through real Ansible: ansible-doc renders them, and a playbook with
module_defaults on the action group drives facts, check mode and apply."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
MODULES = ("zoho_queue_facts", "zoho_requeue", "zoho_dlq_move")


def ansible_env(extra=None):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    env.update(extra or {})
    return env


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_complete_documentation(module):
    proc = subprocess.run([os.path.join(BIN, "ansible-doc"), "--json", "tsh.zoho_sync.%s" % module],
                          capture_output=True, text=True, env=ansible_env(), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)["tsh.zoho_sync.%s" % module]
    assert doc["doc"]["short_description"]
    assert doc["doc"]["options"]["login_password"]["type"] == "str"
    assert "queue_schema" in doc["doc"]["options"]
    assert doc["examples"].strip()
    assert doc["return"]
    text = subprocess.run([os.path.join(BIN, "ansible-doc"), "tsh.zoho_sync.%s" % module],
                          capture_output=True, text=True, env=ansible_env(), cwd=ROOT)
    assert text.returncode == 0 and "EXAMPLES" in text.stdout and "RETURN VALUES" in text.stdout


PLAYBOOK = """
- name: Drive the queue modules through module_defaults
  hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/tsh.zoho_sync.queue:
      login_host: "{{ lookup('ansible.builtin.env', 'PGHOST') }}"
      login_port: "{{ lookup('ansible.builtin.env', 'PGPORT') | int }}"
      login_user: postgres
      login_db: "{{ lookup('ansible.builtin.env', 'PGDATABASE') }}"
  tasks:
    - name: Facts
      tsh.zoho_sync.zoho_queue_facts:
    - name: Requeue failed
      tsh.zoho_sync.zoho_requeue:
        source: failed
      register: requeue
    - name: Dead-letter exhausted
      tsh.zoho_sync.zoho_dlq_move:
      register: moved
    - name: Save results
      ansible.builtin.copy:
        content: "{{ {'facts': zoho_queue, 'requeue': requeue, 'moved': moved} | to_json }}"
        dest: "{{ lookup('ansible.builtin.env', 'OUT') }}"
      check_mode: false
"""


@pytest.mark.parametrize("check", [True, False])
def test_playbook_with_module_defaults(tsh_db, tmp_path, check):
    failed = tsh_db.add("failed", attempts=1)
    exhausted = tsh_db.add("retry", attempts=3, max_attempts=3)
    before = tsh_db.checksum()
    book = tmp_path / "play.yml"
    book.write_text(PLAYBOOK)
    out = tmp_path / "out.json"
    params = tsh_db.server.params
    cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book)]
    if check:
        cmd += ["--check", "--diff"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=ansible_env({
        "PGHOST": params["host"], "PGPORT": str(params["port"]), "PGDATABASE": tsh_db.name, "OUT": str(out)}))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["facts"]["status_counts"]["failed"] == 1
    assert result["requeue"]["ids"] == [failed]
    assert result["moved"]["moved_ids"] == [exhausted]
    if check:
        assert tsh_db.checksum() == before
        assert failed in proc.stdout  # the diff names the row
    else:
        assert tsh_db.status_of(failed) == "pending"
        assert tsh_db.status_of(exhausted) == "dead_letter"
        assert len(tsh_db.dlq_records(exhausted)) == 1
