"""Collect rollouts from an expert, a random policy or a mixture, saved in imitation's format.

Each --source is ``policy[:weight[:random_prob]]`` with policy ``expert`` or ``random``;
source i collects at least min_timesteps * weight_i / sum(weights) timesteps.

Example:
    python scripts/collect_rollouts.py --expert results/experts/mountain_car \
        --source expert:3:0.1 --source random:1 --min-timesteps 20000 --out results/rollouts/mountain_car
"""

from __future__ import annotations

import argparse
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import RolloutSource, check_sources, collect_rollouts, save_rollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.evaluation import task_kwargs
from reward_preprocessing.experts.store import load_expert
from reward_preprocessing.jsonargs import json_object

log = logging.getLogger("collect_rollouts")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert", help="expert directory (needed by 'expert' sources; names the env)")
    parser.add_argument("--env-id", help="env to roll out in (default: the expert's)")
    parser.add_argument("--env-kwargs", type=json_object, default=None,
                        help="JSON object of env options (default: the expert's, unshaped)")
    parser.add_argument("--source", action="append", type=RolloutSource.parse, default=None,
                        help="policy[:weight[:random_prob]], repeatable (default: expert)")
    parser.add_argument("--min-timesteps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--out", required=True, help="rollout directory to write")
    args = parser.parse_args(argv)

    sources = args.source or [RolloutSource()]
    check_sources(sources)  # before loading anything
    expert = load_expert(args.expert) if args.expert else None
    env_id = args.env_id or (expert.env_id if expert else None)
    if not env_id:
        raise UserError("name the env with --env-id or an expert directory with --expert")
    if expert is not None and expert.env_id and expert.env_id != env_id:
        raise UserError(f"the expert acts in {expert.env_id}, not in {env_id}")
    env_kwargs = args.env_kwargs
    if env_kwargs is None:
        env_kwargs = task_kwargs(expert.env_kwargs) if expert else {}
    trajectories = collect_rollouts(env_id, env_kwargs, sources, args.min_timesteps, args.seed,
                                    expert.policy if expert else None, args.n_envs)
    info = {"seed": args.seed, "min_timesteps": args.min_timesteps, "expert": args.expert,
            "sources": [vars(s) for s in sources]}
    save_rollouts(args.out, trajectories, env_id, env_kwargs, info)
    log.info("%s: %d trajectories, %d timesteps", args.out, len(trajectories), sum(len(t.acts) for t in trajectories))


if __name__ == "__main__":
    run(main)
