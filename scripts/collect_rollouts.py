"""Collect rollouts of an expert (mixed with a random policy) on its unshaped task, in imitation's format.

Example:
    python scripts/collect_rollouts.py --expert results/experts/{env} \
        --settings '{"min_timesteps": 20000, "sources": [{"policy": "expert", "weight": 3, "random_prob": 0.1}]}' \
        --out results/rollouts/{env}
With --curve: the expert alone for curve_timesteps steps (the rollout reward curves are drawn along).
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import RolloutSettings
from reward_preprocessing.experts.rollouts_run import collect_rollouts_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert", required=True, help="expert directory (names the env)")
    add_settings_argument(parser, RolloutSettings)
    parser.add_argument("--curve", action="store_true", help="the curve rollout instead of the mixture")
    parser.add_argument("--out", required=True, help="rollout directory to write")
    args = parser.parse_args(argv)
    collect_rollouts_stage(args.expert, parse_settings(RolloutSettings, args.settings), args.out, curve=args.curve)


if __name__ == "__main__":
    run(main)
