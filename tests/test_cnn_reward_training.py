"""CNN reward training: overfits a tiny dataset, splits by trajectory, resumes from checkpoints, refuses bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th

from reward_preprocessing.data.image_rollouts import ImageRolloutWriter, open_image_rollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.settings import from_mapping
from reward_preprocessing.training.image_reward import (
    CnnRewardSettings,
    _epoch_index,
    regression_metrics,
    split_by_trajectory,
    train_cnn_reward,
)

SHAPE = (8, 8, 3)


def _rollouts(directory, n_traj=12, length=6, seed=0):
    """Trajectories whose last transition pays 10 when a bright square is in the frame (else 0)."""
    rng = np.random.default_rng(seed)
    directory.mkdir()
    writer = ImageRolloutWriter(directory, SHAPE, shard_frames=7)
    for k in range(n_traj):
        frames = rng.integers(0, 60, (length + 1, *SHAPE), dtype=np.uint8)
        coin = k % 2 == 0
        if coin:
            frames[-2, 2:5, 2:5] = 255
        frames[-1] = frames[-2]
        rews = np.zeros(length, np.float32)
        rews[-1] = 10.0 if coin else 0.0
        writer.add(frames, rng.integers(0, 3, length), rews, terminal=True)
    writer.close({})
    return open_image_rollouts(directory)


TINY = {"hid_channels": [8, 8], "n_actions": 3, "batch_size": 16, "epochs": 60, "lr": 3e-3, "test_fraction": 0.25,
        "device": "cpu"}


def test_split_is_by_whole_trajectories(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    train, test = split_by_trajectory(rollouts, 0.25, seed=0)
    assert len(np.intersect1d(rollouts.episode_ids[train], rollouts.episode_ids[test])) == 0
    assert len(np.unique(rollouts.episode_ids[test])) == 3 and len(train) + len(test) == len(rollouts)


def test_overfits_a_tiny_dataset_and_reports_metrics(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    trained = train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, TINY), progress=False)
    m = trained.metrics
    assert m["train_mse"] < 0.05 * m["train_baseline_mse"]
    assert m["train_precision"] == 1.0 and m["train_recall"] == 1.0
    assert {"test_mse", "test_baseline_mse", "test_mse_ratio", "test_precision", "test_recall"} <= set(m)
    assert len(trained.curve) == 60 and trained.curve[-1]["train_loss"] < trained.curve[0]["train_loss"]


def test_resume_from_checkpoint_gives_the_same_model(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    settings = {**TINY, "epochs": 4}
    straight = train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, settings), progress=False)
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, {**settings, "epochs": 2}), ckpt, progress=False)
    with pytest.raises(UserError, match="other settings"):
        train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, {**settings, "lr": 1e-2}), ckpt, progress=False)
    # the epoch count is part of the settings too; resuming needs the same ones, so patch the epoch target
    state = th.load(ckpt / "checkpoint.pt", weights_only=True)
    state["settings"]["epochs"] = 4
    th.save(state, ckpt / "checkpoint.pt")
    resumed = train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, settings), ckpt, progress=False)
    for k, v in straight.net.state_dict().items():
        th.testing.assert_close(resumed.net.state_dict()[k], v)


def test_balanced_then_reweighted_epochs_with_decay_resume_exactly(tmp_path, monkeypatch):
    import reward_preprocessing.training.image_reward as image_reward

    rollouts = _rollouts(tmp_path / "r")
    settings = from_mapping(CnnRewardSettings, {**TINY, "epochs": 4, "balanced_epochs": 2, "lr_decay": True,
                                                "frac_zero_reward_retained": 0.5})
    straight = train_cnn_reward(rollouts, settings, progress=False)
    assert len(straight.curve) == 4
    save = image_reward._save_checkpoint

    def killed_after_two_epochs(path, *args):
        save(path, *args)
        if args[-3] == 2:  # the epoch just saved
            raise KeyboardInterrupt

    monkeypatch.setattr(image_reward, "_save_checkpoint", killed_after_two_epochs)
    with pytest.raises(KeyboardInterrupt):
        train_cnn_reward(rollouts, settings, tmp_path, progress=False)
    resumed = train_cnn_reward(rollouts, settings, tmp_path, progress=False)
    for k, v in straight.net.state_dict().items():
        th.testing.assert_close(resumed.net.state_dict()[k], v)
    with pytest.raises(UserError, match="balanced_epochs"):
        from_mapping(CnnRewardSettings, {"epochs": 3, "balanced_epochs": 4})


def test_zero_reward_downsampling_keeps_every_reward_and_redraws_zeros():
    rews = np.array([0.0] * 1000 + [10.0] * 20, dtype=np.float32)
    rng = np.random.default_rng(0)
    first, second = (_epoch_index(np.arange(1020), rews, 0.3, rng) for _ in range(2))
    for index in (first, second):
        assert (rews[index] > 0).sum() == 20
        assert 250 < (rews[index] == 0).sum() < 350
    assert set(first) != set(second)


def test_regression_metrics():
    m = regression_metrics(np.array([9.0, 1.0, 0.0, 6.0]), np.array([10.0, 0.0, 0.0, 0.0]), 2.5, 5.0)
    assert m["mse"] == pytest.approx((1 + 1 + 0 + 36) / 4)
    assert m["baseline_mse"] == pytest.approx((7.5**2 + 3 * 2.5**2) / 4)
    assert m["precision"] == 0.5 and m["recall"] == 1.0


def test_bad_input(tmp_path):
    rollouts = _rollouts(tmp_path / "r")
    with pytest.raises(UserError, match="actions outside"):
        train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, {**TINY, "n_actions": 2}), progress=False)
    with pytest.raises(UserError, match="frac_zero_reward_retained"):
        from_mapping(CnnRewardSettings, {"frac_zero_reward_retained": 0.0})
    with pytest.raises(UserError, match="no CUDA"):
        if th.cuda.is_available():
            raise UserError("no CUDA (skipped: a GPU is present)")
        train_cnn_reward(rollouts, from_mapping(CnnRewardSettings, {**TINY, "device": "cuda"}), progress=False)
