"""The library's stage functions, called as the scripts call them: batched maze models and figures, learned
rewards from either label source, env specs and devices."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

import reward_preprocessing.envs  # noqa: F401
from reward_preprocessing.data.rollouts import RolloutSource, collect_rollouts, save_rollouts
from reward_preprocessing.envs.maze import env_id as maze_env_id
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.envs.spec import env_spec
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.evaluation import task_solved
from reward_preprocessing.plotting.maze_figures import MazeFigureSettings, maze_figures_stage
from reward_preprocessing.preprocessing.tabular_run import MazeGridSettings, TabularPreprocessSettings, maze_grid_stage
from reward_preprocessing.rewards.env_ground_truth import ground_truth_stage
from reward_preprocessing.rewards.io import load_reward_net
from reward_preprocessing.settings import from_mapping
from reward_preprocessing.training.reward_models import train_reward_model_stage
from reward_preprocessing.training.supervised import RewardModelSettings


def test_maze_grid_writes_every_model_and_objective_and_figures_draw_from_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = MazeGridSettings(maze="maze4", rewards=["goal"], shapings=["unshaped", "dense"],
                                preprocessing=TabularPreprocessSettings(objectives=["sparse_l1", "smooth_log"]))
    assert maze_grid_stage(settings, "models", "pp") == 4
    for shaping in ("unshaped", "dense"):
        assert (tmp_path / "models" / f"maze4_goal_{shaping}" / "spec.json").is_file()
        for objective in ("sparse_l1", "smooth_log"):
            metrics = json.loads((tmp_path / "pp" / f"maze4_goal_{shaping}" / objective / "metrics.json").read_text())
            assert metrics["model"] == f"models/maze4_goal_{shaping}" and metrics["objective"] == objective
    written = maze_figures_stage(MazeFigureSettings(maze="maze4", rewards=["goal"], shapings=["unshaped", "dense"],
                                                    modes=["default"]), "pp", "figures")
    assert sorted(p.name for p in written) == sorted(
        f"{name}.{ext}" for name in ("maze4_goal_default", "maze4") for ext in ("png", "pdf", "html"))
    for ext in ("png", "pdf", "html"):  # the main figure is the goal reward's default grid
        assert (tmp_path / "figures" / f"maze4.{ext}").read_bytes() == \
            (tmp_path / "figures" / f"maze4_goal_default.{ext}").read_bytes()


def test_maze_grid_settings_reject_unknown_names_before_work():
    with pytest.raises(UserError, match="unknown maze"):
        from_mapping(MazeGridSettings, {"maze": "maze7"})
    with pytest.raises(UserError, match="unknown objective"):
        from_mapping(MazeGridSettings, {"maze": "maze4", "preprocessing": {"objectives": ["sparse_l3"]}})


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory):
    directory = tmp_path_factory.mktemp("rollouts") / "r"
    trajectories = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], 1000, 0, progress=False)
    save_rollouts(directory, trajectories, ENV_ID, {"shaping": "unshaped"})
    return directory


TINY = {"hidden_sizes": [8], "epochs": 2, "batch_size": 128, "device": "cpu"}


def test_reward_model_learns_from_the_rollouts_own_rewards(tmp_path, rollouts):
    settings = from_mapping(RewardModelSettings, {**TINY, "labels": "rollouts"})
    metrics = train_reward_model_stage(rollouts, settings, tmp_path / "m")
    assert metrics["split"] == "by_trajectory" and metrics["epochs"] == 2
    spec = json.loads((tmp_path / "m" / "spec.json").read_text())
    assert spec["env"]["id"] == ENV_ID and spec["metadata"]["target"] is None
    assert load_reward_net(tmp_path / "m").observation_space.shape == (2,)


def test_reward_model_from_a_ground_truth_target(tmp_path, rollouts):
    ground_truth_stage(ENV_ID, {"shaping": "dense", "gamma": 0.99, "shaping_seed": 0}, tmp_path / "gt")
    settings = from_mapping(RewardModelSettings, TINY)
    metrics = train_reward_model_stage(rollouts, settings, tmp_path / "m", target_dir=tmp_path / "gt")
    assert metrics["test_target_var"] > 0
    with pytest.raises(UserError, match="need a target model"):
        train_reward_model_stage(rollouts, settings, tmp_path / "never")
    with pytest.raises(UserError, match="unknown reward model kind 'cnn'"):
        train_reward_model_stage(rollouts, from_mapping(RewardModelSettings, {**TINY, "kind": "cnn"}),
                                 tmp_path / "never", target_dir=tmp_path / "gt")
    assert not (tmp_path / "never").exists()


def test_cuda_requested_without_a_gpu_is_an_error_before_work(tmp_path, rollouts):
    import torch as th

    if th.cuda.is_available():
        pytest.skip("this machine has a GPU")
    settings = from_mapping(RewardModelSettings, {**TINY, "labels": "rollouts", "device": "cuda"})
    with pytest.raises(UserError, match="no CUDA GPU"):
        train_reward_model_stage(rollouts, settings, tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_env_specs_say_what_success_is_without_isinstance():
    maze = gym.make(maze_env_id("EmptyMaze4"), reward="goal")  # 4x4, goal at (2, 2): state 2 * 4 + 2
    maze.reset(seed=0)
    maze.unwrapped._state = 0
    assert not task_solved(maze)
    maze.unwrapped._state = 10
    assert task_solved(maze)
    assert env_spec(ENV_ID).obs_scaling == "box" and env_spec(ENV_ID).ground_truth_net == "MountainCarRewardNet"
    assert env_spec(ENV_ID).task_kwargs({"shaping": "dense", "gamma": 0.9}) == {"shaping": "unshaped", "gamma": 0.9}
    with pytest.raises(UserError, match="no env spec for 'Nope-v0'"):
        env_spec("Nope-v0")
    car = gym.make(ENV_ID)
    car.reset(seed=0)
    car.unwrapped.state = np.array([0.55, 0.01])
    car.step(2)
    assert task_solved(car)
