"""Collect, save and load rollouts in `imitation`'s own trajectory format.

A rollout directory is what ``imitation.data.serialize.save`` writes (a
HuggingFace dataset, read back by ``imitation.data.serialize.load``) plus a
``rollouts.json`` that names the env and observation shape, so that a consumer
can refuse rollouts of the wrong env before doing any work.

Rollouts come from one or more *sources*: the expert (optionally taking a
random action with probability ``random_prob``) or a uniformly random policy.
Source i collects at least ``ceil(min_timesteps * w_i / sum(w))`` timesteps, in
whole episodes.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from imitation.data import rollout, serialize
from imitation.data.types import TrajectoryWithRew
from stable_baselines3.common.env_util import make_vec_env
from tqdm import tqdm

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import atomic_dir, dumps_json, read_json
from reward_preprocessing.data.transitions import honest_terminal
from reward_preprocessing.envs.policy import Policy
from reward_preprocessing.errors import ArtifactError, UserError

META_FILE = "rollouts.json"
POLICIES = ("expert", "random")


@dataclass(frozen=True)
class RolloutSource:
    """One source of a mixture: which policy, its weight and its random-action probability."""

    policy: str = "expert"
    weight: float = 1.0
    random_prob: float = 0.0


def _default_sources() -> list[RolloutSource]:
    return [RolloutSource(policy="expert", weight=1.0, random_prob=0.1), RolloutSource(policy="random", weight=1.0)]


@dataclass
class RolloutSettings:
    """The rollouts of one env (config: ``envs.<env>.rollouts``).

    Attributes:
        min_timesteps: at least this many timesteps, in whole episodes, split between the sources by weight.
        sources: the mixture (default: the expert with 10% random actions and a random policy, half each).
        curve_timesteps: length of the expert-only rollout along which reward curves are drawn; it is
            seeded with ``seed + 1``.
    """

    min_timesteps: int = 10_000
    seed: int = 0
    sources: list[RolloutSource] = field(default_factory=_default_sources)
    curve_timesteps: int = 1000
    n_envs: int = 1

    def __post_init__(self) -> None:
        check_sources(self.sources)
        if self.min_timesteps < 1 or self.curve_timesteps < 1 or self.n_envs < 1:
            raise UserError("min_timesteps, curve_timesteps and n_envs must be positive")

    def curve(self) -> RolloutSettings:
        """The settings of the curve rollout: the expert alone for curve_timesteps steps, seed + 1."""
        return dataclasses.replace(self, min_timesteps=self.curve_timesteps, seed=self.seed + 1,
                                   sources=[RolloutSource()])


def check_sources(sources: Sequence[RolloutSource]) -> list[float]:
    """Validate a mixture and return its normalized weights."""
    if not sources:
        raise UserError("no rollout sources given")
    for s in sources:
        if s.policy not in POLICIES:
            raise UserError(f"unknown rollout policy {s.policy!r}; choose one of: {', '.join(POLICIES)}")
        if not math.isfinite(s.weight) or s.weight < 0:
            raise UserError(f"rollout weight must be a finite number >= 0, got {s.weight}")
        if not 0.0 <= s.random_prob <= 1.0:
            raise UserError(f"random_prob must be in [0, 1], got {s.random_prob}")
    total = sum(s.weight for s in sources)
    if not total > 0:
        raise UserError(f"rollout weights must sum to a positive number, got {total}")
    return [s.weight / total for s in sources]


def _actions_fn(policy: Policy | None, random_prob: float, space: gym.spaces.Discrete, rng: np.random.Generator):
    """imitation's policy callable: the expert's action, or a uniform one with probability `random_prob`."""

    def get_actions(obs: np.ndarray, states: Any, episode_starts: Any) -> tuple[np.ndarray, None]:
        n = len(obs)
        random_acts = rng.integers(space.n, size=n) + space.start
        if policy is None or random_prob >= 1.0:
            return random_acts, None
        acts, _ = policy.predict(obs, deterministic=True)
        acts = np.asarray(acts, dtype=np.int64).reshape(n)
        return np.where(rng.random(n) < random_prob, random_acts, acts), None

    return get_actions


def collect_rollouts(
    env_id: str,
    env_kwargs: dict[str, Any],
    sources: Sequence[RolloutSource],
    min_timesteps: int,
    seed: int,
    expert: Policy | None = None,
    n_envs: int = 1,
    progress: bool = True,
) -> list[TrajectoryWithRew]:
    """Trajectories from every source, in source order (each source seeded from `seed`)."""
    weights = check_sources(sources)
    if min_timesteps <= 0:
        raise UserError(f"min_timesteps must be positive, got {min_timesteps}")
    if expert is None and any(s.policy == "expert" and w > 0 for s, w in zip(sources, weights, strict=True)):
        raise UserError("an 'expert' rollout source needs --expert")
    trajectories: list[TrajectoryWithRew] = []
    for i, (source, weight) in enumerate(tqdm(list(zip(sources, weights, strict=True)), desc="rollouts",
                                               disable=not progress)):
        if weight == 0:
            continue
        venv = make_vec_env(env_id, n_envs=n_envs, seed=seed + 1000 * i, env_kwargs=env_kwargs)
        if not isinstance(venv.action_space, gym.spaces.Discrete):
            raise UserError(f"{env_id}: only Discrete action spaces are supported for rollouts")
        rng = np.random.default_rng([seed, i])
        policy = expert if source.policy == "expert" else None
        get_actions = _actions_fn(policy, source.random_prob, venv.action_space, rng)
        steps = math.ceil(min_timesteps * weight)
        trajs = rollout.generate_trajectories(get_actions, venv, rollout.make_min_timesteps(steps), rng)
        venv.close()
        trajectories += [dataclasses.replace(honest_terminal(t), infos=None) for t in trajs]
    return trajectories


def save_rollouts(
    directory: str | os.PathLike, trajectories: Sequence[TrajectoryWithRew], env_id: str, env_kwargs: dict[str, Any],
    info: dict[str, Any] | None = None,
) -> None:
    """Save with `imitation.data.serialize.save`, plus ``rollouts.json``; atomically."""
    if not trajectories:
        raise UserError("no trajectories to save")
    obs = trajectories[0].obs
    meta = {
        "env": {"id": env_id, "kwargs": env_kwargs},
        "obs_shape": list(obs.shape[1:]),
        "obs_dtype": np.dtype(obs.dtype).name,
        "n_trajectories": len(trajectories),
        "n_timesteps": int(sum(len(t.acts) for t in trajectories)),
        **(info or {}),
    }
    with atomic_dir(directory) as tmp:
        serialize.save(tmp, list(trajectories))
        (tmp / META_FILE).write_text(dumps_json(meta))


def read_rollout_meta(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / META_FILE
    if not path.is_file():
        return {}
    return read_json(path, "regenerate the rollouts")


def load_rollouts(
    directory: str | os.PathLike,
    env_id: str | None = None,
    obs_shape: Sequence[int] | None = None,
) -> list[TrajectoryWithRew]:
    """Load rollouts with `imitation.data.serialize.load`, checking env and observation shape.

    Args:
        env_id: refuse rollouts recorded in another env (when ``rollouts.json`` names one).
        obs_shape: refuse observations of another shape (e.g. the consumer's observation space).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"{directory}: no such rollout directory; collect rollouts first")
    meta = read_rollout_meta(directory)
    recorded_env = meta.get("env", {}).get("id")
    if env_id is not None and recorded_env is not None and recorded_env != env_id:
        raise UserError(f"{directory}: rollouts were recorded in {recorded_env}, but this needs {env_id}")
    if obs_shape is not None and "obs_shape" in meta and list(meta["obs_shape"]) != list(obs_shape):
        raise UserError(
            f"{directory}: observations have shape {tuple(meta['obs_shape'])}, expected {tuple(obs_shape)}"
        )
    try:
        loaded = serialize.load(directory)
    except (FileNotFoundError, ValueError, OSError) as e:
        raise ArtifactError(f"{directory}: not an imitation trajectory dataset ({e})") from e
    dtype = np.dtype(meta.get("obs_dtype", "float64"))
    trajectories = []
    for t in loaded:
        if not isinstance(t, TrajectoryWithRew):
            raise ArtifactError(f"{directory}: trajectories have no rewards; collect them with this library")
        trajectories.append(dataclasses.replace(t, obs=np.asarray(t.obs).astype(dtype), infos=None))
    if obs_shape is not None and trajectories and tuple(trajectories[0].obs.shape[1:]) != tuple(obs_shape):
        raise UserError(
            f"{directory}: observations have shape {trajectories[0].obs.shape[1:]}, expected {tuple(obs_shape)}"
        )
    return trajectories
