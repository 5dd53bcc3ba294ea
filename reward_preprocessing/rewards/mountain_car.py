"""The exact reward of the shaped MountainCar as a vectorized `RewardNet`."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.mountain_car import (
    ENV_ID,
    GOAL_POSITION,
    GOAL_VELOCITY,
    STEP_PENALTY,
    RandomPotentialParams,
    check_gamma,
    check_shaping,
    potential_torch,
)
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.registry import register_reward_net
from reward_preprocessing.shaping import shaped_reward


@register_reward_net
class MountainCarRewardNet(RewardNet):
    """r(s) + gamma * phi(s') - phi(s) of `ShapedMountainCarEnv`, in float64.

    It has no weights: the shaping is rebuilt from `(shaping, gamma,
    shaping_seed)`, which the spec stores.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        shaping: str = "unshaped",
        gamma: float = 0.99,
        shaping_seed: int = 0,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or observation_space.shape != (2,):
            raise UserError(f"MountainCarRewardNet needs a Box observation of shape (2,), got {observation_space}")
        super().__init__(observation_space, action_space, normalize_images=False)
        self.shaping = check_shaping(shaping)
        self.gamma = check_gamma(gamma)
        self.shaping_seed = int(shaping_seed)
        self.params = RandomPotentialParams.from_seed(self.shaping_seed)

    def spec_kwargs(self) -> dict[str, Any]:
        return {"shaping": self.shaping, "gamma": self.gamma, "shaping_seed": self.shaping_seed}

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        s = state.to(th.float64)
        goal = (s[:, 0] >= GOAL_POSITION) & (s[:, 1] >= GOAL_VELOCITY)
        base = th.where(goal, 0.0, STEP_PENALTY).to(th.float64)
        phi = potential_torch(state, self.shaping, self.params)
        return shaped_reward(base, phi, potential_torch(next_state, self.shaping, self.params), self.gamma)


def mountain_car_reward_net(
    shaping: str, gamma: float = 0.99, shaping_seed: int = 0
) -> tuple[MountainCarRewardNet, dict[str, Any]]:
    """The ground-truth reward of a shaped MountainCar and the env kwargs it belongs to."""
    env = gym.make(ENV_ID, shaping=shaping, gamma=gamma, shaping_seed=shaping_seed)
    net = MountainCarRewardNet(env.observation_space, env.action_space, shaping, gamma, shaping_seed)
    env.close()
    return net, net.spec_kwargs()
