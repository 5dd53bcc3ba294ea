"""Draw every heatmap figure of one maze (PNG, PDF and interactive HTML) in one process.

Example:
    python scripts/plot_maze_figures.py --settings '{"maze": "maze10", "rewards": ["goal"], "modes": ["default"]}' \
        --runs-dir results/preprocessed/ground_truth --out-dir results/heatmaps
writes results/heatmaps/maze10_goal_default.{png,pdf,html} and the main figure maze10.{png,pdf,html}.
"""

from __future__ import annotations

import argparse
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.plotting.maze_figures import MazeFigureSettings, maze_figures_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("plot_maze_figures")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, MazeFigureSettings)
    parser.add_argument("--runs-dir", required=True, help="directory of the preprocessed {maze}_{reward}_{shaping}/")
    parser.add_argument("--out-dir", required=True, help="directory the figures are written to")
    args = parser.parse_args(argv)
    written = maze_figures_stage(parse_settings(MazeFigureSettings, args.settings), args.runs_dir, args.out_dir)
    log.info("wrote %d files", len(written))


if __name__ == "__main__":
    run(main)
