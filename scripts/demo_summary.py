"""Print what `make demo` found: the health verdict, the numbers an operator looks at
first, what a heal would change, and where the reports are."""

import glob
import json
import os
import sys

COLOURS = {"ok": "\033[32m", "warning": "\033[33m", "critical": "\033[31m", "unknown": "\033[35m"}
RESET = "\033[0m"


def newest(pattern, keep=lambda path: True):
    files = sorted((f for f in glob.glob(pattern, recursive=True) if keep(f)), key=os.path.getmtime)
    return files[-1] if files else None


def host_report(path):
    """A host's latest.json, not the fleet summary beside the hosts' directories."""
    try:
        with open(path) as handle:
            return json.load(handle).get("kind") != "zoho_sync_fleet"
    except (OSError, ValueError, AttributeError):
        return False


def mark(severity):
    return "%s%-8s%s" % (COLOURS.get(severity, ""), severity.upper(), RESET)


def main(reports, health_rc, heal_rc):
    health_file = newest(os.path.join(reports, "**", "latest.json"), host_report)
    if not health_file:
        print("No health report was written: see %s/health-run.txt" % reports)
        return 1
    report = json.load(open(health_file))
    q = report.get("facts", {}).get("zoho_queue", {})
    counts = q.get("status_counts", {})
    print("Health: %s (ansible-playbook health.yml exited %s)" % (mark(report.get("overall", "unknown")), health_rc))
    print("  pending %s · processing %s · retry %s · failed %s · dead_letter %s · completed %s%s" % (
        counts.get("pending"), counts.get("processing"), counts.get("retry"), counts.get("failed"),
        counts.get("dead_letter"), counts.get("completed"), " (estimate)" if q.get("completed_estimated") else ""))
    print("  stuck leases %s · overdue retries %s · exhausted retries %s · dead letters without a record %s" % (
        q.get("stuck_locks", {}).get("count"), q.get("retry", {}).get("overdue"),
        q.get("retry", {}).get("exhausted"), q.get("dead_letter", {}).get("unrecorded")))
    diagnoses = [d for d in report.get("diagnoses", []) if d.get("severity") != "info"]
    if diagnoses:
        print("  What to do now:")
        for d in diagnoses[:3]:
            remedy = d.get("remedy") or {}
            print("    %s %s" % (mark(d.get("severity", "unknown")), d.get("summary")))
            if remedy.get("command"):
                print("             $ %s" % remedy["command"])
            elif remedy.get("steps"):
                print("             - %s" % remedy["steps"][0])
    bad = [f for f in report.get("findings", []) if f.get("severity") != "ok"]
    print("  %d finding(s) need attention, e.g.:" % len(bad))
    for finding in bad[:6]:
        print("    %s %s" % (mark(finding["severity"]), finding.get("message")))
    heal_file = newest(os.path.join(reports, "**", "heal-*.json"))
    print()
    if heal_file:
        heal = json.load(open(heal_file))
        print("A heal would change (check mode, nothing was written; exit %s):" % heal_rc)
        for action in heal.get("actions", []):
            counts = action.get("counts") or {}
            shown = ", ".join("%s %s" % (k, v) for k, v in counts.items() if isinstance(v, int) and v)
            print("    %-16s %-7s %s" % (action.get("action"), action.get("status"), shown or "-"))
            if action.get("reason"):
                print("    %-16s %-7s %s" % ("", "", action["reason"]))
        print("  Row-by-row diff: %s" % os.path.join(reports, "heal-check-diff.txt"))
    else:
        print("No heal report found: see %s" % os.path.join(reports, "heal-check-diff.txt"))
    print()
    print("Reports: %s" % os.path.dirname(health_file))
    for name in ("latest.html", "latest.md", "latest.json", "latest.txt"):
        print("  %s" % os.path.join(os.path.dirname(health_file), name))
    print("Next: read latest.md, then `ansible-playbook heal.yml --check --diff` against staging.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "?", sys.argv[3] if len(sys.argv) > 3 else "?"))
