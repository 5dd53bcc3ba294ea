"""Compute the optimal maze policy by value iteration and write it as an expert directory.

Example:
    python scripts/maze_expert.py --maze maze10 --reward goal --out results/experts/maze10_goal
"""

from __future__ import annotations

import argparse
import logging
import time

from reward_preprocessing.cli import run
from reward_preprocessing.envs.maze import REWARDS, env_id, layout_from_name
from reward_preprocessing.experts.evaluation import evaluate_policy
from reward_preprocessing.experts.store import save_expert
from reward_preprocessing.experts.tabular import optimal_maze_policy

log = logging.getLogger("maze_expert")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--maze", required=True, help="maze4, maze10, keymaze6 or keymaze10")
    parser.add_argument("--reward", required=True, choices=REWARDS)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--eval-seed", type=int, default=10_000, help="episode i of the evaluation uses seed + i")
    parser.add_argument("--out", required=True, help="expert directory to write")
    args = parser.parse_args(argv)

    layout_name, _ = layout_from_name(args.maze)
    env_kwargs = {"reward": args.reward, "shaping": "unshaped", "gamma": args.gamma}
    start = time.perf_counter()
    policy = optimal_maze_policy(env_id(layout_name), env_kwargs, args.gamma)
    plan_seconds = time.perf_counter() - start
    evaluation = evaluate_policy(policy, env_id(layout_name), env_kwargs, args.eval_episodes, args.eval_seed)
    metrics = {**evaluation.metrics(), "algo": "value_iteration", "plan_seconds": plan_seconds,
               "eval_seconds": time.perf_counter() - start - plan_seconds}
    save_expert(args.out, policy, env_id(layout_name), env_kwargs, {"algo": "value_iteration", "gamma": args.gamma},
                metrics)
    log.info("%s: success rate %.2f, return %.3f over %d episodes", args.out, metrics["success_rate"],
             metrics["eval_return_mean"], args.eval_episodes)


if __name__ == "__main__":
    run(main)
