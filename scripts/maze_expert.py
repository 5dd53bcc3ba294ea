"""Compute the optimal maze policy by value iteration and write it as an expert directory.

Example:
    python scripts/maze_expert.py --settings '{"maze": "maze10", "reward": "goal"}' --out results/experts/maze10_goal
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.experts.train import MazeExpertSettings, maze_expert_stage
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, MazeExpertSettings)
    parser.add_argument("--out", required=True, help="expert directory to write")
    args = parser.parse_args(argv)
    maze_expert_stage(parse_settings(MazeExpertSettings, args.settings), args.out)


if __name__ == "__main__":
    run(main)
