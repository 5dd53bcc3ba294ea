"""Environments, registered with gymnasium on import of this package."""

from __future__ import annotations

import gymnasium as gym

from reward_preprocessing.envs import mountain_car
from reward_preprocessing.envs.maze import LAYOUTS, env_id


def register_envs() -> None:
    """Register every env of this package with gymnasium (idempotent)."""
    for name, layout in LAYOUTS.items():
        if env_id(name) not in gym.registry:
            gym.register(
                id=env_id(name),
                entry_point="reward_preprocessing.envs.maze:MazeEnv",
                kwargs={"layout": name},
                max_episode_steps=layout.time_limit,
            )
    if mountain_car.ENV_ID not in gym.registry:
        gym.register(
            id=mountain_car.ENV_ID,
            entry_point="reward_preprocessing.envs.mountain_car:ShapedMountainCarEnv",
            max_episode_steps=mountain_car.HORIZON,
        )


register_envs()
