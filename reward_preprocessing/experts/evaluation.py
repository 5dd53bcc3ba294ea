"""Evaluate a policy: return and success rate over seeded episodes.

Success means the task was solved at some point of the episode: the car
reached the flag (MountainCar), the agent stood on the goal, holding the key
in KeyMazes (goal reward), or on the diagonal path (path reward). Shaping never
changes the dynamics, so experts are evaluated on the unshaped task, where the
return has its usual meaning (MountainCar: minus the steps to the flag).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.maze import MazeEnv
from reward_preprocessing.envs.mountain_car import ShapedMountainCarEnv
from reward_preprocessing.envs.policy import Policy
from reward_preprocessing.errors import UserError


def task_solved(env: gym.Env) -> bool:
    """Whether the (unwrapped) env is in a state that solves its task."""
    env = env.unwrapped
    if isinstance(env, ShapedMountainCarEnv):
        return env.absorbed
    if isinstance(env, MazeEnv):
        model = env.tabular_model()
        row, col = (int(v) for v in model.cells[env._state])
        if env.reward_name == "path":  # the path reward only asks to be on the path (cells (i, i), (i, i + 1))
            return col in (row, row + 1)
        on_goal = (row, col) == tuple(env.layout.goal)
        return bool(on_goal and (env.layout.key is None or model.has_key[env._state]))
    raise UserError(f"no success criterion for env {type(env).__name__}")


def task_kwargs(env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """The task an expert is judged on: its env without shaping (which leaves the dynamics unchanged)."""
    return {**env_kwargs, "shaping": "unshaped"} if "shaping" in env_kwargs else dict(env_kwargs)


@dataclass
class EvaluationResult:
    returns: list[float]
    successes: list[bool]
    lengths: list[int]
    seeds: list[int]
    env_kwargs: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        returns = np.asarray(self.returns)
        return {
            "eval_episodes": len(self.returns),
            "eval_return_mean": float(returns.mean()),
            "eval_return_std": float(returns.std()),
            "success_rate": float(np.mean(self.successes)),
            "eval_seeds": [self.seeds[0], self.seeds[-1]],
            "eval_env_kwargs": self.env_kwargs,
        }


def evaluate_policy(
    policy: Policy,
    env_id: str,
    env_kwargs: dict[str, Any],
    episodes: int,
    seed: int,
    deterministic: bool = True,
    progress: bool = True,
) -> EvaluationResult:
    """Run `episodes` episodes, episode i reset with seed ``seed + i``, on the unshaped task."""
    if episodes <= 0:
        raise UserError(f"episodes must be positive, got {episodes}")
    kwargs = task_kwargs(env_kwargs)
    env = gym.make(env_id, **kwargs)
    result = EvaluationResult([], [], [], [], kwargs)
    for i in tqdm(range(episodes), desc="evaluate", disable=not progress, mininterval=5.0):
        obs, _ = env.reset(seed=seed + i)
        total, solved, steps, done = 0.0, False, 0, False
        while not done:
            action, _ = policy.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, _ = env.step(int(np.asarray(action).item()))
            total += float(reward)
            steps += 1
            solved |= task_solved(env)
            done = terminated or truncated
        result.returns.append(total)
        result.successes.append(solved)
        result.lengths.append(steps)
        result.seeds.append(seed + i)
    env.close()
    return result
