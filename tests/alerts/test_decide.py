"""Unit tests of the alert state machine (plugins/filter/zoho_alert.py): pure functions."""

import json

import pytest

from ansible_collections.tsh.zoho_sync.plugins.filter import zoho_alert as za
from alerts.conftest import make_report

HOST, DB = "erp-prod-1", "tsh_erp"
NOW = "2026-03-02T10:15:00Z"


def decide(previous, report, **kw):
    kw.setdefault("webhook_enabled", True)
    kw.setdefault("github_enabled", True)
    return za.decide(previous, report, host=HOST, database=DB, now=NOW, **kw)


def delivered(decision, issue=None):
    """The state written after a fully successful delivery (issue number as GitHub returned it)."""
    created = {"json": {"number": issue}} if issue else {}
    plan = {"issue": issue} if issue else {}
    return json.loads(json.dumps(za.finalize(decision, plan, created)))


def critical(*checks):
    return make_report("critical", critical=checks or ("failed",), warning=("pending",))


def test_first_ok_run_sends_nothing_and_writes_nothing():
    d = decide({}, make_report("ok"))
    assert not d["changed"] and not d["send_webhook"] and not d["github_needed"]
    assert not (d["open_issue"] or d["comment_issue"] or d["close_issue"])
    assert "nothing to send" in d["summary"]


def test_ok_to_warning_is_webhook_only():
    d = decide({}, make_report("warning", warning=("pending",)))
    assert d["changed"] and d["send_webhook"] and d["webhook_kind"] == "alert"
    assert not d["github_needed"] and d["fingerprint"] is None
    assert d["new_state"]["level"] == "warning" and d["new_state"]["github"]["incident"] is None
    payload = d["webhook_payload"]
    assert "WARNING" in payload["text"] and payload["blocks"] and payload["attachments"][0]["color"]
    assert any("`pending`" in b.get("text", {}).get("text", "") for b in payload["blocks"])


def test_ok_to_critical_opens_an_issue_with_a_stable_fingerprint():
    d = decide({}, critical("failed", "stuck_locks"))
    fp = za.fingerprint(HOST, DB, ["stuck_locks", "failed"])
    assert d["send_webhook"] and d["open_issue"] and not d["comment_issue"] and not d["close_issue"]
    assert d["fingerprint"] == fp == d["new_state"]["fingerprint"]
    create = d["github"]["create"]
    assert create["labels"] == ["zoho-sync-alert", "zoho-incident-" + fp]
    assert create["body"].startswith("<!-- zoho-sync-alert fingerprint=%s -->" % fp)
    assert "failed, stuck_locks" in create["title"] and HOST in create["title"]
    assert "| critical | failed | invoice | 42 | 5 | 10 |" in create["body"]
    assert "`ansible-playbook heal.yml --check --diff`" in create["body"]
    # stable: same inputs on another run give the same decision
    assert decide({}, critical("stuck_locks", "failed"))["fingerprint"] == fp


def test_repeating_the_same_state_sends_nothing():
    first = decide({}, critical())
    state = delivered(first, issue=7)
    again = decide(state, critical())
    assert not again["changed"] and not again["send_webhook"] and not again["github_needed"]
    assert again["new_state"] == state
    warning_state = delivered(decide(state, make_report("warning", warning=("pending",))), issue=7)
    assert not decide(warning_state, make_report("warning", warning=("pending", "sync_delay")))["changed"]


def test_critical_to_warning_comments_and_keeps_the_issue_open():
    state = delivered(decide({}, critical()), issue=7)
    d = decide(state, make_report("warning", warning=("pending",)))
    assert d["send_webhook"] and d["webhook_kind"] == "improved"
    assert d["comment_issue"] and not d["open_issue"] and not d["close_issue"]
    assert "critical -> warning" in d["github"]["comment"]
    incident = d["new_state"]["github"]["incident"]
    assert incident["issue"] == 7 and incident["level"] == "warning"


def test_warning_back_to_critical_comments_on_the_same_incident():
    state = delivered(decide({}, critical()), issue=7)
    state = delivered(decide(state, make_report("warning", warning=("pending",))), issue=7)
    d = decide(state, critical())
    assert d["send_webhook"] and d["comment_issue"] and not d["open_issue"]
    plan = za.github_plan(d, [{"number": 7, "state": "open", "labels": [{"name": "zoho-incident-" + d["fingerprint"]}]}])
    assert plan["create"] is None and plan["comments"][0]["issue"] == 7
    # the issue was closed by hand meanwhile: a new one is opened
    plan = za.github_plan(d, [])
    assert plan["create"] is not None and plan["notes"]


def test_recovery_resolves_comments_and_closes():
    state = delivered(decide({}, critical()), issue=7)
    d = decide(state, make_report("ok"))
    assert d["send_webhook"] and d["webhook_kind"] == "resolved"
    assert "RESOLVED" in d["webhook_payload"]["text"]
    assert d["comment_issue"] and d["close_issue"] and not d["open_issue"]
    assert d["new_state"]["github"]["incident"] is None and d["new_state"]["level"] == "ok"
    issues = [{"number": 7, "state": "open", "labels": [{"name": "zoho-incident-" + d["fingerprint"]}]}]
    plan = za.github_plan(d, issues)
    assert plan["comments"] == [{"issue": 7, "body": d["github"]["comment"]}] and plan["close"] == [7]
    assert not decide(delivered(d), make_report("ok"))["changed"]


def test_a_different_set_of_critical_checks_is_a_new_incident():
    state = delivered(decide({}, critical("failed")), issue=7)
    d = decide(state, critical("failed", "stuck_locks"))
    assert d["fingerprint"] != state["fingerprint"]
    assert d["send_webhook"] and d["webhook_kind"] == "changed"
    assert d["open_issue"] and d["close_issue"]
    assert d["github"]["supersede"]["fingerprint"] == state["fingerprint"]
    assert d["fingerprint_changed"] and "new set of critical checks" in d["summary"]
    issues = [{"number": 7, "state": "open", "labels": [{"name": "zoho-incident-" + state["fingerprint"]}]}]
    plan = za.github_plan(d, issues)
    assert plan["create"] and plan["close"] == [7]
    comment = plan["comments"][0]
    assert comment["issue"] == 7 and "#12" in za.resolve_comment(comment["body"], {"json": {"number": 12}})
    assert delivered(d, issue=12)["github"]["incident"]["issue"] == 12


def test_fingerprint_depends_on_host_database_and_check_set_only():
    fp = za.fingerprint(HOST, DB, ["a", "b"])
    assert fp == za.fingerprint(HOST, DB, ["b", "a", "a"])
    assert len({fp, za.fingerprint("other", DB, ["a", "b"]), za.fingerprint(HOST, "other", ["a", "b"]),
                za.fingerprint(HOST, DB, ["a"])}) == 4
    # values, entities and messages do not change the incident
    r1, r2 = critical("failed"), critical("failed")
    r2["findings"][0].update(value=999, entity="bill", message="other")
    assert decide({}, r1)["fingerprint"] == decide({}, r2)["fingerprint"]


def test_webhook_state_only_advances_the_webhook_channel():
    d = decide({}, critical())
    partial = json.loads(json.dumps(d["webhook_state"]))
    assert partial["webhook"]["level"] == "critical" and partial["level"] == "ok"
    assert partial["github"]["incident"] is None
    retry = decide(partial, critical())
    assert not retry["send_webhook"] and retry["open_issue"] and retry["changed"]


def test_disabled_channels():
    d = decide({}, critical(), webhook_enabled=False, github_enabled=False)
    assert d["changed"] and not d["send_webhook"] and not d["github_needed"]
    assert d["new_state"]["level"] == "critical" and d["new_state"]["github"]["incident"] is None
    # GitHub switched on while still critical: the incident issue is opened then
    later = decide(delivered(d), critical(), webhook_enabled=False, github_enabled=True)
    assert later["open_issue"] and not later["send_webhook"]
    assert not later["fingerprint_changed"] and "new set" not in later["summary"]


def test_unknown_level_is_webhook_only_unless_configured():
    report = make_report("unknown", unknown=("pending",))
    d = decide({}, report)
    assert d["send_webhook"] and not d["github_needed"]
    d = decide({}, report, issue_levels=["critical", "unknown"])
    assert d["open_issue"] and d["fingerprint"] == za.fingerprint(HOST, DB, ["pending"])


def test_plan_reuses_an_open_issue_found_by_label_or_marker():
    d = decide({}, critical())
    fp = d["fingerprint"]
    by_label = [{"number": 3, "state": "open", "labels": [{"name": "zoho-incident-" + fp}]}]
    by_marker = [{"number": 4, "state": "open", "labels": [], "body": za.marker(fp) + "\nbody"}]
    ignored = [{"number": 5, "state": "open", "labels": [{"name": "zoho-incident-" + fp}], "pull_request": {}},
               {"number": 6, "state": "open", "labels": [{"name": "zoho-incident-000000000000"}]}]
    for issues, number in ((by_label, 3), (by_marker, 4)):
        plan = za.github_plan(d, issues + ignored)
        assert plan["create"] is None and plan["comments"][0]["issue"] == number and plan["issue"] == number
    assert za.github_plan(d, ignored)["create"] is not None


def test_closing_an_issue_that_is_gone_is_a_note_not_an_error():
    state = delivered(decide({}, critical()), issue=7)
    plan = za.github_plan(decide(state, make_report("ok")), [])
    assert plan == {"create": None, "comments": [], "close": [], "issue": None, "notes": plan["notes"]}
    assert "no open issue" in plan["notes"][0]


@pytest.mark.parametrize("report, message", [
    ("not a dict", "must be the health JSON report"),
    ({"overall": "bad"}, "overall must be one of ok, warning, unknown, critical, got 'bad'"),
    ({"overall": "ok", "findings": {}}, "findings must be a list"),
    ({"overall": "ok", "findings": [{"check": "x", "severity": "fatal"}]}, "findings[0].severity"),
])
def test_bad_reports_are_refused_with_one_clear_message(report, message):
    assert any(message in p for p in za.check_inputs(report))
    with pytest.raises(Exception) as err:
        decide({}, report)
    assert message in str(err.value)


def test_input_problems_never_echo_secrets():
    problems = za.check_inputs(make_report("ok"), webhook_url="hooks.example/SECRETPATH", github_repo="tsh/erp",
                               github_token="", github_api_url="https://api.github.com")
    assert len(problems) == 2 and "ZOHO_ALERT_GITHUB_TOKEN" in problems[1]
    assert not any("SECRETPATH" in p for p in problems)
    assert za.check_inputs(make_report("ok"), webhook_url="https://hooks.slack.com/services/X", github_repo="a/b",
                           github_token="t0ken", github_api_url="https://api.github.com") == []
    assert "owner/name" in za.check_inputs(make_report("ok"), github_repo="nope", github_token="t",
                                           github_api_url="https://x")[0]


def test_load_state():
    assert za.load_state("") == {} and za.load_state(None) == {}
    assert za.load_state('{"level": "warning"}') == {"level": "warning"}
    broken = za.load_state('{"level": ')
    assert "not valid JSON" in broken["_invalid"]
    d = decide(broken, make_report("warning", warning=("pending",)))
    assert d["state_warning"] and d["send_webhook"]


def test_failure_message_is_clear_and_redacted():
    token, hook = "ghp_topsecret123", "https://hooks.slack.com/services/T1/B2/SeCrEtPaTh"
    unreachable = {"failed": True, "status": -1, "url": hook,
                   "msg": "Status code was -1 and not [200, 201]: Request failed: <urlopen error [Errno 111] "
                          "Connection refused> for %s" % hook}
    msg = za.failure_message(unreachable, task="Post the alert to the webhook", secrets=[token, hook])
    assert "Alert delivery failed at 'Post the alert to the webhook' (https://hooks.slack.com)" in msg
    assert "Connection refused" in msg and "next run retries" in msg
    assert "SeCrEtPaTh" not in msg and "/services/T1" not in msg
    loop = {"failed": True, "results": [
        {"failed": False, "status": 201},
        {"failed": True, "status": 401, "url": "https://api.github.com/repos/a/b/issues/3/comments",
         "json": {"message": "Bad credentials"}, "msg": "Status code was 401 and not [201]: %s" % token}]}
    msg = za.failure_message(loop, task="Comment on the incident issues", secrets=[token, hook], expected=[201])
    assert za.delivery_error(loop, "x", [token], [201]) == za.failure_message(loop, "x", [token], [201])
    assert za.delivery_error({"results": [{"status": 201}]}, "x", [], [201]) == ""
    assert za.delivery_error({"skipped": True}, "x", [], [201]) == ""
    assert "HTTP 401 (Bad credentials)" in msg and "zoho_alert_github_token" in msg and token not in msg


def test_long_reports_are_truncated_for_slack():
    report = make_report("critical", critical=["check_%03d" % i for i in range(80)])
    d = decide({}, report, max_findings=10)
    blocks = d["webhook_payload"]["blocks"]
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks) and len(blocks) <= 50
    assert "and 70 more finding(s)" in blocks[-1]["text"]["text"]
