"""One heal at a time per database: the heal lock module, a concurrent second heal, and
a heal killed with SIGKILL half-way."""

import os
import signal
import subprocess
import sys
import time

import psycopg2
import pytest

from ansible_collections.tsh.zoho_sync.plugins.module_utils.heal_lock import APP_PREFIX, lock_key
from helpers.modules import run_module
from heal.support import kill_group


def lock(db, run_id, **args):
    return run_module("zoho_heal_lock", dict(db.connection_args(), run_id=run_id, **args))


def holders(db):
    return db.query("SELECT application_name FROM pg_stat_activity WHERE datname = %s "
                    "AND application_name LIKE %s", (db.name, APP_PREFIX + "%"))


def wait_until(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def sleeper():
    proc = subprocess.Popen(["sleep", "300"])
    yield proc
    proc.kill()
    proc.wait()


def test_lock_is_exclusive_reentrant_and_released(tsh_db, sleeper):
    first = lock(tsh_db, "run-a", owner_pid=sleeper.pid)
    assert first["_rc"] == 0 and first["acquired"] and not first["already_held"], first
    assert first["owner"] == {"kind": "pid", "pid": sleeper.pid}
    second = lock(tsh_db, "run-b", owner_pid=sleeper.pid)
    assert second["_rc"] == 0 and second["acquired"] is False
    assert second["held_by"]["run_id"] == "run-a" and second["held_by"]["since"]
    assert "Another heal holds the lock" in second["msg"]
    again = lock(tsh_db, "run-a", owner_pid=sleeper.pid)
    assert again["acquired"] and again["already_held"]
    assert len(holders(tsh_db)) == 1
    released = lock(tsh_db, "run-a", state="released", holder_pid=first["holder_pid"])
    assert released["released"] is True
    assert wait_until(lambda: not holders(tsh_db), 5)
    # check mode takes it too (a preview never races a real heal)
    preview = run_module("zoho_heal_lock", dict(tsh_db.connection_args(), run_id="run-c", owner_pid=sleeper.pid),
                         check=True)
    assert preview["acquired"] is True and preview["changed"] is False
    assert lock(tsh_db, "run-b", owner_pid=sleeper.pid)["acquired"] is False
    lock(tsh_db, "run-c", state="released")
    assert lock(tsh_db, "run-b", owner_pid=sleeper.pid)["acquired"] is True
    lock(tsh_db, "run-b", state="released")
    assert lock(tsh_db, "run-b", state="released")["released"] is False  # nothing left to release


def test_owner_gone_frees_the_lock(tsh_db, sleeper):
    got = lock(tsh_db, "run-owner", owner_pid=sleeper.pid)
    assert got["acquired"]
    sleeper.kill()
    sleeper.wait()
    assert wait_until(lambda: not holders(tsh_db), 10), "the lock outlived its owner"


def test_a_foreign_advisory_lock_is_reported(tsh_db, sleeper):
    conn = psycopg2.connect(tsh_db.dsn(), application_name="psql-by-hand")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (lock_key(tsh_db.name),))
        result = lock(tsh_db, "run-x", owner_pid=sleeper.pid)
        assert result["acquired"] is False
        assert result["held_by"]["run_id"] is None and result["held_by"]["application_name"] == "psql-by-hand"
    finally:
        conn.close()


def test_bad_lock_input_fails_clearly(tsh_db):
    bad = lock(tsh_db, "run id; DROP TABLE x")
    assert bad["_rc"] != 0 and "run_id must be" in bad["msg"] and "Traceback" not in bad["_stderr"]
    assert lock(tsh_db, "ok", ttl=1)["msg"] == "ttl must be at least 10, got 1"
    assert not holders(tsh_db)


def test_a_second_heal_says_so_and_does_nothing(fresh_runner, sleeper):
    db = fresh_runner.db
    failed = db.add(status="failed", attempts=1)
    held = lock(db, "20260101T000000Z-other.abc123", owner_pid=sleeper.pid)
    assert held["acquired"]
    before = db.checksum()
    result = fresh_runner.run("heal.yml", "-e", "zoho_heal_confirm=true")
    assert result.rc == 0, result
    assert "Another heal is running" in result.stdout and "20260101T000000Z-other.abc123" in result.stdout
    assert db.checksum() == before and db.status_of(failed) == "failed"
    records = fresh_runner.audit()
    assert [(r["action"], r["status"]) for r in records] == [("lock", "skipped")]
    assert records[0]["held_by"]["run_id"] == "20260101T000000Z-other.abc123"
    lock(db, "20260101T000000Z-other.abc123", state="released")


def test_a_killed_heal_does_not_block_the_next(fresh_runner):
    db = fresh_runner.db
    failed = [db.add(status="failed", attempts=1) for _ in range(5)]
    proc = fresh_runner.start("heal.yml")
    try:
        assert wait_until(lambda: holders(db) or proc.poll() is not None, 120), "the heal never took its lock"
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        os.kill(proc.pid, signal.SIGKILL)  # ansible-playbook itself, as `kill -9 <pid>` would
        proc.wait()
        started = time.time()
        assert wait_until(lambda: not holders(db), 15), "the killed heal's lock is still held"
        sys.stderr.write("lock freed %.1f s after SIGKILL\n" % (time.time() - started))
    finally:
        kill_group(proc)
    result = fresh_runner.run("heal.yml")
    assert result.rc == 0, result
    assert "Another heal" not in result.stdout
    assert [db.status_of(i) for i in failed] == ["pending"] * 5
