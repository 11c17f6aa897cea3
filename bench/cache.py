"""The benchmark's dataset cache: each history size generated once, reused by every run.

A 10M-row history takes about ten minutes to generate, so the benchmark keeps one
persistent PostgreSQL cluster under ``bench/.cache/pg`` (git-ignored) with the bench
settings (bench/cluster.py), holding one pristine database per dataset,
``hist_<history>_<live>_s<seed>_g<generator version>``. A run copies the one it needs
into a fresh database (``CREATE DATABASE ... TEMPLATE ... STRATEGY FILE_COPY``: a file
copy, about a minute at 10M) and measures on the copy, so every run starts from the
same rows and the heal's writes never reach the cache.

The live rows are arranged around the time the dataset was generated (leases that were
live have since expired, retries that were not due are due): the facts see an older
"troubled" queue, the heal measurements add their own rows at run time.

    python -m bench.cache build --sizes 200000,1000000,10000000   # generate what is missing
    python -m bench.cache list
    python -m bench.cache drop                                       # remove the cache
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import psycopg2  # noqa: E402

from bench import cluster as bench_cluster  # noqa: E402
from testbed import generate as gen  # noqa: E402

CACHE_DIR = os.path.join(ROOT, "bench", ".cache")
SEED = 42


def generator_version():
    """A digest of the generator and the schema: a change to either is a new dataset."""
    digest = hashlib.sha256()
    for path in (gen.__file__, gen.SCHEMA_FILES["tsh"]):
        with open(path, "rb") as fh:
            digest.update(fh.read())
    return digest.hexdigest()[:8]


def dataset_name(history, live):
    return "hist_%d_%d_s%d_g%s" % (history, live, SEED, generator_version())


def log(msg):
    sys.stderr.write("[bench-cache %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Cache(object):
    def __init__(self, directory=CACHE_DIR):
        self.directory = os.path.abspath(directory)
        self.cluster = None
        self.manifest_path = os.path.join(self.directory, "manifest.json")

    def start(self):
        os.makedirs(self.directory, exist_ok=True)
        self.cluster = bench_cluster.start(os.path.join(self.directory, "pg"))
        return self

    def stop(self):
        if self.cluster is not None:
            self.cluster.stop()

    def admin(self):
        conn = psycopg2.connect(self.cluster.dsn())
        conn.autocommit = True
        return conn

    def manifest(self):
        if not os.path.exists(self.manifest_path):
            return {}
        with open(self.manifest_path) as fh:
            return json.load(fh)

    def _save(self, manifest):
        tmp = self.manifest_path + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
        os.replace(tmp, self.manifest_path)

    def databases(self):
        admin = self.admin()
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT datname FROM pg_database")
                return set(r[0] for r in cur.fetchall())
        finally:
            admin.close()

    def ensure(self, history, live, progress=None):
        """The dataset's entry in the manifest, generated first when missing."""
        name = dataset_name(history, live)
        manifest = self.manifest()
        if name in manifest and name in self.databases():
            return dict(manifest[name], cached=True)
        log("generating %s (%d live rows over %d completed rows); kept for later runs" % (name, live, history))
        admin = self.admin()
        with admin.cursor() as cur:
            cur.execute('DROP DATABASE IF EXISTS "%s"' % name)
            cur.execute('CREATE DATABASE "%s"' % name)
        admin.close()
        conn = psycopg2.connect(self.cluster.dsn(name))
        try:
            gen.load_schema(conn)
            extra = {}
            if history >= 1000000:
                extra.update(jobs=max(1, min(4, os.cpu_count() or 1)), dsn=self.cluster.dsn(name))
            if progress is not None:
                extra["progress"] = progress
            t0 = time.time()
            info = gen.generate(conn, live=live, history=history, seed=SEED, fast_load=True, **extra)
            gen_s = time.time() - t0
            t0 = time.time()
            conn.autocommit = True
            with conn.cursor() as cur:
                for table in ("tds_inbox_events", "tds_sync_queue", "tds_sync_logs", "tds_dead_letter_queue"):
                    cur.execute("VACUUM (ANALYZE) %s" % table)
            vac_s = time.time() - t0
        finally:
            conn.close()
        entry = {"name": name, "history": history, "live": live, "seed": SEED, "queue_rows": info["queue_rows"],
                 "sync_logs": info["sync_logs"], "generate_s": round(gen_s, 1), "vacuum_analyze_s": round(vac_s, 1),
                 "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "live_by_status": dict((k, v) for k, v in info["live_by_status"].items() if v)}
        manifest = self.manifest()
        manifest[name] = entry
        self._save(manifest)
        return dict(entry, cached=False)

    def checkout(self, history, live, target="bench"):
        """A fresh copy of the dataset as database ``target``; returns (entry, copy seconds)."""
        entry = self.ensure(history, live)
        admin = self.admin()
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN (%s, %s) "
                            "AND pid <> pg_backend_pid()", (target, entry["name"]))
                cur.execute('DROP DATABASE IF EXISTS "%s"' % target)
                t0 = time.time()
                cur.execute('CREATE DATABASE "%s" TEMPLATE "%s" STRATEGY FILE_COPY' % (target, entry["name"]))
                return entry, round(time.time() - t0, 1)
        finally:
            admin.close()

    def drop_copy(self, target="bench"):
        admin = self.admin()
        try:
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                            "AND pid <> pg_backend_pid()", (target,))
                cur.execute('DROP DATABASE IF EXISTS "%s"' % target)
        finally:
            admin.close()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.cache", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["build", "list", "drop"])
    parser.add_argument("--sizes", default="200000,1000000,10000000")
    parser.add_argument("--live", type=int, default=10000)
    parser.add_argument("--dir", default=CACHE_DIR)
    args = parser.parse_args(argv)
    if args.command == "drop":
        cache = Cache(args.dir)
        if os.path.isdir(os.path.join(cache.directory, "pg")):
            cache.start().cluster.destroy()
        shutil.rmtree(cache.directory, ignore_errors=True)
        return 0
    cache = Cache(args.dir).start()
    try:
        if args.command == "build":
            for size in [int(s) for s in args.sizes.split(",") if s]:
                entry = cache.ensure(size, args.live, progress=lambda step, s: log("  %s %.0f s" % (step, s))
                                     if s >= 30 else None)
                log("%s ready (%s)" % (entry["name"], "cached" if entry["cached"] else
                                       "generated in %.0f s" % entry["generate_s"]))
        json.dump(cache.manifest(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    finally:
        cache.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
