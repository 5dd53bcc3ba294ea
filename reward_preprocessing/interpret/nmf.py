"""Non-negative matrix factorization over the channels of a layer ("Understanding RL Vision", Distill 2020).

Activations (N, C, H, W) are moved to channels-last and reshaped to (N·H·W, C), so every row is ONE position of
ONE observation and the factors are directions in channel space. (Reshaping (N, C, H, W) straight to (-1, C)
mixes channels and positions: that was a bug of the reference code.) NMF needs non-negative data: activations
are ReLU'd ("relu"), or signed data such as attributions are split into positive and negative parts, doubling the
channels ("posneg").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch as th
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning

from reward_preprocessing.errors import UserError

Split = Literal["relu", "posneg"]


def nonnegative(maps: th.Tensor, split: Split) -> th.Tensor:
    """(B, C, H, W) → (B, C', H, W) non-negative: ReLU (C' = C) or [relu(x), relu(-x)] (C' = 2C)."""
    if split == "relu":
        return th.relu(maps)
    if split == "posneg":
        return th.cat([th.relu(maps), th.relu(-maps)], dim=1)
    raise ValueError(f"unknown split {split!r}")


def channels_last_rows(maps: np.ndarray) -> np.ndarray:
    """(N, C, H, W) → (N·H·W, C): channels moved last first, so that rows are positions and columns channels."""
    if maps.ndim != 4:
        raise ValueError(f"expected (N, C, H, W) activations, got shape {maps.shape}")
    return np.ascontiguousarray(np.moveaxis(maps, 1, -1)).reshape(-1, maps.shape[1])


@dataclass(frozen=True)
class NmfResult:
    """Unit-norm directions (k, C') in the (split) channel space, and the fit's relative reconstruction error."""

    directions: np.ndarray
    relative_error: float
    rows: int


def check_n_features(n_features: int, channels: int, layer: str, split: Split = "relu") -> None:
    """More NMF features than columns (channels, doubled by the "posneg" split) cannot be a factorization; say so
    before any work."""
    columns = 2 * channels if split == "posneg" else channels
    if n_features > columns:
        doubled = f" ({columns} columns after the positive/negative split)" if split == "posneg" else ""
        raise UserError(
            f"asked for {n_features} NMF features of layer {layer!r}, which has only {channels} channels{doubled}; "
            f"use n_features <= {columns}"
        )


def fit_nmf(maps: np.ndarray, n_features: int, seed: int, max_rows: int = 0, max_iter: int = 500) -> NmfResult:
    """Factorize non-negative (N, C, H, W) maps as W·H over channels; the rows of H are the feature directions.

    Args:
        max_rows: if positive and N·H·W is larger, fit on this many rows drawn at random (seeded): rows are
            positions, so sampling them keeps the factorization over channels intact and bounds the cost.
    """
    if maps.min() < 0:
        raise ValueError("NMF input must be non-negative (ReLU it or split it first)")
    n, _, h, w = maps.shape
    if max_rows and n * h * w > max_rows:
        # Gather the sampled positions straight from (N, C, H, W): no full channels-last copy of a large layer.
        pick = np.sort(np.random.default_rng(seed).choice(n * h * w, max_rows, replace=False))
        i, y, x = np.unravel_index(pick, (n, h, w))
        rows = maps[i, :, y, x].astype(np.float64)
    else:
        rows = channels_last_rows(maps).astype(np.float64)
    model = NMF(n_components=n_features, init="nndsvda", random_state=seed, max_iter=max_iter)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(rows)
    components = model.components_
    norms = np.linalg.norm(components, axis=1, keepdims=True)
    directions = components / np.where(norms > 0, norms, 1.0)
    total = float(np.linalg.norm(rows))
    error = float(np.linalg.norm(rows - weights @ components)) / total if total > 0 else 0.0
    return NmfResult(directions.astype(np.float32), error, len(rows))
