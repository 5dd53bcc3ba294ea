"""Save the exact reward of the shaped MountainCar as a reward-model directory.

Example:
    python scripts/make_mountain_car_reward.py --shaping dense \
        --out results/reward_models/ground_truth/mountain_car_dense
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.envs.mountain_car import ENV_ID, SHAPINGS
from reward_preprocessing.rewards.io import save_reward_net
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shaping", default="unshaped", help=f"one of {', '.join(SHAPINGS)}")
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--shaping-seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="model directory to write")
    args = parser.parse_args(argv)

    net, env_kwargs = mountain_car_reward_net(args.shaping, args.gamma, args.shaping_seed)
    save_reward_net(net, args.out, ENV_ID, env_kwargs, metadata={"source": "ground_truth"})


if __name__ == "__main__":
    run(main)
