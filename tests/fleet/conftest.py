"""Fixtures of the fleet tests: several throwaway databases on the session's cluster,
an inventory of hosts pointing at them (plus hosts that cannot be read), and a driver
that runs the real `ansible-playbook health.yml` over it and reads what it wrote."""

import json
import os
import socket
import uuid

import pytest
import yaml

from health.conftest import module_db  # noqa: F401 - the module-scoped database factory, shared
from helpers.playbook import ROOT, run_playbook

ARTIFACTS = os.path.join(ROOT, "artifacts", "fleet")

# Host facts depend on the machine running the tests; these checks are about the queue.
HOST_THRESHOLDS = {"memory_used_pct": {"warning": 100, "critical": 100},
                   "disk_used_pct": {"warning": 100, "critical": 100}}


def closed_port():
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_host(server, db, report_dir, **extra):
    """Host variables of a control-node host reading ``db``."""
    p = server.params
    hv = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
          "zoho_db_host": p.get("host"), "zoho_db_port": int(p.get("port", 5432)),
          "zoho_db_name": db.name if db is not None else "postgres",
          "zoho_db_user": p.get("user"), "zoho_db_password": p.get("password") or "",
          "zoho_service_manager": "none", "zoho_report_dir": str(report_dir),
          "zoho_health_thresholds": dict(HOST_THRESHOLDS), "zoho_health_color": "never"}
    hv.update(extra)
    return hv


def write_inventory(path, hosts):
    with open(path, "w") as fh:
        yaml.safe_dump({"all": {"children": {"zoho_sync": {"hosts": hosts}}}}, fh, sort_keys=True)
    return str(path)


class FleetRun:
    """One health.yml run over a fleet and what it left under the report directory."""

    def __init__(self, result, report_dir):
        self.result = result
        self.rc = result.rc
        self.output = result.output
        self.report_dir = str(report_dir)
        self.fleet_dir = os.path.join(self.report_dir, "fleet")
        path = os.path.join(self.fleet_dir, "latest.json")
        self.summary = json.load(open(path)) if os.path.exists(path) else None

    def host(self, name):
        [entry] = [h for h in self.summary["hosts"] if h["host"] == name]
        return entry

    def read(self, name):
        with open(os.path.join(self.fleet_dir, name)) as fh:
            return fh.read()

    def host_report(self, name):
        path = os.path.join(self.report_dir, name, "latest.json")
        return json.load(open(path)) if os.path.exists(path) else None

    def recap(self, host):
        """The PLAY RECAP counters of a host."""
        for line in self.output.splitlines():
            parts = line.split()
            if parts and parts[0] == host and ":" in parts[1:2]:
                return dict(kv.split("=") for kv in parts[2:] if "=" in kv)
        raise AssertionError("no recap line for %s" % host)

    def __repr__(self):
        return repr(self.result)


def run_fleet(name, inventory, report_dir, *args):
    """Run health.yml over ``inventory``; the output is kept in artifacts/fleet/<name>.txt."""
    # Ansible's own callback: its PLAY RECAP is the per-host status AWX shows (the tests read
    # it); the operator callback's one-line failures are checked in tests/ecosystem/test_operator_output.py
    env = {"PGPASSWORD": None, "ZOHO_REPORT_DIR": None, "PGHOST": None, "PGPORT": None,
           "PGDATABASE": None, "PGUSER": None, "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"}
    result = run_playbook("health.yml", *args, env=env, inventory=inventory, timeout=600)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with open(os.path.join(ARTIFACTS, name + ".txt"), "w") as fh:
        fh.write(result.output)
    run = FleetRun(result, report_dir)
    run.inventory = inventory
    return run


@pytest.fixture(scope="module")
def ro_role(pg_server):
    """A login role with a password (the loopback superuser needs none)."""
    name = "zf_ops_%s" % uuid.uuid4().hex[:8]
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute('CREATE ROLE "%s" LOGIN PASSWORD %%s' % name, ("right-password-1",))
    admin.close()
    yield name
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute('DROP ROLE IF EXISTS "%s"' % name)
    admin.close()
