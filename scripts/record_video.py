"""Record a video of an expert playing its env (mp4, or GIF by suffix).

Example:
    python scripts/record_video.py --expert results/experts/{env} --settings '{"episodes": 2}' \
        --out results/videos/{env}.mp4
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.store import load_expert
from reward_preprocessing.experts.video import VideoSettings, policy_frames, write_video
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert", required=True, help="expert directory")
    add_settings_argument(parser, VideoSettings)
    parser.add_argument("--out", required=True, help="video file (.mp4 or .gif)")
    args = parser.parse_args(argv)

    settings = parse_settings(VideoSettings, args.settings)
    expert = load_expert(args.expert)
    if not expert.env_id:
        raise UserError(f"{args.expert}: the expert does not name its env; pass an expert directory")
    frames, fps = policy_frames(expert.policy, expert.env_id, expert.env_kwargs, settings.episodes, settings.seed)
    write_video(frames, args.out, fps=settings.fps or fps)


if __name__ == "__main__":
    run(main)
