"""Collect image trajectories from a batched env into a rollout directory, frames streamed to disk.

Each game keeps its current trajectory in memory until it ends; finished
trajectories go to an `ImageRolloutWriter`. A trajectory that ends (coin,
death or time limit) gets its last frame repeated as the final frame and
``terminal=True`` (procgen exposes no final frame, see `envs.procgen`).
Collection stops at exactly `n_transitions`: games still running then are
stored as unfinished trajectories (``terminal=False``) whose final frame is
the real next observation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from tqdm import tqdm

from reward_preprocessing.data.image_rollouts import ImageRolloutWriter
from reward_preprocessing.errors import UserError

ActionFn = Callable[[np.ndarray], np.ndarray]


def mixed_actions(act: ActionFn | None, random_prob: float, n_actions: int, seed: int) -> ActionFn:
    """`act`'s actions, each replaced by a uniform random one with probability `random_prob` (None: all random)."""
    if not 0.0 <= random_prob <= 1.0:
        raise UserError(f"random_prob must be in [0, 1], got {random_prob}")
    rng = np.random.default_rng(seed)

    def actions(obs: np.ndarray) -> np.ndarray:
        n = len(obs)
        uniform = rng.integers(0, n_actions, size=n)
        if act is None or random_prob >= 1.0:
            return uniform
        chosen = np.asarray(act(obs)).reshape(n)
        return np.where(rng.random(n) < random_prob, uniform, chosen)

    return actions


def collect_image_rollouts(
    venv: VecEnv, act: ActionFn, n_transitions: int, writer: ImageRolloutWriter, progress: bool = True
) -> dict[str, Any]:
    """Play `venv` with `act` until `n_transitions` transitions are stored; return summary statistics."""
    if n_transitions < 1:
        raise UserError(f"n_transitions must be >= 1, got {n_transitions}")
    n = venv.num_envs
    frames: list[list[np.ndarray]] = [[] for _ in range(n)]
    acts: list[list[int]] = [[] for _ in range(n)]
    rews: list[list[float]] = [[] for _ in range(n)]
    stored = finished = completed = 0
    obs = venv.reset()
    bar = tqdm(total=n_transitions, desc="rollouts", unit="step", mininterval=5.0, disable=not progress)
    while stored + sum(len(a) for a in acts) < n_transitions:
        actions = np.asarray(act(obs)).reshape(n)
        next_obs, rewards, dones, infos = venv.step(actions)
        for i in range(n):
            frames[i].append(obs[i].copy())  # a copy: a view would keep the whole batch alive
            acts[i].append(int(actions[i]))
            rews[i].append(float(rewards[i]))
            if dones[i]:
                last = infos[i].get("terminal_observation", obs[i])
                writer.add(np.stack([*frames[i], last]), np.array(acts[i]), np.array(rews[i]), terminal=True)
                stored += len(acts[i])
                finished += 1
                completed += bool(infos[i].get("level_complete", rewards[i] > 0))
                frames[i], acts[i], rews[i] = [], [], []
        bar.update(n)
        obs = next_obs
    excess = stored + sum(len(a) for a in acts) - n_transitions
    for i in reversed(range(n)):  # trim the surplus from the last games' unfinished trajectories
        cut = min(excess, len(acts[i]))
        if cut:
            # the frame after the kept part becomes the final frame
            final = frames[i][len(acts[i]) - cut]
            frames[i], acts[i], rews[i] = frames[i][: len(acts[i]) - cut], acts[i][:-cut], rews[i][:-cut]
            excess -= cut
        else:
            final = obs[i]
        if acts[i]:
            writer.add(np.stack([*frames[i], final]), np.array(acts[i]), np.array(rews[i]), terminal=False)
            stored += len(acts[i])
    bar.close()
    return {"episodes_finished": finished, "levels_completed": completed, "n_transitions": stored}
