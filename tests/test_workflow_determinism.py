"""Two runs from an empty results/ and an empty cache give byte-identical artifacts.

Covers the maze grid (ground truth), the learned maze branch, the whole MountainCar chain (DQN expert,
rollouts, supervised reward models, neural preprocessing, curves) and a user's model (`models:`: an imitation
net imported from a .pt, preprocessed over rollouts of a user's SB3 policy zip), with small budgets so that it
stays quick.
Every byte is compared except the values of `reward_preprocessing.artifacts.TIMING_KEYS` (wall-clock
measurements), which are masked and reported.
"""

from __future__ import annotations

import shutil

import pytest
import yaml

from reward_preprocessing.artifacts import TIMING_KEYS
from tests.safety_helpers import fresh, stable_digests
from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG
from tests.workflow_runs import TINY_TARGETS, copy_with_profiles, snakemake

pytestmark = pytest.mark.slow

TARGETS = (
    *TINY_TARGETS,
    "results/heatmaps/maze4_learned.png",
    "results/curves/mountain_car.png",
    "results/curves/mountain_car.html",
    "results/curves/mountain_car_learned.png",
    "results/curves/mountain_car_learned.pdf",
    "results/models/mine/figure.png",
)
FIXTURES = ("tests/data/imitation_numpy2/mountain_car_shaped.pt", "tests/data/sb3/mountain_car_ppo.zip")


def small_config() -> dict:
    """TINY_CONFIG with MountainCar on two shapings and small budgets for expert, rollouts, fits and training."""
    full = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    car = full["envs"]["mountain_car"]
    car["shapings"] = ["unshaped", "dense"]
    car["expert"].update(total_timesteps=3000, select_every=1500, select_episodes=1)
    car["rollouts"].update(min_timesteps=1000, curve_timesteps=200)
    car["reward_model"].update(epochs=2, hidden_sizes=[16, 16])
    car["preprocess"]["hidden_sizes"] = [16, 16]
    car["preprocess"]["fit"]["max_epochs"] = 2
    experts = {**full["experts"], "eval_episodes": 2}
    mine = {"path": FIXTURES[0], "trust_pickle": True, "env": "mountain_car",
            "rollouts": {"policy": FIXTURES[1], "trust_pickle": True}}
    return {**TINY_CONFIG, "experts": experts, "envs": {"mountain_car": car}, "models": {"mine": mine}}


def test_two_runs_from_scratch_are_byte_identical(tmp_path):
    digests = []
    for name in ("first", "second"):
        work = copy_with_profiles(fresh(tmp_path / name), small_config())
        for fixture in FIXTURES:
            (work / fixture).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / fixture, work / fixture)
        snakemake(work, *TARGETS, timeout=1800)
        digests.append(stable_digests(work / "results"))
    (first, masked), (second, masked_second) = digests
    print(f"{len(first)} artifacts compared byte for byte; timing values masked in {len(masked)} files:")
    for name, keys in masked.items():
        print(f"  {name}: {', '.join(keys)}")
    assert masked == masked_second  # the same timing keys, in the same files
    assert {key for keys in masked.values() for key in keys} <= TIMING_KEYS
    assert set(first) == set(second)
    differing = sorted(k for k in first if first[k] != second[k])
    assert differing == [], f"artifacts that differ between two runs: {differing}"
    # the runs did produce every branch
    assert any(k.startswith("reward_models/learned/") for k in first)
    assert any(k.startswith("experts/mountain_car/") for k in first)
    assert any(k.startswith("preprocessed/learned/mountain_car_") for k in first)
    assert any(k.startswith("models/mine/rollouts/") for k in first) and "models/mine/figure.png" in first
