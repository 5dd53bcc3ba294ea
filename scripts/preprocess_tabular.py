"""Preprocess a tabular reward model for one interpretability objective.

Example:
    python scripts/preprocess_tabular.py --model results/reward_models/ground_truth/maze10_goal_dense \
        --objective sparse_l1 --out results/preprocessed/ground_truth/maze10_goal_dense/sparse_l1
"""

from __future__ import annotations

import argparse
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.preprocessing.objectives import OBJECTIVES
from reward_preprocessing.preprocessing.tabular_run import preprocess_model_dir

log = logging.getLogger("preprocess_tabular")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reward-model directory (model.safetensors + spec.json)")
    parser.add_argument("--objective", required=True, help=f"one of {', '.join(OBJECTIVES)}")
    parser.add_argument("--solver", default="auto", help="auto, lp, mm or adam (the reference recipe)")
    parser.add_argument("--gamma", type=float, default=None, help="discount (default: the model's env)")
    parser.add_argument("--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    solution = preprocess_model_dir(args.model, args.objective, args.out, args.solver, args.gamma)
    log.info("%s: %s = %.6g with %s in %.3fs", args.model, args.objective, solution.value, solution.solver,
             solution.seconds)


if __name__ == "__main__":
    run(main)
