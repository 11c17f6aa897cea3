"""A heal that could not record what it does must not do it: the audit log and the
report directory are checked on the control node before the heal lock is taken, and
the run ends with one clear message and nothing changed."""

import pytest


def blocked_path(tmp_path):
    """A path below a regular file: nobody can create it, root included."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    return blocker / "audit" / "audit.jsonl"


@pytest.fixture
def work_to_do(fresh_runner):
    db = fresh_runner.db
    db.add(status="failed", attempts=1, age="1 hour", error="timeout")
    db.add(status="processing", locked_by="gone-worker", lock_expires="-2 hours", age="3 hours")
    return fresh_runner


@pytest.mark.parametrize("variable", ["zoho_heal_audit_log", "zoho_heal_report_dir"])
def test_heal_refuses_when_it_cannot_record(work_to_do, tmp_path, variable):
    target = blocked_path(tmp_path)
    if variable == "zoho_heal_report_dir":
        target = target.parent
    before = work_to_do.db.checksum()
    result = work_to_do.run("heal.yml", extra={variable: str(target)})
    assert result.rc != 0, result
    assert "cannot record what it would do, so it does nothing" in result.stdout, result
    assert variable in result.stdout and "is not a directory" in result.stdout, result
    assert "Traceback" not in result.stdout + result.stderr
    assert work_to_do.db.checksum() == before


def test_check_mode_without_audit_of_check_runs_does_not_need_the_audit_log(work_to_do, tmp_path):
    before = work_to_do.db.checksum()
    result = work_to_do.run("heal.yml", "--check", extra={"zoho_heal_audit_log": str(blocked_path(tmp_path)),
                                                          "zoho_heal_audit_check_runs": False})
    assert result.rc == 0, result
    assert work_to_do.db.checksum() == before


@pytest.mark.parametrize("variable, value", [
    ("zoho_heal_batch_size", 0),
    ("zoho_heal_requeue_limit", -5),
    ("zoho_heal_dlq_limit", "lots"),
    ("zoho_heal_cleanup_limit", 10 ** 9),
    ("zoho_heal_max_attempts", 2.5),
])
def test_nonsense_limits_stop_the_run_before_anything(work_to_do, variable, value):
    before = work_to_do.db.checksum()
    result = work_to_do.run("heal.yml", extra={variable: value})
    assert result.rc != 0, result
    # a value of the wrong type is refused by the role's argument spec, a whole number out of
    # range by the limits check; either way before the lock, with the variable's name
    out = result.stdout
    assert ("Invalid heal limits: %s must be a whole number" % variable in out
            or ("CONFIG ERROR localhost: %s: %s is not a whole number" % (variable, repr(value))) in out), result
    # said once, as a configuration mistake, not as a failed task
    assert "CONFIG ERROR localhost:" in out and "FAILED" not in out, out
    assert out.count(variable) == 1, out
    assert "Traceback" not in result.stdout + result.stderr
    assert work_to_do.db.checksum() == before
    assert work_to_do.audit() == [], "a refused run took the lock and audited an action"


@pytest.mark.parametrize("variable, value, words", [
    ("zoho_heal_invoked_by", "cronjob", "zoho_heal_invoked_by must be one of cron, awx, manual, got cronjob"),
    ("zoho_heal_run_id", "a b; rm", "zoho_heal_run_id must be 1-32 letters"),
    ("zoho_heal_cleanup_targets", ["queue", "everything"], "zoho_heal_cleanup_targets must be a list of queue"),
])
def test_nonsense_settings_are_one_config_error_line(work_to_do, variable, value, words):
    before = work_to_do.db.checksum()
    result = work_to_do.run("heal.yml", extra={variable: value})
    assert result.rc != 0, result
    lines = [line for line in result.stdout.splitlines() if "CONFIG ERROR" in line]
    assert len(lines) == 1 and "Invalid heal settings: " + words in lines[0], result.stdout
    assert "FAILED" not in result.stdout and "Traceback" not in result.stdout + result.stderr
    assert work_to_do.db.checksum() == before
    assert work_to_do.audit() == []


def test_range_and_write_problem_filters(tmp_path):
    from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_heal import range_problems, write_problems
    assert range_problems({"a": 5, "b": "7"}, {"a": [1, 10], "b": [0, 7]}) == []
    assert range_problems({"a": True}, {"a": [0, 1]}) == ["a must be a whole number from 0 to 1, got True"]
    assert range_problems({}, {"a": [1, 2]}) == ["a must be a whole number from 1 to 2, got None"]
    free = tmp_path / "new" / "deeper"
    assert write_problems({"dir": str(free), "file": str(free / "audit.jsonl")}, dirs=["dir"]) == []
    blocked = blocked_path(tmp_path)
    problems = write_problems({"log": str(blocked)})
    assert len(problems) == 1 and problems[0].startswith("log: ") and "is not a directory" in problems[0]
    assert write_problems({"dir": str(tmp_path / "a-file")}, dirs=["dir"]) == [
        "dir: %s exists and is not a directory" % (tmp_path / "a-file")]
