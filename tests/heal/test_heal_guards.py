"""The guards of destructive actions, through heal.yml: the business hours (both ways,
and force), the confirmation, check mode. The service is Docker Compose (blue/green)
controlled through a `docker` shim first on PATH that records its arguments: the
collection's real restart code runs, only the external docker daemon is faked."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from heal.support import action

TZ = "Asia/Baghdad"
ONLY_SERVICE = {  # nothing but the service part of the decision tree
    "zoho_heal_requeue_failed": False, "zoho_heal_clear_stuck": False, "zoho_heal_move_exhausted": False,
    "zoho_heal_cleanup": False,
}


def hours_covering_now():
    return {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00",
            "timezone": TZ}


def hours_not_covering_now():
    """Every day, a one-hour window starting two hours from now (local time)."""
    now = datetime.datetime.now(ZoneInfo(TZ))
    start, end = now + datetime.timedelta(hours=2), now + datetime.timedelta(hours=3)
    return {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": start.strftime("%H:%M"),
            "end": end.strftime("%H:%M"), "timezone": TZ}


@pytest.fixture
def stopped(fresh_runner, fake_docker):
    """A stopped blue/green service with work waiting."""
    fresh_runner.db.add(status="pending", age="2 hours")
    fresh_runner.extra_env = fake_docker.env()
    return fresh_runner


def heal(runner, docker, hours, *args, **extra):
    variables = dict(ONLY_SERVICE, zoho_heal_business_hours=hours, **docker.extra())
    variables.update(extra)
    return runner.run("heal.yml", *args, extra=variables)


def test_outside_business_hours_the_stopped_service_is_restarted(stopped, fake_docker):
    result = heal(stopped, fake_docker, hours_not_covering_now(), zoho_heal_confirm=True)
    assert result.rc == 0, result
    assert sorted(c[-1] for c in fake_docker.restarts()) == ["tsh_erp_app_blue", "tsh_erp_app_green"]
    assert fake_docker.state("tsh_erp_app_blue") == "running"
    report = stopped.last_report()
    restart = action(report, "restart")
    assert restart["status"] == "done" and "service down" in restart["reason"]
    assert report["service_after"]["overall"] == "running"
    assert [r for r in stopped.audit() if r["action"] == "restart"][0]["ids"] == ["tsh_erp_app_blue",
                                                                                   "tsh_erp_app_green"]


def test_inside_business_hours_no_restart(stopped, fake_docker):
    """(zoho_heal_force inside business hours: test_emergency_restarts_and_measures_the_recovery)"""
    result = heal(stopped, fake_docker, hours_covering_now(), zoho_heal_confirm=True)
    assert result.rc == 0, result
    assert fake_docker.restarts() == []
    restart = action(stopped.last_report(), "restart")
    assert restart["status"] == "blocked" and "inside business hours" in restart["reason"]
    assert "zoho_heal_force=true" in result.stdout


def test_check_mode_restarts_nothing(stopped, fake_docker):
    """(the confirmation guard both ways: test_heal_playbook's cleanup, blocked then done)"""
    preview = heal(stopped, fake_docker, hours_not_covering_now(), "--check", "--diff", zoho_heal_confirm=True)
    assert preview.rc == 0, preview
    assert fake_docker.restarts() == []  # check mode: docker restarts are skipped
    assert action(stopped.last_report(), "restart")["status"] == "would"
    assert fake_docker.state("tsh_erp_app_blue") == "exited"
    # read once: a preview changes nothing, so there is no state "after" to read again
    assert [c[0] for c in fake_docker.calls()] == ["inspect", "inspect", "logs", "logs"]


def test_malformed_business_hours_fail_clearly_and_do_nothing(fresh_runner):
    before = fresh_runner.db.checksum()
    result = fresh_runner.run("heal.yml", extra={"zoho_heal_business_hours": {
        "days": ["mon"], "start": "18:00", "end": "08:00", "timezone": "Mars/Olympus_Mons"}})
    assert result.rc != 0
    assert "unknown time zone 'Mars/Olympus_Mons'" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert fresh_runner.db.checksum() == before
    assert fresh_runner.audit() == []
