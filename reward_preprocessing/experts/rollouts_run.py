"""The rollout stage: trajectories of an expert (or a mixture with a random policy) in its own task."""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from typing import Any

import gymnasium as gym

from reward_preprocessing.data.rollouts import RolloutSettings, collect_rollouts, save_rollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.evaluation import task_kwargs
from reward_preprocessing.experts.sb3_policy import load_sb3_policy
from reward_preprocessing.experts.store import load_expert

log = logging.getLogger(__name__)


def collect_rollouts_stage(
    expert_dir: str | os.PathLike, settings: RolloutSettings, out: str | os.PathLike, curve: bool = False,
    progress: bool = True,
) -> int:
    """Collect the rollouts of the expert in `expert_dir` on its unshaped task and write them to `out`.

    With `curve`, the expert alone for ``settings.curve_timesteps`` steps (`RolloutSettings.curve`).
    Returns the number of timesteps written.
    """
    if curve:
        settings = settings.curve()
    expert = load_expert(expert_dir)
    if not expert.env_id:
        raise UserError(f"{expert_dir}: the expert does not name its env; pass an expert directory")
    env_kwargs = task_kwargs(expert.env_kwargs, expert.env_id)
    trajectories = collect_rollouts(expert.env_id, env_kwargs, settings.sources, settings.min_timesteps,
                                    settings.seed, expert.policy, settings.n_envs, progress=progress)
    info = {"seed": settings.seed, "min_timesteps": settings.min_timesteps, "expert": str(expert_dir),
            "sources": [asdict(s) for s in settings.sources]}
    save_rollouts(out, trajectories, expert.env_id, env_kwargs, info)
    steps = sum(len(t.acts) for t in trajectories)
    log.info("%s: %d trajectories, %d timesteps", out, len(trajectories), steps)
    return steps


def collect_policy_rollouts_stage(
    policy_path: str | os.PathLike, env_id: str, env_kwargs: dict[str, Any], settings: RolloutSettings,
    out: str | os.PathLike, trust_pickle: bool = False, curve: bool = False, progress: bool = True,
) -> int:
    """`collect_rollouts_stage` with a user's SB3 zip in the expert's place (read through the allow-list).

    The zip does not say which env it acts in reliably, so the env comes from the caller; the policy's
    spaces must match it.
    """
    if curve:
        settings = settings.curve()
    env_kwargs = task_kwargs(env_kwargs, env_id)
    env = gym.make(env_id, **env_kwargs)
    try:
        policy = load_sb3_policy(policy_path, env.observation_space, env.action_space, trust_pickle=trust_pickle)
    finally:
        env.close()
    trajectories = collect_rollouts(env_id, env_kwargs, settings.sources, settings.min_timesteps, settings.seed,
                                    policy, settings.n_envs, progress=progress)
    info = {"seed": settings.seed, "min_timesteps": settings.min_timesteps, "policy": str(policy_path),
            "sources": [asdict(s) for s in settings.sources]}
    save_rollouts(out, trajectories, env_id, env_kwargs, info)
    steps = sum(len(t.acts) for t in trajectories)
    log.info("%s: %d trajectories, %d timesteps", out, len(trajectories), steps)
    return steps
