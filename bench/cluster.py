"""The benchmark's own throwaway PostgreSQL: TempCluster with settings for benchmarks.

Durability is off (fsync, synchronous_commit, full_page_writes: the data is thrown
away), memory is sized for a 10M-row queue on a small machine, and auto_explain is
preloaded but silent (log_min_duration -1): a session turns it on for itself with
PGOPTIONS, so EXPLAIN (ANALYZE, BUFFERS) of exactly what a module runs lands in the
server log without touching any other session. The same log carries per-statement
durations of the heal modules' sessions (PGOPTIONS='-c log_min_duration_statement=0'),
from which the longest lock hold of a batch is computed.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from testbed.pgcluster import TempCluster  # noqa: E402

# Everything not listed here is PostgreSQL's default (or TempCluster's: fsync off,
# synchronous_commit off, full_page_writes off, max_connections 100, loopback only).
BENCH_SETTINGS = {
    "shared_buffers": "'1GB'",
    "effective_cache_size": "'8GB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'1GB'",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "shared_preload_libraries": "'auto_explain'",
    "auto_explain.log_min_duration": "-1",
    "log_line_prefix": "'%n|%p|%a|'",
    "log_min_messages": "warning",
    "log_checkpoints": "off",
}

# What the report prints for "settings used" (without the quoting).
def describe_settings():
    out = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
    out.update((k, v.strip("'")) for k, v in BENCH_SETTINGS.items())
    return out


def start(basedir=None):
    cluster = TempCluster(basedir, settings=dict(BENCH_SETTINGS))
    cluster.start()
    return cluster


def server_log(cluster):
    return os.path.join(cluster.basedir, "server.log")
