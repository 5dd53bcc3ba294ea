"""Draw the heatmap of one user model on a maze: the unmodified reward and its preprocessed versions.

Example:
    python scripts/plot_model_heatmap.py --settings '{"maze": "maze4", "name": "mine"}' \
        --runs results/models/mine/preprocessed/{sparse_l1,smooth_l1,sparse_log,smooth_log} \
        --out results/models/mine/figure
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.plotting.model_figures import ModelHeatmapSettings, model_heatmap_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, ModelHeatmapSettings)
    parser.add_argument("--runs", nargs="+", required=True, help="preprocessed directories, one per column")
    parser.add_argument("--out", required=True, help="output prefix; .png, .pdf and .html are appended")
    args = parser.parse_args(argv)
    model_heatmap_stage(parse_settings(ModelHeatmapSettings, args.settings), args.runs, args.out)


if __name__ == "__main__":
    run(main)
