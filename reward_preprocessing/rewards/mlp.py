"""An MLP reward net over (state, next state) for low-dimensional Box observations.

Inputs are rescaled to [-1, 1] with the bounds of the observation space (fixed,
not learned), because MountainCar's velocity (|v| <= 0.07) would otherwise be
invisible next to its position.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.registry import register_reward_net
from reward_preprocessing.scaling import BoxScale, box_bounds

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}
# Widest layer (inputs included) a spec may ask for: far above any net here, far below what overflows torch's sizes.
MAX_WIDTH = 1 << 20


def _width(value: object) -> int | None:
    """`value` as an int if it is an integer (Python's or numpy's, not a bool of either) in 1..MAX_WIDTH, else
    None."""
    if isinstance(value, bool | np.bool_) or not hasattr(value, "__index__"):
        return None
    width = operator.index(value)  # type: ignore[arg-type]
    return width if 0 < width <= MAX_WIDTH else None


def layer_widths(values: Sequence[object], what: str = "layer widths (inputs, hidden, outputs)") -> list[int]:
    """`values` as ints, if every one is a layer width (an integer in 1..MAX_WIDTH); else one line saying so.

    Why: widths come from JSON specs; int() would truncate 2.5 or accept true, and torch reports a size past
    int64 in a many-line C++ message."""
    values = list(values)
    widths = [_width(v) for v in values]
    if any(w is None for w in widths):
        raise UserError(f"{what} must be integers in 1..{MAX_WIDTH}, got {values}")
    return widths  # type: ignore[return-value]


def build_mlp(in_size: int, hidden_sizes: Sequence[int], out_size: int, activation: str = "relu") -> nn.Sequential:
    """``Linear, act, ..., Linear``: the one MLP of this library (reward nets and potentials).

    Layers are created in order, so a seeded torch RNG gives the same weights every time.
    """
    if activation not in ACTIVATIONS:
        raise UserError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    width, *hidden, out = layer_widths([in_size, *hidden_sizes, out_size])
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


@register_reward_net
class MlpRewardNet(RewardNet):
    """r(s, [a,] s') = MLP([scale(s), scale(s'), [onehot(a)]]).

    Args:
        hid_sizes: widths of the hidden layers (ReLU).
        use_action: also feed the one-hot action.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        hid_sizes: Sequence[int] = (64, 64),
        use_action: bool = False,
    ) -> None:
        if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 1:
            raise UserError(f"MlpRewardNet needs a flat Box observation space, got {observation_space}")
        if use_action and not isinstance(action_space, spaces.Discrete):
            raise UserError("MlpRewardNet with use_action needs a Discrete action space")
        super().__init__(observation_space, action_space, normalize_images=False)
        self.hid_sizes = layer_widths(hid_sizes)
        self.use_action = bool(use_action)
        self.scale = BoxScale(*box_bounds(observation_space))
        in_size = 2 * observation_space.shape[0] + (int(action_space.n) if self.use_action else 0)
        self.mlp = build_mlp(in_size, self.hid_sizes, 1)

    def spec_kwargs(self) -> dict[str, Any]:
        return {"hid_sizes": self.hid_sizes, "use_action": self.use_action}

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        inputs = [self.scale(state), self.scale(next_state)]
        if self.use_action:
            inputs.append(action.float())
        return self.mlp(th.cat(inputs, dim=1)).squeeze(1)
