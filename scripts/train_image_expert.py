"""Train a PPO + IMPALA CNN expert on an image env; write its directory with metrics and learning-curve plots.

The directory holds model.zip, expert.json, metrics.json (evaluation return, level-completion rate, the same for
a random policy, steps, wall time, steps/s), learning_curve.csv and learning_curve.{png,html}.

Example:
    python scripts/train_image_expert.py --env-id procgen:<game> --settings '{"total_timesteps": 200000}' \
        --threads 2 --out results/experts/{env}
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from reward_preprocessing.cli import run
from reward_preprocessing.experts.image_stages import ImageExpertSettings, read_curve, train_image_expert_stage
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.plotting.training_curves import ppo_panels, save_html, save_png
from reward_preprocessing.settings import add_settings_argument, parse_settings


def write_plots(directory: Path, metrics: dict[str, Any]) -> None:
    panels = ppo_panels(read_curve(directory), metrics.get("random_level_completion_rate"))
    save_png(panels, directory / "learning_curve.png", "PPO + IMPALA")
    save_html(panels, directory / "learning_curve.html", "PPO + IMPALA")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True, help="the image env's id")
    parser.add_argument("--env-kwargs", type=json_object, default={},
                        help="JSON object of env options (num_levels, start_level, distribution_mode)")
    add_settings_argument(parser, ImageExpertSettings)
    parser.add_argument("--threads", type=int, default=None, help="torch and procgen threads (default: settings)")
    parser.add_argument("--stop-file", type=Path, default=None,
                        help="stop training early (then evaluate and save) once this file exists")
    parser.add_argument("--out", required=True, type=Path, help="expert directory to write")
    args = parser.parse_args(argv)
    settings = parse_settings(ImageExpertSettings, args.settings)
    train_image_expert_stage(args.env_id, args.env_kwargs, settings, args.out, args.threads, args.stop_file,
                             write_plots)


if __name__ == "__main__":
    run(main)
