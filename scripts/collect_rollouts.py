"""Collect rollouts of an expert (mixed with a random policy) on its unshaped task, in imitation's format.

Example:
    python scripts/collect_rollouts.py --expert results/experts/{env} \
        --settings '{"min_timesteps": 20000, "sources": [{"policy": "expert", "weight": 3, "random_prob": 0.1}]}' \
        --out results/rollouts/{env}
With --curve: the expert alone for curve_timesteps steps (the rollout reward curves are drawn along).

Your own stable-baselines3 policy (PPO, A2C, DQN) in the expert's place: --policy ZIP --env ID --trust-pickle
(an SB3 zip holds pickles; it is read through the allow-list unpickler, never with SB3's own load).
"""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import RolloutSettings
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.rollouts_run import collect_policy_rollouts_stage, collect_rollouts_stage
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--expert", help="expert directory (names the env)")
    source.add_argument("--policy", help="a stable-baselines3 model zip (needs --env and --trust-pickle)")
    parser.add_argument("--env", help="gymnasium id of the env the --policy acts in")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env kwargs (--policy)")
    parser.add_argument("--trust-pickle", action="store_true", help="read the --policy zip through the allow-list")
    add_settings_argument(parser, RolloutSettings)
    parser.add_argument("--curve", action="store_true", help="the curve rollout instead of the mixture")
    parser.add_argument("--out", required=True, help="rollout directory to write")
    args = parser.parse_args(argv)
    settings = parse_settings(RolloutSettings, args.settings)
    if args.policy is None:
        collect_rollouts_stage(args.expert, settings, args.out, curve=args.curve)
        return
    if not args.env:
        raise UserError("--policy needs --env (the gymnasium id of the env the policy acts in)")
    collect_policy_rollouts_stage(args.policy, args.env, args.env_kwargs, settings, args.out,
                                  trust_pickle=args.trust_pickle, curve=args.curve)


if __name__ == "__main__":
    run(main)
