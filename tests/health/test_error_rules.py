"""The operator's error rules through the real playbook: a custom rule changes the class
(and so the diagnosis); a malformed one stops the run with one clear message and writes
nothing."""

from health.conftest import HOST_THRESHOLDS, run_health


def test_a_custom_rule_classifies_an_unknown_error(module_db, tmp_path):
    db = module_db()
    for i in range(12):
        db.add(status="retry", entity="invoice", attempts=1, age="10 minutes", next_retry="1 hour",
               error="Tax group %d is not configured in Zoho" % i)
    base = {"zoho_health_thresholds": HOST_THRESHOLDS, "zoho_health_color": "never"}
    plain = run_health(tmp_path / "plain", db, extra_vars=base)
    assert plain.report["diagnoses"][0]["id"] == "failures_unclassified", plain.report["diagnoses"]
    ruled = run_health(tmp_path / "ruled", db, extra_vars=dict(base, zoho_health_error_rules=[
        {"class": "zoho_validation", "message": "Tax group .* is not configured", "name": "tax setup"}]))
    ids = [d["id"] for d in ruled.report["diagnoses"]]
    assert ids[0] == "payload_rejected" and "failures_unclassified" not in ids, ids
    pattern = ruled.report["facts"]["zoho_queue"]["error_patterns"][0]
    assert pattern["class"] == "zoho_validation" and pattern["rules"] == ["tax setup"]


def test_a_malformed_rule_stops_the_run_with_one_message(tmp_path):
    run = run_health(tmp_path, env={"PGPORT": "1"}, extra_vars={"zoho_health_error_rules": [
        {"clas": "internal", "message": "x"}, {"class": "internal", "message": "(unclosed"}]})
    assert run.rc != 0
    errors = [line for line in run.output.splitlines() if "Invalid error rules:" in line]
    assert errors, run
    assert "unknown key 'clas' (did you mean 'class'?)" in errors[0]
    assert "zoho_health_error_rules[1].message is not a valid regular expression" in errors[0]
    assert "Traceback" not in run.output
    assert run.files() == []
