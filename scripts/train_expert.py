"""Train a stable-baselines3 expert and write its directory (model.zip, expert.json, metrics.json).

Example:
    python scripts/train_expert.py --env-id reward_preprocessing/MountainCar-v0 --algo dqn \
        --total-timesteps 120000 --hyperparams '{"learning_rate": 0.004}' --out results/experts/mountain_car
"""

from __future__ import annotations

import argparse
import logging
import time

import torch as th

from reward_preprocessing.cli import run
from reward_preprocessing.experts.evaluation import evaluate_policy
from reward_preprocessing.experts.sb3 import ALGOS, SB3ExpertConfig, train_sb3_expert
from reward_preprocessing.experts.store import save_expert
from reward_preprocessing.jsonargs import json_object

log = logging.getLogger("train_expert")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-id", required=True, help="a registered gymnasium id")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env options")
    parser.add_argument("--algo", required=True, choices=sorted(ALGOS))
    parser.add_argument("--total-timesteps", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-envs", type=int, default=1)
    parser.add_argument("--hyperparams", type=json_object, default={}, help="JSON object of SB3 constructor args")
    parser.add_argument("--policy-kwargs", type=json_object, default={}, help="JSON object, e.g. net_arch")
    parser.add_argument("--scale-observations", action="store_true", help="rescale Box observations to [-1, 1]")
    parser.add_argument("--select-every", type=int, default=0,
                        help="evaluate every this many steps and keep the best weights (0: keep the last)")
    parser.add_argument("--select-episodes", type=int, default=10, help="episodes per checkpoint evaluation")
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--eval-seed", type=int, default=10_000, help="episode i of the evaluation uses seed + i")
    parser.add_argument("--out", required=True, help="expert directory to write")
    args = parser.parse_args(argv)

    th.set_num_threads(1)  # one thread: reproducible weights, and parallel jobs do not compete for cores
    cfg = SB3ExpertConfig(args.env_id, args.algo, args.total_timesteps, args.seed, args.n_envs, args.env_kwargs,
                          args.hyperparams, args.policy_kwargs, args.scale_observations, args.select_every,
                          args.select_episodes)
    start = time.perf_counter()
    model, checkpoints = train_sb3_expert(cfg)
    train_seconds = time.perf_counter() - start
    evaluation = evaluate_policy(model, args.env_id, args.env_kwargs, args.eval_episodes, args.eval_seed)
    metrics = {
        **evaluation.metrics(),
        "algo": args.algo,
        "seed": args.seed,
        "total_timesteps": args.total_timesteps,
        "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - start - train_seconds,
        "checkpoints": checkpoints,
    }
    info = {"algo": args.algo, "seed": args.seed, "total_timesteps": args.total_timesteps, "n_envs": args.n_envs,
            "hyperparams": args.hyperparams, "policy_kwargs": args.policy_kwargs,
            "scale_observations": args.scale_observations, "select_every": args.select_every,
            "select_episodes": args.select_episodes}
    save_expert(args.out, model, args.env_id, args.env_kwargs, info, metrics)
    log.info("%s: success rate %.2f, return %.1f over %d episodes; trained in %.0fs", args.out,
             metrics["success_rate"], metrics["eval_return_mean"], args.eval_episodes, train_seconds)


if __name__ == "__main__":
    run(main)
