"""Train a PPO + IMPALA CNN expert on CoinRun; write its directory with metrics and learning-curve plots.

The directory holds model.zip, expert.json, metrics.json (evaluation return, level-completion rate, the same for
a random policy, steps, wall time, steps/s), learning_curve.csv and learning_curve.{png,html}.

Example:
    python scripts/train_coinrun_expert.py --settings '{"total_timesteps": 200000}' --threads 2 \
        --out results/experts/coinrun
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.devices import set_threads
from reward_preprocessing.envs.procgen import ENV_ID, CoinRunOptions
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.coinrun_ppo import (
    CoinRunExpertSettings,
    TrainedExpert,
    read_curve,
    save_coinrun_expert,
    train_coinrun_expert,
)
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.plotting.training_curves import ppo_panels, save_html, save_png
from reward_preprocessing.settings import add_settings_argument, from_mapping, parse_settings, to_mapping

log = logging.getLogger("train_coinrun_expert")


def _plots(trained: TrainedExpert) -> Callable[[Path], None]:
    def write(directory: Path) -> None:
        panels = ppo_panels(read_curve(directory), trained.metrics.get("random_level_completion_rate"))
        save_png(panels, directory / "learning_curve.png", "CoinRun PPO")
        save_html(panels, directory / "learning_curve.html", "CoinRun PPO")

    return write


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", default=ENV_ID, help=f"must be {ENV_ID}")
    parser.add_argument("--env-kwargs", type=json_object, default={},
                        help="JSON object of CoinRun options (num_levels, start_level, distribution_mode)")
    add_settings_argument(parser, CoinRunExpertSettings)
    parser.add_argument("--threads", type=int, default=None, help="torch and procgen threads (default: settings)")
    parser.add_argument("--out", required=True, type=Path, help="expert directory to write")
    parser.add_argument("--stop-file", type=Path, default=None,
                        help="stop training early (then evaluate and save) once this file exists")
    args = parser.parse_args(argv)

    if args.env_id != ENV_ID:
        raise UserError(f"{args.env_id}: this script trains CoinRun experts ({ENV_ID})")
    settings = parse_settings(CoinRunExpertSettings, args.settings)
    if args.env_kwargs:
        settings = dataclasses.replace(settings, env=from_mapping(CoinRunOptions, args.env_kwargs, "--env-kwargs"))
    if args.threads is not None:
        settings = dataclasses.replace(settings, threads=args.threads)
    set_threads(settings.threads)
    trained = train_coinrun_expert(settings, stop_file=args.stop_file)
    save_coinrun_expert(args.out, trained, to_mapping(settings), extra=_plots(trained))
    m = trained.metrics
    log.info("%s: level completion %.2f (random policy %.2f), return %.2f over %d episodes; %d steps in %.0fs "
             "(%.0f steps/s)", args.out, m["level_completion_rate"], m["random_level_completion_rate"],
             m["eval_return_mean"], m["episodes"], m["timesteps"], m["train_seconds"], m["steps_per_second"])


if __name__ == "__main__":
    run(main)
