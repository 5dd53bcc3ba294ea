"""A trained SB3 expert's critic as a potential (`rewards.potentials.CriticPotential`).

``phi = V`` turns r into roughly the advantage, the usual first guess at a
"preprocessed" reward. It can stay fixed or serve as the starting point of the
fit. This lives above `experts/` because it reads SB3 models; the network it
fills in lives with the reward models, so a saved model never needs SB3.
"""

from __future__ import annotations

from typing import Any

import torch as th
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.mlp import ACTIVATIONS
from reward_preprocessing.rewards.potentials import CriticPotential


def _linear_layers(module: nn.Module) -> list[nn.Linear]:
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _activation_name(module: nn.Module) -> str:
    for m in module.modules():
        for name, cls in ACTIVATIONS.items():
            if isinstance(m, cls):
                return name
    return "relu"


def critic_potential(model: Any) -> CriticPotential:
    """Copy the critic of an SB3 DQN, PPO or A2C model (MlpPolicy, flat Box observations) into a potential."""
    from stable_baselines3.common.torch_layers import FlattenExtractor

    from reward_preprocessing.experts.features import BoxScaler

    policy = model.policy
    if hasattr(policy, "q_net"):  # DQN
        extractor, layers, act_src = policy.q_net.features_extractor, _linear_layers(policy.q_net.q_net), policy.q_net
    elif hasattr(policy, "mlp_extractor") and hasattr(policy, "value_net"):  # PPO, A2C
        extractor = policy.vf_features_extractor if hasattr(policy, "vf_features_extractor") else None
        extractor = extractor or policy.features_extractor
        layers = [*_linear_layers(policy.mlp_extractor.value_net), policy.value_net]
        act_src = policy.mlp_extractor.value_net
    else:
        raise UserError(f"cannot take a critic from a {type(model).__name__}; use DQN, PPO or A2C")
    if isinstance(extractor, BoxScaler):
        bounds = {"low": extractor.scale.low, "high": extractor.scale.high}
    elif isinstance(extractor, FlattenExtractor):
        bounds = {}
    else:
        raise UserError("a critic potential needs an MlpPolicy (flat observations, or BoxScaler features)")
    potential = CriticPotential(
        layers[0].in_features, [layer.out_features for layer in layers[:-1]], _activation_name(act_src),
        layers[-1].out_features, **bounds,
    )
    with th.no_grad():
        for target, source in zip(_linear_layers(potential.net), layers, strict=True):
            target.weight.copy_(source.weight)
            target.bias.copy_(source.bias)
    return potential
