"""Gymnasium spaces to and from plain JSON (no pickling)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from reward_preprocessing.errors import UserError


def _bound(values: np.ndarray) -> Any:
    """A scalar when the bound is uniform (image spaces), else the full list."""
    flat = np.unique(values)
    return flat.item() if flat.size == 1 else values.tolist()


def space_to_json(space: spaces.Space) -> dict[str, Any]:
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).name,
            "low": _bound(space.low),
            "high": _bound(space.high),
        }
    raise UserError(f"cannot store a space of type {type(space).__name__}; use Discrete or Box")


def space_from_json(data: dict[str, Any]) -> spaces.Space:
    kind = data.get("type")
    if kind == "Discrete":
        return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
    if kind == "Box":
        shape = tuple(int(d) for d in data["shape"])
        dtype = np.dtype(data["dtype"])
        low = np.broadcast_to(np.asarray(data["low"], dtype=dtype), shape)
        high = np.broadcast_to(np.asarray(data["high"], dtype=dtype), shape)
        return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
    raise UserError(f"unknown space type {kind!r} in spec; expected Discrete or Box")
