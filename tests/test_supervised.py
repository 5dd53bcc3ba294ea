"""Supervised reward regression: split by trajectory, and an MLP learning a known reward on a tiny dataset."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st

from reward_preprocessing.data.rollouts import RolloutSource, collect_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.mlp import MlpRewardNet
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net
from reward_preprocessing.training.supervised import RewardModelSettings, split_by_trajectory, train_supervised


@given(st.lists(st.integers(1, 30), min_size=2, max_size=15), st.floats(0.05, 0.95), st.integers(0, 100))
def test_split_never_cuts_a_trajectory(lengths, fraction, seed):
    ids = np.repeat(np.arange(len(lengths)), lengths)
    test = split_by_trajectory(ids, fraction, seed)
    for episode in range(len(lengths)):
        assert len(set(test[ids == episode].tolist())) == 1  # all in train or all in test
    assert test.any() and (~test).any()


def test_split_needs_two_trajectories():
    with pytest.raises(UserError, match="at least 2 trajectories"):
        split_by_trajectory(np.zeros(10, dtype=int), 0.2, 0)


@pytest.fixture(scope="module")
def random_transitions():
    trajs = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], 2000, 0, progress=False)
    return TransitionBatch.from_trajectories(trajs)


def test_mlp_learns_dense_shaped_reward(tmp_path, random_transitions):
    target, kwargs = mountain_car_reward_net("dense")
    th.manual_seed(0)
    net = MlpRewardNet(target.observation_space, target.action_space, hid_sizes=[32, 32])
    cfg = RewardModelSettings(epochs=30, batch_size=64, lr=3e-3, test_fraction=0.3, seed=0)
    result = train_supervised(net, random_transitions, random_transitions.rewards(target), cfg, progress=False)
    m = result.metrics
    assert m["split"] == "by_trajectory" and m["test_trajectories"] == 3 and m["train_trajectories"] == 7
    assert m["test_mse"] < 0.05 * m["test_target_var"]  # explains > 95% of the held-out variance
    assert m["test_pearson"] > 0.97
    assert result.history[-1] < result.history[0]
    save_reward_net(net, tmp_path / "m", ENV_ID, kwargs)
    loaded = load_reward_net(tmp_path / "m")
    np.testing.assert_allclose(random_transitions.rewards(loaded), random_transitions.rewards(net))


def test_bad_targets_and_settings(random_transitions):
    target, _ = mountain_car_reward_net("unshaped")
    net = MlpRewardNet(target.observation_space, target.action_space)
    with pytest.raises(UserError, match="targets for"):
        train_supervised(net, random_transitions, np.zeros(3), RewardModelSettings(), progress=False)
    with pytest.raises(UserError, match="NaN"):
        train_supervised(net, random_transitions, np.full(len(random_transitions), np.nan), RewardModelSettings(),
                         progress=False)
    with pytest.raises(UserError, match="test_fraction"):
        RewardModelSettings(test_fraction=1.0)
