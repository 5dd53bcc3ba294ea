"""Collect image-env rollouts (the expert, optionally mixed with random actions) as uint8 frame shards on disk.

Example:
    python scripts/collect_image_rollouts.py --expert results/experts/{env} \
        --settings '{"n_transitions": 20000, "random_prob": 0.1}' --out results/rollouts/{env}
"""

from __future__ import annotations

import argparse
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.experts.image_stages import ImageRolloutSettings, collect_image_rollouts_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, ImageRolloutSettings)
    parser.add_argument("--expert", type=Path, default=None, help="expert directory (policy 'expert')")
    parser.add_argument("--threads", type=int, default=1, help="procgen worker threads")
    parser.add_argument("--curve", action="store_true",
                        help="collect the expert alone for curve_timesteps steps (the reward-curve rollouts)")
    parser.add_argument("--out", required=True, type=Path, help="rollout directory to write")
    args = parser.parse_args(argv)
    settings = parse_settings(ImageRolloutSettings, args.settings)
    collect_image_rollouts_stage(settings, args.out, args.expert, args.threads, args.curve)


if __name__ == "__main__":
    run(main)
