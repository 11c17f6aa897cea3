"""9. Secrets: health (with alerts to a local recording webhook and GitHub stand-in),
heal with a cleanup (backups), the dead-letter review and a rollback run with a known
database password and known webhook/GitHub tokens, once normally and once with -vvv.
Every output, report, history, audit line, backup, alert state, Ansible log and temp
file, the PostgreSQL log and every request body the fake services received is searched
for them: zero hits. And ssl_mode verify-full works against a server whose certificate
a CA made here signed, and fails clearly with another CA."""

import json
import os
import shutil
import subprocess
import urllib.parse

import psycopg2
import pytest

from alerts.fakeserver import FakeServices
from helpers.modules import run_module
from testbed.generate import generate
from testbed.pgcluster import TempCluster

from reliability import support
from reliability.playbooks import LOCAL_TEMP, ROOT, health_playbook, heal_playbook, run_playbook

PASSWORD = "Pw-7c1e9a44d2f0-zoho"
WEBHOOK_TOKEN = "hook-5b8d2e71c9a3f046"
GITHUB_TOKEN = "ghp_3f9a0c7d1e5b2a8c4d6e"
USER = "zoho_secret_ops"


def variants(secret):
    return {secret, urllib.parse.quote(secret, safe=""), json.dumps(secret)[1:-1]}


def scan_text(text, secrets, where, hits):
    for secret in secrets:
        for form in variants(secret):
            if form and form in text:
                hits.append("%s contains %s" % (where, secret[:6] + "..."))


def scan_tree(path, secrets, hits):
    count = 0
    for directory, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(directory, name)
            try:
                with open(full, "rb") as fh:
                    text = fh.read().decode("utf-8", "replace")
            except OSError:
                continue
            count += 1
            scan_text(text, secrets, full, hits)
    return count


@pytest.fixture
def services():
    svc = FakeServices(GITHUB_TOKEN, webhook_path="/hooks/T0/B0/" + WEBHOOK_TOKEN)
    svc.start()
    yield svc
    svc.stop()


def test_no_secret_in_any_output(rel_db, tmp_path, services):
    if not (health_playbook() and heal_playbook()):
        pytest.skip("health.yml / heal.yml do not exist yet")
    db = rel_db
    generate(db.conn, live=500, history=500, seed=support.seed() + 21)
    db.execute("CREATE ROLE %s LOGIN SUPERUSER PASSWORD '%s'" % (USER, PASSWORD))
    log_offset = db.server.log_size()
    reports = tmp_path / "reports"
    reports.mkdir()
    ansible_log = tmp_path / "ansible.log"
    shutil.rmtree(LOCAL_TEMP, ignore_errors=True)
    alert_vars = tmp_path / "alert-vars.json"  # secrets through a vars file, as from Vault
    alert_vars.write_text(json.dumps({
        "zoho_health_alerts_enabled": True, "zoho_alert_webhook_url": services.webhook_url,
        "zoho_alert_github_repo": services.repo, "zoho_alert_github_token": GITHUB_TOKEN,
        "zoho_alert_github_api_url": services.api_url}))
    env = {"ANSIBLE_LOG_PATH": str(ansible_log)}
    runs = []
    # the short form runs everything once with -vvv (the most talkative); the long form also without
    for verbosity in (([], ["-vvv"]) if support.chaos() else (["-vvv"],)):
        runs.append(run_playbook(db, reports, health_playbook(), "-e", "@%s" % alert_vars, *verbosity,
                                 user=USER, password=PASSWORD, env=env))
        heal = run_playbook(db, reports, heal_playbook(), "-e", "zoho_heal_confirm=true", "-e", "zoho_heal_force=true",
                            "-e", "zoho_heal_stuck_after_minutes=1", *verbosity, user=USER, password=PASSWORD, env=env)
        runs.append(heal)
        for extra in (os.path.join(ROOT, "playbooks", "dlq_review.yml"),):
            if os.path.exists(extra):
                runs.append(run_playbook(db, reports, extra, *verbosity, user=USER, password=PASSWORD, env=env))
    # roll back the first heal's cleanup from its backup
    backups = sorted(p for p in os.listdir(str(reports / "backups"))) if (reports / "backups").exists() else []
    if backups and os.path.exists(os.path.join(ROOT, "playbooks", "rollback.yml")):
        run_id = backups[0].rsplit(".jsonl", 1)[0]
        runs.append(run_playbook(db, reports, os.path.join(ROOT, "playbooks", "rollback.yml"), "-vvv",
                                 "-e", "zoho_rollback_run_id=%s" % run_id, "-e", "zoho_heal_confirm=true",
                                 user=USER, password=PASSWORD, env=env))
    assert any(r.rc == 0 for r in runs[1:2]), runs[1]
    assert services.webhooks() or services.requests, "the alert never reached the fake webhook"
    secrets = [PASSWORD, WEBHOOK_TOKEN, GITHUB_TOKEN]
    hits = []
    for i, run in enumerate(runs):
        scan_text(run.stdout, secrets, "stdout of %s" % " ".join(run.cmd[3:5]), hits)
        scan_text(run.stderr, secrets, "stderr of %s" % " ".join(run.cmd[3:5]), hits)
    files = scan_tree(str(reports), secrets, hits)
    files += scan_tree(LOCAL_TEMP, secrets, hits)
    if ansible_log.exists():
        files += 1
        scan_text(ansible_log.read_text(errors="replace"), secrets, "ANSIBLE_LOG_PATH", hits)
    scan_text(db.server.log_since(log_offset), secrets, "the PostgreSQL log", hits)
    for request in services.requests:
        scan_text(json.dumps(request.get("body"), default=str), secrets, "a request body sent to %s"
                  % request.get("path", "?").split("/")[1:3], hits)
    kinds = set(os.path.splitext(p)[1] for _d, _s, fs in os.walk(str(reports)) for p in fs)
    support.RESULTS.add("secrets", runs=len(runs), files_searched=files, outputs_searched=2 * len(runs),
                        requests_searched=len(services.requests), secret_hits=len(hits),
                        file_kinds=sorted(kinds))
    assert hits == [], hits[:20]
    # what was searched really holds the run's traces
    assert {".json", ".md", ".html", ".jsonl"} <= kinds, kinds


# ------------------------------------------------------------------------------- TLS
def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(directory, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=%s" % name,
            "-keyout", "%s.key" % name, "-out", "%s.crt" % name, cwd=directory)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("tls"))
    certs = os.path.join(base, "certs")
    os.makedirs(certs)
    make_ca(certs, "zoho-test-ca")
    make_ca(certs, "other-ca")
    with open(os.path.join(certs, "san.ext"), "w") as fh:
        fh.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
            "-out", "server.csr", cwd=certs)
    openssl("x509", "-req", "-in", "server.csr", "-CA", "zoho-test-ca.crt", "-CAkey", "zoho-test-ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt", cwd=certs)
    # the server's files go where the postgres user can reach them (pytest's tmp is 0700 root)
    cluster = TempCluster()
    key = os.path.join(cluster.basedir, "server.key")
    crt = os.path.join(cluster.basedir, "server.crt")
    shutil.copy(os.path.join(certs, "server.key"), key)
    shutil.copy(os.path.join(certs, "server.crt"), crt)
    cluster.settings = {"ssl": "on", "ssl_cert_file": "'%s'" % crt, "ssl_key_file": "'%s'" % key}
    for path in (key, crt):
        cluster._chown(path)
    os.chmod(key, 0o600)
    cluster.start()
    try:
        yield cluster, certs
    finally:
        cluster.destroy()


def tls_args(cluster, **kw):
    args = dict(login_host="127.0.0.1", login_port=cluster.port, login_user="postgres", login_db="postgres",
                queue_schema={"queue_table": "pg_class"}, connect_timeout=5)
    args.update(kw)
    return args


def test_verify_full_with_the_right_ca(tls_server):
    cluster, certs = tls_server
    conn = psycopg2.connect(cluster.dsn(), sslmode="verify-full", sslrootcert=os.path.join(certs, "zoho-test-ca.crt"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone()[0] is True
        cur.execute("CREATE DATABASE zoho_tls")
    conn.close()
    with open(os.path.join(support.ROOT, "testbed", "sql", "tsh_schema.sql")) as fh:
        schema = fh.read()
    conn = psycopg2.connect(cluster.dsn("zoho_tls"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(schema)
    conn.close()
    result = run_module("zoho_queue_facts", tls_args(cluster, login_db="zoho_tls", queue_schema={},
                                                    ssl_mode="verify-full",
                                                    ca_cert=os.path.join(certs, "zoho-test-ca.crt")))
    assert result["_rc"] == 0, result
    support.RESULTS.add("secrets", tls_checks=1)


@pytest.mark.parametrize("ca,host,fragment", [
    ("other-ca.crt", "127.0.0.1", "certificate verify failed"),
    ("zoho-test-ca.crt", "127.0.0.2", "cannot connect"),
])
def test_verify_full_fails_clearly_with_a_wrong_ca_or_host(tls_server, ca, host, fragment):
    cluster, certs = tls_server
    result = run_module("zoho_queue_facts", tls_args(cluster, login_host=host, ssl_mode="verify-full",
                                                    ca_cert=os.path.join(certs, ca)))
    assert result["_rc"] != 0 and result["failed"] is True
    assert "Traceback" not in result["msg"] + result["_stderr"]
    assert "cannot connect" in result["msg"].lower() and fragment in result["msg"].lower(), result["msg"]
    support.RESULTS.add("secrets", tls_checks=1)
