"""Rollout transitions to interpret a model on, their layer activations, and each feature's top examples.

Rollouts are either an imitation trajectory directory (`data.rollouts.load_rollouts`) or a train-procgen ``.npz``
file (`read_procgen_npz`). We take `n` transitions spread evenly over the dataset (deterministic), check that
their observations fit the model before any optimization, and rank them per feature by the maximum of the
feature's map, remembering the position of that maximum.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from torch import nn

from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.interpret.features import FeatureSet
from reward_preprocessing.interpret.layers import capture
from reward_preprocessing.interpret.transitions import ImageLayout, TransitionModel, transitions_from_arrays


@dataclass
class Transitions:
    """Raw transitions as stored: obs (N, *obs_shape), acts (N,), next_obs (N, *obs_shape), original indices."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)


def read_procgen_npz(path: str | os.PathLike) -> TransitionBatch:
    """Transitions of a train-procgen ``.npz`` (``render.py --traj_path``): obs has one extra frame per trajectory.

    ``indices`` holds the cumulative transition counts at which trajectories end (imitation's layout), so the
    observations split at ``indices + arange + 1``. ``infos`` is a pickled object array and is never read.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            obs, acts, indices = data["obs"], data["acts"], data["indices"]
    except KeyError as e:
        raise ArtifactError(f"{path}: not a train-procgen trajectory file (missing array {e})") from e
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path}: cannot read as .npz ({e})") from e
    acts = np.asarray(acts, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    if len(obs) != len(acts) + len(indices) + 1:
        raise ArtifactError(f"{path}: {len(obs)} observations do not fit {len(acts)} actions in "
                            f"{len(indices) + 1} trajectories")
    obs_parts = np.split(obs, indices + np.arange(len(indices)) + 1)
    act_parts = np.split(acts, indices)
    o, a, n, ids = [], [], [], []
    for i, (traj_obs, traj_acts) in enumerate(zip(obs_parts, act_parts, strict=True)):
        o.append(traj_obs[:-1])
        n.append(traj_obs[1:])
        a.append(traj_acts)
        ids.append(np.full(len(traj_acts), i))
    return TransitionBatch(np.concatenate(o), np.concatenate(a), np.concatenate(n),
                           np.zeros(len(acts), dtype=bool), np.concatenate(ids))


def load_transitions(path: str | os.PathLike, layout: ImageLayout, n: int) -> Transitions:
    """`n` transitions (all if fewer) evenly spaced over the rollouts at `path`, checked against the model.

    Raises:
        UserError: the observations do not have the model's observation shape.
    """
    path = Path(path)
    is_npz = path.suffix == ".npz"
    batch = read_procgen_npz(path) if is_npz else TransitionBatch.from_trajectories(load_rollouts(path))
    shape = tuple(batch.obs.shape[1:])
    if shape != layout.obs_shape:
        raise UserError(f"{path}: observations have shape {shape}, but the model takes {layout.obs_shape}")
    if len(batch.acts) and (batch.acts.min() < 0 or batch.acts.max() >= layout.n_actions):
        raise UserError(f"{path}: actions {batch.acts.min()}..{batch.acts.max()} do not fit the model's "
                        f"{layout.n_actions} actions")
    if len(batch) == 0:
        raise UserError(f"{path}: no transitions")
    index = np.unique(np.linspace(0, len(batch) - 1, num=min(n, len(batch))).round().astype(np.int64))
    return Transitions(batch.obs[index], batch.acts[index], batch.next_obs[index], index)


def tensor_of(data: Transitions, layout: ImageLayout, rows: np.ndarray | slice = slice(None)) -> th.Tensor:
    return transitions_from_arrays(data.obs[rows], data.acts[rows], data.next_obs[rows], layout)


def layer_activations(model: TransitionModel, layer: nn.Module, data: Transitions, batch_size: int = 256
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, H, W) activations of `layer` and (N,) rewards of every transition."""
    device = next(model.parameters()).device
    acts, rewards = [], []
    with th.no_grad(), capture(layer) as store:
        for i in range(0, len(data), batch_size):
            x = tensor_of(data, model.layout, slice(i, i + batch_size)).to(device)
            rewards.append(model(x).cpu().numpy())
            acts.append(store["output"].cpu().numpy())
    return np.concatenate(acts), np.concatenate(rewards)


@dataclass(frozen=True)
class Example:
    """One dataset example of a feature: which transition, its value, where (in input pixels), its reward."""

    row: int  # row in the loaded Transitions
    index: int  # index in the whole rollout dataset
    value: float
    position: tuple[float, float]  # (y, x) centre of the strongest position, in input pixels
    reward: float
    action: int


@dataclass(frozen=True)
class Peaks:
    """Per transition and feature, the maximum of the feature's map and where it is (flat index into (h, w))."""

    values: np.ndarray  # (N, K)
    positions: np.ndarray  # (N, K)
    map_hw: tuple[int, int]


def feature_peaks(features: FeatureSet, activations: np.ndarray, batch_size: int = 256) -> Peaks:
    """Peaks of every feature's map over stored (N, C, H, W) activations, in chunks (maps never all in memory)."""
    values, positions = [], []
    hw = activations.shape[2:]
    for i in range(0, len(activations), batch_size):
        maps = features.maps(th.as_tensor(activations[i : i + batch_size])).flatten(2)
        best = maps.max(dim=2)
        values.append(best.values.numpy())
        positions.append(best.indices.numpy())
    return Peaks(np.concatenate(values), np.concatenate(positions), (int(hw[0]), int(hw[1])))


def top_examples(peaks: Peaks, data: Transitions, rewards: np.ndarray, k: int,
                 input_hw: tuple[int, int]) -> list[list[Example]]:
    """Per feature, the `k` transitions whose map reaches the highest maximum, best first."""
    h, w = peaks.map_hw
    out = []
    for f in range(peaks.values.shape[1]):
        # Stable sort on -value: ties keep dataset order, so the ranking is deterministic.
        order = np.argsort(-peaks.values[:, f], kind="stable")[:k]
        examples = []
        for row in order:
            py, px = divmod(int(peaks.positions[row, f]), w)
            pos = ((py + 0.5) * input_hw[0] / h, (px + 0.5) * input_hw[1] / w)
            examples.append(Example(int(row), int(data.index[row]), float(peaks.values[row, f]), pos,
                                    float(rewards[row]), int(data.acts[row])))
        out.append(examples)
    return out
