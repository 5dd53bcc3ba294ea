"""Evaluate a policy: return and success rate over seeded episodes.

Success means the task was solved at some point of the episode, by the criterion of the env's `EnvSpec`
(`reward_preprocessing.envs.spec`). Shaping never changes the dynamics, so experts are evaluated on the
unshaped task, where the return has its usual meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.policy import Policy
from reward_preprocessing.envs.spec import env_spec
from reward_preprocessing.errors import UserError


def task_solved(env: gym.Env) -> bool:
    """Whether the env is in a state that solves its task (the criterion of its `EnvSpec`)."""
    return env_spec(env.spec.id).solved(env.unwrapped)


def task_kwargs(env_kwargs: dict[str, Any], env_id: str | None = None) -> dict[str, Any]:
    """The task an expert is judged on: its env without shaping (which leaves the dynamics unchanged)."""
    if env_id is not None:
        return env_spec(env_id).task_kwargs(env_kwargs)
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
    kwargs = task_kwargs(env_kwargs, env_id)
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
