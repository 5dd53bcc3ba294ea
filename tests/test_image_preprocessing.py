"""CNN potentials and image preprocessing: objective falls, no pair spans two trajectories, safe round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from reward_preprocessing.data.image_rollouts import ImageRolloutWriter, open_image_rollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.image_fit import (
    ImageFitSettings,
    fit_image_potential,
    potential_on_frames,
    shaped_from_frames,
)
from reward_preprocessing.preprocessing.image_run import ImagePreprocessSettings, preprocess_image_model_dir
from reward_preprocessing.preprocessing.objectives import objective_value
from reward_preprocessing.rewards.cnn import ImageRewardNet
from reward_preprocessing.rewards.cnn_potential import CnnPotential
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.settings import from_mapping

SHAPE = (8, 8, 3)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)


def _rollouts(directory, n_traj=6, length=5, seed=0):
    rng = np.random.default_rng(seed)
    directory.mkdir()
    writer = ImageRolloutWriter(directory, SHAPE, shard_frames=9)
    for k in range(n_traj):
        frames = rng.integers(0, 256, (length + 1, *SHAPE), dtype=np.uint8)
        terminal = k % 2 == 0
        if terminal:
            frames[-1] = frames[-2]
        writer.add(frames, rng.integers(0, 4, length), np.zeros(length, np.float32), terminal)
    writer.close({})
    return open_image_rollouts(directory)


def test_potential_per_frame_equals_potential_per_transition(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    th.manual_seed(0)
    potential = CnnPotential(SHAPE, channels=[4], features_dim=8, channels_last=False)
    reward = np.random.default_rng(1).normal(size=len(rollouts))
    phi = potential_on_frames(potential, rollouts, chunk=7, device=th.device("cpu"))
    shaped = shaped_from_frames(reward, phi, rollouts, 0.9, 0.25)
    obs, next_obs = rollouts.transitions(np.arange(len(rollouts)))
    with th.no_grad():
        phi_s = potential(th.as_tensor(obs)).double().numpy()
        phi_next = potential(th.as_tensor(next_obs)).double().numpy()
    expected = reward + 0.9 * (1 - rollouts.dones) * phi_next - phi_s - 0.25
    np.testing.assert_allclose(shaped, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective", ["sparse_l1", "smooth_log"])
def test_fit_undoes_a_cnn_shaping(tmp_path, objective):
    rollouts = _rollouts(tmp_path / "r")
    th.manual_seed(3)
    shaping = CnnPotential(SHAPE, channels=[4], features_dim=8)
    phi = potential_on_frames(shaping, rollouts, 64, th.device("cpu"))
    reward = shaped_from_frames(np.zeros(len(rollouts)), -phi * 5, rollouts, 0.99, 0.0)  # a pure shaping
    th.manual_seed(4)
    potential = CnnPotential(SHAPE, channels=[4], features_dim=8)
    settings = ImageFitSettings(batch_size=8, lr=3e-3, max_epochs=40, patience=40)
    result = fit_image_potential(rollouts, reward, objective, potential, 0.99, settings, progress=False)
    assert result.value_after < 0.5 * result.value_before
    pairs = None
    if objective.startswith("smooth"):
        from reward_preprocessing.preprocessing.neural import consecutive_pairs

        pairs = consecutive_pairs(rollouts.episode_ids)
        assert (rollouts.episode_ids[pairs[:, 0]] == rollouts.episode_ids[pairs[:, 1]]).all()
        assert len(pairs) == len(rollouts) - rollouts.n_trajectories
    final = shaped_from_frames(reward, potential_on_frames(result.potential, rollouts, 64, th.device("cpu")),
                               rollouts, 0.99, result.shift)
    assert objective_value(final, objective, pairs) == pytest.approx(result.value_after, rel=1e-4, abs=1e-6)


def test_preprocessed_cnn_model_round_trips_and_refuses_mismatches(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    th.manual_seed(0)
    net = ImageRewardNet(spaces.Box(0, 255, SHAPE, np.uint8), spaces.Discrete(4), hid_channels=(4,))
    save_reward_net(net, tmp_path / "model", "procgen:coinrun")
    settings = from_mapping(ImagePreprocessSettings, {"channels": [4], "features_dim": 8, "device": "cpu",
                                                      "fit": {"batch_size": 8, "max_epochs": 2}})
    result = preprocess_image_model_dir(tmp_path / "model", tmp_path / "r", "sparse_l1", tmp_path / "out", settings,
                                        progress=False)
    loaded = load_reward_net(tmp_path / "out")
    obs, next_obs = rollouts.transitions(np.arange(len(rollouts)))
    acts, dones = rollouts.acts, rollouts.dones
    base = net.predict(obs, acts, next_obs, dones)
    phi = result.potential
    with th.no_grad():
        expected = base + 0.99 * (1 - dones) * phi(th.as_tensor(next_obs)).numpy() - phi(th.as_tensor(obs)).numpy()
    np.testing.assert_allclose(loaded.predict(obs, acts, next_obs, dones), expected - result.shift, rtol=1e-4,
                               atol=1e-5)
    # a model for another action count or observation shape is refused before any work
    other = ImageRewardNet(spaces.Box(0, 255, SHAPE, np.uint8), spaces.Discrete(2), hid_channels=(4,))
    save_reward_net(other, tmp_path / "two_actions", "procgen:coinrun")
    with pytest.raises(UserError, match="knows 2 actions"):
        preprocess_image_model_dir(tmp_path / "two_actions", tmp_path / "r", "sparse_l1", tmp_path / "x", settings)
    wide = ImageRewardNet(spaces.Box(0, 255, (8, 9, 3), np.uint8), spaces.Discrete(4), hid_channels=(4,))
    save_reward_net(wide, tmp_path / "wide", "procgen:coinrun")
    with pytest.raises(UserError, match="shape"):
        preprocess_image_model_dir(tmp_path / "wide", tmp_path / "r", "sparse_l1", tmp_path / "x", settings)
    assert not (tmp_path / "x").exists()


def test_cnn_potential_rejects_wrong_images():
    potential = CnnPotential(SHAPE, channels=[4], features_dim=8)
    with pytest.raises(UserError, match="expects"):
        potential(th.zeros(2, 3, 8, 8, dtype=th.uint8))


def _imported_cnn(hwc: bool, normalize: bool, seed: int = 0):
    """An imitation CnnRewardNet as the importer stores it (an ImitationRewardNet), HWC or CHW, /255 or not."""
    from imitation.rewards import reward_nets as rn

    from reward_preprocessing.rewards.imitation_nets import ImitationRewardNet, describe_net

    th.manual_seed(seed)
    shape = SHAPE if hwc else (SHAPE[2], SHAPE[0], SHAPE[1])
    obs, act = spaces.Box(0, 255, shape, np.uint8), spaces.Discrete(4)
    inner = rn.CnnRewardNet(obs, act, hid_channels=(4,), hwc_format=hwc)
    inner.normalize_images = normalize
    net = ImitationRewardNet(obs, act, describe_net(inner))
    net.net.load_state_dict(inner.state_dict())
    return inner, net.eval()


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("hwc", [True, False])
def test_frame_adapter_gives_the_imported_nets_own_rewards(hwc, normalize):
    """Raw HWC uint8 frames and action indices through FrameRewardNet == the net's own preprocess + forward."""
    from reward_preprocessing.rewards.frames import FrameRewardNet, frame_reward_net

    inner, net = _imported_cnn(hwc, normalize)
    frames = frame_reward_net(net)
    assert isinstance(frames, FrameRewardNet) and frames.observation_space.shape == SHAPE
    rng = np.random.default_rng(0)
    obs, next_obs = (rng.integers(0, 256, (6, *SHAPE), dtype=np.uint8) for _ in range(2))
    acts, dones = rng.integers(0, 4, 6).astype(np.int8), np.zeros(6, bool)
    as_net = (lambda x: x) if hwc else (lambda x: x.transpose(0, 3, 1, 2))
    expected = inner.predict(as_net(obs), acts, as_net(next_obs), dones)
    with th.no_grad():
        raw = frames(*(th.as_tensor(a) for a in (obs, acts, next_obs, dones))).numpy()
    np.testing.assert_array_equal(raw, expected)
    # imitation's path (unit floats, one-hot actions), as a PreprocessedRewardNet or interpretation feeds it
    np.testing.assert_allclose(frames.predict(obs, acts, next_obs, dones), expected, rtol=1e-6, atol=1e-6)
    # the project's own net takes frames already
    own = ImageRewardNet(spaces.Box(0, 255, SHAPE, np.uint8), spaces.Discrete(4), hid_channels=(4,))
    assert frame_reward_net(own) is own


def test_imported_chw_cnn_is_preprocessed_and_round_trips(tmp_path):
    """An imported CHW imitation CnnRewardNet over HWC rollouts: preprocessed, saved safely, loaded back exactly."""
    rollouts = _rollouts(tmp_path / "r")
    inner, net = _imported_cnn(hwc=False, normalize=True)
    save_reward_net(net, tmp_path / "model", "procgen:coinrun")
    settings = from_mapping(ImagePreprocessSettings, {"channels": [4], "features_dim": 8, "device": "cpu",
                                                      "fit": {"batch_size": 8, "max_epochs": 1}})
    result = preprocess_image_model_dir(tmp_path / "model", tmp_path / "r", "sparse_l1", tmp_path / "out", settings,
                                        progress=False)
    loaded = load_reward_net(tmp_path / "out")
    obs, next_obs = rollouts.transitions(np.arange(len(rollouts)))
    acts, dones = rollouts.acts, rollouts.dones
    base = inner.predict(obs.transpose(0, 3, 1, 2), acts, next_obs.transpose(0, 3, 1, 2), dones)
    with th.no_grad():
        phi, phi_next = (result.potential(th.as_tensor(x)).numpy() for x in (obs, next_obs))
        raw = loaded(*(th.as_tensor(a) for a in (obs, acts, next_obs, dones))).numpy()
    expected = base + 0.99 * (1 - dones) * phi_next - phi - result.shift
    np.testing.assert_allclose(raw, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loaded.predict(obs, acts, next_obs, dones), expected, rtol=1e-4, atol=1e-5)


def test_non_image_model_is_refused_by_image_preprocessing(tmp_path):
    from reward_preprocessing.rewards.mlp import MlpRewardNet

    _rollouts(tmp_path / "r")
    net = MlpRewardNet(spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3), hid_sizes=(4,))
    save_reward_net(net, tmp_path / "model", "reward_preprocessing/MountainCar-v0")
    settings = from_mapping(ImagePreprocessSettings, {"device": "cpu"})
    with pytest.raises(UserError, match="not an image reward model"):
        preprocess_image_model_dir(tmp_path / "model", tmp_path / "r", "sparse_l1", tmp_path / "x", settings)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("kwargs", [
    {"channels": [2.5]}, {"channels": [10**30]}, {"features_dim": True}, {"obs_shape": (8, 8.5, 3)},
])
def test_cnn_potential_widths_are_checked_in_one_line(kwargs):
    """2.5 is refused, not truncated; a size past int64 fails in one line before torch sees it."""
    with pytest.raises(UserError, match="must be integers") as caught:
        CnnPotential(**{"obs_shape": SHAPE, "channels": [4], "features_dim": 8, **kwargs})
    assert "\n" not in str(caught.value)
