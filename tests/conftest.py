"""Shared fixtures: a real PostgreSQL for the whole session and a fresh database per test.

The server is a throwaway cluster started here (testbed.pgcluster), or the one named by
ZOHO_TEST_PG_DSN (a superuser DSN; the tests create and drop their own databases).
"""

import os
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import psycopg2  # noqa: E402

from testbed.pgcluster import TempCluster  # noqa: E402
from helpers.db import Database  # noqa: E402


class Server:
    """Where the test databases live: host, port and a superuser."""

    def __init__(self, dsn_params, cluster=None):
        self.params = dsn_params
        self.cluster = cluster

    def dsn(self, dbname="postgres"):
        params = dict(self.params, dbname=dbname)
        return " ".join("%s=%s" % (k, v) for k, v in params.items() if v)

    def admin(self):
        conn = psycopg2.connect(self.dsn("postgres"))
        conn.autocommit = True
        return conn


@pytest.fixture(scope="session")
def pg_server():
    external = os.environ.get("ZOHO_TEST_PG_DSN")
    if external:
        params = dict(p.split("=", 1) for p in external.split())
        params.pop("dbname", None)
        yield Server(params)
        return
    cluster = TempCluster().start()
    try:
        yield Server({"host": "127.0.0.1", "port": str(cluster.port), "user": "postgres"}, cluster)
    finally:
        cluster.destroy()


def _new_database(pg_server, layout):
    name = "zt_%s" % uuid.uuid4().hex[:12]
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    admin.close()
    db = Database(pg_server, name, layout)
    db.load_schema()
    return db


def _drop_database(pg_server, db):
    db.close()
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db.name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % db.name)
    admin.close()


@pytest.fixture
def tsh_db(pg_server):
    """A fresh database with the production TSH schema, dropped afterwards."""
    db = _new_database(pg_server, "tsh")
    yield db
    _drop_database(pg_server, db)


@pytest.fixture
def simple_db(pg_server):
    """A fresh database with the simplified layout of the original write-up."""
    db = _new_database(pg_server, "simple")
    yield db
    _drop_database(pg_server, db)
