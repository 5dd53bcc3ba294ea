"""Reward curves of a CNN reward model and its preprocessed versions along expert episodes, with a filmstrip.

Writes --out (PNG) and the same name with .pdf and .html.

Example:
    python scripts/plot_coinrun_curves.py --rollouts results/rollouts/coinrun \
        --model results/reward_models/learned/coinrun_unshaped \
        --preprocessed results/preprocessed/learned/coinrun_unshaped --objectives sparse_l1 smooth_log \
        --out results/curves/coinrun.png
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.data.image_rollouts import open_image_rollouts
from reward_preprocessing.plotting.filmstrip import (
    FilmstripSettings,
    image_reward_filmstrip,
    save_html,
    save_png_pdf,
)
from reward_preprocessing.rewards.io import load_reward_net
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("plot_coinrun_curves")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, FilmstripSettings)
    parser.add_argument("--rollouts", required=True, type=Path, help="rollout directory or train-procgen .npz")
    parser.add_argument("--model", required=True, type=Path, help="the original reward model")
    parser.add_argument("--preprocessed", type=Path, default=None, help="parent of one directory per objective")
    parser.add_argument("--objectives", nargs="*", default=[])
    parser.add_argument("--title", default="CoinRun: learned reward, original and preprocessed")
    parser.add_argument("--out", required=True, type=Path, help="PNG path (.pdf and .html next to it)")
    args = parser.parse_args(argv)

    settings = parse_settings(FilmstripSettings, args.settings)
    models = {"original": load_reward_net(args.model)}
    for objective in args.objectives:
        models[objective] = load_reward_net(args.preprocessed / objective)
    rollouts = open_image_rollouts(args.rollouts)
    strip = image_reward_filmstrip(rollouts, models, settings, args.title)
    save_png_pdf(strip, args.out, args.out.with_suffix(".pdf"))
    save_html(strip, args.out.with_suffix(".html"))
    log.info("%s: %d steps, events at %s", args.out, len(strip.frames), list(strip.events))


if __name__ == "__main__":
    run(main)
