"""7. Hostile and wrong input: every case of hostile_corpus.yml fails with one clear
message (no traceback) and changes nothing in the database, or - for free text that is
data - is stored verbatim with nothing else changed."""

import json
import os
import subprocess

import psycopg2
import pytest
import yaml

from helpers.modules import run_action, run_module

from reliability import support
from reliability.playbooks import ROOT, ansible_bin, playbook_env

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hostile_corpus.yml")
BAD = "\udcff"  # how Python (and Ansible) carry the undecodable byte 0xFF


def load_corpus():
    with open(CORPUS) as fh:
        return yaml.safe_load(fh)


CASES = load_corpus()
MODULE_CASES = [c for c in CASES if "module" in c]
PLAYBOOK_CASES = [c for c in CASES if "playbook" in c]
# Playbook cases cost a real ansible-playbook run each: the short form tries these,
# the long form (ZOHO_CHAOS=1) all of them.
SHORT_PLAYBOOK_CASES = ("health-warning-above-critical", "health-bad-utf8-in-json-extra-vars")


def expand(value, subst):
    if isinstance(value, str):
        for key, repl in subst.items():
            value = value.replace(key, repl)
        while "<LONG:" in value:
            start = value.index("<LONG:")
            end = value.index(">", start)
            value = value[:start] + "x" * int(value[start + 6:end]) + value[end + 1:]
        return value.replace("<BAD-UTF8>", BAD).replace("<NUL>", "\x00")
    if isinstance(value, list):
        return [expand(v, subst) for v in value]
    if isinstance(value, dict):
        return dict((k, expand(v, subst)) for k, v in value.items())
    return value


def snapshot(db):
    """Every row of every table, by table and primary key (md5 of the row)."""
    out = {}
    for table in ("tds_inbox_events", "tds_sync_queue", "tds_sync_logs", "tds_dead_letter_queue",
                  "tds_sync_runs", "tds_alerts", "tds_metrics"):
        try:
            rows = db.query('SELECT id::text AS id, md5(t::text) AS h FROM "%s" t' % table)
        except psycopg2.Error:
            continue
        out[table] = dict((r["id"], r["h"]) for r in rows)
    return out


def changed(before, after):
    out = {}
    for table in set(before) | set(after):
        b, a = before.get(table, {}), after.get(table, {})
        ids = set(i for i in set(b) | set(a) if b.get(i) != a.get(i))
        if ids:
            out[table] = ids
    return out


@pytest.fixture(scope="module")
def hostile_db(rel_server):
    db = support.new_database(rel_server)
    db.add("failed", attempts=1)
    db.add("processing", locked_by="worker-1", lock_expires="-2 hours")
    db.add("pending")
    dead = db.add("dead_letter", attempts=3, error="boom", code="VALIDATION")
    db.add_dlq_record(dead)
    db.add("completed", age="40 days", completed="-39 days")
    yield db
    support.drop_database(rel_server, db)


def assert_one_clear_failure(msg, stderr, fragments, case_id):
    assert msg, case_id
    assert "Traceback" not in msg and "Traceback" not in stderr, (case_id, msg, stderr[-2000:])
    low = msg.lower()
    for fragment in fragments:
        assert fragment.lower() in low, (case_id, fragment, msg[:500])
    assert len(msg) < 4000, (case_id, "message too long", len(msg))


# modules whose file is documentation: an action plugin of the same name does the work
CONTROLLER_ACTIONS = ("zoho_audit",)


@pytest.mark.parametrize("case", MODULE_CASES, ids=[c["id"] for c in MODULE_CASES])
def test_module_case(hostile_db, case, tmp_path):
    db = hostile_db
    support.RESULTS.add("hostile", tried=1)
    subst = {"<TMP>": str(tmp_path)}
    target = None
    if "verbatim" in case:
        if case["module"] == "zoho_dlq_move":
            target = db.add("retry", attempts=3, max_attempts=3, error="exhausted", code="TIMEOUT")
        else:
            target = db.add("dead_letter", attempts=3, error="boom")
            db.add_dlq_record(target)
        subst["<DEAD>"] = target
    else:
        subst["<DEAD>"] = db.scalar("SELECT id::text FROM tds_sync_queue WHERE status = 'dead_letter' LIMIT 1")
    before = snapshot(db)
    if case["module"] in CONTROLLER_ACTIONS:
        # its work happens in its action plugin, on the controller: run it as a task
        result = run_action("tsh.zoho_sync.%s" % case["module"], expand(case["args"], subst))
    else:
        result = run_module(case["module"], dict(db.connection_args(), **expand(case["args"], subst)))
    after = snapshot(db)
    if "verbatim" in case:
        assert result["_rc"] == 0, (case["id"], result.get("msg"))
        spec = case["verbatim"]
        ref = "sync_queue_id" if spec["table"] == "tds_dead_letter_queue" else "id"
        stored = db.query('SELECT "%s" AS v FROM "%s" WHERE %s = %%s' % (spec["column"], spec["table"], ref),
                          (target,))
        assert [r["v"] for r in stored] == [spec["value"]], (case["id"], stored)
        diff = changed(before, after)
        assert set(diff) <= {"tds_sync_queue", "tds_dead_letter_queue"}, diff
        assert diff["tds_sync_queue"] == {target}, diff
        record_ids = set(r["id"] for r in db.query(
            "SELECT id::text AS id FROM tds_dead_letter_queue WHERE sync_queue_id = %s", (target,)))
        assert diff.get("tds_dead_letter_queue", set()) <= record_ids, diff
        support.RESULTS.add("hostile", handled=1, stored_verbatim=1)
        return
    assert result["_rc"] != 0 and result.get("failed") is True, (case["id"], result)
    assert_one_clear_failure(result.get("msg", ""), result["_stderr"], case["expect"], case["id"])
    assert changed(before, after) == {}, (case["id"], changed(before, after))
    support.RESULTS.add("hostile", handled=1, refused=1)


@pytest.mark.parametrize("case", PLAYBOOK_CASES, ids=[c["id"] for c in PLAYBOOK_CASES])
def test_playbook_case(hostile_db, case, tmp_path):
    if not support.chaos() and case["id"] not in SHORT_PLAYBOOK_CASES:
        pytest.skip("long form only (make chaos)")
    book = os.path.join(ROOT, case["playbook"])
    if not os.path.exists(book):
        pytest.skip("%s does not exist yet" % case["playbook"])
    db = hostile_db
    support.RESULTS.add("hostile", tried=1, playbook_cases=1)
    cmd = [os.fsencode(ansible_bin()), b"-i", b"inventory/demo", os.fsencode(book)]
    if case["playbook"] == "heal.yml":
        cmd += [b"-e", b"zoho_heal_confirm=true", b"-e", b"zoho_heal_force=true"]
    if "vars" in case:
        cmd += [b"-e", json.dumps(expand(case["vars"], {})).encode()]
    for arg in case.get("raw_extra", []):
        # surrogate escapes become the raw bytes on the command line (os.fsencode)
        cmd.append(os.fsencode(expand(arg, {})))
    before = snapshot(db)
    proc = subprocess.run(cmd, cwd=ROOT, env=playbook_env(db, tmp_path), capture_output=True, timeout=600)
    out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    assert proc.returncode != 0, (case["id"], out[-3000:])
    assert "Traceback" not in out, (case["id"], out[-3000:])
    low = out.lower()
    for fragment in case["expect"]:
        assert fragment.lower() in low, (case["id"], fragment, out[-3000:])
    assert changed(before, snapshot(db)) == {}, case["id"]
    support.RESULTS.add("hostile", handled=1, refused=1)


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len(set(c["id"] for c in CASES)) == len(CASES)
