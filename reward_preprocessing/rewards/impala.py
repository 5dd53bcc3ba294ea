"""The IMPALA CNN's convolutional stack (Espeholt et al. 2018), shared by the PPO expert and CNN potentials.

Three blocks (16, 32, 32 channels by default), each a 3×3 conv, a 3×3 max-pool
with stride 2 and two residual blocks (ReLU, conv, ReLU, conv, plus the input).
For 64×64 inputs the spatial size goes 64 → 32 → 16 → 8. The parameter names
(``blocks.{i}.conv``, ``.res0.conv0``, ...) are the same wherever the stack is
used, so an expert's critic copies into a potential by name.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch as th
from torch import nn

IMPALA_CHANNELS = (16, 32, 32)


class ResidualBlock(nn.Module):
    """x + conv(relu(conv(relu(x)))), channel count unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        return x + self.conv1(th.relu(self.conv0(th.relu(x))))


class ImpalaBlock(nn.Module):
    """conv 3×3 → max-pool 3×3 stride 2 → two residual blocks."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.res0 = ResidualBlock(out_channels)
        self.res1 = ResidualBlock(out_channels)

    def forward(self, x: th.Tensor) -> th.Tensor:
        return self.res1(self.res0(self.pool(self.conv(x))))


def impala_blocks(in_channels: int, channels: Sequence[int] = IMPALA_CHANNELS) -> nn.Sequential:
    blocks = []
    for out_channels in channels:
        blocks.append(ImpalaBlock(in_channels, int(out_channels)))
        in_channels = int(out_channels)
    return nn.Sequential(*blocks)


def pooled_size(size: int, blocks: int) -> int:
    """Spatial size after `blocks` stride-2 pools with padding 1."""
    for _ in range(blocks):
        size = (size + 2 * 1 - 3) // 2 + 1
    return size


def impala_features(blocks: nn.Sequential, linear: nn.Linear, x: th.Tensor, channels_last: bool,
                    bf16: bool) -> th.Tensor:
    """relu(linear(flatten(relu(blocks(x))))) for (B, C, H, W) float input, in the requested layout/precision."""
    if channels_last:
        # Converted lazily: SB3 re-initializes weights after construction with initializers that need
        # contiguous tensors. `.to` keeps the Parameter objects, so optimizers stay valid.
        if not blocks[0].conv.weight.is_contiguous(memory_format=th.channels_last):
            blocks.to(memory_format=th.channels_last)
        x = x.contiguous(memory_format=th.channels_last)
    with th.autocast(x.device.type, dtype=th.bfloat16, enabled=bf16):
        x = th.relu(blocks(x))
    return th.relu(linear(x.float().flatten(1)))
