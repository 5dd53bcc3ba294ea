"""Videos of a CoinRun policy: N evaluation episodes as MP4 plus a small GIF preview, return drawn on the frames.

Frames are what the agent sees (64×64), enlarged by an integer factor without
smoothing, with a caption bar: episode, step, the return so far, and at the
end of an episode whether the level was completed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch as th
from PIL import Image, ImageDraw, ImageFont

from reward_preprocessing.envs.procgen import CoinRunOptions, make_coinrun_venv
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.procgen_eval import ActionFn
from reward_preprocessing.experts.video import write_video

FPS = 15  # procgen's own frame rate


@dataclass(frozen=True)
class VideoSettings:
    """The `video` stage: how many episodes, from which seed, how large."""

    episodes: int = 3
    seed: int = 20_000
    scale: int = 4  # 64×64 frames become 256×256
    gif_every: int = 2  # the GIF preview keeps every n-th frame at half size
    max_steps: int = 3000  # cap on frames in total, so a policy that never finishes cannot fill the disk
    deterministic: bool = False

    def __post_init__(self) -> None:
        if self.episodes < 1 or self.scale < 1 or self.gif_every < 1 or self.max_steps < 1:
            raise UserError("episodes, scale, gif_every and max_steps must be >= 1")


def caption(frame: np.ndarray, text: str, scale: int) -> np.ndarray:
    """`frame` enlarged `scale` times, with `text` in a bar above it."""
    big = np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)
    bar = -(-(10 + 5 * scale) // 16) * 16  # keep the height a multiple of 16 (H.264 macroblocks)
    image = Image.new("RGB", (big.shape[1], big.shape[0] + bar), (20, 20, 20))
    image.paste(Image.fromarray(big), (0, bar))
    font = ImageFont.load_default(size=max(10, 3 * scale + 2))
    ImageDraw.Draw(image).text((4, 3), text, fill=(255, 255, 255), font=font)
    return np.asarray(image)


def episode_frames(
    act: ActionFn, options: CoinRunOptions, settings: VideoSettings
) -> tuple[list[np.ndarray], list[dict]]:
    """Captioned frames of `settings.episodes` episodes and each episode's return and completion."""
    th.manual_seed(settings.seed)  # the policy samples its actions with torch's generator
    venv = make_coinrun_venv(options, 1, seed=settings.seed)
    obs = venv.reset()
    frames: list[np.ndarray] = []
    episodes: list[dict] = []
    total, steps = 0.0, 0
    while len(episodes) < settings.episodes and len(frames) < settings.max_steps:
        label = f"episode {len(episodes) + 1}/{settings.episodes}  step {steps}  return {total:g}"
        frames.append(caption(obs[0], label, settings.scale))
        action = np.asarray(act(obs)).reshape(1)
        next_obs, rewards, dones, infos = venv.step(action)
        total += float(rewards[0])
        steps += 1
        if dones[0]:
            done = "level completed" if infos[0]["level_complete"] else "level failed"
            last = infos[0]["terminal_observation"]
            text = f"episode {len(episodes) + 1}/{settings.episodes}  return {total:g}  {done}"
            frames += [caption(last, text, settings.scale)] * FPS  # hold the result for a second
            episodes.append({"return": total, "length": steps, "level_complete": bool(infos[0]["level_complete"])})
            total, steps = 0.0, 0
        obs = next_obs
    venv.close()
    return frames, episodes


def write_episode_videos(frames: list[np.ndarray], mp4: str | os.PathLike, gif: str | os.PathLike,
                         gif_every: int) -> None:
    """The MP4 (all frames) and a GIF preview (every `gif_every`-th frame, half size); each written atomically."""
    write_video(frames, mp4, fps=FPS)
    small = [np.asarray(Image.fromarray(f).resize((f.shape[1] // 2, f.shape[0] // 2), Image.NEAREST))
             for f in frames[::gif_every]]
    write_video(small, gif, fps=max(1, FPS // gif_every))
