"""Dense recent history (issue 13): the facts' marginal cost on a busy queue, beside today's shape.

Today's datasets (bench/run.py) spread the completed history evenly over a year: at 10M rows
27,000 completions a day, 55,000 rows in the facts' 48 h look-back. A busy ERP, or one catching
up after an outage, completes far more: in the dense shape the newest tenth of the history was
created and completed in the last 48 hours (1M rows at 10M: 5.8 completions a second), the rest
over the year before (testbed/generate.py ``recent``). Same seed, same live set of 10,000 rows,
same rows otherwise: only their times differ. For every size of both shapes:

- the facts, with bench/run.py's measurement as it is (the module as a process, its queries
  in-process on the module's session options, the naive queries), and the facts' marginal cost:
  the same measurement on an empty database (the schema, no rows) of the same cluster, taken
  away; then the naive queries' time over that marginal cost, and the marginal cost's growth
  from the smallest size;
- health.yml against the one-task floor at the profile's health sizes (bench/run.py's step);
- at the largest size, the plans of every facts statement (auto_explain in the module's own
  session, bench/run.py's step) and the facts module's peak memory.

The dense datasets live in a PostgreSQL cluster kept between runs (ZOHO_BENCH_CACHE, default
/var/tmp/tsh-zoho-sync-bench; 10M rows take minutes to generate), one database per size. A
database is generated again when the generator, the schema or the parameters changed, or when it
is older than ZOHO_BENCH_CACHE_MAX_AGE_H hours (default 6): the rows are placed relative to the
clock when they were generated, so the look-back window holds fewer of them as the data ages -
each result says how old its dataset was and how many rows its window held when measured.
Remove the directory to reclaim the space (about 15 GiB with the 10M dataset).
"""

import fcntl
import hashlib
import json
import os
import shutil
import time

import psycopg2

from bench import cluster as bench_cluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DENSE_SHARE = 10        # one history row in 10 ...
DENSE_HOURS = 48        # ... created and completed in the last 48 hours (the facts' look-back)
LOOKBACK_HOURS = 48     # bench/run.py's facts parameters
TARGET_MARGINAL_SPEEDUP = 20.0
TARGET_MARGINAL_GROWTH = 1.5

# Per profile of bench/run.py: the dense sizes, where health.yml is measured on them, and
# the fleet (bench/fleet.py).
PROFILES = {
    "smoke": dict(sizes=[1000, 2000], health_sizes=[]),
    "quick": dict(sizes=[10000, 100000], health_sizes=[]),
    "full": dict(sizes=[10000, 100000, 1000000, 10000000], health_sizes=[10000000]),
}


def _load():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cache_root():
    return os.path.abspath(os.environ.get("ZOHO_BENCH_CACHE") or "/var/tmp/tsh-zoho-sync-bench")


def _fingerprint(params):
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    for path in (os.path.join(ROOT, "testbed", "generate.py"), os.path.join(ROOT, "testbed", "sql", "tsh_schema.sql")):
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()


def named_bench(base_cls):
    """A bench.run.Bench on one database of a cluster it does not own (bench.run's steps
    name their database "bench"; this one names ``dbname``)."""

    class NamedDb(base_cls):
        def __init__(self, profile, args, cluster, dbname):
            base_cls.__init__(self, profile, args)
            self.cluster, self.dbname = cluster, dbname
            self.cache = None  # bench.run.Bench.dataset: generate into this database, never the copy cache
            self.logfile = bench_cluster.server_log(cluster)
            self.conn = None

        def open(self, fresh=False):
            """Connect, creating the database with the schema first when missing (or ``fresh``)."""
            admin = psycopg2.connect(self.cluster.dsn())
            admin.autocommit = True
            with admin.cursor() as cur:
                if fresh:
                    cur.execute('DROP DATABASE IF EXISTS "%s"' % self.dbname)
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,))
                created = not cur.fetchone()
                if created:
                    cur.execute('CREATE DATABASE "%s"' % self.dbname)
            admin.close()
            self.conn = self.connect()
            if created:
                from testbed import generate as gen
                gen.load_schema(self.conn)
            return self

        def connect(self, **kw):
            return psycopg2.connect(self.cluster.dsn(self.dbname), **kw)

        def module_args(self, **extra):
            return dict(base_cls.module_args(self, **extra), login_db=self.dbname)

        def pg_env(self):
            return dict(base_cls.pg_env(self), PGDATABASE=self.dbname)

        def stop(self):  # the cluster is not ours
            if self.conn is not None:
                self.conn.close()
            shutil.rmtree(self.work, ignore_errors=True)

    return NamedDb


class DenseCache:
    """The cluster that keeps the dense datasets between runs, locked while in use."""

    def __init__(self, root, max_age_h):
        self.root = root
        self.max_age_h = max_age_h
        self.manifest_path = os.path.join(root, "manifest.json")
        self.cluster = None
        self._lock = None

    def __enter__(self):
        from testbed.pgcluster import TempCluster
        os.makedirs(self.root, exist_ok=True)
        os.chmod(self.root, 0o755)  # the server runs as postgres when we are root
        self._lock = open(os.path.join(self.root, "lock"), "w")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError("the dense dataset cache %s is in use by another benchmark run" % self.root)
        self.cluster = TempCluster(os.path.join(self.root, "cluster"), settings=dict(bench_cluster.BENCH_SETTINGS))
        self.cluster.start()
        return self

    def __exit__(self, *exc):
        if self.cluster is not None:
            self.cluster.stop()
        self._lock.close()

    def _manifest(self):
        try:
            with open(self.manifest_path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            return {}

    def lookup(self, dbname, key):
        entry = self._manifest().get(dbname)
        if not entry or entry.get("key") != key:
            return None
        age_h = (time.time() - entry["generated_at"]) / 3600.0
        if age_h > self.max_age_h:
            return None
        return dict(entry["info"], cached=True, dataset_age_h=round(age_h, 2))

    def store(self, dbname, key, info):
        manifest = self._manifest()
        manifest[dbname] = {"key": key, "generated_at": time.time(), "info": info}
        tmp = self.manifest_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.manifest_path)


def window_rows(bench):
    """Completed rows created in the facts' look-back window, now (what the facts read)."""
    return bench.sql("SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                     "AND created_at >= now() - make_interval(hours => %s)", (LOOKBACK_HOURS,))[0][0]


def marginal(facts, empty):
    """The facts' own cost over an empty database, and the naive queries' time over it."""
    inproc = facts["facts_in_process_ms"]["median"] - empty["facts_in_process_ms"]["median"]
    module = facts["module_process_ms"]["median"] - empty["module_process_ms"]["median"]
    naive = facts["naive_total_ms"]["median"]
    return {"history": facts["history"], "facts_in_process_ms": facts["facts_in_process_ms"]["median"],
            "marginal_in_process_ms": round(inproc, 1), "module_process_ms": facts["module_process_ms"]["median"],
            "marginal_module_ms": round(module, 1), "naive_ms": naive,
            "naive_over_marginal": round(naive / inproc, 1) if inproc > 0 else None,
            "naive_over_marginal_module": round(naive / module, 1) if module > 0 else None,
            "facts_per_query_ms": facts["facts_per_query_ms"]}


def _growth(rows):
    if len(rows) < 2 or rows[0]["marginal_in_process_ms"] <= 0:
        return None
    return round(rows[-1]["marginal_in_process_ms"] / rows[0]["marginal_in_process_ms"], 2)


def measure(main):
    """The dense phase of a bench.run.Bench run (see the module docstring)."""
    from bench import run as bench_run
    log = bench_run.log
    settings = PROFILES[main.p.get("name", "quick")]
    cls = named_bench(bench_run.Bench)
    out = {"share": DENSE_SHARE, "hours": DENSE_HOURS, "load_average_before": _load(), "cache": cache_root()}

    def facts_on_empty(cluster, dbname):
        empty = cls(main.p, main.args, cluster, dbname).open(fresh=True)
        try:
            return empty.measure_facts(0)
        finally:
            empty.stop()

    # today's shape: its facts were measured by the run's facts phase, on the run's own cluster
    log("dense: the facts on an empty database (the run's cluster)")
    out["empty_today"] = facts_on_empty(main.cluster, "bench_empty")
    out["today"] = [marginal(f, out["empty_today"]) for f in main.results.get("facts") or []]
    out["today_growth"] = _growth(out["today"])

    max_age = float(os.environ.get("ZOHO_BENCH_CACHE_MAX_AGE_H") or 6)
    with DenseCache(cache_root(), max_age) as cache:
        log("dense: the facts on an empty database (the cache's cluster)")
        out["empty_dense"] = facts_on_empty(cache.cluster, "dense_empty")
        out["datasets"], out["facts"], out["health"], out["dense"] = [], [], [], []
        sizes = settings["sizes"]
        for history in sizes:
            dbname = "dense_%d" % history
            params = {"history": history, "live": main.p["live"], "seed": bench_run.SEED,
                      "recent": history // DENSE_SHARE, "recent_hours": DENSE_HOURS, "fast_load": True}
            key = _fingerprint(params)
            info = cache.lookup(dbname, key)
            b = cls(main.p, main.args, cache.cluster, dbname)
            try:
                if info is None:
                    b.open(fresh=True)
                    info = b.dataset(history, recent=params["recent"], recent_hours=DENSE_HOURS)
                    info.update(recent=params["recent"], recent_hours=DENSE_HOURS)
                    cache.store(dbname, key, info)
                    info = dict(info, cached=False, dataset_age_h=0.0)
                else:
                    b.open()
                    log("dense: %d rows of history, cached %.1f h ago" % (history, info["dataset_age_h"]))
                info["window_rows_at_measurement"] = window_rows(b)
                info["load_average"] = _load()
                out["datasets"].append(info)
                facts = b.measure_facts(history)
                facts["load_average_after"] = _load()
                out["facts"].append(facts)
                if history in settings["health_sizes"]:
                    try:
                        out["health"].append(b.measure_health(history))
                    except Exception as exc:  # reported, and the facts' figures, memory and plans kept
                        log("dense: health.yml failed: %s" % str(exc)[:300])
                        out["health"].append({"history": history, "error": str(exc)[:2000]})
                if history == sizes[-1]:
                    out["memory"] = b.measure_memory(history)
                    out["plans"] = b.capture_plans(history)
            finally:
                b.stop()
    out["dense"] = [marginal(f, out["empty_dense"]) for f in out["facts"]]
    out["dense_growth"] = _growth(out["dense"])
    out["load_average_after"] = _load()
    main.checkpoint()
    return out


def targets(r):
    d = r.get("dense")
    if not d or "dense" not in d or not d["dense"]:
        return []
    last = d["dense"][-1]
    full = last["history"] >= 10000000
    note = "" if full else " (this run's largest dense history is %s; the target is at 10M)" % "{:,}".format(
        last["history"])
    out = [{"target": "facts' marginal cost vs naive queries, dense, at 10M", "wanted": ">= %gx less" %
            TARGET_MARGINAL_SPEEDUP, "figure": "%sx" % last["naive_over_marginal"],
            "met": last["naive_over_marginal"] is not None and last["naive_over_marginal"] >= TARGET_MARGINAL_SPEEDUP,
            "detail": ("marginal %.1f ms (%.1f ms - %.1f ms empty) vs naive %.1f ms" % (
                last["marginal_in_process_ms"], last["facts_in_process_ms"],
                d["empty_dense"]["facts_in_process_ms"]["median"], last["naive_ms"]) + note).strip(), "at_10m": full}]
    if d.get("dense_growth") is not None:
        out.append({"target": "facts' marginal cost at 10M vs at 10k, dense", "wanted": "<= %gx" % TARGET_MARGINAL_GROWTH,
                    "figure": "%.2fx" % d["dense_growth"], "met": d["dense_growth"] <= TARGET_MARGINAL_GROWTH,
                    "detail": ("%s -> %s history" % ("{:,}".format(d["dense"][0]["history"]),
                                                     "{:,}".format(last["history"])) + note).strip(),
                    "at_10m": full})
    return out


def _fmt_n(n):
    from bench.run import fmt_n
    return fmt_n(n)


def _marginal_table(rows, windows=None):
    lines = ["| history | rows in the 48 h window | facts in-process | marginal | naive queries | naive / marginal "
             "| module process | module marginal | naive / module marginal |",
             "|---|---|---|---|---|---|---|---|---|"]
    for i, m in enumerate(rows):
        lines.append("| %s | %s | %.1f ms | %.1f ms | %.1f ms | %s | %.0f ms | %.0f ms | %s |" % (
            _fmt_n(m["history"]), "{:,}".format(windows[i]) if windows else "-", m["facts_in_process_ms"],
            m["marginal_in_process_ms"], m["naive_ms"],
            "%.1fx" % m["naive_over_marginal"] if m["naive_over_marginal"] is not None else "n/a",
            m["module_process_ms"], m["marginal_module_ms"],
            "%.1fx" % m["naive_over_marginal_module"] if m["naive_over_marginal_module"] is not None else "n/a"))
    return lines


def render(r):
    d = r.get("dense")
    if not d:
        return []
    if "error" in d:
        return ["## 6. Dense recent history: the run failed", "", "```\n%s\n```" % d["error"], ""]
    from bench.run import FACT_QUERIES
    lines = ["## 6. Dense recent history: the facts' marginal cost over an empty database", "",
             "Dense: 1 in %d history rows created and completed in the last %d h (testbed/generate.py recent); "
             "today's: the history spread over a year. Marginal = facts - the same measurement on an empty database "
             "of the same cluster (in-process: facts %.1f ms on today's cluster, %.1f ms on the dense one; module "
             "process %.0f / %.0f ms). Load average before %s, after %s." % (
                 d["share"], d["hours"], d["empty_today"]["facts_in_process_ms"]["median"],
                 d["empty_dense"]["facts_in_process_ms"]["median"], d["empty_today"]["module_process_ms"]["median"],
                 d["empty_dense"]["module_process_ms"]["median"], d["load_average_before"], d["load_average_after"]),
             "", "| dense dataset | queue rows | queue table+indexes | generated | cached | age at measurement "
             "| rows in the window when measured | load average |", "|---|---|---|---|---|---|---|---|"]
    for ds in d["datasets"]:
        lines.append("| %s (%s recent) | %s | %s MiB | %s s | %s | %.1f h | %s | %s |" % (
            _fmt_n(ds["history"]), "{:,}".format(ds["recent"]), "{:,}".format(ds["queue_rows"]), ds["queue_total_mib"],
            ds["generate_s"], "yes" if ds["cached"] else "no", ds["dataset_age_h"],
            "{:,}".format(ds["window_rows_at_measurement"]), ds["load_average"]))
    lines += ["", "Dense (growth of the marginal cost from the smallest size: %sx):" % d.get("dense_growth"), ""]
    lines += _marginal_table(d["dense"], [ds["window_rows_at_measurement"] for ds in d["datasets"]])
    lines += ["", "Today's shape, from section 1 (growth: %sx):" % d.get("today_growth"), ""]
    lines += _marginal_table(d["today"])
    lines += ["", "Per facts query on the dense datasets (ms, in-process):", "",
              "| history | " + " | ".join(FACT_QUERIES) + " |", "|---|" + "---|" * len(FACT_QUERIES)]
    for m in d["dense"]:
        lines.append("| %s | %s |" % (_fmt_n(m["history"]), " | ".join(
            "%.1f" % m["facts_per_query_ms"].get(k, float("nan")) for k in FACT_QUERIES)))
    lines.append("")
    for h in d.get("health") or []:
        if "error" in h:
            lines += ["health.yml on the dense %s dataset: not measured (%s)." % (
                _fmt_n(h["history"]), h["error"].splitlines()[0][:200]), ""]
        if "ratio" in h:
            lines += ["health.yml on the dense %s dataset: %.2f s vs the one-task floor %.2f s: %.2fx (exit codes %s)."
                      % (_fmt_n(h["history"]), h["health_s"]["median"], h["floor_s"]["median"], h["ratio"],
                         h["health_exit_codes"]), ""]
    mem = d.get("memory")
    if mem:
        lines += ["zoho_queue_facts peak RSS on the dense %s dataset: %.1f MiB (max of 3)." % (
            _fmt_n(mem["history"]), mem["facts_module_max_rss_mib"]["max"]), ""]
    return lines


def render_plans(r):
    d = r.get("dense")
    if not d or not d.get("plans"):
        return None
    from bench.run import render_plans as plans_of
    text = plans_of({"plans": d["plans"], "started_at": r["started_at"]})
    return text.replace("# Query plans at", "# Query plans on the dense dataset at", 1)
