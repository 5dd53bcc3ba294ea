"""A transition (obs, action, next obs) as ONE image-shaped tensor, and a wrapper that feeds it to a reward net.

Feature visualization and attribution need a single input to optimize or attribute. We stack, on the channel axis,

    obs (C channels) | action one-hot broadcast over the image (A channels) | next obs (C channels)

all in "unit" scale: images in [0, 1] whatever the observation space's dtype, so that optimization works in one
range. `TransitionModel` undoes this: it averages the action channels over the image (for a broadcast one-hot that
is exactly the one-hot; during optimization it is a softmax, i.e. a distribution over actions), maps the images
back to what the net's ``forward`` expects, and returns the reward. The optimized action is read back as the
arg-max of that distribution (`read_action`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet
from torch import nn

from reward_preprocessing.errors import UserError


@dataclass(frozen=True)
class ImageLayout:
    """How the net's observations look and how unit images map onto what its ``forward`` takes."""

    height: int
    width: int
    channels: int
    channels_first: bool
    n_actions: int
    # forward input = offset + scale * unit image (imitation nets get uint8 images already divided by 255).
    offset: float
    scale: float
    # raw observation = raw_offset + raw_scale * unit image (uint8 spaces: 0 + 255 x).
    raw_offset: float
    raw_scale: float

    @property
    def transition_channels(self) -> int:
        return 2 * self.channels + self.n_actions

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        if self.channels_first:
            return (self.channels, self.height, self.width)
        return (self.height, self.width, self.channels)


def image_layout(net: RewardNet) -> ImageLayout:
    """The layout of `net`'s image observations.

    Raises:
        UserError: observations are not images (a Box of rank 3) or actions are not Discrete.
    """
    obs_space, act_space = net.observation_space, net.action_space
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 3:
        raise UserError(
            f"{type(net).__name__} takes observations {obs_space}, not images; interpretation needs image "
            "observations of shape (H, W, C) or (C, H, W)"
        )
    if not isinstance(act_space, spaces.Discrete):
        raise UserError(f"{type(net).__name__} has actions {act_space}; interpretation needs a Discrete action space")
    shape = tuple(int(s) for s in obs_space.shape)
    hwc = getattr(net, "hwc_format", None)
    channels_first = (not hwc) if hwc is not None else (shape[0] in (1, 3, 4) and shape[-1] not in (1, 3, 4))
    channels, height, width = (shape[0], shape[1], shape[2]) if channels_first else (shape[2], shape[0], shape[1])
    if obs_space.dtype == np.uint8:
        raw_offset, raw_scale = 0.0, 255.0
        normalized = bool(getattr(net, "normalize_images", True))
        offset, scale = (0.0, 1.0) if normalized else (0.0, 255.0)
    else:
        low, high = float(np.min(obs_space.low)), float(np.max(obs_space.high))
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            low, high = 0.0, 1.0  # unbounded float images: take them as [0, 1]
        raw_offset, raw_scale = low, high - low
        offset, scale = low, high - low
    return ImageLayout(height, width, channels, channels_first, int(act_space.n), offset, scale, raw_offset,
                       raw_scale)


def obs_to_unit(obs: np.ndarray, layout: ImageLayout) -> th.Tensor:
    """Raw observations (N, *obs_shape) to unit images (N, C, H, W) in [0, 1] (float32)."""
    x = th.as_tensor(np.asarray(obs), dtype=th.float32)
    x = (x - layout.raw_offset) / layout.raw_scale
    return x if layout.channels_first else x.permute(0, 3, 1, 2)


def unit_to_uint8(images: th.Tensor) -> np.ndarray:
    """Unit images (N, C, H, W) to displayable (N, H, W, C) uint8 (grey for one channel stays one channel)."""
    x = images.detach().float().clamp(0, 1).mul(255).round().to(th.uint8).cpu().numpy()
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


def transition_tensor(obs: th.Tensor, action_probs: th.Tensor, next_obs: th.Tensor) -> th.Tensor:
    """Stack unit obs (B, C, H, W), action distribution (B, A) broadcast over the image, unit next obs."""
    b, _, h, w = obs.shape
    actions = action_probs[:, :, None, None].expand(b, action_probs.shape[1], h, w)
    return th.cat([obs, actions.to(obs.dtype), next_obs], dim=1)


def transitions_from_arrays(
    obs: np.ndarray, acts: np.ndarray, next_obs: np.ndarray, layout: ImageLayout
) -> th.Tensor:
    """Raw transitions (as stored in rollouts) to transition tensors (N, 2C + A, H, W)."""
    one_hot = th.nn.functional.one_hot(th.as_tensor(np.asarray(acts), dtype=th.long), layout.n_actions).float()
    return transition_tensor(obs_to_unit(obs, layout), one_hot, obs_to_unit(next_obs, layout))


def split_transition(x: th.Tensor, layout: ImageLayout) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
    """(obs, action distribution (B, A), next obs) of transition tensors."""
    c, a = layout.channels, layout.n_actions
    if x.dim() != 4 or x.shape[1] != layout.transition_channels:
        raise ValueError(f"expected transitions (B, {layout.transition_channels}, H, W), got {tuple(x.shape)}")
    return x[:, :c], x[:, c : c + a].mean(dim=(2, 3)), x[:, c + a :]


def read_action(x: th.Tensor, layout: ImageLayout) -> tuple[np.ndarray, np.ndarray]:
    """The arg-max action of each transition tensor and its probability (the optimized action, read back)."""
    probs = split_transition(x, layout)[1].detach().cpu()
    best = probs.argmax(dim=1)
    return best.numpy(), probs.gather(1, best[:, None]).squeeze(1).numpy()


class TransitionModel(nn.Module):
    """The reward net as a function of one transition tensor: r(obs, action, next obs), one value per row."""

    def __init__(self, net: RewardNet, layout: ImageLayout) -> None:
        super().__init__()
        self.net = net
        self.layout = layout

    def _to_net(self, unit: th.Tensor) -> th.Tensor:
        x = self.layout.offset + self.layout.scale * unit
        return x if self.layout.channels_first else x.permute(0, 2, 3, 1)

    def forward(self, x: th.Tensor) -> th.Tensor:
        obs, action, next_obs = split_transition(x, self.layout)
        done = th.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        return self.net(self._to_net(obs), action, self._to_net(next_obs), done).reshape(x.shape[0])

    def rewards_by_action(self, x: th.Tensor) -> th.Tensor:
        """(B, A): the reward of each transition's images under every action."""
        obs, _, next_obs = split_transition(x, self.layout)
        rows = []
        for a in range(self.layout.n_actions):
            one_hot = th.zeros(x.shape[0], self.layout.n_actions, dtype=x.dtype, device=x.device)
            one_hot[:, a] = 1
            rows.append(self.forward(transition_tensor(obs, one_hot, next_obs)))
        return th.stack(rows, dim=1)


def action_labels(n_actions: int, names: Sequence[str] = ()) -> list[str]:
    """Names of the actions: the given ones when they fit, else ``action i``."""
    if names and len(names) != n_actions:
        raise UserError(f"got {len(names)} action names for a model with {n_actions} actions")
    return list(names) if names else [f"action {i}" for i in range(n_actions)]
