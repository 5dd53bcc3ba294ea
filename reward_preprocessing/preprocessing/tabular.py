"""The tabular preprocessing problem: a reward over a finite set of transitions.

A solver picks a potential phi (one value per state) and a shift c so that
``r'(s, a, s') = r(s, a, s') + gamma * phi(s') - phi(s) - c`` minimizes an
objective. This module holds the problem and the solution; `solvers` solves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.envs.maze import TabularModel
from reward_preprocessing.errors import UserError
from reward_preprocessing.shaping import shaped_reward


def neighbour_pairs(states: np.ndarray, next_states: np.ndarray) -> np.ndarray:
    """Unordered pairs {i, j}, i < j, of transitions that are neighbours.

    Transitions i and j are neighbours when they start in the same state, or
    one starts where the other ends (docs/architecture.md, "Shared formulas"). Returns an (P, 2) int array,
    sorted, so that the result is deterministic.
    """
    n = len(states)
    by_start: dict[int, list[int]] = {}
    for i, s in enumerate(states.tolist()):
        by_start.setdefault(s, []).append(i)
    pairs: set[tuple[int, int]] = set()
    for members in by_start.values():
        for a_i, i in enumerate(members):
            for j in members[a_i + 1 :]:
                pairs.add((i, j))
    for j, s_next in enumerate(next_states.tolist()):
        for i in by_start.get(s_next, ()):
            if i != j:
                pairs.add((min(i, j), max(i, j)))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    out = np.array(sorted(pairs), dtype=np.int64)
    assert out.max() < n
    return out


@dataclass
class TabularProblem:
    """Transitions (s, a, s') with their rewards, over `num_states` states."""

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    reward: np.ndarray
    num_states: int
    gamma: float
    _pairs: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.states = np.asarray(self.states, dtype=np.int64)
        self.actions = np.asarray(self.actions, dtype=np.int64)
        self.next_states = np.asarray(self.next_states, dtype=np.int64)
        self.reward = np.asarray(self.reward, dtype=np.float64)
        n = len(self.states)
        if n == 0:
            raise UserError("cannot preprocess an empty set of transitions")
        if not (len(self.actions) == len(self.next_states) == len(self.reward) == n):
            raise UserError("states, actions, next_states and reward must have the same length")
        if not np.isfinite(self.reward).all():
            bad = int((~np.isfinite(self.reward)).sum())
            raise UserError(f"reward contains {bad} NaN or infinite values; fix the reward model first")
        if self.states.min() < 0 or max(self.states.max(), self.next_states.max()) >= self.num_states:
            raise UserError(f"state indices must lie in [0, {self.num_states})")
        if not 0.0 < self.gamma <= 1.0:
            raise UserError(f"gamma must be in (0, 1], got {self.gamma}")

    @property
    def pairs(self) -> np.ndarray:
        """Neighbour pairs for the smooth objectives (computed once)."""
        if self._pairs is None:
            self._pairs = neighbour_pairs(self.states, self.next_states)
        return self._pairs

    def shaped(self, potential: np.ndarray, shift: float) -> np.ndarray:
        """r' for a given potential and shift."""
        return shaped_reward(self.reward, potential[self.states], potential[self.next_states], self.gamma, shift=shift)

    @classmethod
    def from_model(
        cls, model: TabularModel, reward_sa: np.ndarray | None = None, gamma: float | None = None
    ) -> TabularProblem:
        """Every (s, a) of a maze; `reward_sa` and `gamma` default to the maze's own."""
        states, actions, next_states = model.transitions()
        reward = model.reward if reward_sa is None else reward_sa
        return cls(states, actions, next_states, reward.reshape(-1), model.num_states,
                   model.gamma if gamma is None else gamma)


@dataclass
class Solution:
    """A preprocessing result and how it was found."""

    potential: np.ndarray
    shift: float
    preprocessed: np.ndarray
    objective: str
    value: float
    solver: str
    seconds: float
    iterations: int = 0
    converged: bool = True
    info: dict[str, Any] = field(default_factory=dict)

    def metrics(self) -> dict[str, Any]:
        """The `metrics.json` content (docs/architecture.md, "Preprocessed models")."""
        return {
            "objective": self.objective,
            "value": self.value,
            "solver": self.solver,
            "seconds": self.seconds,
            "iterations": self.iterations,
            "converged": self.converged,
            "shift": self.shift,
            **self.info,
        }


def reward_table(net: RewardNet, model: TabularModel) -> np.ndarray:
    """Evaluate any reward net on every (s, a, next_state[s, a]) of a maze, as (S, A)."""
    states, actions, next_states = model.transitions()
    dones = np.zeros(len(states), dtype=bool)  # a maze has no terminal states (episodes end by time limit)
    rewards = net.predict(states, actions, next_states, dones)
    return np.asarray(rewards, dtype=np.float64).reshape(model.num_states, model.num_actions)
