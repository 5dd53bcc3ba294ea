"""A reward net plus a fitted potential shaping and shift: the preprocessed model of a neural reward.

``r'(s, a, s', d) = base(s, a, s', d) + gamma * (1 - d) * phi(s') - phi(s) - c``.
The spec nests the base net's own spec and the potential's ``{kind, kwargs}``;
the weights of both live in the one safetensors file (``base.*`` and
``potential.*`` in the state dict), so the model saves and loads through
`rewards.io` like any other and never runs code from disk.
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import build_reward_net, net_spec
from reward_preprocessing.rewards.potentials import build_potential
from reward_preprocessing.rewards.registry import register_reward_net
from reward_preprocessing.shaping import shaped_reward


@register_reward_net
class PreprocessedRewardNet(RewardNet):
    """`base` shaped by a learned potential and shifted by a constant.

    The potential sees the same preprocessed observation as the base net
    (one-hot for `Discrete`, float for `Box`), flattened.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        base: dict[str, Any],
        potential: dict[str, Any],
        gamma: float,
        shift: float = 0.0,
    ) -> None:
        base_net = build_reward_net(base)
        if not 0.0 < gamma <= 1.0:
            raise UserError(f"gamma must be in (0, 1], got {gamma}")
        super().__init__(observation_space, action_space, normalize_images=base_net.normalize_images)
        self.base = base_net
        self.potential = build_potential(potential)
        self.potential_spec = {"kind": potential["kind"], "kwargs": dict(potential.get("kwargs", {}))}
        self.gamma = float(gamma)
        self.shift = float(shift)

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            "base": net_spec(self.base),
            "potential": self.potential_spec,
            "gamma": self.gamma,
            "shift": self.shift,
        }

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        reward = self.base(state, action, next_state, done)
        phi = self.potential(state).reshape(reward.shape)
        phi_next = self.potential(next_state).reshape(reward.shape)
        return shaped_reward(reward, phi, phi_next, self.gamma, done=done.to(reward.dtype), shift=self.shift)

    @classmethod
    def from_parts(cls, base: RewardNet, potential: nn.Module, gamma: float, shift: float) -> PreprocessedRewardNet:
        """Combine a trained base net and a fitted potential (one with a ``spec()``), copying their weights."""
        if not hasattr(potential, "spec"):
            raise UserError(
                f"a {type(potential).__name__} cannot be saved as a potential; use LinearPotential or MLPPotential"
            )
        net = cls(base.observation_space, base.action_space, net_spec(base), potential.spec(), gamma, shift)
        net.base.load_state_dict(base.state_dict())
        net.potential.load_state_dict(potential.state_dict())
        return net.to(next(base.parameters(), th.empty(0)).device)
