"""Gymnasium spaces to and from plain JSON (no pickling)."""

from __future__ import annotations

import math
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


# Observation spaces of the envs we know are far smaller; a spec claiming more is corrupt, and building it
# would allocate the bounds before any weight is compared.
MAX_BOX_ELEMENTS = 1 << 22
MAX_DISCRETE = 1 << 31
BOX_DTYPES = ("float16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64")


def _int(value: Any, where: str, low: int, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UserError(f"space spec: {where} must be an integer in [{low}, {high}], got {value!r}")
    return value


def space_from_json(data: Any) -> spaces.Space:
    """Rebuild a space; every field is checked, so a corrupt spec gives one `UserError`."""
    if not isinstance(data, dict):
        raise UserError(f"space spec must be an object, got {type(data).__name__}")
    kind = data.get("type")
    if kind == "Discrete":
        n = _int(data.get("n"), "Discrete.n", 1, MAX_DISCRETE)
        start = _int(data.get("start", 0), "Discrete.start", -MAX_DISCRETE, MAX_DISCRETE)
        return spaces.Discrete(n, start=start)
    if kind == "Box":
        shape_in = data.get("shape")
        if not isinstance(shape_in, list) or len(shape_in) > 8:
            raise UserError("space spec: Box.shape must be a list of at most 8 sizes")
        shape = tuple(_int(d, "Box.shape entry", 1, MAX_BOX_ELEMENTS) for d in shape_in)
        if math.prod(shape) > MAX_BOX_ELEMENTS:
            raise UserError(f"space spec: Box of shape {shape} is larger than any supported observation")
        if data.get("dtype") not in BOX_DTYPES:
            raise UserError(f"space spec: Box.dtype must be one of {', '.join(BOX_DTYPES)}")
        dtype = np.dtype(data["dtype"])
        try:
            low = np.broadcast_to(_bound_array(data.get("low"), dtype), shape)
            high = np.broadcast_to(_bound_array(data.get("high"), dtype), shape)
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        except (ValueError, TypeError, OverflowError) as e:
            raise UserError(f"space spec: bad Box bounds ({e})") from e
    raise UserError(f"unknown space type {kind!r} in spec; expected Discrete or Box")


def _bound_array(value: Any, dtype: np.dtype) -> np.ndarray:
    """A bound as stored by `_bound`: a number or a (nested) list of numbers, exactly representable in `dtype`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, list)):
        raise ValueError(f"a bound must be a number or a list of numbers, got {type(value).__name__}")
    array = np.asarray(value, dtype=np.float64 if np.issubdtype(dtype, np.floating) else object)
    if array.dtype == object and not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                         for v in array.ravel()):
        raise ValueError("bounds must be numbers")
    converted = array.astype(dtype)
    if not np.array_equal(converted.astype(array.dtype), array, equal_nan=array.dtype != object):
        raise ValueError(f"bounds are not exactly representable as {dtype}")
    return converted
