"""Tiny image reward nets and rollouts for the interpretation tests (8×8 frames, 4 actions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.data.types import TrajectoryWithRew

from reward_preprocessing.data.image_rollouts import ImageRolloutWriter
from reward_preprocessing.data.rollouts import save_rollouts
from reward_preprocessing.rewards.cnn import ImageRewardNet
from reward_preprocessing.rewards.io import save_reward_net

SIZE, N_ACTIONS = 8, 4


def obs_space(size: int = SIZE) -> spaces.Box:
    return spaces.Box(0, 255, (size, size, 3), np.uint8)


def tiny_net(seed: int = 0, size: int = SIZE, hid: int = 4, n_actions: int = N_ACTIONS) -> ImageRewardNet:
    """The project's CNN reward model (imitation's CnnRewardNet over obs and next obs), one conv layer."""
    th.manual_seed(seed)
    return ImageRewardNet(obs_space(size), spaces.Discrete(n_actions), hid_channels=(hid,))


def save_tiny_net(directory: Path, seed: int = 0, size: int = SIZE, env_id: str = "Tiny-v0", hid: int = 4,
                  n_actions: int = N_ACTIONS) -> Path:
    save_reward_net(tiny_net(seed, size, hid, n_actions), directory, env_id=env_id)
    return directory


def random_trajectories(n_traj: int = 3, length: int = 10, size: int = SIZE, seed: int = 0,
                        n_actions: int = N_ACTIONS) -> list[TrajectoryWithRew]:
    rng = np.random.default_rng(seed)
    return [
        TrajectoryWithRew(obs=rng.integers(0, 256, (length + 1, size, size, 3), dtype=np.uint8),
                          acts=rng.integers(0, n_actions, length), infos=None, terminal=True,
                          rews=np.zeros(length, dtype=np.float32))
        for _ in range(n_traj)
    ]


def save_imitation_rollouts(directory: Path, size: int = SIZE, seed: int = 0) -> Path:
    save_rollouts(directory, random_trajectories(size=size, seed=seed), "Tiny-v0", {})
    return directory


def save_procgen_npz(path: Path, size: int = SIZE, seed: int = 0, n_actions: int = N_ACTIONS) -> Path:
    """The train-procgen layout: obs has one extra frame per trajectory; indices = cumulative lengths."""
    trajs = random_trajectories(size=size, seed=seed, n_actions=n_actions)
    lengths = np.array([len(t.acts) for t in trajs])
    acts = np.concatenate([t.acts for t in trajs]).astype(np.int8)
    np.savez(path, obs=np.concatenate([t.obs for t in trajs]), acts=acts,
             rews=np.zeros(lengths.sum(), np.float32), terminal=np.ones(len(trajs), bool),
             indices=np.cumsum(lengths)[:-1])
    return path


def save_image_rollouts(directory: Path, size: int = SIZE, seed: int = 0, n_actions: int = N_ACTIONS) -> Path:
    """The project's image rollout directory (what collect_image_rollouts writes), frames in small shards."""
    directory.mkdir(parents=True)
    writer = ImageRolloutWriter(directory, (size, size, 3), shard_frames=7)
    for t in random_trajectories(size=size, seed=seed, n_actions=n_actions):
        writer.add(t.obs, t.acts, t.rews, t.terminal)
    writer.close({"env": {"id": "Tiny-v0", "kwargs": {}}})
    return directory
