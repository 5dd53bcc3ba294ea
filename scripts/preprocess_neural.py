"""Preprocess a non-tabular reward model with a neural potential fitted over rollouts.

Example:
    python scripts/preprocess_neural.py --model results/reward_models/ground_truth/mountain_car_dense \
        --rollouts results/rollouts/mountain_car --objective sparse_l1 --potential mlp_box \
        --out results/preprocessed/ground_truth/mountain_car_dense/sparse_l1
"""

from __future__ import annotations

import argparse
import logging

import torch as th

from reward_preprocessing.cli import run
from reward_preprocessing.preprocessing.neural_run import POTENTIAL_KINDS, FitSettings, preprocess_neural_model_dir
from reward_preprocessing.preprocessing.objectives import OBJECTIVES

log = logging.getLogger("preprocess_neural")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reward-model directory")
    parser.add_argument("--rollouts", required=True, help="rollout directory whose transitions define the objective")
    parser.add_argument("--objective", required=True, choices=OBJECTIVES)
    parser.add_argument("--potential", default="mlp", choices=POTENTIAL_KINDS,
                        help="critic: the expert's critic as initial potential; critic_fixed: kept fixed")
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[128, 128])
    parser.add_argument("--expert", help="SB3 expert directory (for the critic potentials)")
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--tol", type=float, default=1e-3)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output directory (model + metrics.json)")
    args = parser.parse_args(argv)

    th.set_num_threads(1)  # reproducible fits; parallel jobs do not compete for cores
    fit = FitSettings(args.batch_size, args.lr, args.max_epochs, args.tol, args.patience, args.seed)
    result = preprocess_neural_model_dir(args.model, args.rollouts, args.objective, args.out, args.potential,
                                         args.gamma, args.hidden_sizes, fit, args.expert)
    log.info("%s: %s %.6g -> %.6g (%d epochs, %.1fs)", args.model, args.objective, result.value_before,
             result.value_after, result.epochs, result.seconds)


if __name__ == "__main__":
    run(main)
