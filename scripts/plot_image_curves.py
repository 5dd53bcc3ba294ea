"""Reward curves of an image reward model and its preprocessed versions along expert episodes, with a filmstrip.

--runs are preprocessed model directories, row-major over the settings' rows (shapings) and columns
(objectives); the first one's base model is the original reward. Writes --out with .png, .pdf and .html.

Example:
    python scripts/plot_image_curves.py --rollouts results/rollouts/{env}_curve \
        --runs results/preprocessed/learned/{env}_unshaped/{sparse_l1,smooth_log} \
        --settings '{"columns": ["sparse_l1", "smooth_log"]}' --out results/curves/{env}
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.data.image_rollouts import open_image_rollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.filmstrip import (
    FilmstripSettings,
    image_reward_filmstrip,
    save_html,
    save_png_pdf,
)
from reward_preprocessing.rewards.io import load_reward_net
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("plot_image_curves")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, FilmstripSettings)
    parser.add_argument("--rollouts", required=True, type=Path, help="rollout directory or train-procgen .npz")
    parser.add_argument("--runs", nargs="+", required=True, type=Path, help="preprocessed model directories")
    parser.add_argument("--out", required=True, type=Path, help="output path without suffix")
    args = parser.parse_args(argv)

    settings = parse_settings(FilmstripSettings, args.settings)
    labels = [f"{r} / {c}" if len(settings.rows) > 1 else c for r in settings.rows for c in settings.columns]
    if len(labels) != len(args.runs):
        raise UserError(f"{len(args.runs)} runs for {len(settings.rows)} rows x {len(settings.columns)} columns")
    nets = [load_reward_net(path) for path in args.runs]
    if not hasattr(nets[0], "base"):
        raise UserError(f"{args.runs[0]}: not a preprocessed model (no base reward)")
    models = {"original": nets[0].base, **dict(zip(labels, nets, strict=True))}
    strip = image_reward_filmstrip(open_image_rollouts(args.rollouts), models, settings)
    out = args.out.with_suffix("") if args.out.suffix == ".png" else args.out
    save_png_pdf(strip, out.with_suffix(".png"), out.with_suffix(".pdf"))
    save_html(strip, out.with_suffix(".html"))
    log.info("%s: %d steps, events at %s", out, len(strip.frames), list(strip.events))


if __name__ == "__main__":
    run(main)
