"""The CoinRun rollout stage: play the expert (optionally mixed with random actions) and store image rollouts.

Output: a rollout directory of `data.image_rollouts` (uint8 frame shards + arrays
+ ``rollouts.json``), optionally with the same data as a train-procgen
``trajectories.npz`` next to it (readable by ``imitation.data.serialize.load``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch as th

from reward_preprocessing.artifacts import atomic_dir
from reward_preprocessing.data.image_collect import collect_image_rollouts, mixed_actions
from reward_preprocessing.data.image_rollouts import DEFAULT_SHARD_FRAMES, ImageRolloutWriter, open_image_rollouts
from reward_preprocessing.data.procgen_npz import write_procgen_npz
from reward_preprocessing.envs.procgen import ACTION_NAMES, ENV_ID, OBS_SHAPE, CoinRunOptions, make_coinrun_venv
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.procgen_eval import policy_actions
from reward_preprocessing.experts.store import load_expert
from reward_preprocessing.settings import to_mapping

NPZ_FILE = "trajectories.npz"


@dataclass(frozen=True)
class CoinRunRolloutSettings:
    """The `rollouts` stage for CoinRun."""

    n_transitions: int = 50_000
    policy: Literal["expert", "random"] = "expert"
    random_prob: float = 0.0  # each expert action is replaced by a uniform random one with this probability
    deterministic: bool = False  # argmax instead of sampling the expert's actions
    n_envs: int = 16
    seed: int = 1
    env: CoinRunOptions | None = None  # None: the levels the expert was trained on
    shard_frames: int = DEFAULT_SHARD_FRAMES
    npz: bool = False  # also write trajectories.npz (train-procgen layout)
    # the expert alone (no random actions) for this many steps: the episodes reward curves are drawn along
    curve_timesteps: int = 1000

    def __post_init__(self) -> None:
        if self.n_transitions < 1 or self.n_envs < 1 or self.curve_timesteps < 1:
            raise UserError("n_transitions and n_envs must be >= 1")
        if not 0.0 <= self.random_prob <= 1.0:
            raise UserError(f"random_prob must be in [0, 1], got {self.random_prob}")


def collect_coinrun_rollouts_stage(
    settings: CoinRunRolloutSettings, out_dir: str | os.PathLike, expert_dir: str | os.PathLike | None = None,
    num_threads: int = 0, progress: bool = True,
) -> dict[str, Any]:
    """Collect `settings.n_transitions` transitions into `out_dir` (atomically); return its rollouts.json."""
    act = None
    options = settings.env
    if settings.policy == "expert":
        if expert_dir is None:
            raise UserError("policy 'expert' needs the expert directory (--expert)")
        expert = load_expert(expert_dir)
        if expert.sb3_model is None or expert.env_id != ENV_ID:
            raise UserError(f"{expert_dir}: not a CoinRun SB3 expert (env {expert.env_id!r})")
        act = policy_actions(expert.sb3_model, settings.deterministic)
        options = options or CoinRunOptions.from_mapping(expert.env_kwargs)
    options = options or CoinRunOptions()
    actions = mixed_actions(act, settings.random_prob if act is not None else 1.0, len(ACTION_NAMES), settings.seed)
    th.manual_seed(settings.seed)  # the expert samples its actions with torch's generator
    venv = make_coinrun_venv(options, settings.n_envs, seed=settings.seed, num_threads=num_threads)
    with atomic_dir(out_dir) as tmp:
        writer = ImageRolloutWriter(tmp, OBS_SHAPE, settings.shard_frames)
        summary = collect_image_rollouts(venv, actions, settings.n_transitions, writer, progress)
        venv.close()
        meta = writer.close({
            "env": {"id": ENV_ID, "kwargs": options.as_dict()},
            "settings": to_mapping(settings),
            "expert": str(expert_dir) if expert_dir is not None else None,
            "summary": summary,
        })
        if settings.npz:
            write_procgen_npz(open_image_rollouts(Path(tmp)), Path(tmp) / NPZ_FILE)
    return meta


def curve_settings(settings: CoinRunRolloutSettings) -> CoinRunRolloutSettings:
    """The rollouts reward curves follow: the expert alone for ``curve_timesteps`` steps, other levels' seed."""
    return dataclasses.replace(settings, n_transitions=settings.curve_timesteps, random_prob=0.0, npz=False,
                               n_envs=min(settings.n_envs, 4), seed=settings.seed + 1)
