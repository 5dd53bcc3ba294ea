"""Preprocess a stored tabular reward model and write every artifact of the contract.

Output directory (docs/architecture.md, "Preprocessed models"): the preprocessed model (``model.safetensors`` +
``spec.json``), ``rewards.csv``, ``potential.csv`` and ``metrics.json``; it
appears complete or not at all.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import atomic_dir, write_csv, write_json
from reward_preprocessing.envs.maze import TabularModel
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import check_objective
from reward_preprocessing.preprocessing.solvers import solve
from reward_preprocessing.preprocessing.tabular import Solution, TabularProblem, reward_table
from reward_preprocessing.rewards.io import load_reward_net, read_spec, write_reward_net
from reward_preprocessing.rewards.tabular import TabularRewardNet
from reward_preprocessing.shaping import shaped_reward


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

