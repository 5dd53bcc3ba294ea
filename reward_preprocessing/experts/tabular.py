"""The maze expert: the exact optimal policy from value iteration, stored as JSON.

A policy table is a list of actions, one per state, so it is stored as plain
JSON (no pickling) and used through the same ``predict`` call as an SB3 model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import read_json, write_json
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.experts.value_iteration import value_iteration

POLICY_FORMAT = "reward_preprocessing/tabular-policy"


@dataclass
class TabularPolicy:
    """A deterministic policy over integer states, with SB3's ``predict`` signature."""

    actions: np.ndarray  # (S,) int
    env_id: str
    env_kwargs: dict[str, Any]
    values: np.ndarray | None = None  # (S,) optimal state values, if known

    def predict(
        self,
        observation: np.ndarray,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[np.ndarray, None]:
        obs = np.asarray(observation, dtype=np.int64)
        if obs.min(initial=0) < 0 or obs.max(initial=0) >= len(self.actions):
            raise UserError(f"state out of range for a policy over {len(self.actions)} states")
        return self.actions[obs], None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": POLICY_FORMAT,
            "env": {"id": self.env_id, "kwargs": self.env_kwargs},
            "actions": self.actions.tolist(),
        }
        if self.values is not None:
            data["values"] = self.values.tolist()
        return data


def optimal_maze_policy(env_id: str, env_kwargs: dict[str, Any], gamma: float) -> TabularPolicy:
    """Value iteration on the maze's full tabular model (ties go to the lowest action)."""
    env = gym.make(env_id, **env_kwargs).unwrapped
    if not hasattr(env, "tabular_model"):
        raise UserError(f"{env_id} is not a tabular env; train an SB3 expert for it instead")
    model = env.tabular_model()
    result = value_iteration(model.next_state, model.reward, gamma)
    return TabularPolicy(result.greedy_policy().astype(np.int64), env_id, dict(env_kwargs), result.v)


def save_tabular_policy(policy: TabularPolicy, path: str | os.PathLike) -> None:
    write_json(path, policy.to_json())


def load_tabular_policy(path: str | os.PathLike) -> TabularPolicy:
    """Read a policy written by `save_tabular_policy`, checking its format."""
    path = Path(path)
    data = read_json(path, "compute the maze expert first")
    if not isinstance(data, dict) or data.get("format") != POLICY_FORMAT or "actions" not in data:
        raise ArtifactError(f"{path}: not a tabular policy (expected format {POLICY_FORMAT!r})")
    actions = np.asarray(data["actions"], dtype=np.int64)
    values = np.asarray(data["values"], dtype=np.float64) if "values" in data else None
    env = data.get("env", {})
    return TabularPolicy(actions, env.get("id", ""), env.get("kwargs", {}), values)
