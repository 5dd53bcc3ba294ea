"""What the rest of the library needs to know about an env, in one place (docs/architecture.md, "Envs").

Stages never ask what class an env is: they look its `EnvSpec` up by gymnasium id. A new environment
registers one spec here (and its gymnasium id in `reward_preprocessing.envs`); the workflow then only needs
a config entry under ``envs:``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym

from reward_preprocessing.envs import maze, mountain_car
from reward_preprocessing.errors import UserError

ObsScaling = Literal["none", "box", "image"]
Terminal = Literal["fixed_horizon", "terminates"]


@dataclass(frozen=True)
class EnvSpec:
    """Env-specific choices that stages dispatch on.

    Attributes:
        env_id: the gymnasium id.
        solved: whether the unwrapped env, after a step, is in a state that solves its task (success rate).
        policy: the SB3 policy class name experts use (``MlpPolicy``, ``CnnPolicy``).
        features_extractor: name of an SB3 features extractor in `reward_preprocessing.experts.sb3.EXTRACTORS`,
            or None for SB3's default; the expert's ``scale_observations`` setting can still ask for ``box``.
        obs_dtype: dtype of stored observations (rollouts are cast back to it on load).
        obs_scaling: how networks should rescale observations: ``box`` by the Box bounds to [-1, 1],
            ``image`` by 1/255, ``none``.
        terminal: ``fixed_horizon`` (episodes end by time limit only, so no transition is terminal) or
            ``terminates`` (the env reports real terminal states).
        shaping_kwarg: the env kwarg that selects a shaping, or None when the env has no shapings.
        ground_truth_net: the registered reward-net class that computes the env's exact reward from
            ``(observation_space, action_space, **env_kwargs)``, or None when there is none.
    """

    env_id: str
    solved: Callable[[gym.Env], bool]
    policy: str = "MlpPolicy"
    features_extractor: str | None = None
    obs_dtype: str = "float32"
    obs_scaling: ObsScaling = "none"
    terminal: Terminal = "fixed_horizon"
    shaping_kwarg: str | None = "shaping"
    ground_truth_net: str | None = None

    def task_kwargs(self, env_kwargs: dict[str, Any]) -> dict[str, Any]:
        """The task an expert is judged on: the env without shaping (which leaves the dynamics unchanged)."""
        kwargs = dict(env_kwargs)
        if self.shaping_kwarg is not None and self.shaping_kwarg in kwargs:
            kwargs[self.shaping_kwarg] = "unshaped"
        return kwargs


_SPECS: dict[str, EnvSpec] = {}


def register_env_spec(spec: EnvSpec) -> EnvSpec:
    """Make `spec` the one answer of `env_spec(spec.env_id)`."""
    _SPECS[spec.env_id] = spec
    return spec


def env_spec(env_id: str) -> EnvSpec:
    """The spec of a registered env id.

    Raises:
        UserError: the id has no spec (name the known ones).
    """
    if env_id not in _SPECS:
        raise UserError(f"no env spec for {env_id!r}; known envs: {', '.join(sorted(_SPECS))}")
    return _SPECS[env_id]


def known_env_ids() -> list[str]:
    return sorted(_SPECS)


def _maze_solved(env: gym.Env) -> bool:
    """On the goal (holding the key in KeyMazes) for the goal reward; on the diagonal path for the path reward."""
    model = env.tabular_model()
    row, col = (int(v) for v in model.cells[env._state])
    if env.reward_name == "path":  # the path reward only asks to be on the path (cells (i, i), (i, i + 1))
        return col in (row, row + 1)
    on_goal = (row, col) == tuple(env.layout.goal)
    return bool(on_goal and (env.layout.key is None or model.has_key[env._state]))


def _mountain_car_solved(env: gym.Env) -> bool:
    """The car reached the flag (it then stays in the absorbing goal state)."""
    return bool(env.absorbed)


for _name in maze.LAYOUTS:
    register_env_spec(EnvSpec(maze.env_id(_name), _maze_solved, obs_dtype="int64"))
register_env_spec(
    EnvSpec(mountain_car.ENV_ID, _mountain_car_solved, obs_scaling="box", ground_truth_net="MountainCarRewardNet")
)
