"""Preprocess a non-tabular reward model with a neural potential fitted over rollouts, for each objective.

Example:
    python scripts/preprocess_neural.py --model results/reward_models/ground_truth/{env}_dense \
        --rollouts results/rollouts/{env} --settings '{"potential": "mlp_box", "objectives": ["sparse_l1"]}' \
        --out results/preprocessed/ground_truth/{env}_dense
writes one directory per objective under --out.
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.preprocessing.neural_run import NeuralPreprocessSettings, preprocess_neural_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reward-model directory")
    parser.add_argument("--rollouts", required=True, help="rollout directory whose transitions define the objective")
    parser.add_argument("--expert", help="SB3 expert directory (for the critic potentials)")
    add_settings_argument(parser, NeuralPreprocessSettings)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", required=True, help="directory of the output directories, one per objective")
    args = parser.parse_args(argv)
    settings = parse_settings(NeuralPreprocessSettings, args.settings)
    preprocess_neural_stage(args.model, args.rollouts, settings, args.out, args.expert, args.threads)


if __name__ == "__main__":
    run(main)
