"""Rollouts: mixtures, imitation's own serializer round trip, and refusing rollouts of the wrong env or shape."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from imitation.data import serialize

from reward_preprocessing.data.rollouts import (
    RolloutSource,
    check_sources,
    collect_rollouts,
    load_rollouts,
    save_rollouts,
)
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.envs.maze import env_id as maze_env_id
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.tabular import optimal_maze_policy

MAZE = maze_env_id("EmptyMaze4")


@pytest.fixture(scope="module")
def maze_expert():
    return optimal_maze_policy(MAZE, {"reward": "goal"}, 0.99)


@pytest.fixture(scope="module")
def maze_rollouts(maze_expert):
    sources = [RolloutSource("expert", 3.0, 0.1), RolloutSource("random", 1.0)]
    return collect_rollouts(MAZE, {"reward": "goal"}, sources, 200, seed=0, expert=maze_expert, progress=False)


def test_mixture_collects_enough_steps_per_source(maze_rollouts):
    lengths = [len(t.acts) for t in maze_rollouts]
    assert sum(lengths) >= 200 and all(n == 8 for n in lengths)  # maze4 episodes last 8 steps
    assert sum(lengths) <= 200 + 2 * 8  # at most one partly needed episode per source


def test_round_trip_through_imitations_loader(tmp_path, maze_rollouts):
    save_rollouts(tmp_path / "r", maze_rollouts, MAZE, {"reward": "goal"})
    direct = serialize.load(tmp_path / "r")  # imitation's own loader reads our files
    assert len(direct) == len(maze_rollouts)
    for ours, theirs in zip(maze_rollouts, direct, strict=True):
        np.testing.assert_array_equal(theirs.obs, ours.obs)
        np.testing.assert_array_equal(theirs.acts, ours.acts)
        np.testing.assert_array_equal(theirs.rews, ours.rews)
    loaded = load_rollouts(tmp_path / "r", env_id=MAZE, obs_shape=())
    assert [len(t.acts) for t in loaded] == [len(t.acts) for t in maze_rollouts]


def test_same_seed_same_bytes(tmp_path, maze_expert):
    for name in ("a", "b"):
        trajs = collect_rollouts(MAZE, {}, [RolloutSource("expert", 1, 0.5)], 50, 7, maze_expert, progress=False)
        save_rollouts(tmp_path / name, trajs, MAZE, {})
    for f in (tmp_path / "a").iterdir():
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name


def test_wrong_env_or_shape_is_refused(tmp_path, maze_rollouts):
    save_rollouts(tmp_path / "r", maze_rollouts, MAZE, {})
    with pytest.raises(UserError, match=f"recorded in {MAZE}, but this needs {ENV_ID}"):
        load_rollouts(tmp_path / "r", env_id=ENV_ID)
    with pytest.raises(UserError, match=r"observations have shape \(\), expected \(2,\)"):
        load_rollouts(tmp_path / "r", obs_shape=(2,))
    with pytest.raises(UserError, match="no such rollout directory"):
        load_rollouts(tmp_path / "missing")


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([RolloutSource("expert", 0.0), RolloutSource("random", 0.0)], "sum to a positive number"),
        ([RolloutSource("expert", -1.0), RolloutSource("random", 0.5)], "finite number >= 0"),
        ([RolloutSource("expert", float("nan"))], "finite number >= 0"),
        ([RolloutSource("expert", 1.0, 1.5)], "random_prob must be in"),
        ([RolloutSource("greedy", 1.0)], "unknown rollout policy 'greedy'"),
        ([], "no rollout sources"),
    ],
)
def test_bad_mixtures_are_refused(sources, message):
    with pytest.raises(UserError, match=message):
        check_sources(sources)


def test_expert_source_without_expert_is_refused():
    with pytest.raises(UserError, match="needs --expert"):
        collect_rollouts(MAZE, {}, [RolloutSource("expert")], 10, 0, expert=None, progress=False)


@given(st.floats(0, 10), st.floats(0, 10))
def test_weights_are_normalized(a, b):
    sources = [RolloutSource("expert", a), RolloutSource("random", b)]
    if a + b > 0:
        assert sum(check_sources(sources)) == pytest.approx(1.0)
    else:
        with pytest.raises(UserError):
            check_sources(sources)


def test_transitions_keep_time_order_and_episodes():
    trajs = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], 400, 0, progress=False)
    batch = TransitionBatch.from_trajectories(trajs)
    assert len(batch) == 400 and set(batch.episode_ids.tolist()) == {0, 1}
    same = batch.episode_ids[1:] == batch.episode_ids[:-1]
    np.testing.assert_array_equal(batch.obs[1:][same], batch.next_obs[:-1][same])  # consecutive in time
    assert not batch.dones.any()  # fixed horizon: no terminal states


def test_cli_refuses_bad_weights_with_one_line(tmp_path, repo_root):
    proc = subprocess.run(
        [sys.executable, "scripts/collect_rollouts.py", "--expert", str(tmp_path / "no_expert"), "--settings",
         '{"min_timesteps": 10, "sources": [{"policy": "random", "weight": 0}, {"policy": "expert", "weight": 0}]}',
         "--out", str(tmp_path / "r")],
        cwd=repo_root, env={**os.environ, "PYTHONPATH": str(repo_root)}, capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert "error: rollout weights must sum to a positive number, got 0.0" in proc.stderr
    assert not (tmp_path / "r").exists()
