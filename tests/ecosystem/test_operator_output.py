"""What a person sees: the repository's ansible.cfg sets the tsh.zoho_sync.operator stdout
callback. The run's own summary comes first, Ansible's task noise only with -v, each failure
is said once on one line with a marker (CONFIG ERROR / FAILED / UNREACHABLE) and a non-zero
exit, a wrong value shows the valid ones (not the argument specification), an unknown zoho_*
variable gets "did you mean", and a configuration mistake writes no report and no history."""

import json
import os
import subprocess
import sys

import pytest

from ecosystem.support import db_env
from helpers.playbook import ROOT, run_playbook

MARKERS = ("CONFIG ERROR ", "FAILED ", "UNREACHABLE ")
LOCAL = ("-c", "local", "-e", "ansible_python_interpreter=%s" % sys.executable)


def lines(result):
    return [line for line in result.output.splitlines() if line.strip()]


def problem_lines(result):
    return [line for line in lines(result) if line.startswith(MARKERS)]


def files_under(path):
    return sorted(os.path.relpath(os.path.join(d, f), str(path)) for d, _dirs, fs in os.walk(str(path)) for f in fs)


@pytest.fixture
def quiet_queue(tsh_db):
    for _ in range(30):
        tsh_db.add(status="completed", entity="invoice", age="20 minutes", started="-19 minutes", completed="-18 minutes")
    tsh_db.add(status="pending", entity="bill", age="2 minutes")
    return tsh_db


def health(db, reports, *args):
    return run_playbook("health.yml", *args, env=db_env(db, reports))


def heal(db, reports, *args):
    return run_playbook("heal.yml", *args, env=db_env(db, reports, ZOHO_OPERATOR="output-test"))


def test_the_summary_comes_first_and_the_task_noise_only_with_v(quiet_queue, tmp_path):
    run = health(quiet_queue, tmp_path)
    assert run.rc == 0, run
    out = lines(run)
    assert out[0].startswith("TSH Zoho sync health - localhost - ")
    assert out[1].startswith("Overall: ")
    for noise in ("TASK [", "PLAY [", "PLAY RECAP", "ok: [", "skipping: [", "included: "):
        assert noise not in run.output, noise
    assert problem_lines(run) == []

    verbose = health(quiet_queue, tmp_path, "-v")
    assert verbose.rc == 0, verbose
    for noise in ("TASK [tsh.zoho_sync.zoho_health : Check the settings, read the queue and write the reports]", "PLAY RECAP", "ok: [localhost]"):
        assert noise in verbose.output, noise
    assert "TSH Zoho sync health - localhost - " in verbose.output


def test_a_critical_queue_says_so_once_after_the_summary(tsh_db, tmp_path):
    for _ in range(12):
        tsh_db.add(status="failed", entity="invoice", attempts=1, error="Zoho 500", code="ZOHO_500")
    run = health(tsh_db, tmp_path)
    assert run.rc == 2, run
    assert lines(run)[0].startswith("TSH Zoho sync health - localhost")
    problems = problem_lines(run)
    assert len(problems) == 1, run.output
    assert problems[0].startswith("FAILED localhost: Zoho sync health CRITICAL on localhost: ")
    assert lines(run)[-1] == problems[0]
    assert run.output.count("Zoho sync health CRITICAL on localhost") == 1
    assert "Traceback" not in run.output and "Origin:" not in run.output
    assert json.loads((tmp_path / "localhost" / "latest.json").read_text())["overall"] == "critical"


@pytest.mark.parametrize("playbook, extra, expected", [
    ("heal.yml", "zoho_heal_confirm=ture", "CONFIG ERROR localhost: zoho_heal_confirm: 'ture' is not a boolean (true or false)"),
    ("heal.yml", "zoho_service_manager=sytemd",
     "CONFIG ERROR localhost: zoho_service_manager: 'sytemd' is not one of systemd, docker, none (did you mean systemd?)"),
    ("health.yml", "zoho_service_manager=sytemd",
     "CONFIG ERROR localhost: zoho_service_manager: 'sytemd' is not one of systemd, docker, none (did you mean systemd?)"),
    ("health.yml", "zoho_health_color=blue", "CONFIG ERROR localhost: zoho_health_color: 'blue' is not one of auto, always, never"),
    ("health.yml", '{"zoho_health_fail_on": ["critical", "unknwn"]}',
     "CONFIG ERROR localhost: zoho_health_fail_on: 'unknwn' is not one of ok, warning, unknown, critical (did you mean unknown?)"),
    ("heal.yml", "zoho_heal_batch_size=many", "CONFIG ERROR localhost: zoho_heal_batch_size: 'many' is not a whole number"),
    ("health.yml", '{"zoho_health_tresholds": {"pending": {"warning": 1, "critical": 2}}}',
     "CONFIG ERROR localhost: unknown variable zoho_health_tresholds (did you mean zoho_health_thresholds?)"),
    ("heal.yml", "zoho_heal_confrim=true", "CONFIG ERROR localhost: unknown variable zoho_heal_confrim (did you mean zoho_heal_confirm?)"),
    ("health.yml", '{"zoho_health_thresholds": {"pending": {"warning": 300, "critical": 200}}}',
     "CONFIG ERROR localhost: Invalid health thresholds:"),
])
def test_a_configuration_mistake_is_one_line_and_writes_nothing(quiet_queue, tmp_path, playbook, extra, expected):
    reports = tmp_path / "reports"
    first = health(quiet_queue, reports)  # a good run first: its report and history must stay as they are
    assert first.rc == 0, first
    before = dict((name, (reports / name).read_bytes()) for name in files_under(reports))
    db_before = quiet_queue.checksum()

    run = (health if playbook == "health.yml" else heal)(quiet_queue, reports, "-e", extra)
    assert run.rc == 2, run
    assert len(lines(run)) == 1, run.output  # nothing else: no summary, no spec dump, no repeat
    assert lines(run)[0].startswith(expected), run.output
    assert files_under(reports) == sorted(before)  # no report, no history line, no audit record
    for name, data in before.items():
        assert (reports / name).read_bytes() == data, name
    assert quiet_queue.checksum() == db_before


def test_variables_the_collection_or_the_inventory_reads_are_not_reported(quiet_queue, tmp_path):
    reports = tmp_path / "reports"
    extra = {"zoho_site_reports": str(reports), "zoho_report_dir": "{{ zoho_site_reports }}",  # one built from another
             "zoho_awx_pending_warning": 20,  # awx/configure.yml's survey answers
             "zoho_heal_confirm": False,  # another role's variable
             "zoho_mysite_owner": "ops", "zoho_variables_ignore": ["zoho_mysite_*"]}  # the operator's own
    run = run_playbook("health.yml", "-e", json.dumps(extra), env=dict(db_env(quiet_queue, reports), ZOHO_REPORT_DIR=None))
    assert run.rc == 0, run
    assert problem_lines(run) == []
    assert (reports / "localhost" / "latest.json").exists()


def test_an_unreachable_database_is_one_line(tsh_db, tmp_path):
    env = db_env(tsh_db, tmp_path, PGPORT="1")
    run = run_playbook("heal.yml", env=env)
    assert run.rc == 2, run
    problems = problem_lines(run)
    assert len(problems) == 1, run.output
    assert problems[0].startswith("FAILED localhost: Take the heal lock of the database: Cannot connect to database")
    assert "Origin:" not in run.output and "fatal:" not in run.output


def test_rescued_failures_are_said_once_by_the_rescue(tmp_path):
    """A failure inside a block with a rescue is left to the rescue (the heal role quotes it in its
    own failure); a loop's failed items each say why; ignored failures are not failures."""
    (tmp_path / "tasks.yml").write_text(
        "- name: Fail inside\n  ansible.builtin.fail:\n    msg: the cause\n")
    (tmp_path / "play.yml").write_text("""
- name: Output of failures
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Tell the operator something
      ansible.builtin.debug:
        msg: a message for the operator
    - name: Ignored
      ansible.builtin.command: /bin/false
      changed_when: false
      ignore_errors: true  # noqa: ignore-errors
    - name: Guarded
      block:
        - name: Included
          ansible.builtin.include_tasks: tasks.yml
      rescue:
        - name: Fail with the cause
          ansible.builtin.fail:
            msg: "the run failed: {{ ansible_failed_result.msg }}"
""")
    run = run_playbook(str(tmp_path / "play.yml"), *LOCAL, inventory="localhost,")
    assert run.rc == 2, run
    assert lines(run) == ["a message for the operator", "FAILED localhost: the run failed: the cause"], run.output

    (tmp_path / "loop.yml").write_text("""
- name: A loop
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Check each path
      ansible.builtin.command: "test -d {{ item }}"
      changed_when: false
      loop: [/, /no/such/dir]
""")
    looped = run_playbook(str(tmp_path / "loop.yml"), *LOCAL, inventory="localhost,")
    assert looped.rc == 2, looped
    assert [x for x in lines(looped) if not x.startswith("[WARNING]")] == [
        "FAILED localhost: Check each path: exited with 1 (item=/no/such/dir)"], looped.output


def test_ansible_runner_with_the_operator_callback_keeps_its_events(tsh_db, tmp_path):
    """AWX and ansible-runner put their awx_display callback in front; asked to build on this one
    (ANSIBLE_STDOUT_CALLBACK in the job's environment), the job stdout is the concise one and every
    event is still recorded."""
    for _ in range(11):
        tsh_db.add(status="failed", entity="invoice", attempts=1, error="Zoho 500", code="ZOHO_500")
    code = r"""
import json, sys, ansible_runner
env = json.loads(sys.argv[1])
r = ansible_runner.run(private_data_dir=sys.argv[2], playbook="health.yml", artifact_dir=sys.argv[3],
                       envvars=env, quiet=True)
events = [e["event"] for e in r.events]
print(json.dumps({"rc": r.rc, "stdout": r.stdout.read(), "events": events}))
"""
    env = dict((k, str(v)) for k, v in db_env(tsh_db, tmp_path / "reports").items() if v is not None)
    env.update({"ANSIBLE_STDOUT_CALLBACK": "tsh.zoho_sync.operator", "PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin"})
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(env), os.path.join(ROOT, "runner"), str(tmp_path / "art")],
                          capture_output=True, text=True, timeout=600, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["rc"] == 2
    assert "runner_on_ok" in result["events"] and "runner_on_failed" in result["events"]
    assert "playbook_on_stats" in result["events"]
    out = [line for line in result["stdout"].splitlines() if line.strip()]
    assert out[0].startswith("TSH Zoho sync health - localhost")
    assert "TASK [" not in result["stdout"]
    assert [x for x in out if x.startswith("FAILED ")] and out[-1].startswith("FAILED localhost: Zoho sync health CRITICAL")
