"""The learned-reward stage for non-tabular envs: a reward net regressed on rollouts.

Networks are built by kind name (`REWARD_MODEL_KINDS`), so an env whose observations need another network
(an image CNN) adds one entry here and names it in its config entry.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import atomic_dir, write_json
from reward_preprocessing.data.rollouts import load_rollouts, read_rollout_meta
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.devices import set_threads
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import load_reward_net, read_spec, write_reward_net
from reward_preprocessing.rewards.mlp import MlpRewardNet
from reward_preprocessing.training.supervised import RewardModelSettings, train_supervised

log = logging.getLogger(__name__)

RewardNetBuilder = Callable[[spaces.Space, spaces.Space, RewardModelSettings], RewardNet]


def _mlp(observation_space: spaces.Space, action_space: spaces.Space, settings: RewardModelSettings) -> RewardNet:
    return MlpRewardNet(observation_space, action_space, hid_sizes=settings.hidden_sizes)


REWARD_MODEL_KINDS: dict[str, RewardNetBuilder] = {"mlp": _mlp}


def build_reward_model(
    observation_space: spaces.Space, action_space: spaces.Space, settings: RewardModelSettings
) -> RewardNet:
    """An untrained reward net of `settings.kind`, its weights drawn from `settings.seed`."""
    if settings.kind not in REWARD_MODEL_KINDS:
        raise UserError(f"unknown reward model kind {settings.kind!r}; known: {', '.join(REWARD_MODEL_KINDS)}")
    th.manual_seed(settings.seed)
    return REWARD_MODEL_KINDS[settings.kind](observation_space, action_space, settings)


def train_reward_model_stage(
    rollouts_dir: str | os.PathLike,
    settings: RewardModelSettings,
    out: str | os.PathLike,
    target_dir: str | os.PathLike | None = None,
    threads: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Regress a reward net on the rollouts and write the model directory with metrics.json.

    Labels: the reward model in `target_dir` (``labels: ground_truth``) or the rollouts' own rewards
    (``labels: rollouts``). Returns the metrics.
    """
    if (settings.labels == "ground_truth") != (target_dir is not None):
        raise UserError(f"labels {settings.labels!r} " + ("need a target model" if target_dir is None
                                                           else "take no target model"))
    set_threads(threads)
    if target_dir is not None:
        env = read_spec(target_dir).get("env", {})
        target = load_reward_net(target_dir)
        obs_space, act_space = target.observation_space, target.action_space
    else:
        env = read_rollout_meta(rollouts_dir).get("env", {})
        if not env.get("id"):
            raise UserError(f"{rollouts_dir}: rollouts.json names no env; collect the rollouts with this library")
        probe = gym.make(env["id"], **env.get("kwargs", {}))
        obs_space, act_space = probe.observation_space, probe.action_space
        probe.close()
    trajectories = load_rollouts(rollouts_dir, env_id=env.get("id"), obs_shape=obs_space.shape)
    data = TransitionBatch.from_trajectories(trajectories)
    if target_dir is not None:
        labels = data.rewards(target)
    else:
        labels = np.concatenate([np.asarray(t.rews, dtype=np.float64) for t in trajectories])
    net = build_reward_model(obs_space, act_space, settings)
    result = train_supervised(net, data, labels, settings, progress=progress)
    metadata = {"source": "learned", "method": "supervised",
                "target": str(target_dir) if target_dir is not None else None, "rollouts": str(rollouts_dir)}
    with atomic_dir(out) as tmp:  # model and metrics appear together or not at all
        write_reward_net(net, tmp, env.get("id", ""), env.get("kwargs", {}), metadata=metadata)
        write_json(tmp / "metrics.json", {**result.metrics, "loss_history": result.history})
    log.info("%s: test MSE %.4g (target variance %.4g), test correlation %s", out, result.metrics["test_mse"],
             result.metrics["test_target_var"], result.metrics["test_pearson"])
    return result.metrics
