"""Experts: SB3 save/load (and refusing files that are not SB3 zips), maze value iteration, critics, videos."""

from __future__ import annotations

import json
import tempfile
import zipfile

import numpy as np
import pytest
import torch as th

from reward_preprocessing.envs.maze import env_id as maze_env_id
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.experts.evaluation import evaluate_policy, task_kwargs
from reward_preprocessing.experts.sb3 import (
    ExpertSettings,
    check_sb3_zip,
    critic_values,
    load_sb3_expert,
    save_sb3_expert,
    train_sb3_expert,
)
from reward_preprocessing.experts.store import load_expert, save_expert
from reward_preprocessing.experts.tabular import load_tabular_policy, optimal_maze_policy, save_tabular_policy
from reward_preprocessing.experts.video import policy_frames, write_video
from reward_preprocessing.preprocessing.potentials import critic_potential
from tests.safety_helpers import install_paths_in_sb3_zip

TINY_DQN = {"learning_starts": 50, "buffer_size": 500, "batch_size": 16, "train_freq": 4, "gradient_steps": 1}


@pytest.fixture(scope="module")
def tiny_dqn():
    th.set_num_threads(1)
    cfg = ExpertSettings(
        algo="dqn",
        total_timesteps=200,
        seed=0,
        hyperparams=TINY_DQN,
        policy_kwargs={"net_arch": [8]},
        scale_observations=True,
    )
    return train_sb3_expert(ENV_ID, {}, cfg, progress=False)[0]


def test_sb3_expert_round_trip_is_byte_identical(tmp_path, tiny_dqn):
    save_sb3_expert(tiny_dqn, tmp_path / "a.zip")
    save_sb3_expert(tiny_dqn, tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    loaded = load_sb3_expert(tmp_path / "a.zip")  # algorithm inferred from the policy class
    obs = np.random.default_rng(0).uniform([-1.2, -0.07], [0.6, 0.07], size=(20, 2)).astype(np.float32)
    expected = tiny_dqn.predict(obs, deterministic=True)[0]
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], expected)


def test_expert_directory_round_trip(tmp_path, tiny_dqn):
    save_expert(tmp_path / "e", tiny_dqn, ENV_ID, {"shaping": "dense"}, {"algo": "dqn"}, {"success_rate": 0.0})
    expert = load_expert(tmp_path / "e")
    assert expert.kind == "sb3" and expert.env_id == ENV_ID and expert.env_kwargs == {"shaping": "dense"}
    assert json.loads((tmp_path / "e" / "metrics.json").read_text()) == {"success_rate": 0.0}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip at all", "not a zip file"),
        (None, "no 'data' member"),
        (b"PK\x03\x04garbage", "not a zip file"),
    ],
)
def test_non_sb3_files_are_refused_before_unpickling(tmp_path, content, message):
    path = tmp_path / "model.zip"
    if content is None:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("something_else", "x")
    else:
        path.write_bytes(content)
    with pytest.raises(ArtifactError, match=message):
        load_sb3_expert(path)


def test_missing_expert_is_an_artifact_error(tmp_path):
    with pytest.raises(ArtifactError, match="no such expert file"):
        check_sb3_zip(tmp_path / "missing.zip")
    with pytest.raises(ArtifactError, match="not an expert directory"):
        load_expert(tmp_path)


def test_critic_potential_equals_sb3_critic(tiny_dqn):
    obs = np.random.default_rng(1).uniform([-1.2, -0.07], [0.6, 0.07], size=(30, 2)).astype(np.float32)
    potential = critic_potential(tiny_dqn)
    with th.no_grad():
        ours = potential(th.as_tensor(obs)).numpy()
    np.testing.assert_allclose(ours, critic_values(tiny_dqn, obs), rtol=1e-5, atol=1e-6)
    assert potential.spec()["kind"] == "critic"


def test_ppo_critic_potential_equals_value_head():
    cfg = ExpertSettings(
        algo="ppo",
        total_timesteps=64,
        hyperparams={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
        policy_kwargs={"net_arch": [8]},
    )
    model, _ = train_sb3_expert(ENV_ID, {}, cfg, progress=False)
    obs = np.random.default_rng(2).uniform([-1.2, -0.07], [0.6, 0.07], size=(30, 2)).astype(np.float32)
    with th.no_grad():
        ours = critic_potential(model)(th.as_tensor(obs)).numpy()
    np.testing.assert_allclose(ours, critic_values(model, obs), rtol=1e-5, atol=1e-6)


def test_training_leaves_no_folder_in_the_temp_dir(tmp_path, monkeypatch):
    """Left to itself, SB3 makes an empty /tmp/SB3-<time> folder on every learn()."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cfg = ExpertSettings(algo="ppo", total_timesteps=32, hyperparams={"n_steps": 32, "batch_size": 32, "n_epochs": 1})
    train_sb3_expert(ENV_ID, {}, cfg, progress=False)
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("torchinductor_")] == []  # torch's cache


@pytest.mark.parametrize("algo", ["dqn", "ppo"])
def test_sb3_zip_does_not_depend_on_the_install_path(tmp_path, algo):
    """SB3 pickles a float schedule as a closure whose code object names the venv's absolute path: two checkouts
    would write different bytes. Schedules are objects or left to SB3 to rebuild on load, and still work."""
    hyperparams = TINY_DQN if algo == "dqn" else {"n_steps": 32, "batch_size": 32, "n_epochs": 1, "clip_range": 0.3}
    cfg = ExpertSettings(algo=algo, total_timesteps=64, hyperparams=hyperparams, policy_kwargs={"net_arch": [8]})
    model, _ = train_sb3_expert(ENV_ID, {}, cfg, progress=False)
    save_sb3_expert(model, tmp_path / "m.zip")
    assert install_paths_in_sb3_zip(tmp_path / "m.zip") == []
    loaded = load_sb3_expert(tmp_path / "m.zip", algo)
    assert loaded.lr_schedule(0.5) == model.lr_schedule(0.5)
    if algo == "ppo":
        assert loaded.clip_range(0.5) == 0.3
    else:
        assert loaded.exploration_schedule(0.5) == model.exploration_schedule(0.5)


def test_keep_best_checkpoint_restores_the_best_weights():
    cfg = ExpertSettings(
        algo="dqn",
        total_timesteps=300,
        hyperparams=TINY_DQN,
        policy_kwargs={"net_arch": [8]},
        select_every=100,
        select_episodes=1,
    )
    model, checkpoints = train_sb3_expert(ENV_ID, {}, cfg, progress=False)
    assert [c["timesteps"] for c in checkpoints] == [100, 200, 300]
    best = max(checkpoints[::-1], key=lambda c: (c["success_rate"], c["return_mean"]))
    again = evaluate_policy(model, ENV_ID, {}, 1, cfg.select_seed, progress=False).metrics()
    assert again["eval_return_mean"] == best["return_mean"]


def test_bad_sb3_config_is_a_user_error():
    with pytest.raises(UserError, match="unknown algorithm"):
        ExpertSettings(algo="sac", total_timesteps=10)
    with pytest.raises(UserError, match="invalid hyperparameters for dqn"):
        train_sb3_expert(
            ENV_ID, {}, ExpertSettings(algo="dqn", total_timesteps=10, hyperparams={"n_epochs": 3}), progress=False
        )


@pytest.mark.parametrize(("maze", "reward"), [("EmptyMaze4", "goal"), ("KeyMaze6", "goal"), ("EmptyMaze10", "path")])
def test_value_iteration_expert_solves_the_maze(tmp_path, maze, reward):
    kwargs = {"reward": reward, "shaping": "unshaped", "gamma": 0.99}
    policy = optimal_maze_policy(maze_env_id(maze), kwargs, 0.99)
    result = evaluate_policy(policy, maze_env_id(maze), kwargs, 20, seed=0, progress=False)
    assert result.metrics()["success_rate"] == 1.0
    save_tabular_policy(policy, tmp_path / "policy.json")
    loaded = load_tabular_policy(tmp_path / "policy.json")
    np.testing.assert_array_equal(loaded.actions, policy.actions)
    assert loaded.env_id == maze_env_id(maze)


def test_shaping_does_not_change_the_maze_expert():
    ids = {s: optimal_maze_policy(maze_env_id("EmptyMaze10"), {"shaping": s}, 0.99) for s in ("unshaped", "dense")}
    model_returns = [
        evaluate_policy(p, maze_env_id("EmptyMaze10"), {}, 10, 0, progress=False).returns for p in ids.values()
    ]
    assert model_returns[0] == model_returns[1]


def test_corrupt_policy_json_is_an_artifact_error(tmp_path):
    (tmp_path / "policy.json").write_text('{"format": "something else"}')
    with pytest.raises(ArtifactError, match="not a tabular policy"):
        load_tabular_policy(tmp_path / "policy.json")
    (tmp_path / "policy.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupt JSON"):
        load_tabular_policy(tmp_path / "policy.json")


def test_task_kwargs_drop_shaping():
    assert task_kwargs({"shaping": "dense", "gamma": 0.9}) == {"shaping": "unshaped", "gamma": 0.9}
    assert task_kwargs({"reward": "goal"}) == {"reward": "goal"}


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_video_of_maze_expert(tmp_path, suffix):
    kwargs = {"reward": "goal"}
    policy = optimal_maze_policy(maze_env_id("EmptyMaze4"), kwargs, 0.99)
    frames, fps = policy_frames(policy, maze_env_id("EmptyMaze4"), kwargs, episodes=1, seed=2)
    assert len(frames) == 9 and frames[0].shape == (64, 64, 3) and fps == 4  # 8 steps + the first frame
    assert len({f.tobytes() for f in frames}) == 4  # three moves to the goal, then it stays
    write_video(frames, tmp_path / f"v{suffix}", fps=fps)
    assert (tmp_path / f"v{suffix}").stat().st_size > 300
    with pytest.raises(UserError, match="unsupported video format"):
        write_video(frames, tmp_path / "v.avi")
