"""Shared fixtures: a real PostgreSQL for the whole session and a fresh database per test.

The server is a throwaway cluster started here (testbed.pgcluster), or the one named by
ZOHO_TEST_PG_DSN (a superuser DSN; the tests create and drop their own databases).
"""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "collections"))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import psycopg2  # noqa: E402

from testbed.pgcluster import TempCluster  # noqa: E402
from helpers.db import drop_database, new_database  # noqa: E402


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


@pytest.fixture
def tsh_db(pg_server):
    """A fresh database with the production TSH schema, dropped afterwards."""
    db = new_database(pg_server, "tsh")
    yield db
    drop_database(pg_server, db)


@pytest.fixture
def simple_db(pg_server):
    """A fresh database with the simplified layout of the original write-up."""
    db = new_database(pg_server, "simple")
    yield db
    drop_database(pg_server, db)
