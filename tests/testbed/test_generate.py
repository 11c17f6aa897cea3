"""The queue generator: deterministic, exact about what it wrote, consistent data.

Other tests compare the collection's findings with the generator's returned counts,
so those counts have to be proven against the tables here, with the same definitions
the docstring of testbed.generate gives.
"""

import datetime
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import psycopg2  # noqa: E402

from testbed import generate as gen  # noqa: E402
from testbed.pgcluster import TempCluster  # noqa: E402

TABLES = ("tds_inbox_events", "tds_sync_queue", "tds_sync_logs", "tds_dead_letter_queue")
NOW = datetime.datetime(2025, 6, 2, 9, 30, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(scope="module")
def cluster():
    c = TempCluster().start()
    try:
        yield c
    finally:
        c.destroy()


@pytest.fixture(scope="module")
def database(cluster):
    """One database with the TSH schema for the module (creating databases is slow)."""
    admin = psycopg2.connect(cluster.dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE gen_tests")
    admin.close()
    conn = psycopg2.connect(cluster.dsn("gen_tests"))
    gen.load_schema(conn)
    yield conn
    conn.close()


@pytest.fixture
def empty(database):
    """The module's database with every generated table emptied."""
    reset(database)
    return database


def reset(conn):
    with conn.cursor() as cur:
        cur.execute("TRUNCATE %s" % ", ".join(TABLES))
    conn.commit()


def scalar(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def grouped(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return dict(cur.fetchall())


def checksums(conn):
    return {t: scalar(conn, "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY id), '')) FROM %s t" % t)
            for t in TABLES}


def schema_snapshot(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT tablename, indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = 'public' ORDER BY 1, 2")
        indexes = cur.fetchall()
        cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2")
        return indexes, cur.fetchall()


def test_same_seed_same_rows_and_fast_load_changes_nothing(empty):
    conn = empty
    pristine = schema_snapshot(conn)
    ra = gen.generate(conn, live=600, history=800, seed=7, now=NOW)
    first = checksums(conn)
    reset(conn)
    rb = gen.generate(conn, live=600, history=800, seed=7, now=NOW.isoformat())
    assert checksums(conn) == first
    reset(conn)
    rc = gen.generate(conn, live=600, history=800, seed=7, now=NOW, fast_load=True, chunk_size=300)
    assert checksums(conn) == first
    for key in ("by_status", "by_entity_type", "by_error_code", "categories", "sync_logs"):
        assert ra[key] == rb[key] == rc[key]
    # the fast load dropped and rebuilt keys, indexes and foreign keys exactly
    assert "tds_sync_queue_pkey" in rc["indexes_rebuilt"]
    assert "tds_sync_queue_inbox_event_id_fkey" in rc["constraints_rebuilt"]
    assert schema_snapshot(conn) == pristine
    # another seed gives other data
    reset(conn)
    gen.generate(conn, live=600, history=800, seed=8, now=NOW)
    assert checksums(conn)["tds_sync_queue"] != first["tds_sync_queue"]


def test_returned_counts_are_what_the_tables_hold(empty):
    conn = empty
    r = gen.generate(conn, live=3000, history=1000, seed=11)
    q = "SELECT %s FROM tds_sync_queue WHERE %s"

    def count(where):
        return scalar(conn, q % ("count(*)", where))

    assert grouped(conn, "SELECT status::text, count(*) FROM tds_sync_queue GROUP BY 1") == \
        {k: v for k, v in r["by_status"].items() if v}
    assert grouped(conn, "SELECT entity_type::text, count(*) FROM tds_sync_queue GROUP BY 1") == \
        {k: v for k, v in r["by_entity_type"].items() if v}
    assert grouped(conn, "SELECT entity_type::text, count(*) FROM tds_sync_queue "
                         "WHERE status = 'pending' GROUP BY 1") == \
        {k: v for k, v in r["pending_by_entity_type"].items() if v}
    assert grouped(conn, "SELECT error_code, count(*) FROM tds_sync_queue "
                         "WHERE error_code IS NOT NULL GROUP BY 1") == r["by_error_code"]
    assert sum(r["categories"].values()) == r["live"] == 3000
    assert r["by_status"]["completed"] == r["history"] == 1000
    assert all(r["by_entity_type"][e] > 0 for e in gen.ENTITY_TYPES)

    stuck = "locked_by IS NOT NULL AND lock_expires_at < now() - interval '1 hour'"
    assert count(stuck) == r["stuck_leases"] > 0
    assert grouped(conn, q % ("status::text, count(*)", stuck) + " GROUP BY 1") == r["stuck_leases_by_status"]
    assert count("lock_expires_at > now()") == r["live_leases"] > 0
    assert count("locked_by IS NOT NULL AND lock_expires_at < now()") == r["expired_leases"]
    assert count("status = 'retry' AND next_retry_at > now()") == r["retry_not_due"] > 0
    assert count("status = 'retry' AND next_retry_at <= now()") == r["retry_due_total"]
    assert count("status = 'retry' AND next_retry_at < now() - interval '1 hour'") == r["retry_overdue"] > 0
    exhausted = "status IN ('retry', 'failed') AND attempt_count >= max_retry_attempts"
    assert count(exhausted) == r["exhausted"] > 0
    assert grouped(conn, q % ("status::text, count(*)", exhausted) + " GROUP BY 1") == r["exhausted_by_status"]
    assert count("status = 'failed' AND attempt_count < max_retry_attempts") == r["failed_under_budget"]
    assert count("status = 'pending' AND created_at < now() - interval '1 hour'") == r["pending_older_than_1h"]
    with_dlq = "EXISTS (SELECT 1 FROM tds_dead_letter_queue d WHERE d.sync_queue_id = tds_sync_queue.id)"
    assert count("status = 'dead_letter' AND " + with_dlq) == r["dead_letter_with_dlq"] > 0
    assert count("status = 'dead_letter' AND NOT " + with_dlq) == r["dead_letter_without_dlq"] > 0
    assert r["dead_letter_without_dlq"] > r["dead_letter_with_dlq"]  # production writes none

    assert scalar(conn, "SELECT count(*) FROM tds_inbox_events") == r["inbox_events"] == 4000
    assert scalar(conn, "SELECT count(*) FROM tds_sync_logs") == r["sync_logs"]
    assert scalar(conn, "SELECT count(*) FROM tds_sync_logs WHERE operation_status = 'completed'") == 200
    assert scalar(conn, "SELECT count(*) FROM tds_dead_letter_queue") == r["dead_letter_records"]
    # ids are computable by tests
    assert scalar(conn, "SELECT count(*) FROM tds_sync_queue WHERE id = %s",
                  (gen.row_id(11, "H", "q", 1),)) == 1


def test_rows_are_consistent(empty):
    conn = empty
    gen.generate(conn, live=2000, history=1000, seed=3)
    bad = {
        "queue without inbox": "SELECT count(*) FROM tds_sync_queue q "
                               "LEFT JOIN tds_inbox_events i ON i.id = q.inbox_event_id WHERE i.id IS NULL",
        "log without queue": "SELECT count(*) FROM tds_sync_logs l "
                             "LEFT JOIN tds_sync_queue q ON q.id = l.sync_queue_id WHERE q.id IS NULL",
        "dlq not on a dead letter": "SELECT count(*) FROM tds_dead_letter_queue d JOIN tds_sync_queue q "
                                    "ON q.id = d.sync_queue_id WHERE q.status <> 'dead_letter' "
                                    "OR d.resolved OR d.total_attempts <> q.attempt_count",
        "dead letter twice": "SELECT count(*) FROM (SELECT sync_queue_id FROM tds_dead_letter_queue "
                             "GROUP BY 1 HAVING count(*) > 1) x",
        "inbox entity differs": "SELECT count(*) FROM tds_sync_queue q JOIN tds_inbox_events i "
                                "ON i.id = q.inbox_event_id WHERE i.entity_type <> q.entity_type "
                                "OR i.source_entity_id <> q.source_entity_id",
        "times out of order": "SELECT count(*) FROM tds_sync_queue WHERE started_at < created_at "
                              "OR completed_at < started_at OR lock_expires_at < created_at "
                              "OR created_at > now() OR completed_at > now()",
        "completed with lease or error": "SELECT count(*) FROM tds_sync_queue WHERE status = 'completed' "
                                         "AND (locked_by IS NOT NULL OR lock_expires_at IS NOT NULL "
                                         "OR completed_at IS NULL OR started_at IS NULL "
                                         "OR attempt_count > 1 OR error_message IS NOT NULL)",
        "failures without error": "SELECT count(*) FROM tds_sync_queue WHERE (attempt_count > 0 "
                                  "AND status <> 'completed') <> (error_message IS NOT NULL "
                                  "AND error_code IS NOT NULL)",
        "retry without next_retry_at": "SELECT count(*) FROM tds_sync_queue WHERE status = 'retry' "
                                       "AND next_retry_at IS NULL",
        "lease half set": "SELECT count(*) FROM tds_sync_queue WHERE (locked_by IS NULL) <> "
                          "(lock_expires_at IS NULL) OR locked_by NOT IN ('worker-1', 'worker-2')",
        "budget": "SELECT count(*) FROM tds_sync_queue WHERE max_retry_attempts NOT IN (3, 5) "
                  "OR priority NOT BETWEEN 1 AND 10",
    }
    assert {k: scalar(conn, sql) for k, sql in bad.items()} == {k: 0 for k in bad}
    # a realistic variety: both budgets, several priorities, varied messages
    assert scalar(conn, "SELECT count(DISTINCT max_retry_attempts) FROM tds_sync_queue") == 2
    assert scalar(conn, "SELECT count(DISTINCT priority) FROM tds_sync_queue") == 10
    assert scalar(conn, "SELECT count(DISTINCT error_code) FROM tds_sync_queue") >= 10
    assert scalar(conn, "SELECT count(DISTINCT error_message) FROM tds_sync_queue") > 500
    assert scalar(conn, "SELECT max(length(error_code)) FROM tds_sync_queue") <= 50
    assert scalar(conn, "SELECT count(DISTINCT entity_type) FROM tds_sync_queue") == 13


def test_failure_rolls_everything_back(empty):
    conn = empty
    gen.generate(conn, live=200, seed=5, now=NOW)
    before = checksums(conn), schema_snapshot(conn)
    with pytest.raises(ValueError):  # same seed twice: the ids would collide
        gen.generate(conn, live=200, seed=5, now=NOW)

    def fail_late(step, _seconds):  # after the rows went in, while rebuilding indexes
        if step == "create_indexes":
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        gen.generate(conn, live=300, history=500, seed=6, now=NOW, fast_load=True, progress=fail_late)
    assert (checksums(conn), schema_snapshot(conn)) == before


def test_parallel_load_writes_the_same_rows(empty, cluster):
    conn = empty
    r1 = gen.generate(conn, live=200, history=2000, seed=21, now=NOW, fast_load=True)
    first = checksums(conn), schema_snapshot(conn)
    reset(conn)
    r2 = gen.generate(conn, live=200, history=2000, seed=21, now=NOW, fast_load=True, jobs=2,
                      chunk_size=400, dsn=cluster.dsn("gen_tests"))
    assert r2["jobs"] == 2 and r2["by_entity_type"] == r1["by_entity_type"]
    assert (checksums(conn), schema_snapshot(conn)) == first


def test_mixes_and_allocation(empty):
    assert gen.allocate(7, {"pending_fresh": 1, "retry_due": 1}) == dict(
        {c: 0 for c in gen.CATEGORIES}, pending_fresh=4, retry_due=3)
    with pytest.raises(ValueError):
        gen.allocate(10, {"no_such_category": 1})
    conn = empty
    r = gen.generate(conn, live=100, seed=1, mix=gen.HEALTHY_MIX, with_logs=False)
    assert r["stuck_leases"] == r["dead_letter"] == r["retry_overdue"] == r["sync_logs"] == 0
    assert scalar(conn, "SELECT count(*) FROM tds_sync_queue WHERE status = 'pending' "
                        "AND created_at < now() - interval '5 minutes'") == 0


def test_cli_prints_the_counts(cluster, empty):
    conn = empty
    proc = subprocess.run(
        [sys.executable, "-m", "testbed.generate", "--dsn", cluster.dsn("gen_tests"), "--live", "300",
         "--history", "200", "--seed", "9", "--now", NOW.isoformat(), "--mix", "default"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["queue_rows"] == 500 and out["by_status"]["completed"] == 200
    assert scalar(conn, "SELECT count(*) FROM tds_sync_queue") == 500


def test_dense_recent_history_moves_only_the_times(empty):
    """recent=N: exactly N history rows created and completed in the last recent_hours,
    the others before that window; the same rows as the default otherwise, still in
    arrival order. Without it the output has no new keys."""
    conn = empty
    plain = gen.generate(conn, live=100, history=1000, seed=13, now=NOW)
    assert "history_recent" not in plain

    def shape():
        return scalar(conn, "SELECT md5(string_agg(concat_ws(',', id, entity_type, source_entity_id, status, "
                            "attempt_count, target_entity_id), '|' ORDER BY id)) FROM tds_sync_queue")

    def history_times():
        with conn.cursor() as cur:
            cur.execute("SELECT id::text, created_at FROM tds_sync_queue WHERE status = 'completed'")
            return dict(cur.fetchall())

    before, plain_times = shape(), history_times()
    reset(conn)
    r = gen.generate(conn, live=100, history=1000, seed=13, now=NOW, recent=300, recent_hours=48)
    assert (r["history_recent"], r["history_recent_hours"]) == (300, 48)
    assert r["by_status"] == plain["by_status"] and r["by_entity_type"] == plain["by_entity_type"]
    assert shape() == before
    window = "%s::timestamptz - interval '48 hours'"
    done = "status = 'completed' AND "
    assert scalar(conn, "SELECT count(*) FROM tds_sync_queue WHERE " + done + "completed_at >= " + window,
                  (NOW,)) == 300
    assert scalar(conn, "SELECT count(*) FROM tds_sync_queue WHERE " + done + "created_at >= " + window,
                  (NOW,)) == 300
    assert scalar(conn, "SELECT max(completed_at) < %s FROM tds_sync_queue WHERE status = 'completed'", (NOW,))
    assert scalar(conn, "SELECT min(created_at) >= %s::timestamptz - interval '366 days' FROM tds_sync_queue",
                  (NOW,))
    # arrival order kept: row n is older than row n+1, across the window's edge too
    ids = [gen.row_id(13, "H", "q", n) for n in (1, 699, 700, 701, 702, 1000)]
    times = history_times()
    assert [times[i] for i in ids] == sorted(times[i] for i in ids)
    assert times[ids[2]] < NOW - datetime.timedelta(hours=48) <= times[ids[3]]
    assert set(times) == set(plain_times) and times != plain_times
    for bad in ({"recent": 1001}, {"recent": -1}, {"recent": 10, "recent_hours": 0}):
        with pytest.raises(ValueError):
            gen.generate(conn, live=0, history=1000, seed=14, now=NOW, **bad)
