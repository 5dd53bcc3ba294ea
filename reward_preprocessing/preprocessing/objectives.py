"""Interpretability objectives on a preprocessed reward r'.

``sparse_*`` penalize r' itself, ``smooth_*`` the difference of r' between
neighbouring transitions; ``*_l1`` use |x|, ``*_log`` use log(1 + |x|), which
cares about how many values are non-zero more than about their size.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch as th

from reward_preprocessing.errors import UserError

ArrayOrTensor = TypeVar("ArrayOrTensor", np.ndarray, th.Tensor)

OBJECTIVES = ("sparse_l1", "smooth_l1", "sparse_log", "smooth_log")


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise UserError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    return name


def is_smooth(name: str) -> bool:
    return check_objective(name).startswith("smooth")


def is_log(name: str) -> bool:
    return check_objective(name).endswith("log")


def log_penalty(x: ArrayOrTensor) -> ArrayOrTensor:
    """Elementwise log(1 + |x|): the penalty of the log objectives (numpy arrays or torch tensors)."""
    return th.log1p(x.abs()) if isinstance(x, th.Tensor) else np.log1p(np.abs(x))


def penalty(x: ArrayOrTensor, name: str) -> ArrayOrTensor:
    """Elementwise |x| or log(1 + |x|), as objective `name` penalizes it (numpy arrays or torch tensors)."""
    if is_log(name):
        return log_penalty(x)
    return x.abs() if isinstance(x, th.Tensor) else np.abs(x)


def residuals(reward: ArrayOrTensor, name: str, pairs: ArrayOrTensor | None = None) -> ArrayOrTensor:
    """What the objective penalizes: r' itself, or r'_i - r'_j over neighbour pairs."""
    if not is_smooth(name):
        return reward
    if pairs is None:
        raise UserError(f"objective {name!r} needs neighbour pairs")
    return reward[pairs[:, 0]] - reward[pairs[:, 1]]


def objective_value(reward: np.ndarray, name: str, pairs: np.ndarray | None = None) -> float:
    """The objective of a preprocessed reward vector, in float64."""
    res = residuals(np.asarray(reward, dtype=np.float64), name, pairs)
    if res.size == 0:
        raise UserError(f"objective {name!r} is undefined on an empty set of transitions or pairs")
    return float(penalty(res, name).mean())


def objective_torch(reward: th.Tensor, name: str, pairs: th.Tensor | None = None) -> th.Tensor:
    """Differentiable version of `objective_value` for gradient-based solvers."""
    return penalty(residuals(reward, name, pairs), name).mean()
