"""Shared machinery of the reliability suite: how many rounds to run, the results
file ``make chaos`` turns into docs/reliability.md, databases on the suite's own
server, the server's own statistics counters, and the invariants every test checks.

Short form (``make test``): a few rounds of everything. Long form (``make chaos``,
``ZOHO_CHAOS=1``): the issue's numbers. ``ZOHO_CHAOS_ROUNDS=N`` overrides the
number of rounds of every round-based test, ``ZOHO_CHAOS_ITEMS=N`` the live race size
and ``ZOHO_CHAOS_SEED`` the seed.
"""

import json
import os
import random
import threading
import time

import psycopg2
import psycopg2.extras

from helpers import db as helpers_db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = "tsh.zoho_sync"


def chaos():
    return os.environ.get("ZOHO_CHAOS", "") not in ("", "0", "false", "no")


def rounds(short, long):
    """Rounds of a round-based test: ZOHO_CHAOS_ROUNDS, else long under make chaos, else short."""
    env = os.environ.get("ZOHO_CHAOS_ROUNDS")
    if env:
        return max(1, int(env))
    return long if chaos() else short


def items(short, long):
    env = os.environ.get("ZOHO_CHAOS_ITEMS")
    if env:
        return max(10, int(env))
    return long if chaos() else short


def seed():
    return int(os.environ.get("ZOHO_CHAOS_SEED", "20260101"))


def rng(name):
    """A seeded random generator per test, so a failing round can be replayed."""
    return random.Random("%s:%s" % (seed(), name))


# ----------------------------------------------------------------------------- results
class Results:
    """Numbers each test reports, written as JSON when ZOHO_CHAOS_RESULTS names a file."""

    def __init__(self):
        self.data = {}
        self.lock = threading.Lock()

    def add(self, section, **numbers):
        with self.lock:
            entry = self.data.setdefault(section, {})
            for key, value in numbers.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool) and key in entry \
                        and isinstance(entry[key], (int, float)):
                    entry[key] += value
                else:
                    entry[key] = value

    def write(self, path):
        payload = {"seed": seed(), "chaos": chaos(), "rounds_override": os.environ.get("ZOHO_CHAOS_ROUNDS"),
                   "sections": self.data, "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as fh:
            json.dump(payload, fh, indent=2, sort_keys=True)


RESULTS = Results()


# ----------------------------------------------------------------------------- server
class Server:
    """host/port/superuser of a cluster, the shape helpers.db.Database expects."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.params = {"host": "127.0.0.1", "port": str(cluster.port), "user": "postgres"}

    def dsn(self, dbname="postgres"):
        return "host=127.0.0.1 port=%s user=postgres dbname=%s" % (self.params["port"], dbname)

    def admin(self):
        conn = psycopg2.connect(self.dsn("postgres"))
        conn.autocommit = True
        return conn

    @property
    def log_path(self):
        return os.path.join(self.cluster.basedir, "server.log")

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def log_since(self, offset):
        with open(self.log_path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def wait_up(self, timeout=60):
        deadline = time.time() + timeout
        while True:
            try:
                self.admin().close()
                return
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)


def new_database(server, layout="tsh"):
    return helpers_db.new_database(server, layout, prefix="zr")


def drop_database(server, db):
    helpers_db.drop_database(server, db)


def reconnect(db):
    """After a server restart: a new autocommit connection for the Database helper."""
    try:
        db.conn.close()
    except Exception:
        pass
    db.server.wait_up()
    db.conn = psycopg2.connect(db.server.dsn(db.name))
    db.conn.autocommit = True


def wait_no_sessions(server, dbname, application=None, timeout=30, exclude_pids=()):
    """Wait until no client session (of ``application`` when given) is connected to ``dbname``.
    A backend leaves pg_stat_activity after it flushed its statistics (before_shmem_exit
    runs before on_shmem_exit), so afterwards its counters are in shared memory."""
    admin = server.admin()
    try:
        deadline = time.time() + timeout
        while True:
            with admin.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
                    "AND pid <> ALL(%s) AND (%s::text IS NULL OR application_name = %s)",
                    (dbname, list(exclude_pids) or [0], application, application))
                if cur.fetchone()[0] == 0:
                    return
            if time.time() > deadline:
                raise AssertionError("sessions still connected to %s after %ss" % (dbname, timeout))
            time.sleep(0.05)
    finally:
        admin.close()


# ----------------------------------------------------------------------------- counters
class StatProbe:
    """The server's own write counters for one database.

    Every new session commits exactly one transaction of its own while it starts
    (InitPostgres reads the catalog in a transaction), so "no commit" means
    ``xact_commit`` moved by exactly the number of sessions opened (``sessions``).

    pg_stat_database (commits and tuples) is read from the postgres database and
    pg_stat_user_tables from the test database by a session that only ever ROLLS BACK,
    so the probe itself never moves xact_commit. Before each reading we wait until no
    other session is connected to the database (an ended backend has flushed its
    counters) and clear the probe's statistics snapshot. Autovacuum is off on the
    suite's server, so nothing else moves them.
    """

    def __init__(self, server, dbname):
        self.server = server
        self.dbname = dbname
        self.conn = psycopg2.connect(server.dsn(dbname))
        self.conn.autocommit = False
        self.pid = self.conn.get_backend_pid()

    def close(self):
        self.conn.rollback()
        self.conn.close()

    def read(self):
        wait_no_sessions(self.server, self.dbname, exclude_pids=(self.pid,))
        # a session of our own flushes its pending counters at most once a second
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_stat_force_next_flush()")
            cur.execute("SELECT pg_stat_clear_snapshot()")
            cur.execute("SELECT COALESCE(sum(n_tup_ins), 0), COALESCE(sum(n_tup_upd), 0), "
                        "COALESCE(sum(n_tup_del), 0) FROM pg_stat_user_tables")
            ins, upd, dele = (int(v) for v in cur.fetchone())
            cur.execute("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables ORDER BY 1")
            tables = dict((r[0], tuple(int(x) for x in r[1:])) for r in cur.fetchall())
            cur.execute("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, sessions FROM pg_stat_database "
                        "WHERE datname = current_database()")
            commits, t_ins, t_upd, t_del, sessions = (int(v) for v in cur.fetchone())
        self.conn.rollback()
        return {"xact_commit": commits, "tup_inserted": t_ins, "tup_updated": t_upd, "tup_deleted": t_del,
                "sessions": sessions,
                "n_tup_ins": ins, "n_tup_upd": upd, "n_tup_del": dele, "tables": tables}

    def settled(self, tries=40):
        """Read until two readings agree (counters of ended sessions are all in)."""
        last = self.read()
        for _ in range(tries):
            time.sleep(0.25)
            now = self.read()
            if now == last:
                return now
            last = now
        return last

    @staticmethod
    def extra_commits(delta):
        """Commits beyond the one each new session makes while it starts."""
        return delta["xact_commit"] - delta["sessions"]

    @staticmethod
    def delta(before, after):
        out = {}
        for key in before:
            if key == "tables":
                continue
            out[key] = after[key] - before[key]
        out["tables"] = dict((t, tuple(a - b for a, b in zip(after["tables"].get(t, (0, 0, 0)), v)))
                             for t, v in before["tables"].items()
                             if after["tables"].get(t, (0, 0, 0)) != v)
        return out


# ----------------------------------------------------------------------------- invariants
def state(db):
    """Everything the invariants look at, in one consistent snapshot."""
    conn = psycopg2.connect(db.dsn())
    try:
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute("SELECT id::text AS id, status::text AS status, attempt_count, max_retry_attempts, "
                        "locked_by, lock_expires_at FROM tds_sync_queue")
            rows = dict((r["id"], dict(r)) for r in cur.fetchall())
            cur.execute("SELECT sync_queue_id::text AS qid, count(*) AS n, "
                        "count(*) FILTER (WHERE NOT resolved) AS open, "
                        "array_agg(failure_reason) AS reasons FROM tds_dead_letter_queue GROUP BY 1")
            records = dict((r["qid"], dict(r)) for r in cur.fetchall())
            cur.execute("SELECT count(*) FROM tds_dead_letter_queue")
            total_records = cur.fetchone()["count"]
        conn.rollback()
    finally:
        conn.close()
    return rows, records, total_records


def invariant_violations(db, expected_ids=None, final=False, heal_reasons=("Retry budget exhausted",)):
    """Violations of the zero-loss, zero-duplicate promise (an empty list when all hold).

    Always: no queue row lost or added (the expected ids, when given); no queue row with
    more than one dead-letter record; every record created by a heal (its failure_reason
    starts with one of ``heal_reasons``) belongs to a row in dead_letter - a half-moved
    item would be a record without the status or the status without the record in one
    transaction, and the move does both in one. ``final``: every row is completed or
    dead_letter and every dead_letter row has exactly one record, and no record exists
    for a row that is not dead_letter."""
    rows, records, total_records = state(db)
    out = []
    if expected_ids is not None:
        expected = set(expected_ids)
        lost = expected - set(rows)
        extra = set(rows) - expected
        if lost:
            out.append("%d queue row(s) lost, e.g. %s" % (len(lost), sorted(lost)[:3]))
        if extra:
            out.append("%d unexpected queue row(s), e.g. %s" % (len(extra), sorted(extra)[:3]))
    dupes = [q for q, r in records.items() if r["n"] > 1]
    if dupes:
        out.append("%d queue row(s) with more than one dead-letter record, e.g. %s" % (len(dupes), dupes[:3]))
    orphans = [q for q in records if q not in rows]
    if orphans:
        out.append("%d dead-letter record(s) for missing queue rows" % len(orphans))
    half = [q for q, r in records.items()
            if q in rows and rows[q]["status"] != "dead_letter" and r["open"]
            and any((reason or "").startswith(heal_reasons) for reason in r["reasons"])]
    if half:
        out.append("%d half-moved row(s): an open heal record but status not dead_letter, e.g. %s"
                   % (len(half), half[:3]))
    if final:
        unfinished = [i for i, r in rows.items() if r["status"] not in ("completed", "dead_letter")]
        if unfinished:
            counts = {}
            for i in unfinished:
                counts[rows[i]["status"]] = counts.get(rows[i]["status"], 0) + 1
            out.append("%d row(s) neither completed nor dead_letter: %s" % (len(unfinished), counts))
        dead = [i for i, r in rows.items() if r["status"] == "dead_letter"]
        unrecorded = [i for i in dead if i not in records]
        if unrecorded:
            out.append("%d dead_letter row(s) without a record" % len(unrecorded))
        stray = [q for q, r in records.items() if q in rows and rows[q]["status"] != "dead_letter" and r["open"]]
        if stray:
            out.append("%d open record(s) on rows that are not dead_letter" % len(stray))
        if total_records != len(dead) + sum(r["n"] - 1 for r in records.values() if r["n"] > 1) + \
                len([q for q in records if q in rows and rows[q]["status"] != "dead_letter"]):
            out.append("record count %d does not add up to %d dead_letter rows" % (total_records, len(dead)))
    return out


def counts_by_status(db):
    return dict((r["status"], r["n"]) for r in db.query(
        "SELECT status::text AS status, count(*) AS n FROM tds_sync_queue GROUP BY 1"))
