"""Evaluate a policy on CoinRun: return and level-completion rate over a fixed number of episodes.

Games run batched. Counting the first N episodes to finish would over-sample
short ones (a quick death finishes before a long success), so game i of n is
assigned ``N // n`` episodes (the first ``N % n`` games one more) and only its
first assigned episodes count; this is how SB3's ``evaluate_policy`` avoids the
same bias.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from tqdm import tqdm

from reward_preprocessing.envs.procgen import ACTION_NAMES, CoinRunOptions, make_coinrun_venv
from reward_preprocessing.errors import UserError

ActionFn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class EvalSettings:
    """How a CoinRun policy is evaluated: episodes, batched games, seed, sampling."""

    episodes: int = 100
    n_envs: int = 20
    seed: int = 10_000
    deterministic: bool = False  # procgen policies are usually evaluated by sampling; argmax can get stuck

    def __post_init__(self) -> None:
        if self.episodes < 1 or self.n_envs < 1:
            raise UserError("evaluation episodes and n_envs must be >= 1")


@dataclass
class EpisodeStats:
    """Per-episode returns, lengths and whether the level was completed (the coin reached)."""

    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    completed: list[bool] = field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        n = len(self.returns)
        if n == 0:
            return {"episodes": 0}
        rate = float(np.mean(self.completed))
        return {
            "episodes": n,
            "eval_return_mean": float(np.mean(self.returns)),
            "eval_return_std": float(np.std(self.returns)),
            "level_completion_rate": rate,
            # binomial standard error, so that two rates can be compared
            "level_completion_stderr": float(math.sqrt(rate * (1 - rate) / n)),
            "episode_length_mean": float(np.mean(self.lengths)),
        }


def random_actions(seed: int) -> ActionFn:
    """A uniformly random policy over CoinRun's actions."""
    rng = np.random.default_rng(seed)
    return lambda obs: rng.integers(0, len(ACTION_NAMES), size=len(obs))


def policy_actions(model: Any, deterministic: bool) -> ActionFn:
    """An SB3 policy's actions for a batch of HWC observations."""
    return lambda obs: np.asarray(model.predict(obs, deterministic=deterministic)[0]).reshape(len(obs))


def evaluate_coinrun(
    act: ActionFn, options: CoinRunOptions, settings: EvalSettings, num_threads: int = 0, progress: bool = True
) -> EpisodeStats:
    """Play `settings.episodes` episodes with `act` and collect their statistics."""
    n_envs = min(settings.n_envs, settings.episodes)
    targets = np.full(n_envs, settings.episodes // n_envs)
    targets[: settings.episodes % n_envs] += 1
    counts = np.zeros(n_envs, dtype=np.int64)
    stats = EpisodeStats()
    th.manual_seed(settings.seed)  # sampling from a policy uses torch's generator
    venv = make_coinrun_venv(options, n_envs, seed=settings.seed, num_threads=num_threads)
    obs = venv.reset()
    with tqdm(total=settings.episodes, desc="evaluate", unit="episode", disable=not progress) as bar:
        while (counts < targets).any():
            obs, _, dones, infos = venv.step(act(obs))
            for i in np.flatnonzero(dones):
                if counts[i] < targets[i]:
                    episode = infos[i]["episode"]
                    stats.returns.append(episode["r"])
                    stats.lengths.append(episode["l"])
                    stats.completed.append(infos[i]["level_complete"])
                    bar.update(1)
                counts[i] += 1
    venv.close()
    return stats
