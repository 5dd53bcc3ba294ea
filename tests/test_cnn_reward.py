"""The CNN reward net: shapes, the reward of the taken action, safe round trip, bad spaces."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.cnn import ImageRewardNet
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net

OBS = spaces.Box(0, 255, (16, 16, 3), np.uint8)
ACTS = spaces.Discrete(15)


def _batch(n: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = rng.integers(0, 256, (n, *OBS.shape), dtype=np.uint8)
    next_obs = rng.integers(0, 256, (n, *OBS.shape), dtype=np.uint8)
    acts = rng.integers(0, ACTS.n, n)
    return obs, acts, next_obs, np.zeros(n, dtype=bool)


def test_reward_is_the_output_of_the_taken_action():
    th.manual_seed(0)
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4, 8))
    obs, acts, next_obs, dones = _batch()
    outputs = net.action_rewards(th.as_tensor(obs), th.as_tensor(next_obs))
    assert outputs.shape == (6, 15)
    via_preprocess = net.predict_th(obs, acts, next_obs, dones)
    via_indices = net(th.as_tensor(obs), th.as_tensor(acts), th.as_tensor(next_obs), th.as_tensor(dones))
    expected = outputs[th.arange(6), th.as_tensor(acts)]
    th.testing.assert_close(via_preprocess, expected)
    th.testing.assert_close(via_indices, expected)


def test_uint8_and_scaled_float_inputs_agree():
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4,))
    obs, _, next_obs, _ = _batch()
    raw = net.action_rewards(th.as_tensor(obs), th.as_tensor(next_obs))
    scaled = net.action_rewards(th.as_tensor(obs) / 255.0, th.as_tensor(next_obs) / 255.0)
    th.testing.assert_close(raw, scaled)


def test_next_observation_matters():
    th.manual_seed(1)
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4, 8))
    obs, acts, next_obs, dones = _batch()
    assert not th.allclose(net.predict_th(obs, acts, next_obs, dones), net.predict_th(obs, acts, obs, dones))


def test_round_trip_and_no_normalization_layer(tmp_path):
    th.manual_seed(2)
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4, 8))
    assert not any("norm" in name for name in net.state_dict())
    save_reward_net(net, tmp_path / "model", "procgen-coinrun", {"num_levels": 1})
    loaded = load_reward_net(tmp_path / "model")
    assert isinstance(loaded, ImageRewardNet) and loaded.hid_channels == [4, 8]
    obs, acts, next_obs, dones = _batch()
    th.testing.assert_close(loaded.predict_th(obs, acts, next_obs, dones), net.predict_th(obs, acts, next_obs, dones))


def test_default_architecture_matches_the_reference():
    net = ImageRewardNet(spaces.Box(0, 255, (64, 64, 3), np.uint8), ACTS)
    convs = [m for m in net.modules() if isinstance(m, th.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(6, 32, (3, 3)), (32, 64, (3, 3))]
    assert net.cnn.dense_final.out_features == 15


def test_without_action_one_output():
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4,), use_action=False)
    obs, acts, next_obs, dones = _batch()
    assert net.predict_th(obs, acts, next_obs, dones).shape == (6,)


@pytest.mark.parametrize(
    ("obs_space", "act_space", "message"),
    [
        (spaces.Box(0, 1, (16, 16, 3), np.float32), ACTS, "uint8"),
        (spaces.Box(0, 255, (768,), np.uint8), ACTS, "HWC"),
        (OBS, spaces.Box(-1, 1, (2,)), "Discrete"),
    ],
)
def test_bad_spaces(obs_space, act_space, message):
    with pytest.raises(UserError, match=message):
        ImageRewardNet(obs_space, act_space)


def test_bad_hid_channels():
    with pytest.raises(UserError, match="hid_channels"):
        ImageRewardNet(OBS, ACTS, hid_channels=())


def test_strided_kernels_round_trip(tmp_path):
    th.manual_seed(3)
    net = ImageRewardNet(OBS, ACTS, hid_channels=(4, 8, 8), kernel_size=5, stride=2)
    convs = [m for m in net.modules() if isinstance(m, th.nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.padding) for c in convs] == [((5, 5), (2, 2), (2, 2))] * 3
    save_reward_net(net, tmp_path / "model", "procgen-coinrun", {"num_levels": 1})
    loaded = load_reward_net(tmp_path / "model")
    assert (loaded.kernel_size, loaded.stride) == (5, 2)
    obs, acts, next_obs, dones = _batch()
    th.testing.assert_close(loaded.predict_th(obs, acts, next_obs, dones), net.predict_th(obs, acts, next_obs, dones))


@pytest.mark.parametrize(("kernel_size", "stride"), [(4, 1), (0, 1), (3, 0)])
def test_bad_kernel_or_stride(kernel_size, stride):
    with pytest.raises(UserError, match="kernel_size"):
        ImageRewardNet(OBS, ACTS, kernel_size=kernel_size, stride=stride)
