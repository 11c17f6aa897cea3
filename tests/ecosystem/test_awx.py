"""AWX / AAP configuration as code (awx/configure.yml with the awx.awx modules): syntax,
ansible-lint (production profile), and the consistency of templates, surveys and schedules."""

import os
import re
import subprocess

import yaml

from helpers.playbook import ROOT, ansible_bin

AWX = os.path.join(ROOT, "awx")


def load_vars():
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    with open(os.path.join(AWX, "vars", "controller.yml")) as fh:
        return yaml.load(fh, Loader=Loader)


def test_syntax_check():
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([ansible_bin(), "--syntax-check", "-i", "localhost,", "awx/configure.yml"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile(tmp_path):
    # its own cache directory: another ansible-lint running on the machine holds the shared one's lock
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run([ansible_bin("ansible-lint"), "--profile", "production", "--nocolor", "awx/"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]


def test_templates_surveys_and_schedules_are_consistent():
    v = load_vars()
    templates = {t["name"]: t for t in v["zoho_awx_job_templates"]}
    kinds = {(t["playbook"], t["job_type"]) for t in templates.values()}
    assert {("playbooks/health.yml", "run"), ("playbooks/heal.yml", "check"), ("playbooks/heal.yml", "run"),
            ("playbooks/emergency.yml", "run"), ("playbooks/dlq_review.yml", "run")} <= kinds
    for t in templates.values():
        assert os.path.exists(os.path.join(ROOT, t["playbook"])), t["playbook"]

    questions = v["zoho_awx_threshold_questions"]
    for q in questions:
        assert {"variable", "question_name", "type", "default"} <= set(q)
        assert q["type"] == "integer" and q["min"] <= q["default"] <= q["max"]
    # each threshold question is used by the health template's extra vars
    extra = yaml.safe_dump(v["zoho_awx_threshold_extra_vars"])
    for q in questions:
        assert "{{ %s | int }}" % q["variable"] in extra, q["variable"]
    pairs = v["zoho_awx_threshold_extra_vars"]["zoho_health_thresholds"]
    assert {"pending", "failed", "sync_delay_minutes", "worker_inactivity_minutes", "stuck_lock_minutes"} <= set(pairs)
    # the confirmation flag is asked where destructive actions can happen, default false
    confirm = v["zoho_awx_confirm_question"]
    assert confirm["variable"] == "zoho_heal_confirm" and confirm["default"] == "false"

    schedules = {s["job_template"]: s for s in v["zoho_awx_schedules"]}
    assert set(schedules) <= set(templates)
    assert re.search(r"RRULE:FREQ=MINUTELY;INTERVAL=15$", schedules["tsh-zoho-sync health"]["rrule"])
    for s in schedules.values():
        assert re.match(r"^DTSTART;TZID=\S+:\d{8}T\d{6} RRULE:FREQ=(MINUTELY|HOURLY|DAILY|WEEKLY)", s["rrule"]
                        .replace("{{ zoho_awx_schedule_timezone }}", "UTC")), s


def test_no_secret_in_the_awx_files():
    for folder, _dirs, files in os.walk(AWX):
        for name in files:
            text = open(os.path.join(folder, name)).read()
            for line in text.splitlines():
                if re.search(r"(password|token|ssh_key_data)\s*:", line) and "{{" not in line:
                    assert line.strip().startswith("#") or line.strip().endswith(":"), line
