"""A CNN potential phi(s) over image observations: the IMPALA stack, a 256-unit layer and one value.

It has the architecture of the PPO expert's critic (`experts.impala`), so the
critic can be copied in as the initial potential
(`preprocessing.cnn_critic.impala_critic_potential`); ``scale`` then converts
the critic's units (PPO learns values of normalized rewards) back to raw
reward units. Observations are HWC images, uint8 (scaled here by 1/255) or
floats already in [0, 1], as `RewardNet.preprocess` hands them to a
`PreprocessedRewardNet`'s potential.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.cnn import image_to_float
from reward_preprocessing.rewards.impala import IMPALA_CHANNELS, impala_blocks, impala_features, pooled_size
from reward_preprocessing.rewards.mlp import layer_widths
from reward_preprocessing.rewards.potentials import POTENTIALS


class CnnPotential(nn.Module):
    """phi(s) = scale * value(relu(linear(flatten(relu(impala(s)))))) over (B, H, W, C) images."""

    def __init__(
        self,
        obs_shape: Sequence[int],
        channels: Sequence[int] = IMPALA_CHANNELS,
        features_dim: int = 256,
        scale: float = 1.0,
        channels_last: bool = True,
        bf16: bool = False,
    ) -> None:
        super().__init__()
        if len(obs_shape) != 3:
            raise UserError(f"a CNN potential needs (height, width, channels) observations, got {list(obs_shape)}")
        if not channels:
            raise UserError("a CNN potential needs at least one block of channels")
        self.obs_shape = layer_widths(obs_shape, "a CNN potential's observation shape")
        *self.channels, self.features_dim = layer_widths([*channels, features_dim], "a CNN potential's channels "
                                                         "and features_dim")
        self.scale = float(scale)
        self.channels_last, self.bf16 = bool(channels_last), bool(bf16)
        height, width, in_channels = self.obs_shape
        self.blocks = impala_blocks(in_channels, self.channels)
        n = len(self.channels)
        self.linear = nn.Linear(self.channels[-1] * pooled_size(height, n) * pooled_size(width, n), self.features_dim)
        self.value = nn.Linear(self.features_dim, 1)

    def forward(self, obs: th.Tensor) -> th.Tensor:
        if obs.dim() != 4 or list(obs.shape[1:]) != self.obs_shape:
            raise UserError(f"CNN potential expects (B, {', '.join(map(str, self.obs_shape))}) images, "
                            f"got {tuple(obs.shape)}")
        x = image_to_float(obs).permute(0, 3, 1, 2)
        features = impala_features(self.blocks, self.linear, x, self.channels_last, self.bf16)
        return self.value(features).squeeze(-1) * self.scale

    def spec(self) -> dict[str, Any]:
        kwargs = {"obs_shape": self.obs_shape, "channels": self.channels, "features_dim": self.features_dim,
                  "scale": self.scale, "channels_last": self.channels_last, "bf16": self.bf16}
        return {"kind": "cnn", "kwargs": kwargs}


POTENTIALS.setdefault("cnn", CnnPotential)
