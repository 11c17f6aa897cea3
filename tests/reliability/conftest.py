"""Fixtures of the reliability suite: its own throwaway PostgreSQL server (so tests can
restart it, read its log and change its settings without disturbing the other suites),
fresh databases on it, and the results file of ``make chaos``."""

import os

import pytest

from testbed.pgcluster import TempCluster

from reliability import support

# Settings of the suite's server: autovacuum off so the statistics counters move only
# when a client writes; deadlocks and lock waits logged so the log can be searched.
SERVER_SETTINGS = {
    "autovacuum": "off",
    "log_lock_waits": "on",
    "deadlock_timeout": "'200ms'",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] %a '",
    "max_connections": 120,
}


@pytest.fixture(scope="session")
def rel_server():
    cluster = TempCluster(settings=SERVER_SETTINGS).start()
    try:
        yield support.Server(cluster)
    finally:
        cluster.destroy()


@pytest.fixture
def rel_db(rel_server):
    """A fresh database with the production TSH schema on the suite's server."""
    db = support.new_database(rel_server)
    yield db
    support.drop_database(rel_server, db)


def pytest_configure(config):
    config.addinivalue_line("markers", "chaos: a round-based reliability test (ZOHO_CHAOS=1 for the long form)")


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get("ZOHO_CHAOS_RESULTS")
    if path and support.RESULTS.data:
        support.RESULTS.write(path)
