"""Save the ground-truth reward of a maze as a reward-model directory.

Example:
    python scripts/make_ground_truth.py --maze maze10 --reward goal --shaping dense \
        --out results/reward_models/ground_truth/maze10_goal_dense
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.envs.maze import add_maze_arguments, env_id, layout_from_name
from reward_preprocessing.rewards.ground_truth import maze_reward_net
from reward_preprocessing.rewards.io import save_reward_net


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_maze_arguments(parser)
    parser.add_argument("--out", required=True, help="model directory to write")
    args = parser.parse_args(argv)

    layout_name, _ = layout_from_name(args.maze)
    net, env_kwargs = maze_reward_net(args.maze, args.reward, args.shaping, args.gamma, args.shaping_seed)
    save_reward_net(net, args.out, env_id(layout_name), env_kwargs, metadata={"source": "ground_truth"})


if __name__ == "__main__":
    run(main)
