"""Trajectories flattened into transitions that remember their episode and time order.

Smoothness objectives compare consecutive transitions of one trajectory, and
supervised training splits by trajectory, so every transition keeps its
episode id and the arrays stay in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from imitation.data.types import Trajectory
from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.errors import UserError


@dataclass
class TransitionBatch:
    """(N, ...) arrays in trajectory order; ``episode_ids[i]`` is the trajectory of transition i."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray
    episode_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)

    @classmethod
    def from_trajectories(cls, trajectories: Sequence[Trajectory]) -> TransitionBatch:
        if not trajectories:
            raise UserError("no trajectories given")
        obs, acts, next_obs, dones, ids = [], [], [], [], []
        for i, t in enumerate(trajectories):
            n = len(t.acts)
            obs.append(np.asarray(t.obs[:-1]))
            next_obs.append(np.asarray(t.obs[1:]))
            acts.append(np.asarray(t.acts))
            # Every env here has a fixed horizon: episodes end by time limit, never in a terminal
            # state, so no transition is "done" and a potential keeps its value at the last step.
            dones.append(np.zeros(n, dtype=bool))
            ids.append(np.full(n, i, dtype=np.int64))
        return cls(np.concatenate(obs), np.concatenate(acts), np.concatenate(next_obs), np.concatenate(dones),
                   np.concatenate(ids))

    def select(self, mask: np.ndarray) -> TransitionBatch:
        return TransitionBatch(self.obs[mask], self.acts[mask], self.next_obs[mask], self.dones[mask],
                               self.episode_ids[mask])

    def rewards(self, net: RewardNet, chunk: int = 8192) -> np.ndarray:
        """The net's reward on every transition (float64), in chunks."""
        out = [
            net.predict(self.obs[i : i + chunk], self.acts[i : i + chunk], self.next_obs[i : i + chunk],
                        self.dones[i : i + chunk])
            for i in range(0, len(self), chunk)
        ]
        return np.concatenate(out).astype(np.float64)

    def preprocessed_obs(self, net: RewardNet, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
        """obs and next_obs as the net's forward sees them (one-hot for Discrete, float for Box)."""
        states, next_states = [], []
        for i in range(0, len(self), chunk):
            s, _, s_next, _ = net.preprocess(self.obs[i : i + chunk], self.acts[i : i + chunk],
                                             self.next_obs[i : i + chunk], self.dones[i : i + chunk])
            states.append(s.cpu().numpy())
            next_states.append(s_next.cpu().numpy())
        return np.concatenate(states), np.concatenate(next_states)
