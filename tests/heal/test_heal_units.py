"""The pieces of the heal without a playbook: the business-hours guard, the decision tree
and the audit writer."""

import json
import os
import threading

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_heal import business_hours, heal_plan
from helpers.modules import run_action
from heal.support import SyslogSink

WEEK = {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "18:00", "timezone": "Asia/Baghdad"}


@pytest.mark.parametrize("now, inside", [
    ("2026-03-02T05:30:00Z", True),    # Monday 08:30 in Baghdad (UTC+3)
    ("2026-03-02T04:59:00Z", False),   # Monday 07:59 there
    ("2026-03-02T15:00:00Z", False),   # Monday 18:00 there: the end is exclusive
    ("2026-03-07T09:00:00Z", False),   # Saturday
    ("2026-03-06T14:59:59Z", True),    # Friday 17:59
])
def test_business_hours_are_time_zone_aware(now, inside):
    assert business_hours(WEEK, now)["inside"] is inside


def test_daylight_saving_and_overnight_windows():
    berlin = {"days": ["mon"], "start": "09:00", "end": "10:00", "timezone": "Europe/Berlin"}
    assert business_hours(berlin, "2026-01-05T08:30:00Z")["inside"]      # winter, UTC+1
    assert not business_hours(berlin, "2026-07-06T08:30:00Z")["inside"]  # summer, UTC+2: 10:30
    assert business_hours(berlin, "2026-07-06T07:30:00Z")["inside"]
    night = {"days": ["fri"], "start": "22:00", "end": "06:00", "timezone": "UTC"}
    assert business_hours(night, "2026-03-06T23:00:00Z")["inside"]       # Friday night
    assert business_hours(night, "2026-03-07T05:59:00Z")["inside"]       # Saturday morning, same shift
    assert not business_hours(night, "2026-03-07T23:00:00Z")["inside"]
    assert not business_hours(dict(WEEK, days=[]), "2026-03-02T05:30:00Z")["inside"]
    assert business_hours(dict(WEEK, start="00:00", end="24:00"), "2026-03-02T21:00:00Z")["inside"]


@pytest.mark.parametrize("spec, message", [
    (dict(WEEK, timezone="Nowhere/City"), "unknown time zone"),
    (dict(WEEK, timezone="../../etc/passwd"), "unknown time zone"),
    (dict(WEEK, start="8am"), "must be a time HH:MM"),
    (dict(WEEK, end="24:30"), "24:00 is the latest"),
    (dict(WEEK, days=["funday"]), "unknown day"),
    (dict(WEEK, days="mon"), "must be a list"),
    (dict(WEEK, start="09:00", end="09:00"), "start and end are both"),
    (dict(WEEK, lunch="12:00"), "unknown key"),
    ("weekdays", "must be a dictionary"),
])
def test_bad_business_hours_fail_clearly(spec, message):
    with pytest.raises(AnsibleFilterError, match=message):
        business_hours(spec, "2026-03-02T05:30:00Z")


def facts(**over):
    base = {"status_counts": {"pending": 0, "processing": 0, "completed": 0, "failed": 0, "retry": 0,
                              "dead_letter": 0},
            "live_total": 0, "retry": {"due": 0, "overdue": 0, "exhausted": 0},
            "stuck_locks": {"count": 0}, "dead_letter": {"unrecorded": 0, "unresolved": 0},
            "workers": {"active_leases": 0, "seconds_since_last_lease": 60}, "throughput": {"completed_last_hour": 0}}
    for key, value in over.items():
        if isinstance(value, dict):
            base[key] = dict(base[key], **value)
        else:
            base[key] = value
    return base


def test_the_decision_tree():
    calm = heal_plan(facts(), {}, {})
    assert not any(calm[k] for k in ("restart", "requeue_failed", "clear_stuck", "move_exhausted"))
    busy = heal_plan(facts(status_counts={"failed": 2}, stuck_locks={"count": 1}, retry={"exhausted": 1}),
                     {"manager": "systemd", "overall": "running"}, {})
    assert busy["requeue_failed"] and busy["clear_stuck"] and busy["move_exhausted"]
    # stuck leases, no live lease, nothing completed: the workers are stuck
    assert busy["workers_stuck"] and busy["restart"]
    down = heal_plan(facts(), {"manager": "docker", "overall": "stopped", "reason": "blue is exited"}, {})
    assert down["service_down"] and down["restart_reasons"] == ["service down: blue is exited"]
    idle = heal_plan(facts(status_counts={"pending": 5}, workers={"seconds_since_last_lease": 3600}),
                     {}, {"worker_inactivity_minutes": 30})
    assert idle["workers_stuck"] and "no lease taken for 60 min" in idle["workers_stuck_reasons"][0]
    working = heal_plan(facts(status_counts={"pending": 5}, workers={"seconds_since_last_lease": 30}), {}, {})
    assert not working["workers_stuck"]
    unrecorded = heal_plan(facts(dead_letter={"unrecorded": 3}), {}, {})
    assert unrecorded["move_exhausted"] and not unrecorded["restart"]
    with pytest.raises(AnsibleFilterError):
        heal_plan({}, {}, {})


def audit(tmp_path, record, check=False, **args):
    params = dict(path=str(tmp_path / "audit" / "audit.jsonl"), record=record)
    params.update(args)
    return run_action("tsh.zoho_sync.zoho_audit", params, check=check)


def test_audit_appends_redacts_and_sends_to_syslog(tmp_path):
    sink = SyslogSink(tmp_path)
    try:
        first = audit(tmp_path, {"run_id": "r1", "action": "requeue_failed", "ids": ["a", "b"],
                                 "target": {"database": "tsh_erp", "login_password": "hunter2"},
                                 "headers": {"Authorization": "token xyz"}},
                      syslog_socket=sink.path)
        assert first["_rc"] == 0 and first["syslog_sent"], first
        path = tmp_path / "audit" / "audit.jsonl"
        assert oct(os.stat(str(path)).st_mode & 0o777) == "0o600"
        assert oct(os.stat(str(path.parent)).st_mode & 0o777) == "0o700"
        record = json.loads(path.read_text().splitlines()[0])
        assert record["target"]["login_password"] == "********"
        assert record["headers"]["Authorization"] == "********"
        assert record["user"] and record["ts"] and record["ids"] == ["a", "b"]
        text = path.read_text()
        assert "hunter2" not in text and "xyz" not in text
        for _ in range(20):
            if sink.messages:
                break
            threading.Event().wait(0.1)
        assert sink.messages and "tsh-zoho-sync[" in sink.messages[0] and '"ids_count": 2' in sink.messages[0]
        assert "hunter2" not in sink.messages[0]
        # no syslog socket: a warning, the file still gets the record
        second = audit(tmp_path, {"run_id": "r2"}, syslog_socket=str(tmp_path / "nosock"))
        assert second["_rc"] == 0 and second["syslog_sent"] is False
        assert len(path.read_text().splitlines()) == 2
    finally:
        sink.close()


def test_audit_check_mode_writes_nothing(tmp_path):
    result = run_action("tsh.zoho_sync.zoho_audit", dict(path=str(tmp_path / "a.jsonl"), record={"run_id": "r"}),
                        check=True)
    assert result["_rc"] == 0 and not os.path.exists(str(tmp_path / "a.jsonl"))


def test_audit_refuses_a_facility_outside_its_choices(tmp_path):
    result = run_action("tsh.zoho_sync.zoho_audit", dict(path=str(tmp_path / "a.jsonl"), record={"run_id": "r"},
                                                         facility="kern"))
    assert result["_rc"] != 0 and "facility" in result["msg"] and "local0" in result["msg"]
    assert not os.path.exists(str(tmp_path / "a.jsonl"))


def test_the_heal_guide_states_each_action_as_declared():
    """docs/heal.md lists each action's condition and change in the words its declaration
    gives the audit records: the guide cannot drift from what the code does."""
    from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_actions as ha
    from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import QueueSchema
    with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                           "docs", "heal.md")) as fh:
        guide = fh.read()
    schema = QueueSchema()
    for action in [ha.CLEAR_STUCK, ha.REQUEUE_FAILED, ha.MOVE_EXHAUSTED, ha.RECONCILE, ha.RESET_STRANDED,
                   ha.REDRIVE] + list(ha.CLEANUP.values()):
        row = "| `%s` | %s | %s |" % (action.name, action.condition_words(), action.change_words(schema))
        assert row in guide, row
