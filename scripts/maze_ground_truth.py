"""Write every ground-truth reward model of one maze and preprocess each for every objective, in one process.

Example:
    python scripts/maze_ground_truth.py --settings '{"maze": "maze10", "rewards": ["goal"]}' \
        --models-dir results/reward_models/ground_truth --preprocessed-dir results/preprocessed/ground_truth
writes results/reward_models/ground_truth/maze10_{reward}_{shaping}/ and
results/preprocessed/ground_truth/maze10_{reward}_{shaping}/{objective}/.
"""

from __future__ import annotations

import argparse
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.preprocessing.tabular_run import MazeGridSettings, maze_grid_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings

log = logging.getLogger("maze_ground_truth")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, MazeGridSettings)
    parser.add_argument("--models-dir", required=True, help="directory of the model directories")
    parser.add_argument("--preprocessed-dir", required=True, help="directory of the preprocessed directories")
    args = parser.parse_args(argv)
    settings = parse_settings(MazeGridSettings, args.settings)
    count = maze_grid_stage(settings, args.models_dir, args.preprocessed_dir)
    log.info("%s: %d preprocessed models", settings.maze, count)


if __name__ == "__main__":
    run(main)
