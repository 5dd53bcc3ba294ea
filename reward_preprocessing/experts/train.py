"""The expert stage: train or plan an expert, evaluate it on its task and write its directory."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from typing import Any

from reward_preprocessing.devices import set_threads
from reward_preprocessing.envs.maze import REWARDS, check_choice, env_id, layout_from_name
from reward_preprocessing.experts.evaluation import evaluate_policy
from reward_preprocessing.experts.sb3 import ExpertSettings, train_sb3_expert
from reward_preprocessing.experts.store import save_expert
from reward_preprocessing.experts.tabular import optimal_maze_policy

log = logging.getLogger(__name__)


def train_expert_stage(
    env_id: str, env_kwargs: dict[str, Any], settings: ExpertSettings, out: str | os.PathLike, threads: int = 1,
    progress: bool = True,
) -> dict[str, Any]:
    """Train an SB3 expert in `env_id` with `env_kwargs`, evaluate it on the unshaped task, write `out`.

    Returns the metrics written to metrics.json.
    """
    set_threads(threads)
    start = time.perf_counter()
    model, checkpoints = train_sb3_expert(env_id, env_kwargs, settings, progress=progress)
    train_seconds = time.perf_counter() - start
    evaluation = evaluate_policy(model, env_id, env_kwargs, settings.eval_episodes, settings.eval_seed,
                                 progress=progress)
    metrics = {
        **evaluation.metrics(),
        "algo": settings.algo,
        "seed": settings.seed,
        "total_timesteps": settings.total_timesteps,
        "train_seconds": train_seconds,
        "eval_seconds": time.perf_counter() - start - train_seconds,
        "checkpoints": checkpoints,
    }
    save_expert(out, model, env_id, env_kwargs, settings.info(), metrics)
    log.info("%s: success rate %.2f, return %.1f over %d episodes; trained in %.0fs", out, metrics["success_rate"],
             metrics["eval_return_mean"], settings.eval_episodes, train_seconds)
    return metrics


@dataclass
class MazeExpertSettings:
    """The optimal policy of one maze's unshaped reward by value iteration, and its evaluation."""

    maze: str
    reward: str
    gamma: float = 0.99
    eval_episodes: int = 50
    eval_seed: int = 10_000

    def __post_init__(self) -> None:
        layout_from_name(self.maze)
        check_choice("reward", self.reward, REWARDS)


def maze_expert_stage(settings: MazeExpertSettings, out: str | os.PathLike) -> dict[str, Any]:
    """Plan the maze's optimal policy, evaluate it and write the expert directory `out`."""
    layout_name, _ = layout_from_name(settings.maze)
    maze_id = env_id(layout_name)
    env_kwargs = {"reward": settings.reward, "shaping": "unshaped", "gamma": settings.gamma}
    start = time.perf_counter()
    policy = optimal_maze_policy(maze_id, env_kwargs, settings.gamma)
    plan_seconds = time.perf_counter() - start
    evaluation = evaluate_policy(policy, maze_id, env_kwargs, settings.eval_episodes, settings.eval_seed)
    metrics = {**evaluation.metrics(), "algo": "value_iteration", "plan_seconds": plan_seconds,
               "eval_seconds": time.perf_counter() - start - plan_seconds}
    save_expert(out, policy, maze_id, env_kwargs, {"algo": "value_iteration", "gamma": settings.gamma}, metrics)
    log.info("%s: success rate %.2f, return %.3f over %d episodes", out, metrics["success_rate"],
             metrics["eval_return_mean"], settings.eval_episodes)
    return metrics
