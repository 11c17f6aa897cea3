"""Helpers of the diagnosis corpus: states of the queue built the way production gets
into them (the worker simulator running its failure mode, or rows seeded where the
behaviour is already known and tested in tests/testbed), the report built through the
real path (the zoho_queue_facts module in its own process, then the report filter), and
the results of the corpus for docs/diagnosis.md."""

import json
import os
import threading

from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.report import build_report
from ansible_collections.tsh.zoho_sync.plugins.plugin_utils.thresholds import effective_thresholds
from helpers.modules import run_module
from helpers.playbook import ROOT
from testbed import generate as gen
from testbed import worker

RESULTS_FILE = os.environ.get("ZOHO_DIAGNOSIS_RESULTS",
                              os.path.join(ROOT, "artifacts", "diagnosis", "corpus.json"))
# quick simulated workers: polls every 20 ms, 1 ms per row, retries due at once unless told
FAST = dict(poll=0.02, work_ms=1, seed=5, out=None)
HOST = {"memory": {"read": True, "error": None, "total_mb": 8000, "available_mb": 6000, "used_pct": 25.0},
        "disks": [{"path": "/", "where": "host", "read": True, "error": None, "used_pct": 40.0,
                   "available_mb": 1000, "size_mb": 2000, "mount": "/"}]}


class Results(object):
    """What every scenario found, for the precision and recall of docs/diagnosis.md."""

    def __init__(self):
        self.lock = threading.Lock()
        self.scenarios = {}

    def record(self, name, expected, first, absent, diagnoses, passed, path):
        found = [(d["id"], d["severity"], d["confidence"]) for d in diagnoses]
        ids = [d["id"] for d in diagnoses]
        acting = [d["id"] for d in diagnoses if d["severity"] != "info"]
        tp = sorted(set(expected) & set(ids))
        fn = sorted(set(expected) - set(ids))
        fp = sorted((set(acting) - set(expected)) | (set(absent) & set(ids)))
        with self.lock:
            self.scenarios[name] = {"expected": sorted(expected), "first_expected": first,
                                    "first_found": ids[0] if ids else None, "found": found,
                                    "tp": tp, "fp": fp, "fn": fn, "passed": passed, "path": path}

    def write(self, path=RESULTS_FILE):
        if not self.scenarios:
            return
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            json.dump({"scenarios": self.scenarios}, fh, indent=2, sort_keys=True)


RESULTS = Results()


# --------------------------------------------------------------------------- states
def age(db, interval):
    """Move every time of the queue back by ``interval`` (as if that much time had passed)."""
    db.execute("""UPDATE tds_sync_queue SET created_at = created_at - %(i)s::interval,
                      started_at = started_at - %(i)s::interval, completed_at = completed_at - %(i)s::interval,
                      next_retry_at = next_retry_at - %(i)s::interval,
                      lock_expires_at = lock_expires_at - %(i)s::interval""", {"i": interval})
    db.execute("UPDATE tds_inbox_events SET received_at = received_at - %(i)s::interval", {"i": interval})


def generate(db, live, mix, seed):
    """Rows of the testbed generator's categories (testbed/generate.py) into ``db``."""
    gen.generate(db.conn, live=live, seed=seed, mix=mix, with_logs=False)


def run_worker(db, **options):
    """The worker simulator until it has been idle a moment (or ``duration``)."""
    opts = dict(FAST)
    opts.update(options)
    if "duration" not in opts:
        opts.setdefault("stop_when_idle", 0.4)
    return worker.run_workers(db.dsn(), **opts)


def start_worker(db, **options):
    opts = dict(FAST)
    opts.update(options)
    return worker.start_workers(db.dsn(), **opts)


def healthy_history(db, rows=200, seed=11):
    """A worker that just did its usual work: rows completed in the last minutes."""
    generate(db, rows, {"pending_fresh": 1}, seed)
    run_worker(db, workers=2, failure_rate=0.0)


# --------------------------------------------------------------------------- the report
def facts(db, **args):
    result = run_module("zoho_queue_facts", dict(db.connection_args(), **args))
    return result


def report_of(db=None, queue_args=None, service=None, host=None, thresholds=None, history=None, options=None,
              connection=None):
    """The health report of ``db``'s queue through the module and the report filter, as
    the zoho_health role builds it (options of a run from the repository root on the
    demo inventory)."""
    queue, error = None, None
    if db is not None or connection is not None:
        args = dict(connection or db.connection_args())
        args.update(queue_args or {})
        result = run_module("zoho_queue_facts", args)
        if result["_rc"] == 0:
            queue = result["ansible_facts"]["zoho_queue"]
        else:
            error = result.get("msg")
    params = (connection or db.connection_args()) if (db is not None or connection) else {}
    opts = {"host": "localhost", "connection": "local", "generated_at": None, "fail_on": ["critical", "unknown"],
            "run": {"root": ROOT, "cwd": ROOT, "inventory": ["inventory/demo"], "vault": [], "extra_vars": [],
                    "omitted_extra_vars": [], "connection": "local"},
            "database": {"host": params.get("login_host"), "port": params.get("login_port"),
                         "name": params.get("login_db"), "user": params.get("login_user")}}
    opts.update(options or {})
    return build_report({"queue": queue, "queue_error": error, "service": service or {"managed": False,
                                                                                     "manager": "none"},
                         "host_facts": host or HOST, "thresholds": effective_thresholds(thresholds),
                         "history": history or [], "options": opts})
