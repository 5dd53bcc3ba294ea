"""Regress a reward net on rollouts, labelled by a target reward model or by the rollouts' own rewards.

Example:
    python scripts/train_reward_model.py --rollouts results/rollouts/{env} \
        --target results/reward_models/ground_truth/{env}_dense \
        --settings '{"kind": "mlp", "epochs": 60}' --out results/reward_models/learned/{env}_dense
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.settings import add_settings_argument, parse_settings
from reward_preprocessing.training.reward_models import train_reward_model_stage
from reward_preprocessing.training.supervised import RewardModelSettings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", required=True, help="rollout directory (imitation format)")
    parser.add_argument("--target", help="reward-model directory that labels the transitions (labels: ground_truth)")
    add_settings_argument(parser, RewardModelSettings)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", required=True, help="model directory to write (plus metrics.json)")
    args = parser.parse_args(argv)
    settings = parse_settings(RewardModelSettings, args.settings)
    train_reward_model_stage(args.rollouts, settings, args.out, args.target, args.threads)


if __name__ == "__main__":
    run(main)
