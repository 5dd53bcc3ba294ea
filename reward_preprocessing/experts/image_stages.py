"""Stage functions of the image-env scripts (`kind: image` entries of the workflow), one call per script.

The image env here is procgen CoinRun; these wrappers give the scripts env-neutral names and do the checks
every stage shares (the env id, the expert directory) before any work.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reward_preprocessing.devices import set_threads
from reward_preprocessing.envs.procgen import ENV_ID, CoinRunOptions, procgen_threads
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.coinrun_ppo import (
    CoinRunExpertSettings,
    read_curve,
    save_coinrun_expert,
    train_coinrun_expert,
)
from reward_preprocessing.experts.coinrun_rollouts import (
    CoinRunRolloutSettings,
    collect_coinrun_rollouts_stage,
    curve_settings,
)
from reward_preprocessing.experts.procgen_eval import policy_actions
from reward_preprocessing.experts.procgen_video import VideoSettings, episode_frames, write_episode_videos
from reward_preprocessing.experts.store import Expert, load_expert
from reward_preprocessing.settings import from_mapping, to_mapping

log = logging.getLogger(__name__)

ImageExpertSettings = CoinRunExpertSettings
ImageRolloutSettings = CoinRunRolloutSettings
ImageVideoSettings = VideoSettings
__all__ = ["ImageExpertSettings", "ImageRolloutSettings", "ImageVideoSettings", "collect_image_rollouts_stage",
           "read_curve", "record_image_video_stage", "train_image_expert_stage"]


def check_image_env(env_id: str) -> None:
    if env_id != ENV_ID:
        raise UserError(f"{env_id}: no image env of that id; the image stages run {ENV_ID}")


def load_image_expert(path: str | os.PathLike) -> Expert:
    """An expert directory made by `train_image_expert_stage` (refused otherwise, before any work)."""
    expert = load_expert(path)
    if expert.sb3_model is None or expert.env_id != ENV_ID:
        raise UserError(f"{path}: not an image-env SB3 expert (env {expert.env_id!r}); train one with algo ppo_impala")
    return expert


def train_image_expert_stage(
    env_id: str, env_kwargs: dict[str, Any], settings: CoinRunExpertSettings, out: str | os.PathLike,
    threads: int | None = None, stop_file: str | os.PathLike | None = None,
    extra: Callable[[Path, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train and evaluate the PPO + IMPALA expert; write `out` (plus what `extra(dir, metrics)` writes)."""
    check_image_env(env_id)
    if env_kwargs:
        settings = dataclasses.replace(settings, env=from_mapping(CoinRunOptions, env_kwargs, "--env-kwargs"))
    if threads is not None:
        settings = dataclasses.replace(settings, threads=threads)
    set_threads(settings.threads)
    trained = train_coinrun_expert(settings, stop_file=stop_file)
    write_extra = (lambda directory: extra(directory, trained.metrics)) if extra is not None else None
    save_coinrun_expert(out, trained, to_mapping(settings), extra=write_extra)
    m = trained.metrics
    log.info("%s: level completion %.2f (random policy %.2f), return %.2f over %d episodes; %d steps in %.0fs "
             "(%.0f steps/s)", out, m["level_completion_rate"], m["random_level_completion_rate"],
             m["eval_return_mean"], m["episodes"], m["timesteps"], m["train_seconds"], m["steps_per_second"])
    return m


def collect_image_rollouts_stage(
    settings: CoinRunRolloutSettings, out: str | os.PathLike, expert: str | os.PathLike | None = None,
    threads: int = 1, curve: bool = False,
) -> dict[str, Any]:
    """Rollouts of the expert (or the reward-curve rollouts with `curve`); returns rollouts.json."""
    if expert is not None:
        load_image_expert(expert)
    meta = collect_coinrun_rollouts_stage(curve_settings(settings) if curve else settings, out, expert,
                                          procgen_threads(threads))
    s = meta["summary"]
    log.info("%s: %d transitions, %d trajectories, %d finished episodes, %d levels completed", out,
             meta["n_transitions"], meta["n_trajectories"], s["episodes_finished"], s["levels_completed"])
    return meta


def record_image_video_stage(expert_dir: str | os.PathLike, settings: VideoSettings, out: str | os.PathLike) -> None:
    """MP4 (and a GIF preview next to it) of `settings.episodes` episodes of the expert."""
    out = Path(out)
    if out.suffix != ".mp4":
        raise UserError(f"{out}: the video path must end in .mp4")
    expert = load_image_expert(expert_dir)
    act = policy_actions(expert.sb3_model, settings.deterministic)
    frames, episodes = episode_frames(act, CoinRunOptions.from_mapping(expert.env_kwargs), settings)
    write_episode_videos(frames, out, out.with_suffix(".gif"), settings.gif_every)
    log.info("%s: %d frames; returns %s", out, len(frames), [e["return"] for e in episodes])
