"""Helpers of the heal tests: a troubled queue, playbook runs against a test database,
a fake `docker` for service control, a syslog socket, and readers of the run's traces."""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import threading
import uuid

from helpers.playbook import ANSIBLE_CFG, ROOT, ansible_bin, run_playbook

PASSWORD = "Heal-T3st-Pa55word-9f1c"  # never used by trust auth; must never be written anywhere


def add_log(db, queue_id, age="1 hour", status="completed"):
    log_id = str(uuid.uuid4())
    db.execute(
        """INSERT INTO tds_sync_logs (id, sync_queue_id, entity_type, source_entity_id, operation_type,
               operation_status, attempt_number, "timestamp")
           SELECT %s, id, entity_type, source_entity_id, 'upsert', %s, 1, now() - %s::interval
             FROM tds_sync_queue WHERE id = %s""", (log_id, status, age, queue_id))
    return log_id


def add_inbox(db, age="10 days"):
    inbox_id = str(uuid.uuid4())
    db.execute(
        """INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload,
               content_hash, received_at)
           VALUES (%s, 'zoho', 'invoice', 'ORPHAN', '{"orphan": true}', md5(%s), now() - %s::interval)""",
        (inbox_id, inbox_id, age))
    return inbox_id


def seed_troubled(db):
    """Failures, stuck leases, exhausted retries, unrecorded dead letters and old data;
    returns the row ids by category."""
    ids = {}

    def put(name, n, **kw):
        ids[name] = [db.add(**kw) for _ in range(n)]

    put("failed_under", 3, status="failed", attempts=1, max_attempts=3, error="Zoho 500 for item 4411",
        code="ZOHO_500", entity="invoice")
    put("failed_exhausted", 1, status="failed", attempts=3, max_attempts=3, error="Zoho 400 bad tax",
        code="ZOHO_400", entity="bill")
    put("retry_exhausted", 2, status="retry", attempts=3, max_attempts=3, next_retry="-2 hours",
        error="timeout after 30 s", code="TIMEOUT", entity="PAYMENT")
    put("stuck_processing", 2, status="processing", locked_by="worker-1", lock_expires="-45 minutes",
        started="-50 minutes", entity="product")
    put("stuck_pending", 1, status="pending", locked_by="worker-2", lock_expires="-2 hours", entity="customer")
    put("live_lease", 1, status="processing", locked_by="worker-1", lock_expires="4 minutes", started="-1 minute")
    put("dead_unrecorded", 3, status="dead_letter", attempts=3, error="Item 999 not found", code="ZOHO_404",
        entity="invoice")
    put("dead_recorded", 1, status="dead_letter", attempts=3, error="Item 5 not found", code="ZOHO_404")
    db.add_dlq_record(ids["dead_recorded"][0])
    put("pending_ok", 2, status="pending")
    put("retry_not_due", 1, status="retry", attempts=1, next_retry="10 minutes", error="rate limited")
    # old data
    put("completed_old", 4, status="completed", age="40 days", started="-40 days", completed="-39 days")
    put("completed_old_dlq", 1, status="completed", age="40 days", completed="-39 days")
    db.add_dlq_record(ids["completed_old_dlq"][0], resolved=True)
    put("completed_recent", 1, status="completed", age="2 days", completed="-2 days")
    ids["logs_of_old"] = [add_log(db, ids["completed_old"][0], "100 days"),
                          add_log(db, ids["completed_old"][1], "1 day")]
    ids["log_old_pending"] = [add_log(db, ids["pending_ok"][0], "100 days", "failed")]
    ids["log_old_dead"] = [add_log(db, ids["dead_unrecorded"][0], "100 days", "failed")]
    ids["inbox_orphan_old"] = [add_inbox(db, "10 days")]
    ids["inbox_orphan_recent"] = [add_inbox(db, "1 day")]
    return ids


def inbox_of(db, queue_ids):
    return [r["inbox_event_id"] for r in db.query(
        "SELECT inbox_event_id::text FROM tds_sync_queue WHERE id = ANY(%s::uuid[])", (list(queue_ids),))]


class HealRunner:
    """Runs the project's playbooks against one test database, reports in tmp."""

    def __init__(self, db, tmp_path):
        self.db = db
        self.tmp = tmp_path
        self.report_dir = os.path.join(str(tmp_path), "reports")
        self.audit_log = os.path.join(self.report_dir, "audit.jsonl")
        self.backup_dir = os.path.join(self.report_dir, "backups")
        self.extra_env = {}

    def env(self, **more):
        p = self.db.server.params
        env = {"PGHOST": p.get("host", "127.0.0.1"), "PGPORT": p.get("port", "5432"), "PGUSER": p.get("user"),
               "PGDATABASE": self.db.name, "PGPASSWORD": PASSWORD, "ZOHO_REPORT_DIR": self.report_dir,
               "ZOHO_OPERATOR": "heal-tester"}
        env.update(self.extra_env)
        env.update(more)
        return env

    def run(self, playbook, *args, env=None, extra=None, timeout=600):
        argv = list(args)
        if extra:
            argv += ["-e", json.dumps(extra)]
        return run_playbook(playbook, *argv, env=self.env(**(env or {})), timeout=timeout)

    def start(self, playbook, *args, extra=None):
        """Start a playbook in the background (its own process group)."""
        run_env = dict(os.environ)
        run_env.update({"ANSIBLE_CONFIG": ANSIBLE_CFG, "ANSIBLE_NOCOLOR": "1", "PYTHONUNBUFFERED": "1"})
        run_env.update(self.env())
        argv = list(args)
        if extra:
            argv += ["-e", json.dumps(extra)]
        cmd = [ansible_bin(), "-i", "inventory/demo", playbook] + argv
        return subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, start_new_session=True)

    # -- traces ------------------------------------------------------------------
    def audit(self):
        if not os.path.exists(self.audit_log):
            return []
        with open(self.audit_log) as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def reports(self, kind="heal"):
        out = []
        for path in sorted(glob.glob(os.path.join(self.report_dir, "*", "%s-*.json" % kind))):
            with open(path) as fh:
                out.append(json.load(fh))
        return sorted(out, key=lambda r: r["started_at"])

    def last_report(self, kind="heal"):
        reports = self.reports(kind)
        assert reports, "no %s report in %s" % (kind, self.report_dir)
        return reports[-1]

    def all_written_text(self):
        """Every file the runs wrote (reports, audit, backups), as text."""
        chunks = []
        for base, _dirs, files in os.walk(self.report_dir):
            for name in files:
                with open(os.path.join(base, name), "rb") as fh:
                    chunks.append(fh.read().decode("utf-8", "replace"))
        return "\n".join(chunks)


UUID_AT_START = re.compile(r"^\s+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\s", re.M)


def diff_ids(text):
    """The row ids the --diff tables list (each table row starts with the row's id)."""
    return set(UUID_AT_START.findall(text))


def action(report, name):
    found = [a for a in report["actions"] if a["action"] == name]
    assert found, "no %s action in %s" % (name, [a["action"] for a in report["actions"]])
    return found[-1]


class FakeDocker:
    """A `docker` first on PATH that records its arguments and keeps each container's
    state in a file: `inspect` prints it, `restart` sets it to running, `logs` prints
    nothing. A fake of an external system this machine cannot run (Molecule covers the
    real systemd); the collection's own code runs unchanged."""

    SCRIPT = r"""#!/bin/sh
d="$FAKE_DOCKER_DIR"
echo "$*" >> "$d/calls.log"
eval last=\${$#}
case "$1" in
  inspect)
    if [ ! -f "$d/$last.state" ]; then echo "Error: No such object: $last" >&2; exit 1; fi
    state=$(cat "$d/$last.state")
    running=false; [ "$state" = running ] && running=true
    printf '[{"Name":"/%s","RestartCount":0,"State":{"Status":"%s","Running":%s,"Restarting":false,"Pid":0,"StartedAt":"2026-01-01T00:00:00Z"}}]\n' "$last" "$state" "$running"
    ;;
  restart) echo running > "$d/$last.state"; echo "$last" ;;
  logs) exit 0 ;;
  *) echo "fake docker: unsupported command $1" >&2; exit 1 ;;
esac
"""

    def __init__(self, tmp_path, containers):
        self.dir = os.path.join(str(tmp_path), "fake-docker")
        self.bin = os.path.join(self.dir, "bin")
        os.makedirs(self.bin)
        path = os.path.join(self.bin, "docker")
        with open(path, "w") as fh:
            fh.write(self.SCRIPT)
        os.chmod(path, 0o755)
        self.containers = containers
        for name in containers:
            self.set_state(name, "exited")

    def set_state(self, name, state):
        with open(os.path.join(self.dir, "%s.state" % name), "w") as fh:
            fh.write(state + "\n")

    def state(self, name):
        with open(os.path.join(self.dir, "%s.state" % name)) as fh:
            return fh.read().strip()

    def calls(self):
        path = os.path.join(self.dir, "calls.log")
        if not os.path.exists(path):
            return []
        with open(path) as fh:
            return [line.split() for line in fh if line.strip()]

    def restarts(self):
        return [c for c in self.calls() if c and c[0] == "restart"]

    def env(self):
        return {"PATH": self.bin + os.pathsep + os.environ.get("PATH", ""), "FAKE_DOCKER_DIR": self.dir}

    def extra(self):
        return {"zoho_service_manager": "docker", "zoho_service_name": list(self.containers)}


class SyslogSink:
    """A local syslog socket (datagram, like /dev/log) collecting what is sent to it."""

    def __init__(self, tmp_path):
        self.path = os.path.join(str(tmp_path), "log.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages = []
        self.stopped = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopped:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append(data.decode("utf-8", "replace"))

    def close(self):
        self.stopped = True
        self.thread.join(2)
        self.sock.close()


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        proc.communicate(timeout=30)
    except (subprocess.TimeoutExpired, ValueError):
        pass
