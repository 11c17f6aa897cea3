"""Benchmarks of issue 5: health and heal at up to 10 million rows, beside the naive queries.

    python -m bench.run --quick     # histories 10k and 100k, about two minutes
    python -m bench.run --full      # histories 10k, 100k, 1M and 10M (see docs/performance.md)

Starts its own throwaway PostgreSQL (bench/cluster.py says with which settings), fills
one database with the project's generator (testbed/generate.py: a live set of 10,000
rows over each history size, regenerated per size with --fast-load, then VACUUM
ANALYZE as autovacuum would leave it), and measures, side by side in the same run on
the same database, repeated, medians quoted:

1. zoho_queue_facts (the module as a process, and its queries in-process) against the
   original write-up's queries (bench/naive.py), at every history size;
2. health.yml end to end against a one-task playbook (bench/floor.yml);
3. heal throughput (zoho_dlq_move and zoho_requeue, real modules) while 4 claim
   probes (bench/claim_probe.py) claim rows as the production worker does, with the
   longest lock hold of any batch read from the server log, and the probes' claim
   latency during the heal against without it;
4. peak memory of the facts module and of the health playbook;
5. zoho_cleanup deleting old completed rows with their logs in batches;
6. (bench/dense.py) the facts' marginal cost over an empty database, against the naive
   queries, on datasets with a dense recent history beside today's, and their plans;
7. (bench/fleet.py) health.yml over many databases against a ping over the same hosts.

Writes bench/results/<timestamp>.md, .json and -plans.md (EXPLAIN ANALYZE of the
facts queries at the largest size, captured by auto_explain from the module's own
session) and prints the table.
"""

import argparse
import datetime
import glob
import inspect
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

import psycopg2  # noqa: E402
import psycopg2.extensions  # noqa: E402

from bench import cluster as bench_cluster  # noqa: E402
from bench import cache as bench_cache  # noqa: E402
from bench import dense, fleet, pglog, procs  # noqa: E402
from bench.claim_probe import read_claims  # noqa: E402
from bench.naive import NAIVE_QUERIES  # noqa: E402
from testbed import generate as gen  # noqa: E402

RESULTS_DIR = os.path.join(ROOT, "bench", "results")
FLOOR_PLAYBOOK = os.path.join(ROOT, "bench", "floor.yml")
HEALTH_PLAYBOOK = os.path.join(ROOT, "health.yml")
APP = "tsh.zoho_sync"
SEED = 42
MiB = 1024.0

PROFILES = {
    # the harness's own smoke test (tests/bench): seconds, not a measurement
    "smoke": dict(sizes=[1000], live=1000, reps=2, health_sizes=[], health_reps=1, heal_rows=300,
                  heal_batch=100, worker_pool=1500, baseline_s=1.0, cleanup_rows=50, cleanup_batch=25,
                  workers=2, preview_sizes=[], no_cache=True),
    "quick": dict(sizes=[10000, 100000], live=10000, reps=5, health_sizes=[100000], health_reps=3,
                  heal_rows=10000, heal_batch=200, worker_pool=20000, baseline_s=6.0, cleanup_rows=10000,
                  cleanup_batch=500, workers=4, preview_sizes=[100000]),
    "full": dict(sizes=[10000, 100000, 1000000, 10000000], live=10000, reps=5,
                 health_sizes=[1000000, 10000000], health_reps=5, heal_rows=100000, heal_batch=200,
                 worker_pool=60000, baseline_s=20.0, cleanup_rows=1000000, cleanup_batch=500, workers=4,
                 preview_sizes=[200000, 1000000, 10000000]),
}
PHASES = ("facts", "health", "memory", "explain", "heal", "cleanup", "preview", "dense", "fleet")

# The targets (never relaxed here).
TARGET_SPEEDUP = 20.0
TARGET_GROWTH = 3.0
TARGET_HEALTH_FLOOR = 2.0
TARGET_HEAL_RATE = 5000.0
TARGET_HEAL_RATIO = 0.5       # of one statement making the same change on the same rows (issue 14)
TARGET_LOCK_MS = 200.0
TARGET_CLAIM_P99 = 2.0
TARGET_FACTS_RSS_MIB = 100.0

FACT_QUERIES = ("live_counts", "completed_counts", "recent_completions", "recent_failures", "stuck_locks",
                "stranded_processing", "error_groups", "dead_letter", "retry_state", "workers", "recent_leases")


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def med(values):
    return round(statistics.median(values), 2) if values else None


def pct(values, p):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return round(values[lo] + (values[hi] - values[lo]) * (k - lo), 2)


def summary(values):
    return {"median": med(values), "min": round(min(values), 2) if values else None,
            "max": round(max(values), 2) if values else None, "n": len(values),
            "samples": [round(v, 2) for v in values]}


# --------------------------------------------------------------------- environment
def machine_info():
    info = {"nproc": os.cpu_count(), "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = round(int(line.split()[1]) / 1024.0 / 1024.0, 1)
                    break
    except OSError:
        pass
    return info


def load_average():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def versions(conn):
    out = {"python": platform.python_version()}
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        out["postgresql"] = cur.fetchone()[0]
    try:
        from ansible.release import __version__ as ansible_core
        out["ansible_core"] = ansible_core
    except ImportError:
        out["ansible_core"] = None
    out["psycopg2"] = psycopg2.__version__.split()[0]
    return out


class LoadSampler(object):
    """The machine's 1-minute load average every 10 s during the run (the machine is shared:
    the report says what load each figure was measured under)."""

    def __init__(self, interval=10.0):
        import threading
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.is_set():
            avg = load_average()
            if avg:
                self.samples.append((round(time.time(), 1), avg[0]))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join()
        loads = [v for _t, v in self.samples]
        return {"min": min(loads) if loads else None, "median": med(loads), "max": max(loads) if loads else None,
                "samples": self.samples}


# ------------------------------------------------------------------------ datasets
class Bench:
    def __init__(self, profile, args):
        self.p = profile
        self.args = args
        self.cluster = None
        self.cache = None  # the dataset cache (start); bench/dense.py's databases have none
        self.work = tempfile.mkdtemp(prefix="zoho-bench-")
        self.results = {}

    # -- database plumbing -----------------------------------------------------------
    def start(self):
        self.cache = None
        if self.args.cache and not self.p.get("no_cache"):
            # each history generated once under bench/.cache, copied fresh for every run
            self.cache = bench_cache.Cache(self.args.cache).start()
            self.cluster = self.cache.cluster
            self.conn = None
        else:
            self.cluster = bench_cluster.start()
            admin = psycopg2.connect(self.cluster.dsn())
            admin.autocommit = True
            admin.cursor().execute("CREATE DATABASE bench")
            admin.close()
            self.conn = self.connect()
            gen.load_schema(self.conn)
        self.logfile = bench_cluster.server_log(self.cluster)

    def connect(self, **kw):
        return psycopg2.connect(self.cluster.dsn("bench"), **kw)

    def stop(self):
        try:
            if getattr(self, "conn", None) is not None:
                self.conn.close()
        finally:
            if getattr(self, "cache", None) is not None:
                try:
                    self.cache.drop_copy()
                finally:
                    self.cache.stop()
            elif self.cluster is not None:
                self.cluster.destroy()
            shutil.rmtree(self.work, ignore_errors=True)

    def module_args(self, **extra):
        args = {"login_host": "127.0.0.1", "login_port": self.cluster.port, "login_user": "postgres",
                "login_db": "bench"}
        args.update(extra)
        return args

    def pg_env(self):
        return {"PGHOST": "127.0.0.1", "PGPORT": str(self.cluster.port), "PGUSER": "postgres",
                "PGDATABASE": "bench", "PGPASSWORD": ""}

    def log_offset(self):
        return os.path.getsize(self.logfile)

    def sql(self, query, args=None, fetch=True):
        with self.conn.cursor() as cur:
            cur.execute(query, args)
            rows = cur.fetchall() if fetch and cur.description else None
        self.conn.commit()
        return rows

    def vacuum_analyze(self):
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            for table in ("tds_inbox_events", "tds_sync_queue", "tds_sync_logs", "tds_dead_letter_queue"):
                cur.execute("VACUUM (ANALYZE) %s" % table)
        self.conn.autocommit = False

    def dataset(self, history, **shape):
        """The dataset of ``history`` completed rows: a fresh copy of the cached one, or
        generated into the emptied tables (--no-cache, or another ``shape``: more generator
        options, e.g. bench/dense.py's recent history)."""
        if self.cache is not None and not shape:
            if self.conn is not None:
                self.conn.close()
            entry, copy_s = self.cache.checkout(history, self.p["live"])
            self.conn = self.connect()
            sizes = self.sql("SELECT pg_total_relation_size('tds_sync_queue'), pg_relation_size('tds_sync_queue'), "
                             "pg_database_size(current_database())")[0]
            out = dict((k, entry[k]) for k in ("history", "live", "queue_rows", "sync_logs", "generate_s",
                                               "vacuum_analyze_s", "live_by_status", "generated_at", "name"))
            out.update(cached=True, copy_s=copy_s, queue_total_mib=round(sizes[0] / MiB / MiB),
                       queue_heap_mib=round(sizes[1] / MiB / MiB), database_mib=round(sizes[2] / MiB / MiB))
            log("dataset %s: copied from the cache in %.0f s (generated %s in %.0f s): queue %d MiB" % (
                entry["name"], copy_s, entry["generated_at"], entry["generate_s"], out["queue_total_mib"]))
            return out
        return self.generate_dataset(history, **shape)

    def generate_dataset(self, history, **shape):
        """Empty the tables and generate live + history rows from the fixed seed."""
        log("dataset: %d live rows over %d completed rows (generator, --fast-load)" % (self.p["live"], history))
        self.sql("TRUNCATE tds_sync_logs, tds_dead_letter_queue, tds_sync_queue, tds_inbox_events", fetch=False)
        t0 = time.time()
        extra = {}
        params = inspect.signature(gen.generate).parameters
        if "jobs" in params and history >= 1000000:
            # the history over as many connections as there are CPUs (the generator's own option)
            extra.update(jobs=max(1, min(4, os.cpu_count() or 1)), dsn=self.conn.dsn)
        if "progress" in params and history >= 1000000:
            extra["progress"] = lambda step, seconds: log("  generate: %s %.0f s" % (step, seconds)) \
                if seconds >= 30 else None
        extra.update(shape)
        info = gen.generate(self.conn, live=self.p["live"], history=history, seed=SEED, fast_load=True, **extra)
        gen_s = time.time() - t0
        t0 = time.time()
        self.vacuum_analyze()
        vac_s = time.time() - t0
        sizes = self.sql("SELECT pg_total_relation_size('tds_sync_queue'), pg_relation_size('tds_sync_queue'), "
                         "pg_database_size(current_database())")[0]
        out = {"history": history, "live": self.p["live"], "queue_rows": info["queue_rows"],
               "sync_logs": info["sync_logs"], "generate_s": round(gen_s, 1), "vacuum_analyze_s": round(vac_s, 1),
               "queue_total_mib": round(sizes[0] / MiB / MiB), "queue_heap_mib": round(sizes[1] / MiB / MiB),
               "database_mib": round(sizes[2] / MiB / MiB),
               "live_by_status": {k: v for k, v in info["live_by_status"].items() if v}}
        log("dataset ready in %.0f s (+%.0f s vacuum analyze): queue %d MiB" % (gen_s, vac_s, out["queue_total_mib"]))
        return out

    # -- 1. facts ----------------------------------------------------------------------
    def facts_in_process(self, conn, fm, q, schema_cls, params, timings):
        """The module's own code (inspect + gather) on an open connection; returns
        ms and fills ``timings`` with per-query ms."""
        originals = {}

        def timed(name, fn):
            def wrapper(*a, **kw):
                t0 = time.perf_counter()
                try:
                    return fn(*a, **kw)
                finally:
                    timings.setdefault(name, []).append((time.perf_counter() - t0) * 1000.0)
            return wrapper

        for name in FACT_QUERIES:
            originals[name] = getattr(q, name)
            setattr(q, name, timed(name, originals[name]))
        try:
            t0 = time.perf_counter()
            schema = schema_cls({})
            schema.inspect(conn)
            conn.rollback()
            with conn.cursor() as cur:
                facts = fm.gather(cur, schema, params, fm.Classifier(params.get("error_rules")))
            conn.rollback()
            elapsed = (time.perf_counter() - t0) * 1000.0
        finally:
            for name, fn in originals.items():
                setattr(q, name, fn)
        return elapsed, facts

    def naive_once(self, conn, timings):
        total = 0.0
        with conn.cursor() as cur:
            for name, query in NAIVE_QUERIES:
                t0 = time.perf_counter()
                cur.execute(query)
                cur.fetchall()
                ms = (time.perf_counter() - t0) * 1000.0
                timings.setdefault(name, []).append(ms)
                total += ms
        return total

    def measure_facts(self, history):
        from ansible_collections.tsh.zoho_sync.plugins.modules import zoho_queue_facts as fm
        from ansible_collections.tsh.zoho_sync.plugins.module_utils import facts_queries as q
        from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import QueueSchema

        params = {"stuck_after": 30, "retry_overdue_after": 15, "lease_seconds": 300, "max_attempts": None,
                  "top_errors": 10, "sample_size": 20, "lookback_hours": 48, "exact_count_max_rows": 200000,
                  "activity_window": 15, "error_rules": []}
        # the module's own session settings (its libpq startup options), on an open connection
        from ansible_collections.tsh.zoho_sync.plugins.module_utils import connection as qc
        defaults = dict((k, v.get("default")) for k, v in qc.connection_argument_spec().items())
        fconn = self.connect(application_name=APP, options=qc.session_options(defaults))
        fconn.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        nconn = self.connect(application_name="bench-naive")
        nconn.autocommit = True
        module_ms, module_reported, inproc_ms, naive_ms = [], [], [], []
        per_query, naive_per_query = {}, {}
        # one warm-up of each (not counted): caches and catalog, as in steady operation
        procs.run_module("zoho_queue_facts", self.module_args())
        self.facts_in_process(fconn, fm, q, QueueSchema, params, {})
        self.naive_once(nconn, {})
        facts = None
        for _ in range(self.p["reps"]):
            wall, result, _rss = procs.run_module("zoho_queue_facts", self.module_args())
            module_ms.append(wall * 1000.0)
            module_reported.append(result["ansible_facts"]["zoho_queue"]["duration_ms"])
            ms, facts = self.facts_in_process(fconn, fm, q, QueueSchema, params, per_query)
            inproc_ms.append(ms)
            naive_ms.append(self.naive_once(nconn, naive_per_query))
        fconn.close()
        nconn.close()
        out = {
            "history": history,
            "module_process_ms": summary(module_ms),
            "module_reported_duration_ms": summary(module_reported),
            "facts_in_process_ms": summary(inproc_ms),
            "facts_per_query_ms": dict((k, med(v)) for k, v in per_query.items()),
            "naive_total_ms": summary(naive_ms),
            "naive_per_query_ms": dict((k, med(v)) for k, v in naive_per_query.items()),
            "completed_estimated": facts["completed_estimated"] if facts else None,
        }
        out["speedup_in_process"] = round(out["naive_total_ms"]["median"] / out["facts_in_process_ms"]["median"], 1)
        out["speedup_module_process"] = round(out["naive_total_ms"]["median"] / out["module_process_ms"]["median"], 2)
        log("facts @%d: module %.0f ms, in-process %.1f ms, naive %.1f ms (x%.1f)" % (
            history, out["module_process_ms"]["median"], out["facts_in_process_ms"]["median"],
            out["naive_total_ms"]["median"], out["speedup_in_process"]))
        return out

    # -- 2. health.yml and 4. memory -----------------------------------------------------
    def measure_health(self, history):
        if not os.path.exists(HEALTH_PLAYBOOK):
            log("health.yml is missing: health measurement skipped")
            return {"history": history, "skipped": "health.yml not found"}
        reports = os.path.join(self.work, "reports")
        env = dict(self.pg_env(), ZOHO_REPORT_DIR=reports, ANSIBLE_NOCOLOR="1")
        health, floor, rcs = [], [], set()
        procs.run_playbook(FLOOR_PLAYBOOK, env)  # warm-up (not counted)
        procs.run_playbook(HEALTH_PLAYBOOK, env)
        for _ in range(self.p["health_reps"]):
            wall, rc, _rss, _tree, tail = procs.run_playbook(FLOOR_PLAYBOOK, env)
            if rc != 0:
                raise RuntimeError("floor playbook failed: %s" % tail)
            floor.append(wall)
            wall, rc, _rss, _tree, tail = procs.run_playbook(HEALTH_PLAYBOOK, env)
            rcs.add(rc)
            if rc not in procs.RAN_EXIT_CODES:
                raise RuntimeError("health.yml did not run (exit code %s): %s" % (rc, tail))
            health.append(wall)
        written = sorted(os.listdir(os.path.join(reports, "localhost"))) if os.path.isdir(
            os.path.join(reports, "localhost")) else []
        out = {"history": history, "health_s": summary(health), "floor_s": summary(floor),
               "ratio": round(med(health) / med(floor), 2), "health_exit_codes": sorted(rcs),
               "reports_written": [f for f in written if f.startswith("latest")]}
        log("health @%d: %.2f s vs floor %.2f s (x%.2f), rc %s" % (
            history, med(health), med(floor), out["ratio"], sorted(rcs)))
        return out

    def measure_memory(self, history):
        out = {"history": history}
        rss = []
        for _ in range(3):
            _wall, _res, kib = procs.run_module("zoho_queue_facts", self.module_args())
            rss.append(kib / MiB)
        out["facts_module_max_rss_mib"] = summary(rss)
        if os.path.exists(HEALTH_PLAYBOOK):
            env = dict(self.pg_env(), ZOHO_REPORT_DIR=os.path.join(self.work, "reports"), ANSIBLE_NOCOLOR="1")
            _wall, rc, largest, tree, _tail = procs.run_playbook(HEALTH_PLAYBOOK, env, sample_tree=True)
            out["health_playbook_largest_process_max_rss_mib"] = round(largest / MiB, 1)
            out["health_playbook_tree_peak_rss_mib"] = round(tree / MiB, 1) if tree else None
            _wall, rc, largest, tree, _tail = procs.run_playbook(FLOOR_PLAYBOOK, env, sample_tree=True)
            out["floor_playbook_largest_process_max_rss_mib"] = round(largest / MiB, 1)
            out["floor_playbook_tree_peak_rss_mib"] = round(tree / MiB, 1) if tree else None
        log("memory @%d: facts module %.1f MiB" % (history, med(rss)))
        return out

    # -- plans -----------------------------------------------------------------------------
    def capture_plans(self, history):
        """auto_explain in the module's own session: the plans of exactly what it runs."""
        start = self.log_offset()
        env = {"PGOPTIONS": "-c auto_explain.log_min_duration=0 -c auto_explain.log_analyze=on "
                            "-c auto_explain.log_buffers=on -c auto_explain.log_timing=on"}
        procs.run_module("zoho_queue_facts", self.module_args(), env=env)
        time.sleep(0.5)
        plans = [(ms, text) for ms, text in pglog.plans(pglog.read_entries(self.logfile, start), app=APP)
                 if "tds_" in text and "pg_catalog" not in text]
        naive = []
        with self.conn.cursor() as cur:
            for name, query in NAIVE_QUERIES:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + query)
                naive.append((name, query, "\n".join(r[0] for r in cur.fetchall())))
        self.conn.rollback()
        return {"history": history, "facts": plans, "naive": naive}

    # -- 3. heal ---------------------------------------------------------------------------
    def start_probes(self, tag):
        stop = os.path.join(self.work, "stop-%s" % tag)
        outs, running = [], []
        for i in range(self.p["workers"]):
            out = os.path.join(self.work, "claims-%s-%d.txt" % (tag, i))
            outs.append(out)
            running.append(subprocess.Popen(
                [procs.PYTHON, "-m", "bench.claim_probe", "--dsn", self.cluster.dsn("bench"),
                 "--worker-id", "bench-%d" % (i + 1), "--out", out, "--stop-file", stop], cwd=ROOT))
        return stop, outs, running

    def stop_probes(self, stop, outs, running):
        with open(stop, "w"):
            pass
        for proc in running:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        claims = []
        for out in outs:
            claims.extend(read_claims(out))
        return claims

    def heal_module(self, name, args):
        """Run a heal module with statement logging in its session only; returns the
        run's figures and its batches' lock holds from the server log."""
        start = self.log_offset()
        t_start = time.time()
        try:
            wall, result, rss = procs.run_module(name, self.module_args(**args),
                                                 env={"PGOPTIONS": "-c log_min_duration_statement=0"})
        except Exception:
            time.sleep(0.3)
            self.last_statement_kinds = pglog.statement_kinds(
                pglog.statements(pglog.read_entries(self.logfile, start), app=APP))
            raise
        t_end = time.time()
        time.sleep(0.3)
        stmts = pglog.statements(pglog.read_entries(self.logfile, start), app=APP)
        batches = pglog.batch_lock_holds(stmts)
        self.last_statement_kinds = pglog.statement_kinds(stmts)
        return wall, result, batches, (t_start, t_end), rss

    @staticmethod
    def claim_stats(claims, windows):
        lat = [c[1] for c in claims if any(a <= c[0] <= b for a, b in windows)]
        won = [c for c in claims if any(a <= c[0] <= b for a, b in windows) and c[2]]
        return {"claims": len(lat), "claimed_rows": len(won), "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
                "max_ms": round(max(lat), 2) if lat else None}

    # The heal actions measured, each against one statement making the same change on
    # the same rows (rendered from the same declaration: heal_queries.whole_statement).
    HEAL_ACTIONS = (
        # name, module, module args, declaration, result count key, generator mix of its rows
        ("requeue_failed", "zoho_requeue", {"source": "failed"}, "REQUEUE_FAILED", "requeued",
         {"failed_under_budget": 1.0}),
        ("clear_stuck", "zoho_requeue", {"source": "stuck", "stuck_after": 30}, "CLEAR_STUCK", "requeued",
         {"processing_stuck": 1.0}),
        ("move_exhausted", "zoho_dlq_move", {"reconcile": False}, "MOVE_EXHAUSTED", "moved",
         {"failed_exhausted": 0.8, "retry_exhausted": 0.2}),
    )
    # what the claim probes claim: pending and due retries, never a row a heal action takes
    PROBE_MIX = {"pending_fresh": 0.7, "pending_old": 0.2, "retry_due": 0.05, "retry_overdue": 0.05}
    HEAL_PARAMS = {"max_attempts": None, "stuck_after": 30, "reason": None}

    def _declared(self, name):
        from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_actions as ha
        from ansible_collections.tsh.zoho_sync.plugins.module_utils import heal_queries as hq
        from ansible_collections.tsh.zoho_sync.plugins.module_utils.queue_schema import QueueSchema
        schema = QueueSchema({})
        conn = self.connect()
        try:
            schema.inspect(conn)
        finally:
            conn.close()
        return getattr(ha, name), schema, hq

    def count_matching(self, action, schema, hq, params):
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                query = hq.sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(
                    hq.table_ident(schema, action.table), hq.condition(action, schema, "t"))
                cur.execute(query, hq.statement_args(params))
                return cur.fetchone()[0]
        finally:
            conn.rollback()
            conn.close()

    def vacuum(self, tables=("tds_sync_queue", "tds_dead_letter_queue")):
        """Clear what a rolled-back statement left (dead tuples and index entries), then
        write out every dirty buffer (CHECKPOINT), so the walk or statement that follows
        meets the table as the other did and neither pays for writing back the pages the
        other (or the load) dirtied. Not timed."""
        t0 = time.time()
        conn = self.connect()
        conn.autocommit = True
        with conn.cursor() as cur:
            for table in tables:
                cur.execute("VACUUM %s" % table)
            cur.execute("CHECKPOINT")
        conn.close()
        return round(time.time() - t0, 1)

    def whole_statement(self, action, schema, hq, params, limit=None):
        """One statement making the change, timed, then rolled back: (rows, seconds, start, end)."""
        conn = self.connect(application_name="bench-statement")
        try:
            with conn.cursor() as cur:
                args = hq.statement_args(params)
                if limit:
                    args["limit"] = limit
                query = hq.whole_statement(action, schema, limit)
                t_start = time.time()
                t0 = time.perf_counter()
                cur.execute(query, args)
                rows = cur.rowcount
                seconds = time.perf_counter() - t0
                t_end = time.time()
        finally:
            conn.rollback()
            conn.close()
        return rows, seconds, (t_start, t_end)

    def explain_heal(self, action, schema, hq, params, limit=None, batch_size=200):
        """EXPLAIN (ANALYZE, BUFFERS) of the statements compared, each rolled back: the one
        statement (this is also its warm-up run), the walk's selection (as a real run
        declares it: heap order, no diff columns) and one batch's statement(s) on the first
        ``batch_size`` candidates. Returns {name: plan text}; a failure is recorded, not raised."""
        out = {}
        conn = self.connect(application_name="bench-explain")
        args = hq.statement_args(params)
        if limit:
            args["limit"] = limit

        def explain(name, query, a):
            with conn.cursor() as cur:
                cur.execute(hq.sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + query, a)
                out[name] = "\n".join(r[0] for r in cur.fetchall())
            conn.rollback()

        try:
            explain("one statement", hq.whole_statement(action, schema, limit), args)
            want = limit or self.count_matching(action, schema, hq, params) or 1
            selection = hq.selection(action, schema, False, False, heap_order=True)
            explain("walk: selection (want=%d)" % want, selection, dict(args, want=want))
            with conn.cursor() as cur:
                cur.execute(selection, dict(args, want=batch_size))
                ids = tuple(r[0] for r in cur.fetchall())
            conn.rollback()
            if ids:
                if action.deletes:
                    explain("walk: one batch (%d ids): lock, delete with the logs" % len(ids),
                            hq.delete_batch(action, schema), dict(args, batch=ids))
                else:
                    explain("walk: one batch (%d ids): lock and update" % len(ids),
                            hq.lock_and_update(action, schema, False), dict(args, batch=ids))
                    if action.record is not None:
                        with conn.cursor() as cur:
                            cur.execute(hq.lock_and_update(action, schema, False), dict(args, batch=ids))
                            done = tuple(r[0] for r in cur.fetchall())
                            cur.execute(hq.sql.SQL("EXPLAIN (ANALYZE, BUFFERS) ") + hq.insert_records(
                                schema, action.record), dict(args, batch=done or ids))
                            out["walk: one batch: dead-letter records (after the update, same transaction)"] = \
                                "\n".join(r[0] for r in cur.fetchall())
                        conn.rollback()
        except Exception as exc:  # the plans are a by-product: the measurement goes on
            log("explain failed: %s" % exc)
            out["error"] = str(exc)[:1000]
            conn.rollback()
        finally:
            conn.close()
        return out

    def measure_heal(self, history):
        n, batch = self.p["heal_rows"], self.p["heal_batch"]
        log("heal: adding %d rows for each of %s, and %d claimable rows" % (
            n, ", ".join(a[0] for a in self.HEAL_ACTIONS), self.p["worker_pool"]))
        for i, (_name, _m, _a, _d, _k, mix) in enumerate(self.HEAL_ACTIONS):
            gen.generate(self.conn, live=n, seed=101 + i, mix=mix)
        gen.generate(self.conn, live=self.p["worker_pool"], seed=109, mix=self.PROBE_MIX)
        self.vacuum_analyze()
        stop, outs, running = self.start_probes("heal")
        out = {"history": history, "rows": n, "batch_size": batch, "workers": self.p["workers"]}
        runs, windows, statement_windows, plans = {}, {}, [], {}
        out["plans"] = plans
        try:
            time.sleep(min(2.0, self.p["baseline_s"]))  # probes connected and polling
            b1 = (time.time(), time.time() + self.p["baseline_s"])
            time.sleep(self.p["baseline_s"])
            for name, module, margs, declared, count_key, _mix in self.HEAL_ACTIONS:
                action, schema, hq = self._declared(declared)
                matching = self.count_matching(action, schema, hq, self.HEAL_PARAMS)
                log("heal: %s - %d matching rows; one statement (warm-up under EXPLAIN ANALYZE with the walk's "
                    "statements, then timed, all rolled back)" % (name, matching))
                plans[name] = self.explain_heal(action, schema, hq, self.HEAL_PARAMS, batch_size=batch)
                vac1 = self.vacuum()
                s_rows, s_seconds, s_window = self.whole_statement(action, schema, hq, self.HEAL_PARAMS)
                statement_windows.append(s_window)
                vac2 = self.vacuum()
                args = dict(margs, limit=max(matching, 1), batch_size=batch)
                log("heal: %s - %s limit=%d batch_size=%d beside %d claim probes" % (
                    name, module, args["limit"], batch, self.p["workers"]))
                try:
                    wall, result, batches, window, _rss = self.heal_module(module, args)
                except Exception as exc:  # a failed heal is a result too
                    log("heal: %s failed: %s" % (name, exc))
                    runs[name] = {"error": str(exc)[:2000], "options": args,
                                  "statements_ms": getattr(self, "last_statement_kinds", None)}
                    continue
                windows[name] = window
                rows = result[count_key]
                holds = [b["lock_hold_ms"] for b in batches]
                txns = [b["transaction_ms"] for b in batches if b["transaction_ms"] is not None]
                rate = rows / wall if wall else 0
                s_rate = s_rows / s_seconds if s_seconds else 0
                runs[name] = {
                    "module": module, "options": args, "rows": rows, "wall_s": round(wall, 2),
                    "rows_per_s": round(rate, 0),
                    "statement": {"rows": s_rows, "seconds": round(s_seconds, 2), "rows_per_s": round(s_rate, 0),
                                  "vacuum_s": [vac1, vac2]},
                    "ratio_to_statement": round(rate / s_rate, 3) if s_rate else None,
                    "batches": result["batches"], "batches_in_log": len(batches),
                    "skipped_locked": len(result.get("skipped_locked", [])),
                    "lock_hold_ms": {"max": max(holds) if holds else None, "p50": pct(holds, 50),
                                     "p99": pct(holds, 99)},
                    "transaction_ms": {"max": max(txns) if txns else None, "p50": pct(txns, 50)},
                    "statements_ms": self.last_statement_kinds,
                    # rows per second of the batches' own transactions (without the module's
                    # start-up and the selection)
                    "rows_per_s_in_batches": round(rows / (sum(txns) / 1000.0), 0) if txns else None,
                }
                log("heal: %s %d rows in %.1f s = %.0f rows/s vs one statement %d rows in %.1f s = %.0f rows/s "
                    "(x%.2f), longest lock hold %s ms" % (name, rows, wall, rate, s_rows, s_seconds, s_rate,
                                                         runs[name]["ratio_to_statement"] or 0,
                                                         runs[name]["lock_hold_ms"]["max"]))
                time.sleep(min(2.0, self.p["baseline_s"]))
            b2 = (time.time(), time.time() + self.p["baseline_s"])
            time.sleep(self.p["baseline_s"])
        finally:
            claims = self.stop_probes(stop, outs, running)
        out["runs"] = runs
        out["claims_baseline"] = self.claim_stats(claims, [b1, b2])
        out["claims_during_heal"] = self.claim_stats(claims, list(windows.values()))
        out["claims_during_statements"] = self.claim_stats(claims, statement_windows)
        for name, window in windows.items():
            out["runs"][name]["claims_during"] = self.claim_stats(claims, [window])
        base, during = out["claims_baseline"]["p99_ms"], out["claims_during_heal"]["p99_ms"]
        out["claim_p99_ratio"] = round(during / base, 2) if base and during is not None else None
        log("heal: worker claim p99 %.2f ms during heal vs %.2f ms baseline" % (during or -1, base or -1))
        return out

    # -- 5. cleanup ------------------------------------------------------------------------
    def measure_cleanup(self, history):
        n = self.p["cleanup_rows"]
        days = 300
        action, schema, hq = self._declared("CLEANUP_QUEUE")
        params = {"queue_days": days, "max_attempts": None}
        eligible = self.sql("SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                            "AND completed_at < now() - make_interval(days => %s)", (days,))[0][0]
        log("cleanup: one DELETE of the same %d rows with their logs (warm-up under EXPLAIN ANALYZE with the "
            "walk's statements, then timed, all rolled back)" % n)
        plans = self.explain_heal(action, schema, hq, params, limit=n, batch_size=self.p["cleanup_batch"])
        self.vacuum(("tds_sync_queue", "tds_sync_logs"))
        s_rows, s_seconds, _w = self.whole_statement(action, schema, hq, params, limit=n)
        self.vacuum(("tds_sync_queue", "tds_sync_logs"))
        logs_before = self.sql("SELECT count(*) FROM tds_sync_logs")[0][0]
        args = {"run_id": "bench-cleanup", "backup_dir": os.path.join(self.work, "backups"), "confirm": True,
                "targets": ["queue"], "completed_older_than_days": days, "limit": n,
                "batch_size": self.p["cleanup_batch"], "max_ids": 0}
        log("cleanup: zoho_cleanup limit=%d batch_size=%d (%d eligible rows)" % (n, args["batch_size"], eligible))
        wall, result, batches, _window, rss = self.heal_module("zoho_cleanup", args)
        logs_after = self.sql("SELECT count(*) FROM tds_sync_logs")[0][0]
        deleted = result["deleted"]
        holds = [b["lock_hold_ms"] for b in batches]
        backup = result.get("backup_file")
        rate = deleted.get("queue", 0) / wall
        s_rate = s_rows / s_seconds if s_seconds else 0
        out = {"history": history, "options": {k: v for k, v in args.items() if k != "backup_dir"},
               "eligible_rows": eligible, "deleted": deleted, "sync_logs_deleted": logs_before - logs_after,
               "wall_s": round(wall, 2), "rows_per_s": round(rate, 0),
               "rows_per_s_with_logs": round((deleted.get("queue", 0) + logs_before - logs_after) / wall, 0),
               "statement": {"rows": s_rows, "seconds": round(s_seconds, 2), "rows_per_s": round(s_rate, 0)},
               "ratio_to_statement": round(rate / s_rate, 3) if s_rate else None,
               "batches_in_log": len(batches),
               "lock_hold_ms": {"max": max(holds) if holds else None, "p50": pct(holds, 50), "p99": pct(holds, 99)},
               "statements_ms": self.last_statement_kinds,
               "backup_mib": round(os.path.getsize(backup) / MiB / MiB, 1) if backup and os.path.exists(backup) else None,
               "module_max_rss_mib": round(rss / MiB, 1), "plans": plans}
        if backup and os.path.exists(backup):
            os.unlink(backup)
        log("cleanup: %s in %.1f s = %.0f queue rows/s vs one DELETE %.0f rows/s (x%.2f), longest lock hold %s ms, "
            "max RSS %.0f MiB" % (deleted, wall, rate, s_rate, out["ratio_to_statement"] or 0,
                                  out["lock_hold_ms"]["max"], out["module_max_rss_mib"]))
        return out

    # -- 6. preview against heal -----------------------------------------------------------------
    def heal_lock_poller(self):
        """Samples, every 50 ms, whether a heal lock (advisory) is held on the bench database;
        returns (thread, stop event, list of (time, held))."""
        import threading
        samples, stop = [], threading.Event()

        def poll():
            conn = self.connect(application_name="bench-lock-poller")
            conn.autocommit = True
            with conn.cursor() as cur:
                while not stop.is_set():
                    cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")
                    samples.append((time.time(), cur.fetchone()[0] > 0))
                    stop.wait(0.05)
            conn.close()

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        return thread, stop, samples

    @staticmethod
    def held_seconds(samples):
        held = [t for t, h in samples if h]
        return round(held[-1] - held[0] + 0.05, 2) if held else 0.0

    def heal_playbook(self, tag, extra_args):
        reports = os.path.join(self.work, "reports-%s" % tag)
        env = dict(self.pg_env(), ZOHO_REPORT_DIR=reports, ANSIBLE_NOCOLOR="1")
        thread, stop, samples = self.heal_lock_poller()
        t_start = time.time()
        try:
            wall, rc, _rss, _tree, tail = procs.run_playbook(
                os.path.join(ROOT, "heal.yml"), env, ["-e", "zoho_heal_confirm=true", "-e", "zoho_heal_restart=false"]
                + list(extra_args))
        finally:
            stop.set()
            thread.join()
        report = None
        found = sorted(glob.glob(os.path.join(reports, "*", "heal-*.json")))
        if found:
            with open(found[-1]) as fh:
                report = json.load(fh)
        counts, ids, at = {}, {}, {}
        if report:
            for a in report.get("actions", []):
                counts[a["action"]] = dict((k, v) for k, v in (a.get("counts") or {}).items()
                                           if k not in ("batches", "skipped_locked", "backed_up"))
                found = a.get("ids")
                ids[a["action"]] = sorted(found) if isinstance(found, list) else dict(
                    (k, sorted(v)) for k, v in (found or {}).items() if isinstance(v, list))
                at[a["action"]] = a.get("at")
        return {"wall_s": round(wall, 2), "rc": rc, "heal_lock_held_s": self.held_seconds(samples),
                "status": report.get("status") if report else None, "counts": counts, "ids": ids, "at": at,
                "started": t_start,
                "error": report.get("error") if report else tail[-1500:]}

    def measure_preview(self, history):
        """heal.yml --check --diff against heal.yml on the same data (the preview writes
        nothing, so the heal runs second on the very rows the preview saw), both confirmed,
        cleanup included, with the role's default limits."""
        dataset = self.dataset(history)
        log("preview: heal.yml --check --diff -e zoho_heal_confirm=true at %s history" % fmt_n(history))
        preview = self.heal_playbook("preview-%d" % history, ["--check", "--diff"])
        log("preview: %.1f s rc %s, heal lock held %.1f s" % (preview["wall_s"], preview["rc"],
                                                              preview["heal_lock_held_s"]))
        log("preview: heal.yml -e zoho_heal_confirm=true on the same rows")
        heal = self.heal_playbook("heal-%d" % history, [])
        log("preview: heal %.1f s rc %s, heal lock held %.1f s" % (heal["wall_s"], heal["rc"], heal["heal_lock_held_s"]))
        same = dict((k, preview["counts"].get(k) == heal["counts"].get(k)) for k in heal["counts"])
        differences = self.preview_differences(dataset, preview, heal, same)
        for pv in (preview, heal):
            pv.pop("ids", None)  # (thousands of ids: the differences keep what matters)
        return {"history": history, "dataset_copy_s": dataset.get("copy_s"), "preview": preview, "heal": heal,
                "differences": differences,
                "time_ratio": round(preview["wall_s"] / heal["wall_s"], 2) if heal["wall_s"] else None,
                "lock_ratio": round(preview["heal_lock_held_s"] / heal["heal_lock_held_s"], 2)
                if heal["heal_lock_held_s"] else None,
                "same_counts": same}

    def preview_differences(self, dataset, preview, heal, same):
        """For each action whose counts differ: the ids only the preview or only the heal
        reported, and, for clear_stuck, which of them changed state with the clock between
        the two runs - a lease that crossed ``now() - stuck_after`` after the preview's
        selection and before the heal's (the datasets' leases keep expiring in real time).
        Read from the pristine cached dataset (the copy has been healed); None when the
        dataset is not cached."""
        out = {}
        for name, ok in same.items():
            if ok:
                continue
            p_ids, h_ids = preview["ids"].get(name), heal["ids"].get(name)
            if not isinstance(p_ids, list) or not isinstance(h_ids, list):
                out[name] = {"compared": False}
                continue
            only_p, only_h = sorted(set(p_ids) - set(h_ids)), sorted(set(h_ids) - set(p_ids))
            d = {"compared": True, "only_preview": len(only_p), "only_heal": len(only_h),
                 "only_preview_ids": only_p[:20], "only_heal_ids": only_h[:20], "crossed_between_runs": None}
            if name == "clear_stuck" and self.cache is not None and dataset.get("name") and (only_p or only_h) \
                    and heal["at"].get(name):
                window = (preview["started"], datetime.datetime.fromisoformat(
                    heal["at"][name].replace("Z", "+00:00")).timestamp() + 1.0)
                conn = psycopg2.connect(self.cluster.dsn(dataset["name"]))
                try:
                    with conn.cursor() as cur:
                        cur.execute("SELECT id::text, (extract(epoch FROM lock_expires_at) + %s * 60)::float8 "
                                    "FROM tds_sync_queue WHERE id::text = ANY(%s)",
                                    (self.HEAL_PARAMS["stuck_after"], only_p + only_h))
                        becomes = dict(cur.fetchall())
                finally:
                    conn.rollback()
                    conn.close()
                crossed = [i for i in only_h if becomes.get(i) is not None and window[0] < becomes[i] <= window[1]]
                d["crossed_between_runs"] = len(crossed)
                d["window"] = [round(window[0], 1), round(window[1], 1)]
            # explained: the preview named no row the heal did not touch, and every row only
            # the heal touched became eligible with the clock between the two runs
            d["explained"] = bool(d["crossed_between_runs"] is not None and not only_p
                                  and d["crossed_between_runs"] == len(only_h))
            out[name] = d
        return out

    def checkpoint(self):
        """Keep what was measured so far (a long run that is stopped keeps its figures)."""
        path = os.path.join(self.args.out_dir, "partial-%s.json" % self.p.get("name", "run"))
        try:
            os.makedirs(self.args.out_dir, exist_ok=True)
            with open(path, "w") as fh:
                json.dump(self.results, fh, indent=2, sort_keys=True, default=str)
        except OSError:
            pass

    def guarded(self, phase, fn, history):
        """A phase that fails (a module error, a timeout) is reported, not fatal."""
        try:
            return fn(history)
        except Exception as exc:  # reported in the results and on stderr
            log("%s failed: %s" % (phase, exc))
            self.conn.rollback()
            return {"history": history, "error": str(exc)[:2000]}

    # -- the run ---------------------------------------------------------------------------
    def run(self, phases):
        r = self.results
        r["started_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        r["machine"] = machine_info()
        r["load_average_start"] = load_average()
        self.start()
        admin = psycopg2.connect(self.cluster.dsn())
        r["versions"] = versions(admin)
        admin.close()
        sampler = LoadSampler().start()
        r["cluster_settings"] = bench_cluster.describe_settings()
        r["profile"] = dict(self.p)
        r["datasets"], r["facts"], r["health"] = [], [], []
        sizes = self.p["sizes"]
        for history in sizes:
            r["datasets"].append(self.dataset(history))
            if "facts" in phases:
                r["facts"].append(self.measure_facts(history))
                self.checkpoint()
            if "health" in phases and history in self.p["health_sizes"]:
                r["health"].append(self.measure_health(history))
                self.checkpoint()
            if history == sizes[-1]:
                if "memory" in phases:
                    r["memory"] = self.measure_memory(history)
                if "explain" in phases:
                    r["plans"] = self.capture_plans(history)
                self.checkpoint()
                if "heal" in phases:
                    r["heal"] = self.guarded("heal", self.measure_heal, history)
                    self.checkpoint()
                if "cleanup" in phases:
                    r["cleanup"] = self.guarded("cleanup", self.measure_cleanup, history)
                    self.checkpoint()
        if "preview" in phases:
            r["preview"] = []
            for history in self.p.get("preview_sizes") or []:
                r["preview"].append(self.guarded("preview", self.measure_preview, history))
                self.checkpoint()
        # issue 13's cases (bench/dense.py, bench/fleet.py): after the others, on their own databases
        if "dense" in phases:
            r["dense"] = self.guarded("dense", lambda _h: dense.measure(self), None)
            self.checkpoint()
        if "fleet" in phases:
            r["fleet"] = self.guarded("fleet", lambda _h: fleet.measure(self), None)
        r["load_during"] = sampler.stop()
        r["load_average_end"] = load_average()
        r["finished_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        r["targets"] = targets(r)
        return r


# ----------------------------------------------------------------------------- targets
def targets(r):
    out = []
    facts = r.get("facts") or []
    largest = facts[-1] if facts else None
    full = largest is not None and largest["history"] >= 10000000
    note = "" if full else " (this run's largest history is %s; the target is at 10M)" % (
        "{:,}".format(largest["history"]) if largest else "none")

    def add(name, target, figure, met, detail=""):
        out.append({"target": name, "wanted": target, "figure": figure,
                    "met": met if full else (None if met is None else met),
                    "detail": (detail + note).strip(), "at_10m": full})

    if largest:
        add("facts vs naive queries at 10M history", ">= %gx faster" % TARGET_SPEEDUP,
            "%.1fx" % largest["speedup_in_process"], largest["speedup_in_process"] >= TARGET_SPEEDUP,
            "in-process query time %.1f ms vs %.1f ms" % (largest["facts_in_process_ms"]["median"],
                                                          largest["naive_total_ms"]["median"]))
        first = facts[0]
        growth = largest["facts_in_process_ms"]["median"] / first["facts_in_process_ms"]["median"]
        add("facts at 10M vs at 10k history", "<= %gx slower" % TARGET_GROWTH, "%.2fx" % growth,
            growth <= TARGET_GROWTH, "%s -> %s history" % ("{:,}".format(first["history"]),
                                                           "{:,}".format(largest["history"])))
    health = [h for h in r.get("health") or [] if "ratio" in h]
    if health:
        h = health[-1]
        add("health.yml vs one-task playbook", "<= %gx" % TARGET_HEALTH_FLOOR, "%.2fx" % h["ratio"],
            h["ratio"] <= TARGET_HEALTH_FLOOR, "%.2f s vs %.2f s at %s" % (
                h["health_s"]["median"], h["floor_s"]["median"], "{:,}".format(h["history"])))
    heal = r.get("heal")
    if heal and "error" in heal:
        add("heal throughput", ">= %d rows/s" % TARGET_HEAL_RATE, "run failed", False, heal["error"][:200])
        heal = None
    if heal:
        for name, run in list(heal["runs"].items()):
            if "error" in run:
                add("heal throughput (%s)" % name, ">= %d rows/s" % TARGET_HEAL_RATE, "run failed", False,
                    run["error"][:200])
                continue
            if run.get("ratio_to_statement") is not None:
                add("%s vs one statement at %s history" % (name, fmt_n(heal["history"])),
                    ">= %d %%" % (TARGET_HEAL_RATIO * 100), "%d %%" % round(run["ratio_to_statement"] * 100),
                    run["ratio_to_statement"] >= TARGET_HEAL_RATIO,
                    "%d rows/s vs %d rows/s (%d rows)" % (run["rows_per_s"], run["statement"]["rows_per_s"],
                                                          run["rows"]))
            add("heal throughput (%s)" % name, ">= %d rows/s" % TARGET_HEAL_RATE, "%d rows/s" % run["rows_per_s"],
                run["rows_per_s"] >= TARGET_HEAL_RATE, "%d rows in %.1f s, batch_size %d" % (
                    run["rows"], run["wall_s"], heal["batch_size"]))
        holds = [run["lock_hold_ms"]["max"] for run in heal["runs"].values()
                 if "error" not in run and run["lock_hold_ms"]["max"] is not None]
        if holds:
            add("longest batch lock hold (heal)", "<= %d ms" % TARGET_LOCK_MS, "%.1f ms" % max(holds),
                max(holds) <= TARGET_LOCK_MS)
        if heal.get("claim_p99_ratio") is not None:
            add("worker claim p99 during heal vs baseline", "<= %gx" % TARGET_CLAIM_P99,
                "%.2fx" % heal["claim_p99_ratio"], heal["claim_p99_ratio"] <= TARGET_CLAIM_P99,
                "%.2f ms vs %.2f ms" % (heal["claims_during_heal"]["p99_ms"], heal["claims_baseline"]["p99_ms"]))
    c = r.get("cleanup")
    if c and "error" not in c and c.get("ratio_to_statement") is not None:
        add("cleanup vs one DELETE of the same rows", "(measured)", "%d %%" % round(c["ratio_to_statement"] * 100),
            None, "%d rows/s vs %d rows/s; %s MiB max RSS" % (c["rows_per_s"], c["statement"]["rows_per_s"],
                                                             c["module_max_rss_mib"]))
    for pv in r.get("preview") or []:
        if "error" in pv:
            add("preview vs heal", "<= heal", "run failed", False, pv["error"][:200])
            continue
        at = fmt_n(pv["history"])
        ok = pv["preview"]["rc"] == 0 and pv["preview"]["wall_s"] <= pv["heal"]["wall_s"]
        add("preview time vs heal at %s history" % at, "<= 1.0x", "%.2fx" % pv["time_ratio"], ok,
            "%.1f s (rc %s) vs %.1f s (rc %s)" % (pv["preview"]["wall_s"], pv["preview"]["rc"], pv["heal"]["wall_s"],
                                                  pv["heal"]["rc"]))
        if pv.get("lock_ratio") is not None:
            add("preview heal-lock hold vs heal at %s history" % at, "<= 1.0x", "%.2fx" % pv["lock_ratio"],
                pv["preview"]["heal_lock_held_s"] <= pv["heal"]["heal_lock_held_s"],
                "%.1f s vs %.1f s" % (pv["preview"]["heal_lock_held_s"], pv["heal"]["heal_lock_held_s"]))
        diffs = pv.get("differences") or {}
        explained = [k for k, v in pv["same_counts"].items() if not v and (diffs.get(k) or {}).get("explained")]
        add("preview counts equal the heal's at %s history" % at, "every action", "%d of %d%s" % (
            sum(1 for v in pv["same_counts"].values() if v), len(pv["same_counts"]),
            "; %s: %s" % (", ".join(explained), ", ".join(
                "the heal's %d extra rows all became eligible with the clock between the two runs"
                % diffs[k]["only_heal"] for k in explained)) if explained else ""),
            all(v or k in explained for k, v in pv["same_counts"].items()), "")
    mem = r.get("memory")
    if mem:
        rss = mem["facts_module_max_rss_mib"]["max"]
        add("facts module peak memory", "< %d MiB" % TARGET_FACTS_RSS_MIB, "%.1f MiB" % rss,
            rss < TARGET_FACTS_RSS_MIB)
    return out + dense.targets(r) + fleet.targets(r)


# ----------------------------------------------------------------------------- reports
def fmt_n(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def describe_difference(preview, heal, diff):
    text = "preview %s, heal %s" % (preview, heal)
    if diff and diff.get("compared"):
        text += "; ids only in the preview %d, only in the heal %d" % (diff["only_preview"], diff["only_heal"])
        if diff.get("crossed_between_runs") is not None:
            text += ", of which %d became eligible with the clock between the two runs" % diff["crossed_between_runs"]
    return text


def render(r, command):
    lines = []
    add = lines.append
    add("# Benchmark results %s (%s)" % (r["started_at"], r["profile_name"]))
    add("")
    m, v = r["machine"], r["versions"]
    add("Machine: %s CPU(s), %s, %s GiB RAM; %s. Load average at start %s, at end %s." % (
        m.get("nproc"), m.get("cpu_model"), m.get("memory_gib"), m.get("platform"),
        r.get("load_average_start"), r.get("load_average_end")))
    add("Versions: PostgreSQL %s, Python %s, ansible-core %s, psycopg2 %s." % (
        v["postgresql"], v["python"], v["ansible_core"], v["psycopg2"]))
    add("Cluster settings: %s." % ", ".join("%s=%s" % kv for kv in sorted(r["cluster_settings"].items())))
    add("Command: `%s`. Every figure is the median of the repetitions unless it says max/p99." % command)
    ld = r.get("load_during") or {}
    if ld.get("median") is not None:
        add("Load average (1 min) during the run: min %s, median %s, max %s (%d samples, every 10 s)." % (
            ld["min"], ld["median"], ld["max"], len(ld["samples"])))
    add("")
    add("## Targets")
    add("")
    add("| target | wanted | figure | met |")
    add("|---|---|---|---|")
    for t in r["targets"]:
        met = "measured" if t["met"] is None else ("met" if t["met"] else "NOT met")
        if not t["at_10m"] and t["target"].startswith("facts "):
            met += " (at %s)" % fmt_n(r["facts"][-1]["history"])
        add("| %s | %s | %s | %s |" % (t["target"], t["wanted"], t["figure"], met))
    add("")
    if r.get("datasets"):
        add("## Datasets")
        add("")
        add("| history | queue rows | sync logs | queue table+indexes | generate | vacuum analyze |")
        add("|---|---|---|---|---|---|")
        for d in r["datasets"]:
            add("| %s | %s | %s | %s MiB | %.0f s | %.0f s |" % (fmt_n(d["history"]), "{:,}".format(d["queue_rows"]),
                "{:,}".format(d["sync_logs"]), d["queue_total_mib"], d["generate_s"], d["vacuum_analyze_s"]))
        add("")
    if r.get("facts"):
        add("## 1. zoho_queue_facts vs the naive queries (%d repetitions)" % r["profile"]["reps"])
        add("")
        add("| history | facts in-process | facts module process | naive queries | naive / facts | "
            "status counts | last sync | error patterns |")
        add("|---|---|---|---|---|---|---|---|")
        for f in r["facts"]:
            nq = f["naive_per_query_ms"]
            add("| %s | %.1f ms | %.0f ms | %.1f ms | %.1fx | %.1f ms | %.1f ms | %.1f ms |" % (
                fmt_n(f["history"]), f["facts_in_process_ms"]["median"], f["module_process_ms"]["median"],
                f["naive_total_ms"]["median"], f["speedup_in_process"], nq["status_counts"],
                nq["last_sync_per_entity"], nq["error_patterns"]))
        first, last = r["facts"][0], r["facts"][-1]
        add("")
        add("Growth %s -> %s history: facts in-process %.2fx, module process %.2fx, naive %.1fx." % (
            fmt_n(first["history"]), fmt_n(last["history"]),
            last["facts_in_process_ms"]["median"] / first["facts_in_process_ms"]["median"],
            last["module_process_ms"]["median"] / first["module_process_ms"]["median"],
            last["naive_total_ms"]["median"] / first["naive_total_ms"]["median"]))
        add("")
        add("Per facts query (ms, in-process):")
        add("")
        add("| history | " + " | ".join(FACT_QUERIES) + " |")
        add("|---|" + "---|" * len(FACT_QUERIES))
        for f in r["facts"]:
            add("| %s | %s |" % (fmt_n(f["history"]), " | ".join(
                "%.1f" % f["facts_per_query_ms"].get(k, float("nan")) for k in FACT_QUERIES)))
        add("")
    if r.get("health"):
        add("## 2. health.yml end to end vs a one-task playbook (%d repetitions)" % r["profile"]["health_reps"])
        add("")
        add("| history | health.yml | one-task floor | ratio | health.yml exit codes |")
        add("|---|---|---|---|---|")
        for h in r["health"]:
            if "ratio" in h:
                add("| %s | %.2f s | %.2f s | %.2fx | %s |" % (fmt_n(h["history"]), h["health_s"]["median"],
                    h["floor_s"]["median"], h["ratio"], h["health_exit_codes"]))
            else:
                add("| %s | skipped: %s | | | |" % (fmt_n(h["history"]), h["skipped"]))
        add("")
    heal = r.get("heal")
    if heal and "error" in heal:
        add("## 3. Heal: the run failed")
        add("")
        add("```\n%s\n```" % heal["error"])
        add("")
        heal = None
    if heal:
        add("## 3. Heal with %d claim probes at %s history (batch_size %d)" % (
            heal["workers"], fmt_n(heal["history"]), heal["batch_size"]))
        add("")
        add("| action | module | rows | wall | rows/s | one statement rows/s | ratio | batches | longest lock hold |"
            " p99 lock hold | skipped (locked) | claim p50 / p99 / max during |")
        add("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for name, run in heal["runs"].items():
            if "error" in run:
                add("| %s | failed: %s | | | | | | | | | | |" % (name, run["error"][:300].replace("|", "/")))
                continue
            c = run["claims_during"]
            add("| %s | %s | %s | %.1f s | %d | %d | %d %% | %d | %s ms | %s ms | %d | %s / %s / %s ms |" % (
                name, run["module"], "{:,}".format(run["rows"]), run["wall_s"], run["rows_per_s"],
                run["statement"]["rows_per_s"], round((run["ratio_to_statement"] or 0) * 100), run["batches"],
                run["lock_hold_ms"]["max"], run["lock_hold_ms"]["p99"], run["skipped_locked"],
                c["p50_ms"], c["p99_ms"], c["max_ms"]))
        add("")
        for name, run in heal["runs"].items():
            kinds = run.get("statements_ms") or {}
            if kinds:
                add("- %s statements (server side): %s%s" % (name, "; ".join(
                    "%s %d x, %.0f ms total, max %.1f ms" % (k, v["count"], v["total_ms"], v["max_ms"])
                    for k, v in sorted(kinds.items())),
                    "; first attempt with the default statement_timeout failed: %s" % (
                        run["first_attempt_with_default_timeouts"]["error"][:200])
                    if run.get("first_attempt_with_default_timeouts") else ""))
        b, d = heal["claims_baseline"], heal["claims_during_heal"]
        add("")
        add("Worker claims (conditional UPDATE, ms): baseline p50 %s, p99 %s, max %s (%d claims); during heal "
            "p50 %s, p99 %s, max %s (%d claims); p99 ratio %sx." % (
                b["p50_ms"], b["p99_ms"], b["max_ms"], b["claims"], d["p50_ms"], d["p99_ms"], d["max_ms"],
                d["claims"], heal["claim_p99_ratio"]))
        st = heal.get("claims_during_statements")
        if st:
            add("")
            add("During the single statements: p50 %s, p99 %s, max %s ms (%d claims)." % (
                st["p50_ms"], st["p99_ms"], st["max_ms"], st["claims"]))
        add("")
    mem = r.get("memory")
    if mem:
        add("## 4. Memory at %s history" % fmt_n(mem["history"]))
        add("")
        add("- zoho_queue_facts process: max RSS %.1f MiB (median of 3, max %.1f MiB)" % (
            mem["facts_module_max_rss_mib"]["median"], mem["facts_module_max_rss_mib"]["max"]))
        if "health_playbook_tree_peak_rss_mib" in mem:
            add("- health.yml: largest single process %.1f MiB; whole process tree peak %.1f MiB "
                "(one-task floor: %.1f MiB / %.1f MiB)" % (
                    mem["health_playbook_largest_process_max_rss_mib"], mem["health_playbook_tree_peak_rss_mib"],
                    mem["floor_playbook_largest_process_max_rss_mib"], mem["floor_playbook_tree_peak_rss_mib"]))
        add("")
    c = r.get("cleanup")
    if c and "error" in c:
        add("## 5. Cleanup: the run failed")
        add("")
        add("```\n%s\n```" % c["error"])
        add("")
        c = None
    if c:
        add("## 5. Cleanup at %s history" % fmt_n(c["history"]))
        add("")
        add("zoho_cleanup targets=[queue], completed_older_than_days=%d, limit=%s, batch_size=%d: deleted %s "
            "queue rows and %s sync logs in %.1f s = %d queue rows/s (%d rows/s with the logs); "
            "longest lock hold %s ms (p99 %s ms); backup file %s MiB; module max RSS %.1f MiB. "
            "One DELETE of the same rows with their logs (rolled back): %s rows in %.1f s = %d rows/s; "
            "ratio %d %%." % (
                c["options"]["completed_older_than_days"], "{:,}".format(c["options"]["limit"]),
                c["options"]["batch_size"], "{:,}".format(c["deleted"].get("queue", 0)),
                "{:,}".format(c["sync_logs_deleted"]), c["wall_s"], c["rows_per_s"], c["rows_per_s_with_logs"],
                c["lock_hold_ms"]["max"], c["lock_hold_ms"]["p99"], c["backup_mib"], c["module_max_rss_mib"],
                "{:,}".format(c["statement"]["rows"]), c["statement"]["seconds"], c["statement"]["rows_per_s"],
                round((c.get("ratio_to_statement") or 0) * 100)))
        add("")
    previews = r.get("preview") or []
    if previews:
        add("## 6. heal.yml --check --diff against heal.yml, confirmed, cleanup included (default limits)")
        add("")
        add("| history | preview | rc | heal lock held | heal | rc | heal lock held | time ratio | same counts |")
        add("|---|---|---|---|---|---|---|---|---|")
        for pv in previews:
            if "error" in pv:
                add("| %s | failed: %s | | | | | | | |" % (fmt_n(pv["history"]), pv["error"][:200].replace("|", "/")))
                continue
            add("| %s | %.1f s | %s | %.1f s | %.1f s | %s | %.1f s | %.2fx | %s |" % (
                fmt_n(pv["history"]), pv["preview"]["wall_s"], pv["preview"]["rc"], pv["preview"]["heal_lock_held_s"],
                pv["heal"]["wall_s"], pv["heal"]["rc"], pv["heal"]["heal_lock_held_s"], pv["time_ratio"] or 0,
                "yes" if all(pv["same_counts"].values()) else "no: %s" % ", ".join(
                    "%s (%s)" % (k, describe_difference(pv["preview"]["counts"].get(k), pv["heal"]["counts"].get(k),
                                                        (pv.get("differences") or {}).get(k)))
                    for k, v in pv["same_counts"].items() if not v)))
        add("")
    lines.extend(dense.render(r) + fleet.render(r))
    return "\n".join(lines) + "\n"


# Which facts_queries function a logged statement belongs to (by its text).
PLAN_NAMES = (
    ("EXPLAIN (FORMAT JSON)", "completed_counts: planner estimate per entity (EXPLAIN only, never executed)"),
    ('min("created_at") FILTER', "live_counts"),
    ("CROSS JOIN LATERAL", "recent_completions (bounded probes of created_at)"),
    ("count(*) FILTER (WHERE GREATEST", "recent_failures"),
    ('now() - min("lock_expires_at")', "stuck_locks (count, oldest, sample)"),
    ('"locked_by" IS NOT NULL AND "lock_expires_at" <', "stuck_locks (by status)"),
    ("WITH failing AS", "error_groups"),
    ('array_agg("q"."id"', "dead_letter (unrecorded)"),
    ('FILTER (WHERE NOT "resolved")', "dead_letter (records)"),
    ("FILTER (WHERE \"status\" = 'retry')", "retry_state"),
    ('FILTER (WHERE "lock_expires_at" - make_interval', "recent_leases"),
    ('FILTER (WHERE "lock_expires_at" > now())', "workers"),
    ("\"status\" = 'processing' AND", "stranded_processing"),
    ("FROM \"public\".\"tds_sync_queue\" WHERE \"status\" = 'dead_letter'", "dead_letter (with attempts left)"),
    ("GROUP BY 1", "completed_counts (exact count)"),
)


def plan_name(text):
    for needle, name in PLAN_NAMES:
        if needle in text:
            return name
    return "query"


def render_plans(r):
    p = r.get("plans")
    if not p:
        return None
    lines = ["# Query plans at %s history (%s)" % (fmt_n(p["history"]), r["started_at"]), "",
             "Captured by auto_explain (log_analyze, log_buffers) in the zoho_queue_facts module's own session,",
             "so these are exactly the statements the module runs; then the naive queries under",
             "EXPLAIN (ANALYZE, BUFFERS).", ""]
    estimates = [text for _ms, text in p["facts"] if "EXPLAIN (FORMAT JSON)" in text]
    for i, (ms, text) in enumerate([x for x in p["facts"] if "EXPLAIN (FORMAT JSON)" not in x[1]], 1):
        body = "\n".join(line[1:] if line.startswith("\t") else line for line in text.strip("\n").split("\n"))
        lines += ["## facts %d: %s (%.1f ms)" % (i, plan_name(text), ms), "", "```", body, "```", ""]
    if estimates:
        body = "\n".join(line[1:] if line.startswith("\t") else line for line in estimates[0].strip("\n").split("\n"))
        lines += ["## %s" % plan_name(estimates[0]), "",
                  "%d statements like this one (one per entity type), planned but not run; the first:" % len(estimates),
                  "", "```", body, "```", ""]
    for name, query, text in p["naive"]:
        lines += ["## naive: %s" % name, "", "```", query, "", text, "```", ""]
    return "\n".join(lines)


def render_heal_plans(r):
    """The plans of the heal phase (bench: explain_heal): each action's one statement, the
    walk's selection and one batch, and the same for the cleanup."""
    sections = []
    heal = r.get("heal") or {}
    for name, plans in (heal.get("plans") or {}).items():
        sections.append(("%s at %s history" % (name, fmt_n(heal["history"])), plans))
    c = r.get("cleanup") or {}
    if c.get("plans"):
        sections.append(("cleanup (%s rows) at %s history" % ("{:,}".format(c["options"]["limit"]),
                                                             fmt_n(c["history"])), c["plans"]))
    if not sections:
        return None
    lines = ["# Heal plans (%s)" % r["started_at"], "",
             "EXPLAIN (ANALYZE, BUFFERS) of the statements the heal phase compares, each rolled back,",
             "before the timed runs: the one statement (its warm-up), the walk's selection as a real run",
             "declares it, and one batch's statement on the first candidates.", ""]
    for title, plans in sections:
        for kind, text in plans.items():
            lines += ["## %s: %s" % (title, kind), "", "```", text, "```", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", dest="profile", action="store_const", const="quick")
    mode.add_argument("--full", dest="profile", action="store_const", const="full")
    mode.add_argument("--smoke", dest="profile", action="store_const", const="smoke",
                      help="seconds-long run of every step at 1k rows (the harness's own test)")
    parser.add_argument("--sizes", help="comma-separated history sizes instead of the profile's")
    parser.add_argument("--phases", default=",".join(PHASES), help="subset of %s" % ",".join(PHASES))
    parser.add_argument("--reps", type=int)
    parser.add_argument("--heal-rows", type=int)
    parser.add_argument("--heal-batch", type=int)
    parser.add_argument("--cleanup-rows", type=int)
    parser.add_argument("--out-dir", default=RESULTS_DIR)
    parser.add_argument("--cache", default=bench_cache.CACHE_DIR,
                        help="dataset cache (default bench/.cache; each history generated once)")
    parser.add_argument("--no-cache", dest="cache", action="store_const", const=None,
                        help="generate every dataset into a throwaway cluster")
    parser.add_argument("--preview-sizes", help="comma-separated history sizes of the preview-vs-heal phase")
    args = parser.parse_args(argv)
    name = args.profile or "quick"
    profile = dict(PROFILES[name])
    if args.sizes:
        profile["sizes"] = [int(s) for s in args.sizes.split(",")]
    if args.preview_sizes:
        profile["preview_sizes"] = [int(s) for s in args.preview_sizes.split(",") if s]
    for key in ("reps", "heal_rows", "heal_batch", "cleanup_rows"):
        if getattr(args, key) is not None:
            profile[key] = getattr(args, key)
    phases = [p for p in args.phases.split(",") if p]
    unknown = set(phases) - set(PHASES)
    if unknown:
        parser.error("unknown phases: %s" % ", ".join(sorted(unknown)))
    command = "python -m bench.run " + " ".join(argv if argv is not None else sys.argv[1:])
    profile["name"] = name
    bench = Bench(profile, args)
    try:
        results = bench.run(phases)
    finally:
        bench.stop()
    partial = os.path.join(args.out_dir, "partial-%s.json" % name)
    if os.path.exists(partial):
        os.unlink(partial)
    results["profile_name"] = name
    results["command"] = command
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + name
    md = render(results, command)
    plans = "\n".join(p for p in (render_plans(results), render_heal_plans(results), dense.render_plans(results))
                      if p) or None
    base = os.path.join(args.out_dir, stamp)
    with open(base + ".json", "w") as fh:
        json.dump(results, fh, indent=2, sort_keys=True)
    with open(base + ".md", "w") as fh:
        fh.write(md)
    if plans:
        with open(base + "-plans.md", "w") as fh:
            fh.write(plans)
    sys.stdout.write(md)
    sys.stdout.write("\nWritten: %s.md, %s.json%s\n" % (base, base, (", %s-plans.md" % base) if plans else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
