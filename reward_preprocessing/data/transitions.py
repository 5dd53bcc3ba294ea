"""Trajectories flattened into transitions that remember their episode and time order.

Smoothness objectives compare consecutive transitions of one trajectory, and
supervised training splits by trajectory, so every transition keeps its
episode id and the arrays stay in time order.

``done`` is the env's real termination flag: only the last transition of a
trajectory that ended by *termination* (``trajectory.terminal``) is done. An
episode cut off by a time limit is truncated, not terminated: its last next
state still has a potential, so shaping keeps ``gamma * phi(s')`` there.
imitation's rollout collection marks every finished episode terminal, time
limits included; `honest_terminal` corrects that from the episode's last info
(docs/architecture.md, "Transitions").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from imitation.data.types import Trajectory, TrajectoryWithRew
from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.errors import UserError

TRUNCATED_KEY = "TimeLimit.truncated"  # what SB3's VecEnvs put in the info of a step cut off by a time limit


def honest_terminal(trajectory: TrajectoryWithRew) -> TrajectoryWithRew:
    """The trajectory with ``terminal`` True only if its episode ended by termination, not by a time limit.

    imitation's `generate_trajectories` sets ``terminal=True`` on every finished
    episode; the last step's info says whether the env truncated it. Needs the
    infos (call before dropping them).
    """
    if trajectory.infos is None or len(trajectory.infos) == 0:
        raise UserError("cannot tell termination from truncation: the trajectory has no infos")
    truncated = bool(trajectory.infos[-1].get(TRUNCATED_KEY, False))
    return dataclasses.replace(trajectory, terminal=bool(trajectory.terminal) and not truncated)


def trajectory_dones(trajectory: Trajectory) -> np.ndarray:
    """(len,) done flags: True only on the last transition of a terminated trajectory."""
    dones = np.zeros(len(trajectory.acts), dtype=bool)
    if trajectory.terminal and len(dones):
        dones[-1] = True
    return dones


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
            dones.append(trajectory_dones(t))
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
