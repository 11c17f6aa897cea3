"""Fixtures of the diagnosis corpus: a fresh database per scenario, and the corpus
results (artifacts/diagnosis/corpus.json, or $ZOHO_DIAGNOSIS_RESULTS) written at the end
of the session for `make diagnosis` (docs/diagnosis.md)."""

import pytest

from helpers.db import drop_database, new_database

from diagnosis import support


@pytest.fixture
def scenario_db(pg_server):
    db = new_database(pg_server, prefix="zd")
    yield db
    drop_database(pg_server, db)


def pytest_sessionfinish(session, exitstatus):
    support.RESULTS.write()
