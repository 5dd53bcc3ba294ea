"""Ground-truth reward nets: the exact reward of an env as a `RewardNet`."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.maze import MazeEnv, env_id, layout_from_name
from reward_preprocessing.rewards.tabular import TabularRewardNet


def make_maze(maze: str, reward: str = "goal", shaping: str = "unshaped", gamma: float = 0.99, **kw: Any) -> MazeEnv:
    """The unwrapped maze env for a short name like ``maze10``."""
    name, _ = layout_from_name(maze)
    env = gym.make(env_id(name), reward=reward, shaping=shaping, gamma=gamma, **kw)
    return env.unwrapped  # type: ignore[return-value]


def maze_reward_net(maze: str, reward: str, shaping: str, gamma: float = 0.99, shaping_seed: int = 0) -> tuple[
    TabularRewardNet, dict[str, Any]
]:
    """The ground-truth reward of a maze and the env kwargs it belongs to."""
    env = make_maze(maze, reward, shaping, gamma, shaping_seed=shaping_seed)
    model = env.tabular_model()
    net = TabularRewardNet.from_transitions(model.reward, model.next_state, env.observation_space, env.action_space)
    kwargs = {"reward": reward, "shaping": shaping, "gamma": gamma, "shaping_seed": shaping_seed}
    return net, kwargs
