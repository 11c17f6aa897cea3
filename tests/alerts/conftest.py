"""Fixtures of the alert tests: the fake webhook/GitHub server and a driver that runs the
real zoho_alert role through `ansible-playbook -i inventory/demo tests/alerts/alert.yml -v`."""

import json
import os
import secrets
import socket

import pytest

from alerts.fakeserver import FakeServices
from helpers.playbook import run_playbook

PLAYBOOK = "tests/alerts/alert.yml"
WEBHOOK_SECRET = "s3cr3tW3bh00kP4th"
WEBHOOK_PATH = "/hooks/T0ZOHO/B0SYNC/" + WEBHOOK_SECRET
HOST = "localhost"  # the demo inventory's only host
DATABASE = "tsh_alert_test"


def make_report(overall, critical=(), warning=(), unknown=(), generated_at="2026-03-02T10:15:00Z"):
    """A health JSON report as the zoho_health role writes it."""
    findings = []
    for severity, checks in (("critical", critical), ("warning", warning), ("unknown", unknown)):
        for check in checks:
            findings.append({"check": check, "entity": "invoice" if check == "failed" else None,
                             "severity": severity, "value": 42, "warning": 5, "critical": 10,
                             "message": "%s is %s" % (check, severity)})
    findings.append({"check": "workers", "entity": None, "severity": "ok", "value": 2, "warning": None,
                     "critical": None, "message": "2 workers active"})
    return {"overall": overall, "host": HOST, "generated_at": generated_at, "findings": findings,
            "recommendations": [{"summary": "Re-queue the failed items", "cause": "Zoho API rate limit",
                                 "command": "ansible-playbook heal.yml --check --diff"}] if overall != "ok" else [],
            "facts": {"queue": {"pending": 42}}}


def free_port():
    """A port nothing listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AlertBench:
    """One isolated alerting setup: a report dir, a state dir, the fake services, extra vars."""

    def __init__(self, tmp_path, services):
        self.tmp = tmp_path
        self.services = services
        self.report_dir = tmp_path / "reports"
        self.report_dir.mkdir()
        self.state_dir = self.report_dir / "alert-state"
        self.state_file = self.state_dir / ("%s.json" % HOST)
        self.vars = {
            "zoho_alert_webhook_url": services.webhook_url,
            "zoho_alert_github_repo": services.repo,
            "zoho_alert_github_token": services.token,
            "zoho_alert_github_api_url": services.api_url,
        }
        self.results = []
        self._runs = 0

    @property
    def secrets(self):
        return [self.services.token, WEBHOOK_SECRET, WEBHOOK_PATH]

    def run(self, report, *args, overrides=None, clear=True):
        """Run the playbook with this report; returns the PlaybookResult. The requests of
        the run are in self.services.requests (cleared before the run unless clear=False)."""
        self._runs += 1
        report_file = self.tmp / ("report-%d.json" % self._runs)
        report_file.write_text(json.dumps(report))
        extra = dict(self.vars, zoho_alert_report_file=str(report_file))
        extra.update(overrides or {})
        vars_file = self.tmp / ("vars-%d.json" % self._runs)  # secrets via a file, not the command line
        vars_file.write_text(json.dumps(extra))
        if clear:
            self.services.clear()
        result = run_playbook(PLAYBOOK, "-v", "-e", "@%s" % vars_file, *args,
                              env={"ZOHO_REPORT_DIR": str(self.report_dir), "PGDATABASE": DATABASE,
                                   "ANSIBLE_PIPELINING": "1",
                                   "ZOHO_ALERT_WEBHOOK_URL": None, "ZOHO_ALERT_GITHUB_TOKEN": None})
        vars_file.unlink()
        self.results.append(result)
        return result

    def state(self):
        return json.loads(self.state_file.read_text()) if self.state_file.exists() else None

    def state_bytes(self):
        return self.state_file.read_bytes() if self.state_file.exists() else None

    def assert_no_secrets(self):
        texts = [r.output for r in self.results]
        if self.state_file.exists():
            texts.append(self.state_file.read_text())
        for text in texts:
            for secret in self.secrets:
                assert secret not in text, "a secret leaked into the output or the state file"


@pytest.fixture
def services():
    svc = FakeServices(token="ghp_" + secrets.token_hex(16), webhook_path=WEBHOOK_PATH).start()
    yield svc
    svc.stop()


@pytest.fixture
def bench(tmp_path, services):
    return AlertBench(tmp_path, services)
