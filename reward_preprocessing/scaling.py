"""Rescaling Box observations to [-1, 1] by the space's bounds.

MountainCar's velocity spans only +-0.07 next to a position in [-1.2, 0.6]; a
network fed raw observations barely sees velocity. Reward nets, potentials and
the expert's features all use this fixed (not learned) rescaling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch as th
from gymnasium import spaces
from torch import nn

from reward_preprocessing.errors import UserError


def box_bounds(space: spaces.Space) -> tuple[list[float], list[float]]:
    """Flat (low, high) of a Box whose bounds are finite with high > low everywhere."""
    if not isinstance(space, spaces.Box):
        raise UserError(f"rescaling needs a Box observation space, got {space}")
    return space.low.astype(np.float64).ravel().tolist(), space.high.astype(np.float64).ravel().tolist()


class BoxScale(nn.Module):
    """``(x - centre) / half_width`` over flattened inputs; no weights (centre and width are buffers)."""

    def __init__(self, low: Sequence[float], high: Sequence[float]) -> None:
        super().__init__()
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        if lo.shape != hi.shape or lo.ndim != 1 or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise UserError("rescaling needs finite bounds of one flat shape")
        if not (hi > lo).all():
            raise UserError("rescaling needs high > low in every dimension")
        self.low, self.high = lo.tolist(), hi.tolist()
        self.register_buffer("centre", th.as_tensor((lo + hi) / 2, dtype=th.float32), persistent=False)
        self.register_buffer("half_width", th.as_tensor((hi - lo) / 2, dtype=th.float32), persistent=False)

    def forward(self, x: th.Tensor) -> th.Tensor:
        return (x.flatten(1).float() - self.centre) / self.half_width
