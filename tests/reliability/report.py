"""Turn the results of a ``make chaos`` run into the table of docs/reliability.md.

    python -m tests.reliability.report RESULTS.json [MORE.json ...] JUNIT.xml docs/reliability.md

The table sits between the markers ``<!-- chaos-table:start -->`` and
``<!-- chaos-table:end -->`` of the document; the rest of the document is left alone."""

import json
import os
import platform
import sys
import xml.etree.ElementTree as ET

START = "<!-- chaos-table:start -->"
END = "<!-- chaos-table:end -->"
COMMAND = "make chaos  # = ZOHO_CHAOS=1 ZOHO_CHAOS_SEED=%s pytest tests/reliability"


def junit_counts(path):
    if not path or not os.path.exists(path):
        return None
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    out = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for suite in suites:
        for key in ("tests", "failures", "errors", "skipped"):
            out[key] += int(suite.get(key, 0))
        out["time"] += float(suite.get("time", 0))
    return out


def g(section, key, default=0):
    value = section.get(key, default)
    return default if value is None else value


def table(results, junit):
    s = results["sections"]
    race = s.get("live_race", {})
    kill = s.get("killed_heal", {})
    faults = s.get("db_faults", {})
    conc = s.get("concurrent_heal", {})
    check = s.get("check_mode", {})
    truth = s.get("truthful_health", {})
    hostile = s.get("hostile", {})
    lp = s.get("least_privilege", {})
    sec = s.get("secrets", {})
    rows = [
        ("Live race (4 workers, 20 % failures, heal looping)",
         "%s round(s); %s items (%s with the suite's workers, %s with testbed/worker.py), %s processed "
         "(%s claims); heal: %s module runs + %s heal.yml runs" % (
             g(race, "rounds"), g(race, "items"), g(race, "sim_worker_items"), g(race, "project_worker_items"),
             g(race, "items_processed"), g(race, "claims"), g(race, "heal_module_runs"),
             g(race, "heal_playbook_runs")),
         "%s failures + %s crashes" % (g(race, "failures_injected"), g(race, "crashes_injected")),
         g(race, "invariant_violations") + g(race, "deadlocks")),
        ("Killed heal.yml (SIGKILL of the whole process tree)",
         "%s round(s), %s kills (%s inside an action, %s with the module killed in flight), %s rows, "
         "%s rows cleaned (all in backups)" % (
             g(kill, "rounds"), g(kill, "kills"), g(kill, "kills_mid_action"), g(kill, "modules_killed_in_flight"),
             g(kill, "rows"), g(kill, "rows_cleaned_with_backup")),
         "%s kills" % g(kill, "kills"), g(kill, "invariant_violations")),
        ("Database faults (restart, terminate, statement/lock timeout, unwritable reports)",
         "%s later run(s) finished the work" % g(faults, "later_runs_finished"),
         "%s faults" % g(faults, "faults_injected"), g(faults, "invariant_violations")),
        ("Two heals at once",
         "%s module pairs (%s rows acted on), %s heal.yml pairs" % (
             g(conc, "module_pairs"), g(conc, "rows_acted"), g(conc, "playbook_pairs")),
         "%s races" % (g(conc, "module_pairs") + g(conc, "playbook_pairs")), g(conc, "invariant_violations")),
        ("Check mode writes nothing (pg_stat counters)",
         "%s module runs + %s heal.yml --check --diff" % (g(check, "module_runs_measured"),
                                                          g(check, "playbook_runs_measured")),
         "-", g(check, "counter_writes")),
        ("Truthful health (module + latest.json)",
         "false oks: %s" % (g(truth, "module_false_oks") + g(truth, "report_false_oks")),
         "%s faults (%s module, %s report)" % (g(truth, "module_faults_injected") + g(truth, "report_faults_injected"),
                                               g(truth, "module_faults_injected"), g(truth, "report_faults_injected")),
         g(truth, "module_false_oks") + g(truth, "report_false_oks")),
        ("Hostile and wrong input",
         "%s tried, %s handled (%s refused with one message, %s stored verbatim as data)" % (
             g(hostile, "tried"), g(hostile, "handled"), g(hostile, "refused"), g(hostile, "stored_verbatim")),
         "%s inputs" % g(hostile, "tried"), g(hostile, "tried") - g(hostile, "handled")),
        ("Least privilege (docs/least_privilege.sql)",
         "%s module runs + %s playbook runs as the roles; %s statements refused with 42501" % (
             g(lp, "module_runs_as_roles"), g(lp, "playbook_runs_as_roles"), g(lp, "refused_42501")),
         "-", g(lp, "not_refused")),
        ("Secrets (password, webhook and GitHub tokens) and TLS verify-full",
         "secret hits: %s in %s outputs, %s files, %s requests; %s TLS checks" % (
             g(sec, "secret_hits"), g(sec, "outputs_searched"), g(sec, "files_searched"),
             g(sec, "requests_searched"), g(sec, "tls_checks")),
         "-", g(sec, "secret_hits")),
    ]
    lines = ["| Area | What ran | Faults injected | Violations |", "|---|---|---|---|"]
    for area, what, faults_text, violations in rows:
        lines.append("| %s | %s | %s | %s |" % (area, what, faults_text, violations))
    total_faults = (g(race, "failures_injected") + g(race, "crashes_injected") + g(kill, "kills") +
                    g(faults, "faults_injected") + g(truth, "module_faults_injected") +
                    g(truth, "report_faults_injected"))
    total_violations = sum(r[3] for r in rows)
    summary = [
        "",
        "- Rounds: live race %s, killed heal %s, concurrent heals %s; items processed by the workers: %s." % (
            g(race, "rounds"), g(kill, "rounds"), g(conc, "module_pairs") + g(conc, "playbook_pairs"),
            g(race, "items_processed")),
        "- Faults injected: %s. Invariant violations: %s. False oks: %s. Hostile inputs tried/handled: %s/%s. "
        "Secret hits: %s." % (total_faults, total_violations,
                              g(truth, "module_false_oks") + g(truth, "report_false_oks"),
                              g(hostile, "tried"), g(hostile, "handled"), g(sec, "secret_hits")),
    ]
    if junit:
        summary.append("- pytest: %s tests, %s failed, %s errors, %s skipped or xfailed, %.0f s." % (
            junit["tests"], junit["failures"], junit["errors"], junit["skipped"], junit["time"]))
    for rerun in results.get("reruns", []):
        summary.append("- Re-run on its own after the main run (%s): %s; its numbers replace the main run's."
                       % (rerun["written_at"], ", ".join(rerun["sections"])))
    if g(faults, "unaudited_changes_with_unwritable_audit"):
        summary.append("- FAILURE: with an unwritable audit log, heal.yml committed an action before failing "
                       "(the pre-lock writability check did not hold).")
    summary.append("- Seed %s, run %s on %s (%s, Python %s, %s CPUs). Reproduce: `%s`." % (
        results["seed"], results["written_at"], platform.node() or "this machine", platform.platform(),
        platform.python_version(), os.cpu_count(), COMMAND % results["seed"]))
    return "\n".join(lines + summary)


def merge(paths):
    """Several results files as one: a section of a later file (a test re-run on its
    own) replaces that section of the earlier ones."""
    merged = None
    for path in paths:
        with open(path) as fh:
            results = json.load(fh)
        if merged is None:
            merged = results
            merged["reruns"] = []
            continue
        merged["sections"].update(results["sections"])
        merged["reruns"].append({"sections": sorted(results["sections"]), "written_at": results["written_at"]})
    return merged


def main(argv):
    """report.py RESULTS.json [MORE_RESULTS.json ...] JUNIT.xml DOC.md"""
    results_paths, junit_path, doc_path = argv[1:-2], argv[-2], argv[-1]
    results = merge(results_paths)
    text = table(results, junit_counts(junit_path))
    with open(doc_path) as fh:
        doc = fh.read()
    if START not in doc or END not in doc:
        raise SystemExit("%s has no %s ... %s markers" % (doc_path, START, END))
    head, rest = doc.split(START, 1)
    _old, tail = rest.split(END, 1)
    with open(doc_path, "w") as fh:
        fh.write(head + START + "\n" + text + "\n" + END + tail)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
