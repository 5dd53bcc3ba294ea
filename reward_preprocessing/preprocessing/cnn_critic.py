"""The CoinRun expert's critic as a CNN potential: phi = reward_scale * V(s).

PPO with an IMPALA extractor shares the extractor between policy and value
head; `CnnPotential` has the same stack under the same parameter names, so
the critic copies over by name. The expert learned values of *normalized*
rewards when it normalized them; ``scale`` (the expert's recorded
``reward_scale``) brings phi back to raw reward units.
"""

from __future__ import annotations

from typing import Any

import torch as th

from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.impala import ImpalaCNN
from reward_preprocessing.rewards.cnn_potential import CnnPotential


def impala_critic_potential(model: Any, obs_shape: tuple[int, int, int], scale: float = 1.0) -> CnnPotential:
    """A `CnnPotential` holding the value function of an SB3 PPO expert with an `ImpalaCNN` extractor."""
    policy = model.policy
    extractor = getattr(policy, "vf_features_extractor", None) or getattr(policy, "features_extractor", None)
    if not isinstance(extractor, ImpalaCNN) or not hasattr(policy, "value_net"):
        raise UserError("the critic potential needs a PPO expert with an IMPALA CNN (train it with algo ppo)")
    if getattr(policy, "mlp_extractor", None) is not None and any(
        True for _ in policy.mlp_extractor.value_net.parameters()
    ):
        raise UserError("the expert's value head has hidden layers; a CNN potential copies only net_arch vf=[]")
    channels = [block.conv.out_channels for block in extractor.blocks]
    potential = CnnPotential(obs_shape, channels, extractor.linear.out_features, scale)
    if potential.linear.in_features != extractor.linear.in_features:
        raise UserError(f"the expert was trained on other observations than {obs_shape}")
    with th.no_grad():
        potential.blocks.load_state_dict(extractor.blocks.state_dict())
        potential.linear.load_state_dict(extractor.linear.state_dict())
        potential.value.load_state_dict(policy.value_net.state_dict())
    return potential
