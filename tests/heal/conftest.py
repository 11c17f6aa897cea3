"""Fixtures of the heal tests: a database per test module (the heal flow is a sequence of
runs on one troubled queue), plus the runner, the fake docker and the syslog sink."""

import pytest

from helpers.db import drop_database, new_database
from heal.support import FakeDocker, HealRunner, SyslogSink


@pytest.fixture(scope="module")
def module_db(pg_server):
    db = new_database(pg_server, prefix="zh")
    yield db
    drop_database(pg_server, db)


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
