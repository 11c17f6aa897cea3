#!/usr/bin/env python3
"""Run the health check through ansible-runner and read what it produced.

    PGHOST=127.0.0.1 PGDATABASE=tsh_erp ZOHO_REPORT_DIR=/tmp/reports \\
        python examples/run_health.py --private-data-dir runner/

It runs playbooks/health.yml with ``ansible_runner.run`` from a private data
directory (runner/ in this repository: env/extravars, env/envvars, env/settings,
an inventory link and a project link), then reads

- the per-host results from ansible-runner's events and stats (ok / changed /
  failed / unreachable per host, and the tasks that failed), and
- each host's JSON report (``latest.json``), found in the results of the task
  that wrote it (the events), else under ``<report dir>/<host>/``, and
- the fleet summary of the run (``<report dir>/fleet/latest.json``).

It prints one line per host and exits with ansible-playbook's exit code (health
fails, after writing its reports, when a host is critical or unknown).
"""

import argparse
import json
import os
import sys

import ansible_runner

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PDD = os.path.join(os.path.dirname(HERE), "runner")


def search_path():
    """PATH with the ansible-playbook of the Python environment running this (a
    virtualenv's, beside ansible_runner) first: ansible-runner runs it from PATH."""
    path = os.environ.get("PATH", os.defpath)
    bindir = os.path.dirname(sys.executable)
    if os.access(os.path.join(bindir, "ansible-playbook"), os.X_OK):
        path = bindir + os.pathsep + path
    return path


def _paths_in(value):
    """Every string in a task result that names a latest.json file."""
    if isinstance(value, str):
        if os.path.basename(value) == "latest.json":
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _paths_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _paths_in(item)


def report_paths(events):
    """host -> latest.json path, from the results of the task that wrote it
    (<report dir>/<host>/latest.json; the fleet summary's own latest.json is not one)."""
    paths = {}
    for event in events:
        if event.get("event") != "runner_on_ok":
            continue
        data = event.get("event_data", {})
        for path in _paths_in(data.get("res", {})):
            if os.path.isabs(path) and os.path.basename(os.path.dirname(path)) == data.get("host"):
                paths[data.get("host")] = path
    return paths


def host_results(runner):
    """Per host: the counts from the play recap and the tasks that failed."""
    stats = runner.stats or {}
    hosts = set()
    for counts in stats.values():
        if isinstance(counts, dict):
            hosts.update(counts)
    results = {}
    for host in sorted(hosts):
        results[host] = dict((key, (stats.get(key) or {}).get(host, 0))
                             for key in ("ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"))
        results[host]["failed_tasks"] = []
    for event in runner.events:
        if event.get("event") not in ("runner_on_failed", "runner_on_unreachable"):
            continue
        data = event.get("event_data", {})
        if data.get("ignore_errors"):
            continue
        entry = results.setdefault(data.get("host"), {"failed_tasks": []})
        failure = {"task": data.get("task"), "msg": (data.get("res") or {}).get("msg")}
        # health.yml records a failure, writes the fleet summary, then raises it again:
        # the same message twice is one failure (the task where it happened is kept)
        if not any(f["msg"] == failure["msg"] for f in entry["failed_tasks"]):
            entry["failed_tasks"].append(failure)
    return results


def run_health(private_data_dir=DEFAULT_PDD, report_dir=None, artifact_dir=None, limit=None,
               extravars=None, quiet=True):
    """Run health.yml; return {status, rc, hosts: {host: {...counts, failed_tasks, report}}, fleet}."""
    extra = dict(extravars or {})
    if report_dir:
        extra["zoho_report_dir"] = report_dir
    kwargs = dict(private_data_dir=private_data_dir, playbook="playbooks/health.yml", extravars=extra,
                  envvars={"PATH": search_path()}, quiet=quiet)
    if artifact_dir:
        kwargs["artifact_dir"] = artifact_dir
    if limit:
        kwargs["limit"] = limit
    runner = ansible_runner.run(**kwargs)

    hosts = host_results(runner)
    found = report_paths(runner.events)
    for host, entry in hosts.items():
        path = found.get(host)
        if not path and report_dir:
            path = os.path.join(report_dir, host, "latest.json")
        entry["report_path"] = path
        entry["report"] = None
        if path and os.path.exists(path):
            with open(path) as fh:
                entry["report"] = json.load(fh)
    # the fleet summary sits beside the per-host report directories
    fleet = None
    roots = [report_dir] if report_dir else []
    roots += [os.path.dirname(os.path.dirname(e["report_path"])) for e in hosts.values() if e["report_path"]]
    for root in roots:
        path = os.path.join(root, "fleet", "latest.json")
        if os.path.exists(path):
            with open(path) as fh:
                fleet = json.load(fh)
            break
    return {"status": runner.status, "rc": runner.rc, "hosts": hosts, "fleet": fleet}


def main():
    parser = argparse.ArgumentParser(description="Run health.yml with ansible-runner and summarise it.")
    parser.add_argument("--private-data-dir", default=DEFAULT_PDD)
    parser.add_argument("--report-dir", help="zoho_report_dir for this run (default: the inventory's)")
    parser.add_argument("--artifact-dir", help="where ansible-runner keeps this run's artifacts")
    parser.add_argument("--limit", help="hosts to check (ansible --limit)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args()
    result = run_health(args.private_data_dir, args.report_dir, args.artifact_dir, args.limit)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str))
    else:
        print("ansible-runner: %s (rc=%s)" % (result["status"], result["rc"]))
        for host, entry in sorted(result["hosts"].items()):
            report = entry["report"] or {}
            worst = [f for f in report.get("findings", []) if f.get("severity") not in (None, "ok")]
            print("%-30s overall=%-8s ok=%s changed=%s failed=%s unreachable=%s problems=%s" % (
                host, report.get("overall", "no report"), entry.get("ok"), entry.get("changed"),
                entry.get("failures"), entry.get("dark"),
                ", ".join("%s%s=%s" % (f["check"], "[%s]" % f["entity"] if f.get("entity") else "", f.get("value"))
                          for f in worst[:5]) or "-"))
    return result["rc"]


if __name__ == "__main__":
    sys.exit(main())
