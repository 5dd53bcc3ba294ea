"""Interpretability objectives on a preprocessed reward r'.

``sparse_*`` penalize r' itself, ``smooth_*`` the difference of r' between
neighbouring transitions; ``*_l1`` use |x|, ``*_log`` use log(1 + |x|), which
cares about how many values are non-zero more than about their size.
"""

from __future__ import annotations

import numpy as np
import torch as th

from reward_preprocessing.errors import UserError

OBJECTIVES = ("sparse_l1", "smooth_l1", "sparse_log", "smooth_log")


def check_objective(name: str) -> str:
    if name not in OBJECTIVES:
        raise UserError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    return name


def is_smooth(name: str) -> bool:
    return check_objective(name).startswith("smooth")


def is_log(name: str) -> bool:
    return check_objective(name).endswith("log")


def penalty(x: np.ndarray, name: str) -> np.ndarray:
    """Elementwise |x| or log(1 + |x|)."""
    return np.log1p(np.abs(x)) if is_log(name) else np.abs(x)


def residuals(reward: np.ndarray, name: str, pairs: np.ndarray | None = None) -> np.ndarray:
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
    if is_smooth(name):
        if pairs is None:
            raise UserError(f"objective {name!r} needs neighbour pairs")
        reward = reward[pairs[:, 0]] - reward[pairs[:, 1]]
    return th.log1p(reward.abs()).mean() if is_log(name) else reward.abs().mean()
