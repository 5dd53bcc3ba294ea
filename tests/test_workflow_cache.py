"""Snakemake's between-workflow output cache: what was computed once is fetched, never computed again."""

from __future__ import annotations

import re
import shutil

import pytest

from tests.workflow_helpers import REPO_ROOT
from tests.workflow_runs import TINY_TARGETS, baseline_run, clone, content_digests, snakemake, workflow_rules

SHAPINGS = ("unshaped", "dense")
OBJECTIVES = ("sparse_l1", "smooth_log")  # the default heatmap columns
GROUND_TRUTH = [f"results/reward_models/ground_truth/maze4_goal_{s}" for s in SHAPINGS]
PREPROCESSED = [f"results/preprocessed/ground_truth/maze4_goal_{s}/{o}" for s in SHAPINGS for o in OBJECTIVES]
# Every output of the cached jobs behind TINY_TARGETS.
CACHED_OUTPUTS = {*GROUND_TRUTH, *PREPROCESSED, "results/plotly.min.js", *TINY_TARGETS}


def test_every_cached_rule_keys_on_its_wildcards(monkeypatch):
    """Snakemake leaves wildcards out of the cache hash; a rule without `cache_key` would mix up its jobs."""
    rules = workflow_rules(REPO_ROOT, monkeypatch)
    cached = {name: rule for name, rule in rules.items() if rule.cache and rule.cache.output}
    assert {"maze_ground_truth", "preprocess_tabular", "maze_heatmaps", "preprocess_neural"} <= set(cached)
    # (Params is a list of values with names on the side: look the name up among the names.)
    missing = [n for n, rule in cached.items() if rule.wildcard_names and "cache_key" not in set(rule.params.keys())]
    assert not missing, f"cached rules without `cache_key=cache_key` in params: {missing}"


def test_rules_eligible_for_the_cache_are_cached_by_the_default_profile():
    text = (REPO_ROOT / "profiles" / "default" / "config.yaml").read_text()
    assert re.search(r"^cache: \[\]$", text, re.M), "profiles/default must turn the cache on for every eligible rule"


@pytest.mark.slow
def test_deleted_results_come_back_from_the_cache_unchanged(tmp_path, tmp_path_factory):
    baseline = baseline_run(tmp_path_factory)
    # The first run computed every job and stored each output in the (empty) cache.
    stored = set(re.findall(r"Moving output file (\S+) to cache\.", baseline.output))
    assert stored == CACHED_OUTPUTS
    assert "resource usage: script=maze_ground_truth.py" in baseline.output
    work = clone(baseline, tmp_path / "work")
    before = content_digests(work / "results")
    # Jobs that differ only in a wildcard got their own entries, not one shared one.
    model = "reward_models/ground_truth/maze4_goal_{}/model.safetensors"
    assert before[model.format("dense")] != before[model.format("unshaped")]
    metrics = "preprocessed/ground_truth/maze4_goal_dense/{}/metrics.json"
    assert before[metrics.format("sparse_l1")] != before[metrics.format("smooth_log")]

    shutil.rmtree(work / "results")
    proc = snakemake(work, *TINY_TARGETS)
    out = proc.stdout + proc.stderr
    fetched = re.findall(r"Symlinking output file (\S+) from cache\.", out)
    for output in CACHED_OUTPUTS:  # a directory comes back entry by entry
        assert any(f == output or f.startswith(output + "/") for f in fetched), f"{output} not from the cache"
    # Nothing was computed: nothing new was stored, and no script ran (each ends with a usage line; Snakemake
    # creates the rules' log files, but nothing wrote to them).
    assert "to cache." not in out
    assert "resource usage:" not in out
    assert all(log.stat().st_size == 0 for log in (work / "results").rglob("*.log"))
    assert content_digests(work / "results") == before
    # And the restored results are up to date.
    proc = snakemake(work, "-n", *TINY_TARGETS)
    assert "Nothing to be done" in proc.stdout + proc.stderr
