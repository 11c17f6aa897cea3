"""Fixtures of the health tests: module-scoped databases (one per scenario, reused by
its tests), fake systemctl/journalctl/docker executables, and a driver that runs the
real `ansible-playbook health.yml -i inventory/demo` and reads the reports it wrote."""

import json
import os
import stat
import textwrap

import pytest

from helpers.db import drop_database, new_database
from helpers.playbook import ROOT, run_playbook

ARTIFACTS = os.path.join(ROOT, "artifacts", "health")
# Host facts depend on the machine running the tests; these checks are about the queue.
HOST_THRESHOLDS = {"memory_used_pct": {"warning": 100, "critical": 100},
                   "disk_used_pct": {"warning": 100, "critical": 100}}


class HealthRun:
    """One `ansible-playbook health.yml` run and what it left in the report directory."""

    def __init__(self, result, report_dir, host="localhost"):
        self.result = result
        self.rc = result.rc
        self.output = result.output
        self.dir = os.path.join(str(report_dir), host)
        path = os.path.join(self.dir, "latest.json")
        self.report = json.load(open(path)) if os.path.exists(path) else None

    def read(self, name):
        with open(os.path.join(self.dir, name)) as fh:
            return fh.read()

    def files(self):
        return sorted(os.listdir(self.dir)) if os.path.isdir(self.dir) else []

    def findings(self, check, entity=None):
        return [f for f in self.report["findings"] if f["check"] == check and (entity is None or f["entity"] == entity)]

    def severity(self, check):
        """The worst severity among the findings of a check."""
        order = ["ok", "warning", "unknown", "critical"]
        found = self.findings(check)
        assert found, "no %s finding: %s" % (check, [f["check"] for f in self.report["findings"]])
        return max((f["severity"] for f in found), key=order.index)

    def __repr__(self):
        return repr(self.result)


def run_health(report_dir, db=None, extra_vars=None, env=None, args=(), playbook="health.yml"):
    """Run health.yml against ``db`` (or the connection given in ``env``)."""
    run_env = {"ZOHO_REPORT_DIR": str(report_dir), "PGPASSWORD": None}
    if db is not None:
        p = db.server.params
        run_env.update({"PGHOST": p.get("host"), "PGPORT": p.get("port"), "PGUSER": p.get("user"),
                        "PGDATABASE": db.name})
        if p.get("password"):
            run_env["PGPASSWORD"] = p["password"]
    run_env.update(env or {})
    cli = list(args)
    if extra_vars:
        cli += ["-e", json.dumps(extra_vars)]
    return HealthRun(run_playbook(playbook, *cli, env=run_env), report_dir)


def write_fakes(bindir, manager, state="running", log_lines=3):
    """Fake systemctl + journalctl or docker, printing what the real ones print."""
    os.makedirs(bindir, exist_ok=True)
    scripts = {}
    if manager == "systemd":
        active = {"running": ("active", "running"), "stopped": ("failed", "failed")}[state]
        scripts["systemctl"] = textwrap.dedent("""\
            #!/bin/sh
            [ "$1" = show ] || exit 1
            echo "Id=$2.service"
            echo "LoadState=loaded"
            echo "ActiveState=%s"
            echo "SubState=%s"
            echo "ActiveEnterTimestamp=Mon 2026-03-02 08:00:00 UTC"
            echo "NRestarts=0"
            echo "MainPID=4242"
            """ % active)
        scripts["journalctl"] = textwrap.dedent("""\
            #!/bin/sh
            now=$(date +%%s)
            echo "$((now - 120)).000001 erp tsh-erp[4242]: INFO Sync worker worker-1 started"
            i=0
            while [ $i -lt %d ]; do
              echo "$((now - 60)).5 erp tsh-erp[4242]: INFO Processing event: 3f2c-$i"
              echo "$((now - 59)).5 erp tsh-erp[4242]: INFO Event processed successfully"
              i=$((i + 1))
            done
            echo "$((now - 30)).25 erp tsh-erp[4242]: WARNING Event will be retried"
            """ % log_lines)
    else:
        running = "true" if state == "running" else "false"
        scripts["docker"] = textwrap.dedent("""\
            #!/bin/sh
            case "$1" in
              inspect)
                name=$4
                if [ "$name" = tsh_erp_app_green ]; then
                  echo "[]"; echo "Error: No such container: $name" >&2; exit 1
                fi
                echo '[{"Name": "/'$name'", "RestartCount": 1, "State": {"Status": "%s", "Running": %s,'
                echo '  "Restarting": false, "Pid": 99, "StartedAt": "2026-03-02T08:00:00.123456789Z",'
                echo '  "Health": {"Status": "healthy"}}}]'
                ;;
              logs)
                name=$5
                if [ "$name" = tsh_erp_app_green ]; then
                  echo "Error response from daemon: No such container: $name" >&2; exit 1
                fi
                ts=$(date -u -d '-1 minute' +%%Y-%%m-%%dT%%H:%%M:%%S.123456789Z)
                echo "$ts INFO Sync worker worker-2 started"
                i=0
                while [ $i -lt %d ]; do
                  echo "$ts INFO Processing event: 77aa-$i"
                  echo "$ts INFO Event processed successfully" >&2
                  i=$((i + 1))
                done
                echo "$ts ERROR Event moved to dead letter queue" >&2
                ;;
              *) exit 2 ;;
            esac
            """ % ("running" if state == "running" else "exited", running, log_lines))
    for name, body in scripts.items():
        path = os.path.join(bindir, name)
        with open(path, "w") as fh:
            fh.write(body)
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bindir


def with_fakes(bindir):
    return {"PATH": str(bindir) + os.pathsep + os.environ.get("PATH", "")}


@pytest.fixture(scope="module")
def module_db(pg_server):
    """A factory of databases that live as long as the test module."""
    made = []

    def make():
        db = new_database(pg_server, prefix="zh")
        made.append(db)
        return db

    yield make
    for db in made:
        drop_database(pg_server, db)
