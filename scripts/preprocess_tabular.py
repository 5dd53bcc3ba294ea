"""Preprocess a tabular reward model for each configured interpretability objective.

Example:
    python scripts/preprocess_tabular.py --model results/reward_models/learned/maze10_goal_dense \
        --settings '{"objectives": ["sparse_l1"]}' --out results/preprocessed/learned/maze10_goal_dense
writes one directory per objective under --out.
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.preprocessing.tabular_run import TabularPreprocessSettings, preprocess_objectives
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, TabularPreprocessSettings)
    parser.add_argument("--model", required=True, help="reward-model directory (model.safetensors + spec.json)")
    parser.add_argument("--out", required=True, help="directory of the output directories, one per objective")
    args = parser.parse_args(argv)
    preprocess_objectives(args.model, parse_settings(TabularPreprocessSettings, args.settings), args.out)


if __name__ == "__main__":
    run(main)
