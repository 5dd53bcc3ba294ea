"""The learned-reward branch in Snakemake: planning with the paper config, and a tiny real run for maze4."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest

from reward_preprocessing.rewards.ground_truth import make_maze
from reward_preprocessing.rewards.io import load_reward_net
from reward_preprocessing.training.preferences import learned_rewards
from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG
from tests.workflow_runs import copy_with_profiles, planned_jobs, snakemake

CONFIG = {
    **TINY_CONFIG,
    "preferences": {
        "preset": "fast",
        "seed": 0,
        "overrides": {"comparisons": 300, "epochs": 5, "lr": 0.05, "sample_preferences": False},
        "runtime": 5,
    },
}
TARGETS = [f"results/heatmaps/maze4_learned.{ext}" for ext in ("png", "pdf", "html")]


@pytest.mark.slow
def test_learned_branch_runs_end_to_end_for_maze4(tmp_path):
    work = copy_with_profiles(tmp_path, CONFIG)
    snakemake(work, *TARGETS)

    for target in TARGETS:
        assert (work / target).stat().st_size > 0
    for shaping in CONFIG["shapings"]:
        model_dir = work / "results" / "reward_models" / "learned" / f"maze4_goal_{shaping}"
        metrics = json.loads((model_dir / "metrics.json").read_text())
        assert metrics["settings"]["comparisons"] == 300
        assert metrics["correlation"] > 0.9
        # Preprocessing read the learned model unchanged: its "original" column is the learned reward.
        model = make_maze("maze4", "goal", shaping).tabular_model()
        learned = learned_rewards(load_reward_net(model_dir), model)
        run_dir = work / "results" / "preprocessed" / "learned" / f"maze4_goal_{shaping}" / "sparse_l1"
        with open(run_dir / "rewards.csv") as f:
            rows = list(csv.DictReader(f))
        original = np.array([float(r["original"]) for r in rows])
        states, actions = (np.array([int(r[k]) for r in rows]) for k in ("state", "action"))
        np.testing.assert_allclose(original, learned[states, actions], rtol=1e-6, atol=1e-6)

    again = snakemake(work, "-n", *TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_paper_config_plans_the_learned_branch_with_the_paper_preset():
    proc = snakemake(
        REPO_ROOT, "-n", "--forceall", "-p", "results/heatmaps/maze10_learned.png", "--configfile", "config/paper.yaml"
    )
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(out)
    # One preprocessing job per learned model writes every objective.
    assert (jobs["learned_reward"], jobs["preprocess_tabular"], jobs["heatmap_learned"]) == (4, 4, 1)
    commands = re.findall(r'"preset":"paper",.*"seed":0[,}].* --out results/reward_models/learned/maze10_goal_', out)
    assert len(commands) == 4
