"""Videos of a policy playing, so that one can see an expert really solves its task."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.envs.policy import Policy
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.evaluation import task_kwargs


@dataclass
class VideoSettings:
    """A video of an expert (config: ``experts.video_episodes`` and ``experts.eval_seed``)."""

    episodes: int = 1
    seed: int = 10_000
    fps: int | None = None  # None: the env's own frame rate

    def __post_init__(self) -> None:
        if self.episodes < 1 or (self.fps is not None and self.fps < 1):
            raise UserError("video episodes and fps must be positive")


def policy_frames(
    policy: Policy, env_id: str, env_kwargs: dict[str, Any], episodes: int, seed: int
) -> tuple[list[np.ndarray], int]:
    """RGB frames of `episodes` episodes (reset with seeds ``seed + i``) and the env's frame rate."""
    env = gym.make(env_id, render_mode="rgb_array", **task_kwargs(env_kwargs, env_id))
    fps = int(env.metadata.get("render_fps", 30))
    frames = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        frames.append(env.render())
        done = False
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, _, terminated, truncated, _ = env.step(int(np.asarray(action).item()))
            frames.append(env.render())
            done = terminated or truncated
    env.close()
    return frames, fps


def write_video(frames: list[np.ndarray], path: str | os.PathLike, fps: int = 30) -> None:
    """Write an mp4 (H.264 via the ffmpeg that imageio-ffmpeg bundles) or a GIF, by suffix; atomically."""
    path = Path(path)
    if not frames:
        raise UserError("no frames to write")
    if path.suffix not in (".gif", ".mp4"):
        raise UserError(f"{path}: unsupported video format; use .mp4 or .gif")
    with atomic_path(path) as tmp:
        if path.suffix == ".gif":
            import imageio.v2 as imageio

            imageio.mimsave(tmp, frames, duration=1000 / fps, loop=0)
            return
        import imageio_ffmpeg

        height, width = frames[0].shape[:2]
        # One thread and bit-exact muxing: the same frames give the same file.
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, codec="libx264", macro_block_size=16, ffmpeg_log_level="error",
            output_params=["-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact"],
        )
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame, dtype=np.uint8))
        writer.close()
