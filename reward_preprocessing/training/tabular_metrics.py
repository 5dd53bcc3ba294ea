"""How close a learned tabular reward is to the ground truth it was learned from.

Preferences determine a reward only up to a constant and the Boltzmann scale,
so we report scale-free measures: the Pearson correlation over every
transition, and whether planning on the learned reward acts optimally.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reward_preprocessing.envs.maze import TabularModel
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.value_iteration import value_iteration


def policy_value(model: TabularModel, reward_sa: np.ndarray, policy: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    """(S,) discounted value of a deterministic `policy` under `reward_sa` (iterative evaluation)."""
    states = np.arange(model.num_states)
    r = reward_sa[states, policy]
    successor = model.next_state[states, policy]
    v = np.zeros(model.num_states)
    for _ in range(100_000):
        v_new = r + model.gamma * v[successor]
        if np.abs(v_new - v).max() < tol * (1.0 - model.gamma):
            return v_new
        v = v_new
    return v


def compare_with_ground_truth(learned_sa: np.ndarray, model: TabularModel) -> dict[str, Any]:
    """Scale-free agreement of a learned (S, A) reward with the model's (shaped) reward.

    Returns:
        correlation: Pearson correlation over all S x A transitions.
        policy_agreement: fraction of states where the greedy action of value
            iteration on the learned reward is optimal for the ground truth
            (ground-truth ties all count as optimal).
        return_ratio: expected ground-truth return of that greedy policy from
            the start distribution, relative to the optimal one, both measured
            above the uniform-random policy's (1 = optimal, 0 = no better than random).
    """
    truth = model.reward
    if learned_sa.shape != truth.shape:
        raise UserError(f"learned reward has shape {learned_sa.shape}, expected {truth.shape}")
    if not 0.0 < model.gamma < 1.0:
        raise UserError(f"evaluating a learned reward needs 0 < gamma < 1, got {model.gamma}")
    learned = learned_sa.astype(np.float64)
    spread = learned.std() * truth.std()
    correlation = float(np.corrcoef(learned.ravel(), truth.ravel())[0, 1]) if spread > 0 else 0.0

    truth_vi = value_iteration(model.next_state, truth, model.gamma)
    greedy = value_iteration(model.next_state, learned, model.gamma).greedy_policy()
    agreement = float(truth_vi.optimal_actions()[np.arange(model.num_states), greedy].mean())

    v_greedy = float(model.initial @ policy_value(model, truth, greedy))
    v_opt = float(model.initial @ truth_vi.v)
    v_random = float(model.initial @ _random_policy_value(model, truth))
    ratio = (v_greedy - v_random) / (v_opt - v_random) if v_opt - v_random > 1e-12 else 1.0
    return {
        "correlation": correlation,
        "policy_agreement": agreement,
        "return_ratio": float(ratio),
        "optimal_return": v_opt,
        "greedy_return": v_greedy,
        "random_return": v_random,
    }


def _random_policy_value(model: TabularModel, reward_sa: np.ndarray, tol: float = 1e-10) -> np.ndarray:
    v = np.zeros(model.num_states)
    mean_r = reward_sa.mean(axis=1)
    for _ in range(100_000):
        v_new = mean_r + model.gamma * v[model.next_state].mean(axis=1)
        if np.abs(v_new - v).max() < tol * (1.0 - model.gamma):
            return v_new
        v = v_new
    return v
