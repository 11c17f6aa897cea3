"""The benchmark harness itself (not a measurement: no timing is asserted).

Runs every step of bench.run at 1k rows (--smoke) but the playbook ones, against the
harness's own throwaway cluster, and checks the result files' structure.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_smoke_run_writes_results(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--phases", "facts,explain,heal,cleanup",
         "--out-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [js] = glob.glob(str(tmp_path / "*-smoke.json"))
    [md] = glob.glob(str(tmp_path / "*-smoke.md"))
    [plans] = glob.glob(str(tmp_path / "*-smoke-plans.md"))
    r = json.load(open(js))
    for key in ("machine", "versions", "cluster_settings", "datasets", "facts", "heal", "cleanup", "targets"):
        assert key in r, key
    assert r["machine"]["nproc"] >= 1 and r["versions"]["postgresql"]
    [facts] = r["facts"]
    assert facts["history"] == 1000
    assert facts["facts_in_process_ms"]["n"] == 2 and facts["naive_total_ms"]["n"] == 2
    assert set(facts["naive_per_query_ms"]) == {"status_counts", "last_sync_per_entity", "error_patterns"}
    assert set(facts["facts_per_query_ms"]) >= {"live_counts", "error_groups", "workers"}
    heal = r["heal"]
    assert set(heal["runs"]) == {"requeue_failed", "clear_stuck", "move_exhausted"}
    for run in heal["runs"].values():
        # the walk and the one statement changed the same rows (at least the 300 added for it)
        assert run["rows"] >= 300 and run["rows"] == run["statement"]["rows"], run
        assert run["ratio_to_statement"] > 0
        # every committed batch was found in the server log with its lock hold
        assert run["batches_in_log"] == run["batches"] and run["lock_hold_ms"]["max"] is not None
    # (a 300-row walk may end between two polls of the probes: no claim during it is possible)
    assert heal["claims_baseline"]["claims"] > 0 and heal["claims_during_heal"]["claims"] >= 0
    assert r["cleanup"]["deleted"]["queue"] == 50 and r["cleanup"]["statement"]["rows"] == 50
    names = [t["target"] for t in r["targets"]]
    assert any(n.startswith("facts vs naive") for n in names)
    # every target is met or not; a figure without a target (cleanup against one DELETE) says so
    assert all(t["met"] in (True, False) or (t["met"] is None and t["wanted"] == "(measured)") for t in r["targets"])
    text = open(md).read()
    assert "## Targets" in text and "## 1. zoho_queue_facts" in text and "## 3. Heal" in text
    assert "Seq Scan" in open(plans).read() or "Index" in open(plans).read()
    # the heal phase's plans: each action's one statement, the walk's selection and one batch
    for name in heal["runs"]:
        assert "error" not in heal["plans"][name], heal["plans"][name]
        kinds = " ".join(heal["plans"][name])
        assert "one statement" in kinds and "selection" in kinds and "one batch" in kinds, kinds
    assert "error" not in r["cleanup"]["plans"] and len(r["cleanup"]["plans"]) == 3
    assert "# Heal plans" in open(plans).read()


def run_bench(cache, phases, out):
    env = dict(os.environ, ZOHO_BENCH_CACHE=cache)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--phases", phases, "--out-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [js] = glob.glob(str(out / "*-smoke.json"))
    [md] = glob.glob(str(out / "*-smoke.md"))
    return json.load(open(js)), open(md).read(), proc


@pytest.fixture
def cache():
    """The dense datasets' cache: its cluster runs as postgres, so not under pytest's tmp_path."""
    path = tempfile.mkdtemp(prefix="zoho-bench-cache-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_smoke_dense_and_fleet(tmp_path, cache):
    """bench/dense.py and bench/fleet.py at their smoke sizes: the dense datasets are what was
    asked (and cached for the next run), the marginal costs and the fleet figures are there."""
    r, md, _proc = run_bench(cache, "facts,dense,fleet", tmp_path / "first")
    d = r["dense"]
    assert [ds["history"] for ds in d["datasets"]] == [1000, 2000]
    # one history row in ten was created (and completed) in the facts' 48 h window
    assert [ds["window_rows_at_measurement"] for ds in d["datasets"]] == [100, 200]
    assert [ds["cached"] for ds in d["datasets"]] == [False, False]
    for shape in ("dense", "today"):
        for m in d[shape]:
            assert m["marginal_in_process_ms"] == round(
                m["facts_in_process_ms"] - d["empty_%s" % shape]["facts_in_process_ms"]["median"], 1)
    assert len(d["today"]) == 1 and d["today"][0]["history"] == 1000
    assert d["plans"]["facts"] and d["load_average_before"] and d["load_average_after"]
    f = r["fleet"]
    assert f["hosts"] == 2 and f["exit_codes"] == {"ping": [0], "health": [2]}
    assert f["ratio_health_ping"] == round(f["health_s"]["median"] / f["ping_s"]["median"], 2)
    names = [t["target"] for t in r["targets"]]
    assert any(n.startswith("facts' marginal cost vs naive") for n in names)
    assert any(n.startswith("health.yml over 2 hosts") for n in names)
    assert "## 6. Dense recent history" in md and "## 7. The fleet" in md
    [plans] = glob.glob(str(tmp_path / "first" / "*-smoke-plans.md"))
    assert "# Query plans on the dense dataset" in open(plans).read()
    # the next run takes the dense datasets from the cache
    r2, _md, _proc = run_bench(cache, "dense", tmp_path / "second")
    assert [ds["cached"] for ds in r2["dense"]["datasets"]] == [True, True]
    assert [ds["window_rows_at_measurement"] for ds in r2["dense"]["datasets"]] == [100, 200]
