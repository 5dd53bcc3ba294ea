"""The MountainCar branch of the workflow, end to end, in a throw-away copy with a tiny config."""

from __future__ import annotations

import copy
import json
import re
import shutil

import pytest
import yaml

from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG, copy_workflow, snakemake

TARGETS = ["results/curves/mountain_car.png", "results/curves/mountain_car_learned.html",
           "results/videos/mountain_car.mp4"]


def tiny_mountain_car_config() -> dict:
    full = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    experts, mc = copy.deepcopy(full["experts"]), copy.deepcopy(full["envs"]["mountain_car"])
    experts.update(eval_episodes=2)
    mc["expert"].update(
        total_timesteps=300, policy_kwargs={"net_arch": [8]},
        hyperparams={**mc["expert"]["hyperparams"], "learning_starts": 50, "buffer_size": 500,
                     "batch_size": 16, "train_freq": 4, "gradient_steps": 1},
    )
    mc["rollouts"].update(min_timesteps=400, curve_timesteps=200)
    mc["preprocess"].update(hidden_sizes=[8])
    mc["preprocess"]["fit"].update(max_epochs=1)
    mc["reward_model"].update(epochs=1, hidden_sizes=[8])
    mc["shapings"] = ["unshaped", "dense"]
    return {**TINY_CONFIG, "shapings": ["unshaped", "dense"], "objectives": ["sparse_l1", "smooth_l1"],
            "experts": experts, "envs": {"mountain_car": mc}}


def test_dry_run_plans_the_mountain_car_branch(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_mountain_car_config()))
    proc = snakemake(REPO_ROOT, "-n", "--forceall", *TARGETS, "--configfile", str(path))
    table = (proc.stdout + proc.stderr).split("Job stats:")[1]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    # One preprocessing job per model writes every objective.
    assert jobs == {"train_expert": 1, "collect_rollouts": 1, "curve_rollouts": 1, "env_ground_truth": 2,
                    "env_reward_model": 2, "preprocess_neural": 2 * 2, "reward_curves": 2,
                    "expert_video": 1, "plotly_js": 1, "total": 15}


def _zero_weights(c):
    c["envs"]["mountain_car"]["rollouts"]["sources"] = [{"policy": "random", "weight": 0}]


def _cubic_potential(c):
    c["envs"]["mountain_car"]["preprocess"]["potential"] = "cubic"


def _sac_expert(c):
    c["envs"]["mountain_car"]["expert"]["algo"] = "sac"


def _typo_in_settings(c):
    c["envs"]["mountain_car"]["reward_model"]["epoch"] = 3


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_zero_weights, "invalid config at envs.mountain_car.rollouts.sources"),
        (_cubic_potential, "invalid config at envs.mountain_car.preprocess.potential"),
        (_sac_expert, "invalid config at envs.mountain_car.expert.algo"),
        (_typo_in_settings, "invalid config at envs.mountain_car.reward_model"),
    ],
)
def test_bad_mountain_car_config_stops_before_any_job(tmp_path, change, message):
    config = tiny_mountain_car_config()
    change(config)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = snakemake(REPO_ROOT, "-n", "--configfile", str(path), check=False)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_unknown_mountain_car_shaping_in_a_target_is_named():
    proc = snakemake(REPO_ROOT, "-n", "results/preprocessed/ground_truth/mountain_car_shaped/sparse_l1", check=False)
    assert proc.returncode != 0
    assert "unknown shaping 'shaped'" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_tiny_mountain_car_run(tmp_path):
    work = copy_workflow(tmp_path, tiny_mountain_car_config())
    for extra in ("environment.yml",):  # the rules' `conda:` file, recorded in job metadata
        if (REPO_ROOT / extra).exists() and not (work / extra).exists():
            shutil.copy2(REPO_ROOT / extra, work / extra)
    snakemake(work, *TARGETS)
    for name in ("mountain_car", "mountain_car_learned"):
        for ext in ("png", "pdf", "html"):
            assert (work / "results" / "curves" / f"{name}.{ext}").stat().st_size > 1000
    assert (work / "results" / "videos" / "mountain_car.mp4").stat().st_size > 1000
    expert = json.loads((work / "results" / "experts" / "mountain_car" / "metrics.json").read_text())
    assert expert["eval_episodes"] == 2 and 0.0 <= expert["success_rate"] <= 1.0
    learned = json.loads((work / "results" / "reward_models" / "learned" / "mountain_car_dense" / "metrics.json")
                         .read_text())
    assert learned["split"] == "by_trajectory" and learned["test_trajectories"] >= 1
    pp = json.loads((work / "results" / "preprocessed" / "ground_truth" / "mountain_car_dense" / "sparse_l1"
                     / "metrics.json").read_text())
    assert pp["value"] <= pp["value_initial"] and pp["objective"] == "sparse_l1"
    # Nothing left to do on a second run.
    proc = snakemake(work, "-n", *TARGETS)
    assert "Nothing to be done" in proc.stdout + proc.stderr
