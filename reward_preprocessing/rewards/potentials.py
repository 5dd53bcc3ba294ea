"""Potential networks phi(s) of potential shaping, rebuilt from ``{"kind": ..., "kwargs": {...}}`` specs.

A `PreprocessedRewardNet` stores its potential as such a spec plus weights, so
the potentials live with the reward models (the preprocessing stage fits them,
the reward layer evaluates them). Kinds:

* ``linear``: phi(s) = w . flatten(s) + b; on one-hot states a lookup table.
* ``mlp``: a ReLU MLP over the flattened observation.
* ``critic``: the architecture of an SB3 critic (V(s), or max_a Q(s, a));
  `preprocessing.potentials.critic_potential` copies an expert's weights into it.
* ``mlp_box``: an MLP over observations rescaled to [-1, 1] by the bounds of a
  Box space. MountainCar's velocity spans only +-0.07, so a plain MLP barely
  sees it, and the random shaping depends on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from torch import nn

from reward_preprocessing.errors import UserError, one_line
from reward_preprocessing.rewards.feature_potential import FeaturePotential
from reward_preprocessing.rewards.mlp import build_mlp, layer_widths
from reward_preprocessing.scaling import BoxScale


class LinearPotential(nn.Module):
    """phi(s) = w . flatten(s) + b; on one-hot states this is a lookup table."""

    def __init__(self, obs_dim: int) -> None:
        super().__init__()
        (self.obs_dim,) = layer_widths([obs_dim])
        self.linear = nn.Linear(self.obs_dim, 1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.linear(obs.flatten(1).float()).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        return {"kind": "linear", "kwargs": {"obs_dim": self.obs_dim}}


class MLPPotential(nn.Module):
    """A ReLU MLP over the flattened observation; the reference used 4 hidden layers of 128."""

    def __init__(self, obs_dim: int, hidden_sizes: Sequence[int] = (128, 128, 128, 128)) -> None:
        super().__init__()
        if not hidden_sizes:
            raise UserError("an MLP potential needs at least one hidden layer")
        self.obs_dim, *self.hidden_sizes = layer_widths([obs_dim, *hidden_sizes])
        self.net = build_mlp(self.obs_dim, self.hidden_sizes, 1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(obs.flatten(1).float()).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        return {"kind": "mlp", "kwargs": {"obs_dim": self.obs_dim, "hidden_sizes": list(self.hidden_sizes)}}


class CriticPotential(nn.Module):
    """An SB3 critic's architecture: an MLP whose outputs are V(s), or Q(s, .) reduced by max.

    With `low` and `high`, observations are first rescaled like `experts.features.BoxScaler` does.
    """

    def __init__(
        self,
        obs_dim: int,
        hidden_sizes: Sequence[int],
        activation: str = "tanh",
        n_outputs: int = 1,
        low: Sequence[float] | None = None,
        high: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        self.obs_dim, self.n_outputs, *self.hidden_sizes = layer_widths([obs_dim, n_outputs, *hidden_sizes])
        self.activation = activation
        self.scale = BoxScale(low, high) if low is not None and high is not None else None
        self.net = build_mlp(self.obs_dim, self.hidden_sizes, self.n_outputs, activation)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        out = self.net(self.scale(obs) if self.scale is not None else obs.flatten(1).float())
        return out.max(dim=1).values if self.n_outputs > 1 else out.squeeze(-1)

    def spec(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "obs_dim": self.obs_dim,
            "hidden_sizes": self.hidden_sizes,
            "activation": self.activation,
            "n_outputs": self.n_outputs,
        }
        if self.scale is not None:
            kwargs.update(low=self.scale.low, high=self.scale.high)
        return {"kind": "critic", "kwargs": kwargs}


class BoxMLPPotential(nn.Module):
    """A ReLU MLP over ``(obs - centre) / half_width``, centre and width from a Box's bounds."""

    def __init__(self, low: Sequence[float], high: Sequence[float], hidden_sizes: Sequence[int] = (128, 128)) -> None:
        super().__init__()
        self.scale = BoxScale(low, high)
        self.hidden_sizes = layer_widths(hidden_sizes)
        self.net = build_mlp(len(self.scale.low), self.hidden_sizes, 1, "relu")

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(self.scale(obs)).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        kwargs = {"low": self.scale.low, "high": self.scale.high, "hidden_sizes": self.hidden_sizes}
        return {"kind": "mlp_box", "kwargs": kwargs}


POTENTIALS: dict[str, type[nn.Module]] = {
    "linear": LinearPotential,
    "mlp": MLPPotential,
    "critic": CriticPotential,
    "mlp_box": BoxMLPPotential,
    "features": FeaturePotential,  # Phi = w . phi(s), solved exactly by preprocessing/feature_lp.py
}


def build_potential(spec: dict[str, Any], seed: int = 0) -> nn.Module:
    """A potential from ``{"kind": ..., "kwargs": {...}}``, initialised from `seed` (global RNG untouched)."""
    kind = spec.get("kind") if isinstance(spec, dict) else None
    if kind not in POTENTIALS:
        raise UserError(f"unknown potential kind {kind!r}; choose one of: {', '.join(POTENTIALS)}")
    with th.random.fork_rng(devices=[]):
        th.manual_seed(seed)
        try:
            return POTENTIALS[kind](**spec.get("kwargs", {}))
        except (TypeError, ValueError, OverflowError, RuntimeError) as e:
            raise UserError(f"invalid arguments for a {kind!r} potential: {type(e).__name__}: {one_line(e)}") from e
