"""A CNN reward net over image transitions (observation, next observation), one output per action.

This is imitation's `CnnRewardNet` as the reference CoinRun reward model used it:
HWC images scaled by 1/255, observation and next observation stacked on the
channel axis, ``hid_channels`` conv + ReLU layers (3×3 at stride 1 by default, as
the reference; ``kernel_size`` and ``stride`` widen the receptive field, which a
reward that depends on two sprites touching needs), global average pooling
and a linear layer with one output per action; the reward of a transition is
the output of the action taken. There is no input normalization layer (the
reference removed imitation's), so the model is a pure function of its weights
and saves and loads through `rewards.io` as safetensors + JSON.

`forward` accepts either uint8 images (scaled here, which keeps host-to-device
copies four times smaller) or float images already in [0, 1], as
`RewardNet.preprocess` produces them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import CnnRewardNet

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.registry import register_reward_net


def check_image_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> tuple[int, int, int]:
    """Return (height, width, channels) of an HWC uint8 image space with a Discrete action space, else fail."""
    if not (
        isinstance(observation_space, spaces.Box)
        and len(observation_space.shape) == 3
        and observation_space.dtype == "uint8"
    ):
        raise UserError(f"a CNN reward net needs HWC uint8 image observations, got {observation_space}")
    if not isinstance(action_space, spaces.Discrete):
        raise UserError(f"a CNN reward net needs a Discrete action space, got {action_space}")
    height, width, channels = (int(x) for x in observation_space.shape)
    return height, width, channels


def image_to_float(images: th.Tensor) -> th.Tensor:
    """uint8 images to floats in [0, 1]; float images are taken as already scaled."""
    return images.float().div_(255.0) if images.dtype == th.uint8 else images.float()


@register_reward_net
class ImageRewardNet(CnnRewardNet):
    """r(s, a, s') = CNN([s, s'])[a] over HWC uint8 images.

    Args:
        hid_channels: output channels of the hidden conv layers.
        use_action: one output per action (the reward of the taken one); otherwise one output.
        kernel_size: side of the square conv kernels.
        stride: stride of every conv layer (padding keeps ``ceil(size / stride)`` outputs per side).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        hid_channels: Sequence[int] = (32, 64),
        use_action: bool = True,
        kernel_size: int = 3,
        stride: int = 1,
    ) -> None:
        check_image_spaces(observation_space, action_space)
        self.hid_channels = [int(c) for c in hid_channels]
        if not self.hid_channels or min(self.hid_channels) < 1:
            raise UserError(f"hid_channels must be a non-empty list of positive widths, got {list(hid_channels)}")
        if int(kernel_size) < 1 or int(stride) < 1 or int(kernel_size) % 2 == 0:
            raise UserError(f"kernel_size must be odd and >= 1 and stride >= 1, got {kernel_size} and {stride}")
        self.kernel_size, self.stride = int(kernel_size), int(stride)
        super().__init__(
            observation_space,
            action_space,
            use_state=True,
            use_action=bool(use_action),
            use_next_state=True,
            use_done=False,
            hwc_format=True,
            hid_channels=tuple(self.hid_channels),
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding="same" if self.stride == 1 else self.kernel_size // 2,
        )

    @property
    def n_actions(self) -> int:
        return int(self.action_space.n)

    def spec_kwargs(self) -> dict[str, Any]:
        return {"hid_channels": self.hid_channels, "use_action": self.use_action,
                "kernel_size": self.kernel_size, "stride": self.stride}

    def action_rewards(self, state: th.Tensor, next_state: th.Tensor) -> th.Tensor:
        """All outputs, shape (batch, n_actions) (or (batch,) without `use_action`), from (B, H, W, C) images."""
        stacked = th.cat([image_to_float(state), image_to_float(next_state)], dim=3).permute(0, 3, 1, 2)
        return self.cnn(stacked)

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        """Reward per transition; `action` is one-hot (B, n_actions) as `preprocess` makes it, or (B,) indices."""
        outputs = self.action_rewards(state, next_state)
        if not self.use_action:
            return outputs.reshape(-1)
        if action.dim() == 1:
            return outputs.gather(1, action.long().reshape(-1, 1)).squeeze(1)
        return (outputs * action.to(outputs.dtype)).sum(dim=1)
