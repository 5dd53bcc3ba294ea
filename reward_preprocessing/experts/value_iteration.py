"""Exact planning in tabular MDPs: the maze expert and our policy-invariance check."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reward_preprocessing.errors import UserError


@dataclass(frozen=True)
class ValueIterationResult:
    q: np.ndarray  # (S, A)
    v: np.ndarray  # (S,)
    iterations: int

    def optimal_actions(self, atol: float = 1e-6) -> np.ndarray:
        """(S, A) bool: actions within `atol` of the best (ties kept, not broken)."""
        return self.q >= self.v[:, None] - atol

    def greedy_policy(self) -> np.ndarray:
        """The lowest-index optimal action in each state (deterministic)."""
        return self.optimal_actions().argmax(axis=1)


def value_iteration(
    next_state: np.ndarray, reward_sa: np.ndarray, gamma: float, tol: float = 1e-10, max_iter: int = 100_000
) -> ValueIterationResult:
    """Infinite-horizon discounted value iteration on a deterministic MDP.

    Stops when the Bellman update moves V by less than ``tol * (1 - gamma)``,
    which bounds the error of V itself by `tol`.
    """
    if not 0.0 < gamma < 1.0:
        raise UserError(f"value iteration needs 0 < gamma < 1, got {gamma}")
    if not np.isfinite(reward_sa).all():
        raise UserError("reward contains NaN or infinite values")
    v = np.zeros(next_state.shape[0])
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        v_new = (reward_sa + gamma * v[next_state]).max(axis=1)
        change = np.abs(v_new - v).max()
        v = v_new
        if change < tol * (1.0 - gamma):
            break
    q = reward_sa + gamma * v[next_state]
    return ValueIterationResult(q=q, v=q.max(axis=1), iterations=iterations)
