"""Preprocess a stored tabular reward model and write every artifact of the contract.

Output directory (docs/architecture.md, "Preprocessed models"): the preprocessed model (``model.safetensors`` +
``spec.json``), ``rewards.csv``, ``potential.csv`` and ``metrics.json``; it
appears complete or not at all.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import atomic_dir, write_csv, write_json
from reward_preprocessing.envs.maze import REWARDS, SHAPINGS, TabularModel, check_choice, env_id, layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, check_objective
from reward_preprocessing.preprocessing.solvers import solve
from reward_preprocessing.preprocessing.tabular import Solution, TabularProblem, reward_table
from reward_preprocessing.rewards.ground_truth import maze_reward_net
from reward_preprocessing.rewards.io import load_reward_net, read_spec, save_reward_net, write_reward_net
from reward_preprocessing.rewards.tabular import TabularRewardNet
from reward_preprocessing.shaping import shaped_reward

log = logging.getLogger(__name__)


def tabular_model_of(spec: dict[str, Any]) -> TabularModel:
    """Rebuild the env a model was saved for and return its full tabular model."""
    env_spec = spec.get("env", {})
    env_id = env_spec.get("id")
    if env_id not in gym.registry:
        raise UserError(f"model's env {env_id!r} is not a registered env of this library")
    env = gym.make(env_id, **env_spec.get("kwargs", {})).unwrapped
    if not hasattr(env, "tabular_model"):
        raise UserError(f"env {env_id} is not tabular; use neural preprocessing (preprocessing/neural.py) instead")
    return env.tabular_model()


def preprocessed_net(net: Any, model: TabularModel, solution: Solution, gamma: float) -> TabularRewardNet:
    """The preprocessed reward as a tabular net, defined on every (s, a, s')."""
    phi = solution.potential
    if isinstance(net, TabularRewardNet):
        base = net.table.detach().cpu().numpy().astype(np.float64)
        table = shaped_reward(base, phi[:, None, None], phi[None, None, :], gamma, shift=solution.shift)
        return TabularRewardNet.from_table(table, net.observation_space, net.action_space)
    reward_sa = solution.preprocessed.reshape(model.num_states, model.num_actions)
    return TabularRewardNet.from_transitions(reward_sa, model.next_state, net.observation_space, net.action_space)


def preprocess_model_dir(
    model_dir: str | os.PathLike,
    objective: str,
    out_dir: str | os.PathLike,
    solver: str = "auto",
    gamma: float | None = None,
) -> Solution:
    """Preprocess the model in `model_dir` for `objective` and write `out_dir`."""
    check_objective(objective)
    spec = read_spec(model_dir)  # the env it names gives the transitions to preprocess over
    net = load_reward_net(model_dir)
    model = tabular_model_of(spec)
    original = reward_table(net, model)
    problem = TabularProblem.from_model(model, original, gamma)
    solution = solve(problem, objective, solver)

    states, actions, next_states = model.transitions()
    with atomic_dir(out_dir) as tmp:
        write_reward_net(
            preprocessed_net(net, model, solution, problem.gamma),
            tmp,
            spec["env"]["id"],
            spec["env"].get("kwargs", {}),
            metadata={"preprocessed_from": str(model_dir), "objective": objective, "solver": solution.solver},
        )
        write_csv(
            tmp / "rewards.csv",
            ["state", "action", "next_state", "original", "preprocessed"],
            zip(states, actions, next_states, original.reshape(-1), solution.preprocessed, strict=True),
        )
        write_csv(tmp / "potential.csv", ["state", "potential"], enumerate(solution.potential))
        write_json(tmp / "metrics.json", {**solution.metrics(), "gamma": problem.gamma, "model": str(model_dir)})
    return solution



@dataclass
class TabularPreprocessSettings:
    """Tabular preprocessing (config: ``preprocessing``, ``gamma`` and ``objectives``).

    Attributes:
        solver: ``auto`` (exact LP for L1 objectives, majorize-minimize for log ones), ``lp``, ``mm`` or
            ``adam`` (the reference recipe).
        gamma: discount of the shaping; None takes the model env's.
        objectives: the objectives to preprocess each model for, one output directory each.
    """

    solver: Literal["auto", "lp", "mm", "adam"] = "auto"
    gamma: float | None = None
    objectives: list[str] = field(default_factory=lambda: list(OBJECTIVES))

    def __post_init__(self) -> None:
        for objective in self.objectives:
            check_objective(objective)


@dataclass
class MazeGridSettings:
    """The ground-truth grid of one maze: every reward x shaping as a model, each preprocessed per objective."""

    maze: str
    rewards: list[str] = field(default_factory=lambda: list(REWARDS))
    shapings: list[str] = field(default_factory=lambda: list(SHAPINGS))
    shaping_seed: int = 0
    gamma: float = 0.99
    preprocessing: TabularPreprocessSettings = field(default_factory=TabularPreprocessSettings)

    def __post_init__(self) -> None:
        layout_from_name(self.maze)
        for reward in self.rewards:
            check_choice("reward", reward, REWARDS)
        for shaping in self.shapings:
            check_choice("shaping", shaping, SHAPINGS)

    def run_name(self, reward: str, shaping: str) -> str:
        """``{maze}_{reward}_{shaping}``: the directory name of one model (docs/architecture.md, artifacts)."""
        return f"{self.maze}_{reward}_{shaping}"


def preprocess_objectives(
    model_dir: str | os.PathLike, settings: TabularPreprocessSettings, out_root: str | os.PathLike
) -> dict[str, Solution]:
    """Preprocess one model for every objective of `settings`, into ``out_root/<objective>``."""
    solutions = {}
    for objective in settings.objectives:
        solutions[objective] = solution = preprocess_model_dir(
            model_dir, objective, Path(out_root, objective), settings.solver, settings.gamma
        )
        log.info("%s: %s = %.6g with %s in %.3fs", model_dir, objective, solution.value, solution.solver,
                 solution.seconds)
    return solutions


def maze_grid_stage(
    settings: MazeGridSettings, models_root: str | os.PathLike, preprocessed_root: str | os.PathLike
) -> int:
    """Write every ground-truth model of the maze (``models_root/<run>``) and its preprocessed directories
    (``preprocessed_root/<run>/<objective>``) in one process; returns the number of preprocessed models.

    One process instead of one per model: the solves take milliseconds, starting Python and torch seconds.
    """
    layout_name, _ = layout_from_name(settings.maze)
    count = 0
    for reward in settings.rewards:
        for shaping in settings.shapings:
            run = settings.run_name(reward, shaping)
            net, env_kwargs = maze_reward_net(settings.maze, reward, shaping, settings.gamma, settings.shaping_seed)
            model_dir = Path(models_root, run)
            save_reward_net(net, model_dir, env_id(layout_name), env_kwargs, metadata={"source": "ground_truth"})
            count += len(preprocess_objectives(model_dir, settings.preprocessing, Path(preprocessed_root, run)))
    return count
