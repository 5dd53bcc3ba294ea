"""Record N episodes of an image-env expert as MP4 (and a GIF preview) with the episode return drawn on frames.

Example:
    python scripts/record_image_video.py --expert results/experts/{env} --settings '{"episodes": 3}' \
        --out results/videos/{env}.mp4
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.experts.image_stages import ImageVideoSettings, record_image_video_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, ImageVideoSettings)
    parser.add_argument("--expert", required=True, type=Path, help="expert directory")
    parser.add_argument("--out", required=True, type=Path, help="MP4 path (the GIF preview goes next to it)")
    args = parser.parse_args(argv)
    record_image_video_stage(args.expert, parse_settings(ImageVideoSettings, args.settings), args.out)


if __name__ == "__main__":
    run(main)
