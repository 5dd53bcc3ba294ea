"""Train a stable-baselines3 expert and write its directory (model.zip, expert.json, metrics.json).

Example:
    python scripts/train_expert.py --env-id <gymnasium id> \
        --settings '{"algo": "dqn", "total_timesteps": 120000, "hyperparams": {"learning_rate": 0.004}}' \
        --out results/experts/{env}
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.experts.sb3 import ExpertSettings
from reward_preprocessing.experts.train import train_expert_stage
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True, help="a registered gymnasium id")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env options")
    add_settings_argument(parser, ExpertSettings)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", required=True, help="expert directory to write")
    args = parser.parse_args(argv)
    settings = parse_settings(ExpertSettings, args.settings)
    train_expert_stage(args.env_id, {**args.env_kwargs, **settings.env_kwargs}, settings, args.out, args.threads)


if __name__ == "__main__":
    run(main)
