"""Record N CoinRun episodes of an expert as MP4 (and a GIF preview) with the episode return drawn on the frames.

Example:
    python scripts/record_coinrun_video.py --expert results/experts/coinrun --settings '{"episodes": 3}' \
        --out results/videos/coinrun.mp4
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.envs.procgen import ENV_ID, CoinRunOptions
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.procgen_eval import policy_actions
from reward_preprocessing.experts.procgen_video import VideoSettings, episode_frames, write_episode_videos
from reward_preprocessing.experts.store import load_expert
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("record_coinrun_video")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, VideoSettings)
    parser.add_argument("--expert", required=True, type=Path, help="CoinRun expert directory")
    parser.add_argument("--out", required=True, type=Path, help="MP4 path (the GIF preview goes next to it)")
    args = parser.parse_args(argv)

    settings = parse_settings(VideoSettings, args.settings)
    if args.out.suffix != ".mp4":
        raise UserError(f"{args.out}: the video path must end in .mp4")
    expert = load_expert(args.expert)
    if expert.sb3_model is None or expert.env_id != ENV_ID:
        raise UserError(f"{args.expert}: not a CoinRun SB3 expert")
    act = policy_actions(expert.sb3_model, settings.deterministic)
    frames, episodes = episode_frames(act, CoinRunOptions.from_mapping(expert.env_kwargs), settings)
    write_episode_videos(frames, args.out, args.out.with_suffix(".gif"), settings.gif_every)
    log.info("%s: %d frames; returns %s", args.out, len(frames), [e["return"] for e in episodes])


if __name__ == "__main__":
    run(main)
