"""Collect CoinRun rollouts (expert, optionally mixed with random actions) as uint8 frame shards on disk.

Example:
    python scripts/collect_coinrun_rollouts.py --expert results/experts/coinrun \
        --settings '{"n_transitions": 50000, "random_prob": 0.1}' --out results/rollouts/coinrun
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.envs.procgen import procgen_threads
from reward_preprocessing.experts.coinrun_rollouts import (
    CoinRunRolloutSettings,
    collect_coinrun_rollouts_stage,
    curve_settings,
)
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("collect_coinrun_rollouts")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, CoinRunRolloutSettings)
    parser.add_argument("--expert", type=Path, default=None, help="expert directory (policy 'expert')")
    parser.add_argument("--threads", type=int, default=1, help="procgen worker threads")
    parser.add_argument("--curve", action="store_true",
                        help="collect the expert alone for curve_timesteps steps (the reward-curve rollouts)")
    parser.add_argument("--out", required=True, type=Path, help="rollout directory to write")
    args = parser.parse_args(argv)

    settings = parse_settings(CoinRunRolloutSettings, args.settings)
    if args.curve:
        settings = curve_settings(settings)
    meta = collect_coinrun_rollouts_stage(settings, args.out, args.expert, procgen_threads(args.threads))
    s = meta["summary"]
    log.info("%s: %d transitions, %d trajectories, %d finished episodes, %d levels completed", args.out,
             meta["n_transitions"], meta["n_trajectories"], s["episodes_finished"], s["levels_completed"])


if __name__ == "__main__":
    run(main)
