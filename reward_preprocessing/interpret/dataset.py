"""Rollout transitions to interpret a model on, their layer activations, and each feature's top examples.

Rollouts are read by the project's readers: an image rollout directory or a train-procgen ``.npz`` through
`data.image_rollouts.open_image_rollouts` (small arrays first, no pickle; frames read from disk only for the
transitions taken), or an imitation trajectory directory through `data.rollouts.load_rollouts`. We take `n`
transitions spread evenly over the dataset (deterministic), check that their observations and actions fit the
model before any frame is read, and rank them per feature by the maximum of the feature's map, remembering the
position of that maximum.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch as th
from torch import nn

from reward_preprocessing.data.image_rollouts import FORMAT as IMAGE_ROLLOUTS_FORMAT
from reward_preprocessing.data.image_rollouts import open_image_rollouts
from reward_preprocessing.data.rollouts import load_rollouts, read_rollout_meta
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import UserError
from reward_preprocessing.interpret.features import FeatureSet
from reward_preprocessing.interpret.layers import capture
from reward_preprocessing.interpret.transitions import ImageLayout, TransitionModel, transitions_from_arrays

_READ_BATCH = 256  # transitions read from disk at a time


@dataclass
class Transitions:
    """Raw transitions as stored: obs (N, *obs_shape), acts (N,), next_obs (N, *obs_shape), original indices."""

    obs: np.ndarray
    acts: np.ndarray
    next_obs: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.acts)


def _spread(total: int, n: int) -> np.ndarray:
    """`n` indices (all if fewer) evenly spaced over [0, total), sorted and unique."""
    return np.unique(np.linspace(0, total - 1, num=min(n, total)).round().astype(np.int64))


def _check_fits(where: str | os.PathLike, obs_shape: tuple[int, ...], acts: np.ndarray, layout: ImageLayout) -> None:
    """Refuse rollouts the model cannot read (one line each), before any frame is read."""
    if tuple(obs_shape) != layout.obs_shape:
        raise UserError(f"{where}: observations have shape {tuple(obs_shape)}, but the model takes {layout.obs_shape}")
    if len(acts) == 0:
        raise UserError(f"{where}: no transitions")
    if acts.min() < 0 or acts.max() >= layout.n_actions:
        raise UserError(f"{where}: actions {acts.min()}..{acts.max()} do not fit the model's "
                        f"{layout.n_actions} actions")


def _is_image_rollouts_dir(path: Path) -> bool:
    return path.is_dir() and read_rollout_meta(path).get("format") == IMAGE_ROLLOUTS_FORMAT


def load_transitions(path: str | os.PathLike, layout: ImageLayout, n: int) -> Transitions:
    """`n` transitions (all if fewer) evenly spaced over the rollouts at `path`, checked against the model.

    Raises:
        UserError: the observations do not have the model's observation shape, or the actions do not fit.
    """
    path = Path(path)
    if path.suffix == ".npz" or _is_image_rollouts_dir(path):
        return _from_image_rollouts(path, layout, n)
    # An imitation dataset loads whole (its format has no random access); its metadata is checked first.
    batch = TransitionBatch.from_trajectories(load_rollouts(path, obs_shape=layout.obs_shape))
    acts = np.asarray(batch.acts)
    _check_fits(path, tuple(batch.obs.shape[1:]), acts, layout)
    index = _spread(len(batch), n)
    return Transitions(batch.obs[index], acts[index], batch.next_obs[index], index)


def _from_image_rollouts(path: Path, layout: ImageLayout, n: int) -> Transitions:
    """The chosen transitions of an image rollout directory or ``.npz``, read in batches (never the whole set)."""
    rollouts = open_image_rollouts(path)
    _check_fits(path, rollouts.obs_shape, rollouts.acts, layout)
    index = _spread(len(rollouts), n)
    obs = np.empty((len(index), *rollouts.obs_shape), dtype=np.uint8)
    next_obs = np.empty_like(obs)
    for i in range(0, len(index), _READ_BATCH):
        o, nx = rollouts.transitions(index[i : i + _READ_BATCH])
        obs[i : i + len(o)], next_obs[i : i + len(o)] = o, nx
    rollouts.frames.close()
    return Transitions(obs, rollouts.acts[index], next_obs, index)


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
