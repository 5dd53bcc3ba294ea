"""Regress an MLP reward net on rollouts, labelled by a target reward model; split by trajectory.

Example:
    python scripts/train_reward_supervised.py --rollouts results/rollouts/mountain_car \
        --target results/reward_models/ground_truth/mountain_car_dense \
        --out results/reward_models/learned/mountain_car_dense
"""

from __future__ import annotations

import argparse
import logging

import torch as th

from reward_preprocessing.artifacts import atomic_dir, write_json
from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.rewards.io import load_reward_net, read_spec, write_reward_net
from reward_preprocessing.rewards.mlp import MlpRewardNet
from reward_preprocessing.training.supervised import SupervisedConfig, train_supervised

log = logging.getLogger("train_reward_supervised")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", required=True, help="rollout directory (imitation format)")
    parser.add_argument("--target", required=True, help="reward-model directory that labels the transitions")
    parser.add_argument("--hidden-sizes", type=int, nargs="+", default=[64, 64])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="model directory to write (plus metrics.json)")
    args = parser.parse_args(argv)

    th.set_num_threads(1)  # reproducible weights; parallel jobs do not compete for cores
    cfg = SupervisedConfig(args.epochs, args.batch_size, args.lr, args.test_fraction, args.seed)
    spec = read_spec(args.target)
    target = load_reward_net(args.target)
    env = spec.get("env", {})
    data = TransitionBatch.from_trajectories(
        load_rollouts(args.rollouts, env_id=env.get("id"), obs_shape=target.observation_space.shape)
    )
    th.manual_seed(args.seed)
    net = MlpRewardNet(target.observation_space, target.action_space, hid_sizes=args.hidden_sizes)
    result = train_supervised(net, data, data.rewards(target), cfg)
    metadata = {"source": "learned", "method": "supervised", "target": args.target, "rollouts": args.rollouts}
    with atomic_dir(args.out) as tmp:  # model and metrics appear together or not at all
        write_reward_net(net, tmp, env.get("id", ""), env.get("kwargs", {}), metadata=metadata)
        write_json(tmp / "metrics.json", {**result.metrics, "loss_history": result.history})
    log.info("%s: test MSE %.4g (target variance %.4g), test correlation %s", args.out,
             result.metrics["test_mse"], result.metrics["test_target_var"], result.metrics["test_pearson"])


if __name__ == "__main__":
    run(main)
