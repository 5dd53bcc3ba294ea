"""Convert trajectories (.npz, or a pickled list with --trust-pickle, or a rollout directory) into a rollout directory.

The result is imitation's dataset directory plus rollouts.json naming the env, as every rule that reads
rollouts expects. A pickle is read only with --trust-pickle, through the allow-list unpickler.

Example:
    python scripts/convert_trajectories.py rollouts.pkl --env my_package/MyEnv-v0 \
        --out results/models/mine/rollouts --trust-pickle
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import save_rollouts
from reward_preprocessing.data.trajectory_files import load_trajectories
from reward_preprocessing.jsonargs import json_object


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trajectories", help="a .npz or .pkl file, or a rollout directory")
    parser.add_argument("--env", required=True, help="gymnasium id of the env the trajectories come from")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env kwargs")
    parser.add_argument("--trust-pickle", action="store_true", help="read a pickle through the allow-list")
    parser.add_argument("--out", required=True, help="rollout directory to write")
    args = parser.parse_args(argv)

    trajectories = load_trajectories(args.trajectories, trust_pickle=args.trust_pickle, env_id=args.env)
    save_rollouts(args.out, trajectories, args.env, args.env_kwargs, info={"source": "converted"})


if __name__ == "__main__":
    run(main)
