"""Plot a grid of maze reward heatmaps: rows = shapings, columns = unmodified + objectives.

Example:
    python scripts/plot_heatmap.py --maze maze10 --rows unshaped dense --columns sparse_l1 smooth_log \
        --runs <preprocessed dir per (row, column), row-major> --out results/heatmaps/maze10
writes maze10.png, maze10.pdf and maze10.html.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reward_preprocessing.cli import run
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.heatmaps import HeatmapGrid, save_heatmap_html, save_heatmap_png_pdf
from reward_preprocessing.plotting.tables import load_rewards_csv
from reward_preprocessing.rewards.ground_truth import make_maze


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maze", required=True)
    parser.add_argument("--rows", nargs="+", required=True, help="row labels (shapings)")
    parser.add_argument("--columns", nargs="+", required=True, help="objectives shown after the unmodified reward")
    parser.add_argument("--runs", nargs="+", required=True, help="preprocessed directories, row-major")
    parser.add_argument("--title", default="")
    parser.add_argument("--out", required=True, help="output prefix; .png, .pdf and .html are appended")
    args = parser.parse_args(argv)

    if len(args.runs) != len(args.rows) * len(args.columns):
        raise UserError(f"got {len(args.runs)} runs for {len(args.rows)} rows x {len(args.columns)} columns")
    model = make_maze(args.maze).tabular_model()
    shape = (model.num_states, model.num_actions)
    panels = np.empty((len(args.rows), 1 + len(args.columns), *shape))
    for i in range(len(args.rows)):
        for j in range(len(args.columns)):
            run_dir = Path(args.runs[i * len(args.columns) + j])
            original, preprocessed = load_rewards_csv(run_dir / "rewards.csv", *shape)
            panels[i, 0] = original  # every column of a row starts from the same reward
            panels[i, 1 + j] = preprocessed
    grid = HeatmapGrid(model, tuple(args.rows), ("unmodified", *args.columns), panels, title=args.title)
    out = Path(args.out)
    save_heatmap_png_pdf(grid, out.with_name(out.name + ".png"), out.with_name(out.name + ".pdf"))
    save_heatmap_html(grid, out.with_name(out.name + ".html"))


if __name__ == "__main__":
    run(main)
