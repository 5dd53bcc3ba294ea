"""Save the exact reward of a (shaped) non-tabular env as a reward-model directory.

Example:
    python scripts/env_ground_truth.py --env-id <gymnasium id> \
        --env-kwargs '{"shaping": "dense", "gamma": 0.99, "shaping_seed": 0}' \
        --out results/reward_models/ground_truth/{env}_dense
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.rewards.env_ground_truth import ground_truth_stage


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True, help="a registered gymnasium id with a ground-truth reward")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env options")
    parser.add_argument("--out", required=True, help="model directory to write")
    args = parser.parse_args(argv)
    ground_truth_stage(args.env_id, args.env_kwargs, args.out)


if __name__ == "__main__":
    run(main)
