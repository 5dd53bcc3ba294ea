"""The Snakemake workflow: config validation, planning, lint, bad targets and a tiny real run."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG, copy_workflow, snakemake
from tests.workflow_runs import planned_outputs


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts per rule from a dry run's "Job stats" table."""
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_dry_run_plans_whole_grid():
    """4 mazes x 2 rewards x 4 shapings x 4 objectives, and 3 heatmap modes: one model job and one figure job
    per maze, every model and preprocessed directory still an output of its own."""
    proc = snakemake(REPO_ROOT, "-n", "--forceall", "all")
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(out)
    assert jobs["maze_ground_truth"] == 4
    assert jobs["maze_heatmaps"] == 4
    outputs = planned_outputs(out)
    assert len({f for f in outputs if re.match(r"results/reward_models/ground_truth/\w*maze\d+_", f)}) == 4 * 2 * 4
    assert len({f for f in outputs if re.match(r"results/preprocessed/ground_truth/\w*maze\d+_", f)}) == 4 * 2 * 4 * 4
    assert len({f for f in outputs if re.match(r"results/heatmaps/\w+_(goal|path)_\w+\.png$", f)}) == 4 * 2 * 3
    assert len({f for f in outputs if re.match(r"results/heatmaps/[a-z0-9]+\.png$", f)}) == 4


def test_lint_is_clean():
    proc = snakemake(REPO_ROOT, "--lint", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Lints for" not in out, out


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("results/heatmaps/maze11.png", "unknown maze 'maze11'"),
        ("results/heatmaps/maze10_gold_default.png", "unknown reward 'gold'"),
        ("results/heatmaps/maze10_goal_fancy.png", "unknown mode 'fancy'"),
        ("results/preprocessed/ground_truth/maze4_goal_dense/sparse_l3", "unknown objective 'sparse_l3'"),
        ("results/reward_models/ground_truth/maze4_goal_shaped", "unknown shaping 'shaped'"),
    ],
)
def test_unknown_names_in_targets(target, message):
    proc = snakemake(REPO_ROOT, "-n", target, check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mazes": ["maze11"]}, "invalid config at mazes.0"),
        ({"objectives": ["sparse_l3"]}, "invalid config at objectives.0"),
        ({"gamma": 1.5}, "invalid config at gamma"),
        ({"preprocessing": {"solver": "magic"}}, "invalid config at preprocessing.solver"),
        ({"typo_key": 1}, "Additional properties are not allowed"),
    ],
)
def test_invalid_config_stops_before_any_job(tmp_path, change, message):
    config = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    config.update(change)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(REPO_ROOT, "-n", "--configfile", str(path), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_end_to_end_run(tmp_path):
    work = copy_workflow(tmp_path, TINY_CONFIG)
    snakemake(work, "results/heatmaps/maze4.png")
    for ext in ("png", "pdf", "html"):
        assert (work / "results" / "heatmaps" / f"maze4.{ext}").stat().st_size > 1000
    run_dir = work / "results" / "preprocessed" / "ground_truth" / "maze4_goal_dense" / "sparse_l1"
    assert {p.name for p in run_dir.iterdir()} >= {"rewards.csv", "potential.csv", "metrics.json", "spec.json"}
    # A second run has nothing to do.
    proc = snakemake(work, "results/heatmaps/maze4.png")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_failed_job_leaves_no_partial_output(tmp_path):
    work = copy_workflow(tmp_path, TINY_CONFIG)
    snakemake(work, "results/reward_models/learned/maze4_goal_dense")
    model = work / "results" / "reward_models" / "learned" / "maze4_goal_dense"
    (model / "model.safetensors").write_bytes(b"corrupt")
    target = "results/preprocessed/learned/maze4_goal_dense/sparse_l1"
    proc = snakemake(work, target, check=False)
    assert proc.returncode != 0
    assert "maze4_goal_dense/model.safetensors: " in proc.stdout + proc.stderr  # one line naming the file
    assert not (work / target).exists()
    assert model.exists()  # the input, computed before, is kept
