"""Fixtures of the heal tests: a database per test module (the heal flow is a sequence of
runs on one troubled queue), plus the runner, the fake docker and the syslog sink."""

import uuid

import pytest

from helpers.db import Database
from heal.support import FakeDocker, HealRunner, SyslogSink


def _create(pg_server):
    name = "zh_%s" % uuid.uuid4().hex[:12]
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute('CREATE DATABASE "%s"' % name)
    admin.close()
    db = Database(pg_server, name, "tsh")
    db.load_schema()
    return db


def _drop(pg_server, db):
    db.close()
    admin = pg_server.admin()
    with admin.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (db.name,))
        cur.execute('DROP DATABASE IF EXISTS "%s"' % db.name)
    admin.close()


@pytest.fixture(scope="module")
def module_db(pg_server):
    db = _create(pg_server)
    yield db
    _drop(pg_server, db)


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("heal")


@pytest.fixture(scope="module")
def runner(module_db, module_tmp):
    return HealRunner(module_db, module_tmp)


@pytest.fixture
def fresh_runner(tsh_db, tmp_path):
    return HealRunner(tsh_db, tmp_path)


@pytest.fixture
def fake_docker(tmp_path):
    return FakeDocker(tmp_path, ["tsh_erp_app_blue", "tsh_erp_app_green"])


@pytest.fixture
def syslog_sink(tmp_path):
    sink = SyslogSink(tmp_path)
    yield sink
    sink.close()
