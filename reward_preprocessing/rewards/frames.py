"""Any image reward net as a function of raw frames: `FrameRewardNet` and `frame_reward_net`.

Image rollouts store HWC uint8 frames and action indices; the project's `ImageRewardNet` and the
`CnnPotential` take exactly those (or HWC floats in [0, 1]). A net imported from imitation (`CnnRewardNet`,
maybe wrapped, in an `ImitationRewardNet`) takes what its own ``preprocess`` makes: HWC or CHW, divided by 255
or not, one-hot actions, float dones. `FrameRewardNet` is the one place that maps the first convention onto
the second, so image preprocessing, its saved `PreprocessedRewardNet` (whose potential sees the same frames
as its base) and interpretation all feed every image model the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet
from stable_baselines3.common.preprocessing import is_image_space

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.cnn import ImageRewardNet
from reward_preprocessing.rewards.io import build_reward_net, net_spec
from reward_preprocessing.rewards.registry import register_reward_net


@dataclass(frozen=True)
class FrameLayout:
    """How a net's observations relate to HWC frames: net input = offset + scale * (frame / 255), maybe CHW."""

    frame_shape: tuple[int, int, int]
    channels_first: bool
    offset: float
    scale: float
    uint8_exact: bool  # uint8 frames reach the net as frame / 255 (normalized) or as frame (raw), exactly


def _declared_hwc(net: Any, depth: int = 0) -> bool | None:
    """The ``hwc_format`` a net (or the net inside its wrappers) declares, or None (imitation's CNNs declare it)."""
    if depth > 8 or net is None:
        return None
    if isinstance(getattr(net, "hwc_format", None), bool):
        return bool(net.hwc_format)
    for attr in ("net", "base"):
        found = _declared_hwc(getattr(net, attr, None), depth + 1)
        if found is not None:
            return found
    return None


def frame_layout(net: RewardNet) -> FrameLayout:
    """The layout of `net`'s image observations; refuses a net that does not take images and Discrete actions."""
    obs_space, act_space = net.observation_space, net.action_space
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 3:
        raise UserError(f"a {type(net).__name__} over observations {obs_space} is not an image reward model "
                        "(image preprocessing needs (H, W, C) or (C, H, W) observations)")
    if not isinstance(act_space, spaces.Discrete):
        raise UserError(f"a {type(net).__name__} over actions {act_space}: image preprocessing needs Discrete actions")
    shape = tuple(int(s) for s in obs_space.shape)
    hwc = _declared_hwc(net)
    channels_first = (not hwc) if hwc is not None else (shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4))
    frame_shape = (shape[1], shape[2], shape[0]) if channels_first else shape
    if obs_space.dtype == np.uint8:
        # imitation's preprocess (SB3's preprocess_obs): divide by 255 only for a normalizing net over an image space
        normalized = bool(net.normalize_images) and is_image_space(obs_space, check_channels=False)
        return FrameLayout(frame_shape, channels_first, 0.0, 1.0 if normalized else 255.0, True)
    low, high = float(np.min(obs_space.low)), float(np.max(obs_space.high))
    if not (np.isfinite(low) and np.isfinite(high) and high > low):
        low, high = 0.0, 1.0  # unbounded float images: taken as [0, 1]
    return FrameLayout(frame_shape, channels_first, low, high - low, False)


@register_reward_net
class FrameRewardNet(RewardNet):
    """`net` fed HWC frames (uint8, or floats in [0, 1]) and action indices (or one-hot / distribution rows).

    Its observation space is the frames' (HWC uint8); the state dict is `net`'s under the prefix ``net.``.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, net: dict[str, Any]) -> None:
        inner = build_reward_net(net)
        layout = frame_layout(inner)
        frames = spaces.Box(0, 255, layout.frame_shape, np.uint8)
        if observation_space != frames or action_space != inner.action_space:
            raise UserError(f"FrameRewardNet spec: spaces {observation_space}, {action_space} do not fit the "
                            f"wrapped net (frames {frames}, actions {inner.action_space})")
        super().__init__(observation_space, action_space, normalize_images=True)
        self.net = inner
        self.layout = layout
        self.hwc_format = True  # what interpretation's image_layout reads

    @classmethod
    def wrap(cls, net: RewardNet) -> FrameRewardNet:
        """A FrameRewardNet around a copy of `net`'s weights (on `net`'s device)."""
        layout = frame_layout(net)
        wrapped = cls(spaces.Box(0, 255, layout.frame_shape, np.uint8), net.action_space, net_spec(net))
        wrapped.net.load_state_dict(net.state_dict())
        return wrapped.to(next(net.parameters(), th.empty(0)).device)

    def spec_kwargs(self) -> dict[str, Any]:
        return {"net": net_spec(self.net)}

    @property
    def n_actions(self) -> int:
        return int(self.action_space.n)

    def to_net_images(self, frames: th.Tensor) -> th.Tensor:
        """(B, H, W, C) frames to what the wrapped net's ``forward`` takes (its ``preprocess``'s output)."""
        layout = self.layout
        if frames.dtype == th.uint8 and layout.uint8_exact:
            x = frames.float() / 255.0 if layout.scale == 1.0 else frames.float()  # as SB3's preprocess_obs
        else:
            unit = frames.float() / 255.0 if frames.dtype == th.uint8 else frames.float()
            x = layout.offset + layout.scale * unit
        return x.permute(0, 3, 1, 2) if layout.channels_first else x

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        """Reward per transition: frames mapped to the net's convention, indices to one-hot, dones to floats."""
        if action.dim() == 1:
            action = th.nn.functional.one_hot(action.long(), self.n_actions).float()
        return self.net(self.to_net_images(state), action.float(), self.to_net_images(next_state), done.float())


def frame_reward_net(net: RewardNet) -> RewardNet:
    """`net` as a function of raw frames: the project's `ImageRewardNet` already is one, any other is wrapped."""
    if isinstance(net, (ImageRewardNet, FrameRewardNet)):
        return net
    return FrameRewardNet.wrap(net)
