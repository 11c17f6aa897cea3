"""The zoho_alert role through the real ansible-playbook (-i inventory/demo, -v) against a
real local HTTP server standing in for the webhook and the GitHub REST API."""

from alerts.conftest import DATABASE, HOST, WEBHOOK_PATH, WEBHOOK_SECRET, free_port, make_report
from ansible_collections.tsh.zoho_sync.plugins.filter.zoho_alert import fingerprint


def ok(result):
    assert result.rc == 0, result
    return result


def incident_label(*checks):
    return "zoho-incident-" + fingerprint(HOST, DATABASE, checks)


def test_state_changes_alert_once_and_recovery_closes_the_issue(bench):
    svc = bench.services

    # No state yet and all is well: nothing is sent, nothing is written.
    ok(bench.run(make_report("ok")))
    assert svc.requests == [] and bench.state() is None

    # ok -> critical: exactly one webhook and exactly one GitHub issue.
    ok(bench.run(make_report("critical", critical=["failed"], warning=["pending"])))
    hooks = svc.webhooks()
    assert len(hooks) == 1 and len(svc.issue_creations()) == 1
    payload = hooks[0].json
    assert payload["text"].startswith(":red_circle: CRITICAL: TSH Zoho sync on localhost")
    assert payload["blocks"][0]["type"] == "header" and payload["attachments"][0]["color"] == "#e01e5a"
    assert any("`failed` (invoice)" in b["text"]["text"] for b in payload["blocks"] if "text" in b)
    [issue] = svc.open_issues()
    label = incident_label("failed")
    assert {lab["name"] for lab in issue["labels"]} == {"zoho-sync-alert", label}
    assert "<!-- zoho-sync-alert fingerprint=%s -->" % label.rsplit("-", 1)[1] in issue["body"]
    lookup = svc.github_calls("GET")[0]
    assert lookup["query"]["labels"] == ["zoho-sync-alert"] and lookup["query"]["state"] == ["open"]
    for call in svc.github_calls():
        assert call["headers"]["authorization"] == "Bearer " + svc.token
        assert call["headers"]["accept"] == "application/vnd.github+json"
    state = bench.state()
    assert state["level"] == "critical" and state["github"]["incident"]["issue"] == issue["number"]
    assert state["github"]["incident"]["fingerprint"] == label.rsplit("-", 1)[1]
    assert state["host"] == HOST and state["database"] == DATABASE
    assert oct(bench.state_file.stat().st_mode & 0o777) == "0o600"
    assert "hooks" not in bench.state_file.read_text()
    assert [p.name for p in bench.state_dir.iterdir()] == ["localhost.json"]  # no temporary file left

    # The same state again (other values, same critical checks): nothing at all is sent.
    before = bench.state_bytes()
    ok(bench.run(make_report("critical", critical=["failed"], warning=["pending", "sync_delay"])))
    assert svc.requests == [] and bench.state_bytes() == before

    # critical -> warning: one webhook and a comment on the same issue, which stays open.
    ok(bench.run(make_report("warning", warning=["pending"])))
    assert len(svc.webhooks()) == 1 and "WARNING" in svc.webhooks()[0].json["text"]
    assert svc.issue_creations() == [] and svc.closes() == []
    [comment] = svc.comment_posts()
    assert comment["path"].endswith("/issues/%d/comments" % issue["number"])
    assert "critical -> warning" in comment["body"]["body"]
    assert issue["state"] == "open" and bench.state()["level"] == "warning"

    # Recovery: a resolved webhook, a comment, and the issue is closed.
    ok(bench.run(make_report("ok")))
    [hook] = svc.webhooks()
    assert hook.json["text"].startswith(":white_check_mark: RESOLVED") and "(was warning)" in hook.json["text"]
    [comment] = svc.comment_posts()
    assert "Resolved" in comment["body"]["body"]
    assert len(svc.closes()) == 1 and issue["state"] == "closed" and svc.open_issues() == []
    state = bench.state()
    assert state["level"] == "ok" and state["github"]["incident"] is None
    assert len(svc.issues) == 1  # one incident, one issue, over the whole episode

    bench.assert_no_secrets()
    assert sum(r.output.count("msg: 'Alert state unchanged") for r in bench.results) == 2


def test_a_different_set_of_critical_checks_is_a_new_incident(bench):
    svc = bench.services
    ok(bench.run(make_report("critical", critical=["failed"])))
    [first] = svc.open_issues()

    ok(bench.run(make_report("critical", critical=["failed", "stuck_locks"])))
    assert len(svc.webhooks()) == 1
    [created] = svc.issue_creations()
    [second] = svc.open_issues()
    assert second["number"] != first["number"] and first["state"] == "closed"
    assert incident_label("failed", "stuck_locks") in {lab["name"] for lab in second["labels"]}
    assert incident_label("failed") in {lab["name"] for lab in first["labels"]}
    [superseded] = svc.comment_posts()
    assert superseded["path"].endswith("/issues/%d/comments" % first["number"])
    assert "continues in #%d" % second["number"] in superseded["body"]["body"]
    assert bench.state()["github"]["incident"]["issue"] == second["number"]
    bench.assert_no_secrets()


def test_an_open_issue_of_the_incident_is_found_by_its_label(bench):
    """State lost (new control node): the open issue is found on GitHub and commented on."""
    svc = bench.services
    svc._create({"title": "existing", "body": "opened earlier", "labels": ["zoho-sync-alert", incident_label("failed")]})
    ok(bench.run(make_report("critical", critical=["failed"]), overrides={"zoho_alert_webhook_url": ""}))
    assert svc.issue_creations() == [] and svc.webhooks() == []
    [comment] = svc.comment_posts()
    assert comment["path"].endswith("/issues/1/comments")
    assert bench.state()["github"]["incident"]["issue"] == 1


def test_unreachable_webhook_fails_clearly_and_the_next_run_retries(bench):
    svc = bench.services
    ok(bench.run(make_report("warning", warning=["pending"])))
    assert len(svc.webhooks()) == 1
    before = bench.state_bytes()

    dead_url = "http://127.0.0.1:%d%s" % (free_port(), WEBHOOK_PATH)
    failed = bench.run(make_report("critical", critical=["failed"]), overrides={"zoho_alert_webhook_url": dead_url})
    assert failed.rc != 0
    assert "Alert delivery failed at 'Post the alert to the webhook' (http://127.0.0.1:" in failed.output
    assert "Connection refused" in failed.output and "next run retries" in failed.output
    assert "Traceback" not in failed.output and "Status code was" not in failed.output  # only our message
    assert WEBHOOK_SECRET not in failed.output
    assert bench.state_bytes() == before  # untouched
    assert svc.requests == []  # nothing reached GitHub either

    ok(bench.run(make_report("critical", critical=["failed"])))
    assert len(svc.webhooks()) == 1 and len(svc.issue_creations()) == 1
    assert bench.state()["level"] == "critical"
    bench.assert_no_secrets()


def test_github_failure_keeps_the_webhook_delivery_and_retries_github(bench):
    svc = bench.services
    svc.fail_next("POST", "/api/v3/repos/%s/issues" % svc.repo, status=502, message="Bad Gateway")
    failed = bench.run(make_report("critical", critical=["failed"]))
    assert failed.rc != 0
    assert "Alert delivery failed at 'Open the incident issue'" in failed.output
    assert "HTTP 502 (Bad Gateway)" in failed.output
    assert len(svc.webhooks()) == 1 and svc.open_issues() == []
    state = bench.state()
    assert state["webhook"]["level"] == "critical" and state["level"] == "ok"
    assert state["github"]["incident"] is None

    ok(bench.run(make_report("critical", critical=["failed"])))
    assert svc.webhooks() == []  # already delivered: not repeated
    assert len(svc.issue_creations()) == 1 and len(svc.open_issues()) == 1
    assert bench.state()["level"] == "critical"

    # a wrong token: clear message, the token is not shown
    wrong = "ghp_wrongtoken" + "0" * 20
    failed = bench.run(make_report("ok"), overrides={"zoho_alert_github_token": wrong})
    assert failed.rc != 0 and "HTTP 401 (Bad credentials)" in failed.output
    assert "zoho_alert_github_token" in failed.output and wrong not in failed.output
    assert bench.state()["level"] == "critical"
    bench.assert_no_secrets()


def test_check_mode_and_bad_input_send_and_write_nothing(bench):
    svc = bench.services
    result = ok(bench.run(make_report("critical", critical=["failed"]), "--check"))
    assert "check mode: nothing sent, state not written" in result.output
    assert svc.requests == [] and bench.state() is None

    result = bench.run({"overall": "fatal", "findings": []})
    assert result.rc != 0 and "Traceback" not in result.output
    assert "zoho_alert_report.overall must be one of ok, warning, unknown, critical, got 'fatal'" in result.output
    assert svc.requests == [] and bench.state() is None
    bench.assert_no_secrets()
