"""The fleet of issue 13: health.yml over many databases against a ping over the same hosts.

One database per host on the benchmark's cluster, each a copy of a template filled by the
generator, in two fleets: troubled (a live set of 10,000 rows in the default mix over 10,000
completed rows: every host is critical and takes the fleet's most expensive path - its failure
recorded, the summary written, the host failed again at the end) and healthy (50 live rows in
the healthy mix: every host ok, the common case); an inventory of N hosts on the control node
per fleet (local connection, each reading its own database), and, after one warm-up of each,
alternated and repeated, all with ``-f FORKS``:

- ``ansible.builtin.ping`` over the N hosts (bench/ping.yml): the least a per-host check pays;
- ``health.yml`` over the N hosts: the connection probe, the role, the fleet summary, the outcome
  (both fleets);
- the role alone over the N hosts (bench/health_role.yml: health.yml before the fleet summary),
  so ``health.yml - role alone`` is what the fleet costs (both fleets);
- the one-task floor (bench/floor.yml: one debug task) over the N hosts;
- health.yml and ping over one of those hosts, to tell the per-host cost from the run's own.

The load average is read before and after. The target (issue 13): health.yml at most 2x the
ping over the same hosts.
"""

import json
import os
import time

import yaml

from bench import procs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOKS = {
    "ping": os.path.join(ROOT, "bench", "ping.yml"),
    "health": os.path.join(ROOT, "health.yml"),
    "role_alone": os.path.join(ROOT, "bench", "health_role.yml"),
    "floor": os.path.join(ROOT, "bench", "floor.yml"),
}
TARGET_FLEET_PING = 2.0
TEMPLATE_DB = "fleet_template"
ALL_RUNS = ("ping", "health", "role_alone", "floor", "health_healthy", "role_alone_healthy", "health_one_host",
            "role_alone_one_host", "ping_one_host")
# Per profile of bench/run.py. quick keeps to the playbooks of the fleet's two figures (its
# ratio to ping, its own cost) so that make bench-quick stays about two minutes.
PROFILES = {
    "smoke": dict(hosts=2, forks=10, reps=1, runs=("ping", "health")),
    "quick": dict(hosts=4, forks=10, reps=2, runs=("ping", "health", "role_alone")),
    "full": dict(hosts=20, forks=10, reps=5, runs=ALL_RUNS),
}


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# The databases' queues: troubled (every host critical: the fleet's most expensive path) and
# healthy (a small fresh backlog, workers busy: every host ok, the common case).
SHAPES = {"troubled": dict(live=10000, history=10000, mix=None),
          "healthy": dict(live=50, history=10000, mix="healthy")}
# Host facts depend on the benchmark machine; the healthy fleet must be ok on the queue alone.
HOST_THRESHOLDS = {"memory_used_pct": {"warning": 100, "critical": 100},
                   "disk_used_pct": {"warning": 100, "critical": 100}}


def make_databases(bench, hosts, shape):
    """``hosts`` databases <shape>_01.. as copies of one generated template; returns their names."""
    from testbed import generate as gen
    import psycopg2

    spec = SHAPES[shape]
    template = "%s_%s" % (TEMPLATE_DB, shape)
    admin = psycopg2.connect(bench.cluster.dsn())
    admin.autocommit = True
    names = ["%s_%02d" % (shape, i + 1) for i in range(hosts)]
    with admin.cursor() as cur:
        for name in names + [template]:
            cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
        cur.execute('CREATE DATABASE "%s"' % template)
    conn = psycopg2.connect(bench.cluster.dsn(template))
    gen.load_schema(conn)
    gen.generate(conn, live=spec["live"], history=spec["history"], seed=42, fast_load=True,
                 mix=gen.MIXES[spec["mix"]] if spec["mix"] else None)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM (ANALYZE)")
    conn.close()
    with admin.cursor() as cur:
        for name in names:
            cur.execute('CREATE DATABASE "%s" TEMPLATE "%s"' % (name, template))
    admin.close()
    return names


def write_inventory(bench, names, report_dir, shape):
    hosts = {}
    for i, name in enumerate(names):
        hosts["erp-%02d" % (i + 1)] = {
            "ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
            "zoho_db_host": "127.0.0.1", "zoho_db_port": bench.cluster.port, "zoho_db_user": "postgres",
            "zoho_db_password": "", "zoho_db_name": name, "zoho_service_manager": "none",
            "zoho_report_dir": report_dir, "zoho_health_thresholds": HOST_THRESHOLDS}
    path = os.path.join(bench.work, "fleet-inventory-%s.yml" % shape)
    with open(path, "w") as fh:
        yaml.safe_dump({"all": {"children": {"zoho_sync": {"hosts": hosts}}}}, fh, sort_keys=True)
    return path, sorted(hosts)


def measure(bench):
    """The fleet run against its floors (see the module docstring), as the profile says."""
    from bench.run import log, med, summary

    settings = PROFILES[bench.p.get("name", "quick")]
    hosts, forks, reps = settings["hosts"], settings["forks"], settings["reps"]
    out = {"hosts": hosts, "forks": forks, "reps": reps, "load_average_before": _load()}
    t0 = time.time()
    inventories = {}
    for shape in SHAPES:  # each fleet its own report directory (the history, the trends)
        inventories[shape], host_names = write_inventory(bench, make_databases(bench, hosts, shape),
                                                         os.path.join(bench.work, "fleet-reports-%s" % shape), shape)
    out["databases_s"] = round(time.time() - t0, 1)
    env = {"ANSIBLE_NOCOLOR": "1", "PGPASSWORD": ""}
    args = ["-f", str(forks)]
    one = args + ["-l", host_names[0]]
    runs = [(key, playbook, extra, inventories[shape]) for key, playbook, extra, shape in (
        ("ping", "ping", args, "troubled"), ("health", "health", args, "troubled"),
        ("role_alone", "role_alone", args, "troubled"), ("floor", "floor", args, "troubled"),
        ("health_healthy", "health", args, "healthy"), ("role_alone_healthy", "role_alone", args, "healthy"),
        ("health_one_host", "health", one, "troubled"), ("role_alone_one_host", "role_alone", one, "troubled"),
        ("ping_one_host", "ping", one, "troubled"))
        if key in settings["runs"]]
    walls = dict((key, []) for key, _p, _a, _i in runs)
    rcs = dict((key, set()) for key, _p, _a, _i in runs)
    log("fleet: %d hosts, forks %d, %d repetitions (databases ready in %.0f s)" % (
        hosts, forks, reps, out["databases_s"]))
    for key, playbook, extra, inventory in runs:  # one warm-up of each (not counted)
        procs.run_playbook(PLAYBOOKS[playbook], env, extra, inventory=inventory)
        if key in ("health", "health_healthy"):  # the run wrote a summary of every host
            shape = "healthy" if key == "health_healthy" else "troubled"
            with open(os.path.join(bench.work, "fleet-reports-%s" % shape, "fleet", "latest.json")) as fh:
                fleet = json.load(fh)
            if fleet.get("hosts_total") != hosts:
                raise RuntimeError("the fleet summary lists %s hosts, not %d" % (fleet.get("hosts_total"), hosts))
            out["fleet_overall_%s" % key] = fleet.get("overall")
    for rep in range(reps):
        order = runs[rep % len(runs):] + runs[:rep % len(runs)]  # every playbook in every position
        for key, playbook, extra, inventory in order:
            wall, rc, _rss, _tree, tail = procs.run_playbook(PLAYBOOKS[playbook], env, extra, inventory=inventory)
            if not procs.playbook_ran(rc, tail):
                raise RuntimeError("%s did not run: %s" % (key, tail[-2000:]))
            walls[key].append(wall)
            rcs[key].add(rc)
    out.update(("%s_s" % key, summary(values)) for key, values in walls.items())
    out["exit_codes"] = dict((key, sorted(v)) for key, v in rcs.items())
    h, p = med(walls["health"]), med(walls["ping"])
    out["ratio_health_ping"] = round(h / p, 2)
    if walls.get("role_alone"):
        out["fleet_cost_s"] = round(h - med(walls["role_alone"]), 2)
        out["ratio_role_alone_ping"] = round(med(walls["role_alone"]) / p, 2)
    if walls.get("health_healthy") and walls.get("role_alone_healthy"):
        out["ratio_health_healthy_ping"] = round(med(walls["health_healthy"]) / p, 2)
        out["fleet_cost_healthy_s"] = round(med(walls["health_healthy"]) - med(walls["role_alone_healthy"]), 2)
    if walls.get("floor"):
        out["ratio_floor_ping"] = round(med(walls["floor"]) / p, 2)
    if walls.get("health_one_host") and walls.get("role_alone_one_host"):
        out["fleet_cost_one_host_s"] = round(med(walls["health_one_host"]) - med(walls["role_alone_one_host"]), 2)
    if walls.get("health_one_host") and walls.get("ping_one_host"):
        out["ratio_one_host"] = round(med(walls["health_one_host"]) / med(walls["ping_one_host"]), 2)
        if hosts > 1:
            out["per_extra_host_s"] = {
                "health": round((h - med(walls["health_one_host"])) / (hosts - 1), 3),
                "ping": round((p - med(walls["ping_one_host"])) / (hosts - 1), 3)}
    out["load_average_after"] = _load()
    log("fleet: health.yml %.2f s vs ping %.2f s over %d hosts (x%.2f); the fleet's own cost %s s" % (
        h, p, hosts, out["ratio_health_ping"], out.get("fleet_cost_s")))
    return out


def targets(r):
    f = r.get("fleet")
    if not f or "ratio_health_ping" not in f:
        return []
    full = f["hosts"] >= 20 and f["forks"] == 10
    return [{"target": "health.yml over %d hosts (forks %d) vs ping over the same hosts" % (f["hosts"], f["forks"]),
             "wanted": "<= %gx" % TARGET_FLEET_PING, "figure": "%.2fx" % f["ratio_health_ping"],
             "met": f["ratio_health_ping"] <= TARGET_FLEET_PING,
             "detail": "%.2f s vs %.2f s" % (f["health_s"]["median"], f["ping_s"]["median"])
             + ("" if full else " (the target is at 20 hosts, forks 10)"), "at_10m": full}]


def render(r):
    f = r.get("fleet")
    if not f:
        return []
    if "error" in f:
        return ["## 7. The fleet: the run failed", "", "```\n%s\n```" % f["error"], ""]
    lines = ["## 7. The fleet: health.yml over %d hosts, forks %d (%d repetitions)" % (f["hosts"], f["forks"], f["reps"]),
             "", "Load average before %s, after %s." % (f["load_average_before"], f["load_average_after"]), "",
             "| playbook | hosts | wall | vs ping | exit codes |", "|---|---|---|---|---|"]
    ping = f["ping_s"]["median"]
    for key, label, n in (("ping", "ansible.builtin.ping (bench/ping.yml)", f["hosts"]),
                          ("health", "health.yml, every host critical", f["hosts"]),
                          ("role_alone", "the role alone (bench/health_role.yml), every host critical", f["hosts"]),
                          ("health_healthy", "health.yml, every host ok", f["hosts"]),
                          ("role_alone_healthy", "the role alone, every host ok", f["hosts"]),
                          ("floor", "one debug task (bench/floor.yml)", f["hosts"]),
                          ("health_one_host", "health.yml", 1),
                          ("role_alone_one_host", "the role alone", 1), ("ping_one_host", "ansible.builtin.ping", 1)):
        if ("%s_s" % key) not in f:
            continue
        base = ping if n == f["hosts"] else f["ping_one_host_s"]["median"]
        lines.append("| %s | %d | %.2f s | %.2fx | %s |" % (label, n, f["%s_s" % key]["median"],
                                                            f["%s_s" % key]["median"] / base, f["exit_codes"][key]))
    lines.append("")
    if "fleet_cost_s" in f:
        lines.append("The fleet's own cost (health.yml - the role alone): %.2f s over %d critical hosts%s%s." % (
            f["fleet_cost_s"], f["hosts"], ", %.2f s over %d ok hosts" % (f["fleet_cost_healthy_s"], f["hosts"])
            if "fleet_cost_healthy_s" in f else "", ", %.2f s over one critical host" % f["fleet_cost_one_host_s"]
            if "fleet_cost_one_host_s" in f else ""))
    if f.get("per_extra_host_s"):
        lines.append("Per extra host: health.yml %s s, ping %s s." % (f["per_extra_host_s"]["health"],
                                                                      f["per_extra_host_s"]["ping"]))
    lines.append("")
    return lines
