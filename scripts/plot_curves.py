"""Plot reward curves along one rollout: rows = shapings, columns = unmodified + objectives.

Example:
    python scripts/plot_curves.py --rollouts results/rollouts/{env}_curve \
        --settings '{"rows": ["unshaped", "dense"], "columns": ["sparse_l1", "smooth_l1"]}' \
        --runs <preprocessed dir per (row, column), row-major> --out results/curves/{env}
writes {env}.png, {env}.pdf and {env}.html.
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.plotting.curves import CurveSettings, reward_curves_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", required=True, help="rollout directory to plot along")
    parser.add_argument("--runs", nargs="+", required=True, help="preprocessed model directories, row-major")
    add_settings_argument(parser, CurveSettings)
    parser.add_argument("--out", required=True, help="output prefix; .png, .pdf and .html are appended")
    args = parser.parse_args(argv)
    reward_curves_stage(args.rollouts, args.runs, parse_settings(CurveSettings, args.settings), args.out)


if __name__ == "__main__":
    run(main)
