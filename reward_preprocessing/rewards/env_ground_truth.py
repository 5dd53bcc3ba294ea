"""The exact reward of a non-tabular env as a reward-model directory, for envs whose `EnvSpec` names one."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
from imitation.rewards.reward_nets import RewardNet

import reward_preprocessing.rewards  # noqa: F401  (registers every reward-net class)
from reward_preprocessing.envs.spec import env_spec
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import save_reward_net
from reward_preprocessing.rewards.registry import reward_net_class


def env_ground_truth_net(env_id: str, env_kwargs: dict[str, Any]) -> RewardNet:
    """The env's ground-truth reward net (the class its `EnvSpec` names) for the env built with `env_kwargs`."""
    name = env_spec(env_id).ground_truth_net
    if name is None:
        raise UserError(f"{env_id} has no ground-truth reward model; learn one from its rollouts instead")
    env = gym.make(env_id, **env_kwargs)
    try:
        return reward_net_class(name)(env.observation_space, env.action_space, **env_kwargs)
    except TypeError as e:
        raise UserError(f"{env_id}: env options {sorted(env_kwargs)} do not fit its reward model ({e})") from e
    finally:
        env.close()


def ground_truth_stage(env_id: str, env_kwargs: dict[str, Any], out: str | os.PathLike) -> None:
    """Write the env's ground-truth reward model to `out`."""
    net = env_ground_truth_net(env_id, env_kwargs)
    save_reward_net(net, out, env_id, net.spec_kwargs(), metadata={"source": "ground_truth"})
