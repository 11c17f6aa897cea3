"""A test database: schema loading, row builders and state checksums."""

import json
import os
import uuid

import psycopg2
import psycopg2.extras

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_FILES = {
    "tsh": os.path.join(ROOT, "testbed", "sql", "tsh_schema.sql"),
    "simple": os.path.join(ROOT, "testbed", "sql", "simple_schema.sql"),
}

# The queue_schema mapping that makes the collection read the simplified layout.
SIMPLE_MAPPING = {
    "queue_table": "zoho_sync_queue",
    "dlq_table": "zoho_dead_letter_queue",
    "default_max_attempts": 5,
    "queue_columns": {
        "source_entity_id": "entity_id", "payload": "payload", "attempt_count": "retry_count",
        "lock_expires_at": "locked_until", "updated_at": "updated_at", "max_retry_attempts": None,
        "next_retry_at": None, "locked_by": None, "started_at": None, "completed_at": None,
        "error_code": None, "priority": None,
    },
    "dlq_columns": {
        "sync_queue_id": "queue_id", "source_entity_id": "entity_id", "total_attempts": "retry_count",
        "last_error_message": "error_message", "last_payload": "payload", "error_code": None,
        "resolution_notes": None,
    },
}


class Database:
    def __init__(self, server, name, layout):
        self.server = server
        self.name = name
        self.layout = layout
        self.conn = psycopg2.connect(server.dsn(name))
        self.conn.autocommit = True

    # -- plumbing --------------------------------------------------------------
    def close(self):
        if not self.conn.closed:
            self.conn.close()

    def dsn(self):
        return self.server.dsn(self.name)

    def connection_args(self):
        """Module options that reach this database as the superuser."""
        p = self.server.params
        args = {"login_host": p.get("host"), "login_port": int(p.get("port", 5432)),
                "login_user": p.get("user"), "login_db": self.name}
        if p.get("password"):
            args["login_password"] = p["password"]
        if self.layout == "simple":
            args["queue_schema"] = SIMPLE_MAPPING
        return args

    def load_schema(self):
        with open(SCHEMA_FILES[self.layout]) as fh:
            self.execute(fh.read())

    def execute(self, query, args=None):
        with self.conn.cursor() as cur:
            cur.execute(query, args)

    def query(self, query, args=None):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(query, args)
            return [dict(r) for r in cur.fetchall()]

    def scalar(self, query, args=None):
        with self.conn.cursor() as cur:
            cur.execute(query, args)
            return cur.fetchone()[0]

    # -- rows ------------------------------------------------------------------
    def add(self, status="pending", entity="invoice", attempts=0, max_attempts=3, age="1 hour",
            next_retry=None, locked_by=None, lock_expires=None, error=None, code=None,
            started=None, completed=None, source_id=None, priority=5):
        """Insert one queue row (and its inbox event); times are SQL interval
        expressions relative to now(), e.g. age='2 hours', lock_expires='-45 minutes'."""
        if self.layout == "simple":
            return self._add_simple(status, entity, attempts, age, lock_expires, error)
        row_id = str(uuid.uuid4())
        inbox_id = str(uuid.uuid4())
        source_id = source_id or "SRC-%s" % row_id[:8]
        payload = json.dumps({"entity": entity, "id": source_id})
        self.execute(
            """INSERT INTO tds_inbox_events (id, source_type, entity_type, source_entity_id, raw_payload,
                   content_hash, received_at)
               VALUES (%s, 'zoho', %s, %s, %s, md5(%s), now() - %s::interval)""",
            (inbox_id, entity, source_id, payload, row_id, age))
        self.execute(
            """INSERT INTO tds_sync_queue (id, inbox_event_id, entity_type, source_entity_id, operation_type,
                   validated_payload, status, priority, attempt_count, max_retry_attempts, next_retry_at,
                   locked_by, lock_expires_at, created_at, started_at, completed_at, error_message, error_code)
               VALUES (%s, %s, %s, %s, 'upsert', %s, %s, %s, %s, %s,
                       now() + %s::interval, %s, now() + %s::interval, now() - %s::interval,
                       now() + %s::interval, now() + %s::interval, %s, %s)""",
            (row_id, inbox_id, entity, source_id, payload, status, priority, attempts, max_attempts,
             next_retry, locked_by, lock_expires, age, started, completed, error, code))
        return row_id

    def _add_simple(self, status, entity, attempts, age, lock_expires, error):
        with self.conn.cursor() as cur:
            cur.execute(
                """INSERT INTO zoho_sync_queue (entity_type, entity_id, payload, status, retry_count,
                       locked_until, error_message, created_at, updated_at)
                   VALUES (%s, 'E-' || floor(random() * 100000)::text, '{"a": 1}', %s, %s,
                           now() + %s::interval, %s, now() - %s::interval, now() - %s::interval)
                   RETURNING id""",
                (entity, status, attempts, lock_expires, error, age, age))
            return cur.fetchone()[0]

    def add_dlq_record(self, queue_id, resolved=False):
        if self.layout == "simple":
            self.execute(
                """INSERT INTO zoho_dead_letter_queue (queue_id, entity_type, entity_id, failure_reason,
                       retry_count, error_message, payload, resolved)
                   SELECT id, entity_type, entity_id, 'test', retry_count, error_message, payload, %s
                     FROM zoho_sync_queue WHERE id = %s""", (resolved, queue_id))
            return
        self.execute(
            """INSERT INTO tds_dead_letter_queue (id, sync_queue_id, entity_type, source_entity_id,
                   failure_reason, error_code, total_attempts, last_error_message, last_payload, resolved)
               SELECT gen_random_uuid(), id, entity_type, source_entity_id, 'test', error_code, attempt_count,
                      error_message, validated_payload, %s
                 FROM tds_sync_queue WHERE id = %s""", (resolved, queue_id))

    # -- state -------------------------------------------------------------------
    @property
    def queue_table(self):
        return "zoho_sync_queue" if self.layout == "simple" else "tds_sync_queue"

    @property
    def dlq_table(self):
        return "zoho_dead_letter_queue" if self.layout == "simple" else "tds_dead_letter_queue"

    def row(self, row_id):
        rows = self.query("SELECT * FROM %s WHERE id = %%s" % self.queue_table, (row_id,))
        return rows[0] if rows else None

    def status_of(self, row_id):
        return self.row(row_id)["status"]

    def dlq_records(self, queue_id):
        ref = "queue_id" if self.layout == "simple" else "sync_queue_id"
        return self.query("SELECT * FROM %s WHERE %s = %%s" % (self.dlq_table, ref), (queue_id,))

    def checksum(self):
        """One digest of every row of every table: equal digests, nothing written."""
        tables = [r["tablename"] for r in self.query(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        parts = []
        for table in tables:
            parts.append(self.scalar(
                'SELECT %%s || count(*) || md5(COALESCE(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) '
                'FROM "%s" t' % table, (table,)))
        return "/".join(parts)

    def count(self, where="true", table=None):
        return self.scalar("SELECT count(*) FROM %s WHERE %s" % (table or self.queue_table, where))


def new_database(server, layout="tsh", prefix="zt"):
    """A fresh database on ``server`` (anything with ``admin()``) with the schema of
    ``layout`` loaded; drop it with drop_database."""
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:12])
    admin = server.admin()
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    admin.close()
    db = Database(server, name, layout)
    db.load_schema()
    return db


def drop_database(server, db):
    """Drop a database of new_database, ending any session still connected to it."""
    try:
        db.close()
    except psycopg2.Error:
        pass
    admin = server.admin()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db.name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % db.name)
    admin.close()
