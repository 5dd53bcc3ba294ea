"""Preprocess an image reward model over image rollouts: fit a CNN potential per objective, write each model.

Writes one directory per objective under --out (PreprocessedRewardNet: model.safetensors + spec.json, and
metrics.json with the objective before and after).

Example:
    python scripts/preprocess_image_reward.py --model results/reward_models/learned/{env}_unshaped \
        --rollouts results/rollouts/{env} --settings '{"objectives": ["sparse_l1", "smooth_log"]}' \
        --out results/preprocessed/learned/{env}_unshaped
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.devices import set_threads
from reward_preprocessing.preprocessing.image_run import ImagePreprocessSettings, preprocess_image_model_dir
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("preprocess_image_reward")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, ImagePreprocessSettings)
    parser.add_argument("--model", required=True, type=Path,
                        help="image reward-model directory (the project's CNN, or an imported imitation net)")
    parser.add_argument("--rollouts", required=True, type=Path, help="rollout directory or train-procgen .npz")
    parser.add_argument("--expert", type=Path, default=None, help="expert directory (critic potentials)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: settings)")
    parser.add_argument("--out", required=True, type=Path, help="parent directory of one output per objective")
    args = parser.parse_args(argv)

    settings = parse_settings(ImagePreprocessSettings, args.settings)
    if args.threads is not None:
        settings = dataclasses.replace(settings, threads=args.threads)
    set_threads(settings.threads)
    for objective in settings.objectives:
        result = preprocess_image_model_dir(args.model, args.rollouts, objective, args.out / objective, settings,
                                            args.expert)
        log.info("%s: %s %.4g -> %.4g (%d epochs, %.0fs)", args.out / objective, objective, result.value_before,
                 result.value_after, result.epochs, result.seconds)


if __name__ == "__main__":
    run(main)
