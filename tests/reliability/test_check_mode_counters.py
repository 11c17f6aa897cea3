"""5. Check mode writes nothing, measured from the server's own counters.

Every new session commits one transaction of its own while it starts; beyond that, a
check-mode run may commit nothing (xact_commit moves by exactly pg_stat_database.sessions).

Row contents can hide a write that was undone (an UPDATE back to the same value, an
INSERT then DELETE); the server's statistics cannot: pg_stat_database counts every
committed transaction (read-only ones too) and every tuple inserted, updated or
deleted, pg_stat_user_tables the same per table. Each module in check mode (and
heal.yml --check --diff, once it exists) must leave all of them where they were. The
same measurement on a real run must move them, which proves the probe can see writes.
"""

import os

import pytest

from helpers.modules import run_module
from testbed.generate import generate

from reliability import support
from reliability.playbooks import heal_playbook, run_heal

HEAL_CALLS = [
    ("zoho_queue_facts", {}),
    ("zoho_requeue", {"source": "failed"}),
    ("zoho_requeue", {"source": "stuck", "stuck_after": 1}),
    ("zoho_requeue", {"source": "dead_letter", "entity_types": ["invoice", "product"]}),
    ("zoho_dlq_move", {}),
    ("zoho_dlq_move", {"reconcile": False, "max_attempts": 1}),
]


@pytest.fixture
def loaded(rel_db):
    generate(rel_db.conn, live=1500, history=1500, seed=support.seed())
    return rel_db


def module_calls(backup_dir):
    """Every module of the collection that touches the database, with arguments for a
    check-mode run (the modules of the heal role are added as they appear)."""
    calls = list(HEAL_CALLS)
    modules = os.path.join(support.ROOT, "collections/ansible_collections/tsh/zoho_sync/plugins/modules")
    if os.path.exists(os.path.join(modules, "zoho_cleanup.py")):
        calls.append(("zoho_cleanup", {"confirm": True, "run_id": "chk-1", "backup_dir": backup_dir,
                                       "completed_older_than_days": 1, "inbox_older_than_days": 1,
                                       "logs_older_than_days": 1}))
    if os.path.exists(os.path.join(modules, "zoho_heal_lock.py")):
        # taken and given back in one measurement (the holder keeps a session open)
        calls.append(("zoho_heal_lock", [{"run_id": "chk-lock", "owner_pid": 0, "ttl": 60},
                                         {"run_id": "chk-lock", "state": "released"}]))
    return calls


def measure(probe, module, args):
    before = probe.settled()
    for one in (args if isinstance(args, list) else [args]):
        result = run_module(module, one, check=True, diff=True)
        assert "Traceback" not in result["_stderr"], result["_stderr"]
        assert result["_rc"] == 0, result
    delta = support.StatProbe.delta(before, probe.settled())
    writes = support.StatProbe.extra_commits(delta) + sum(abs(delta[k]) for k in (
        "tup_inserted", "tup_updated", "tup_deleted", "n_tup_ins", "n_tup_upd", "n_tup_del"))
    support.RESULTS.add("check_mode", counter_writes=writes)
    assert delta["sessions"] >= 1, (module, delta)
    assert support.StatProbe.extra_commits(delta) == 0, (module, args, delta)
    assert delta["tup_inserted"] == delta["tup_updated"] == delta["tup_deleted"] == 0, (module, delta)
    assert delta["n_tup_ins"] == delta["n_tup_upd"] == delta["n_tup_del"] == 0, (module, delta)
    assert delta["tables"] == {}, (module, delta)
    return result


def test_every_module_in_check_mode_moves_no_counter(loaded, tmp_path):
    backup_dir = str(tmp_path / "backups")
    before_sum = loaded.checksum()
    loaded.close()  # the helper's own session commits: it stays away while we measure
    probe = support.StatProbe(loaded.server, loaded.name)
    checked = 0
    try:
        start = probe.settled()
        for module, args in module_calls(backup_dir):
            if isinstance(args, list):
                measure(probe, module, [dict(loaded.connection_args(), **a) for a in args])
            else:
                measure(probe, module, dict(loaded.connection_args(), **args))
            checked += 1
        assert support.StatProbe.extra_commits(support.StatProbe.delta(start, probe.settled())) == 0
        support.reconnect(loaded)
        assert loaded.checksum() == before_sum
        loaded.close()
        # the probe sees writes: a real run moves the counters
        before = probe.settled()
        real = run_module("zoho_requeue", dict(loaded.connection_args(), source="failed"))
        assert real["_rc"] == 0 and real["requeued"] > 0, real
        delta = support.StatProbe.delta(before, probe.settled())
        assert support.StatProbe.extra_commits(delta) >= 1 and delta["n_tup_upd"] >= real["requeued"], delta
        if any(m == "zoho_cleanup" for m, _ in module_calls(backup_dir)):
            args = dict(loaded.connection_args(), **dict(module_calls(backup_dir))["zoho_cleanup"])
            before = probe.settled()
            cleaned = run_module("zoho_cleanup", args)
            assert cleaned["_rc"] == 0, cleaned
            delta = support.StatProbe.delta(before, probe.settled())
            assert delta["n_tup_del"] > 0, (cleaned, delta)
            # and restoring that backup, in check mode, writes nothing either
            measure(probe, "zoho_restore", dict(loaded.connection_args(), run_id="chk-1", backup_dir=backup_dir))
            checked += 1
    finally:
        probe.close()
    support.RESULTS.add("check_mode", module_runs_measured=checked)


def test_probe_sees_a_read_only_commit(loaded):
    """A committed transaction that only reads is still a commit: the probe counts it,
    so a check-mode run that committed anything would be caught."""
    import psycopg2
    loaded.close()
    probe = support.StatProbe(loaded.server, loaded.name)
    try:
        before = probe.settled()
        conn = psycopg2.connect(loaded.dsn())
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM tds_sync_queue")
        conn.commit()
        conn.close()
        delta = support.StatProbe.delta(before, probe.settled())
        assert delta["sessions"] == 1 and support.StatProbe.extra_commits(delta) == 1, delta
    finally:
        probe.close()


def test_heal_playbook_check_diff_moves_no_counter(loaded, tmp_path):
    if not heal_playbook():
        pytest.skip("heal.yml does not exist yet")
    before_sum = loaded.checksum()
    loaded.close()
    probe = support.StatProbe(loaded.server, loaded.name)
    try:
        before = probe.settled()
        result = run_heal(loaded, tmp_path, "--check", "--diff")
        assert result.rc == 0, result
        delta = support.StatProbe.delta(before, probe.settled())
        support.RESULTS.add("check_mode", counter_writes=support.StatProbe.extra_commits(delta) + sum(
            abs(delta[k]) for k in ("tup_inserted", "tup_updated", "tup_deleted", "n_tup_ins", "n_tup_upd",
                                    "n_tup_del")))
        assert support.StatProbe.extra_commits(delta) == 0, delta
        assert delta["n_tup_ins"] == delta["n_tup_upd"] == delta["n_tup_del"] == 0, delta
        assert delta["tup_inserted"] == delta["tup_updated"] == delta["tup_deleted"] == 0, delta
        support.reconnect(loaded)
        assert loaded.checksum() == before_sum
    finally:
        probe.close()
    support.RESULTS.add("check_mode", playbook_runs_measured=1)
