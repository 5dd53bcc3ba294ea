"""Potentials beyond `neural.py`'s linear and MLP ones, registered in its `POTENTIALS`.

* ``critic``: the state value of an SB3 expert (a PPO/A2C value head, or
  max_a Q(s, a) of DQN) as a potential: ``phi = V`` turns r into roughly the
  advantage, the usual first guess at a "preprocessed" reward. It can stay
  fixed or serve as the starting point of the fit.
* ``mlp_box``: an MLP over observations rescaled to [-1, 1] by the bounds of a
  Box space. MountainCar's velocity spans only +-0.07, so a plain MLP barely
  sees it, and the random shaping depends on it.

Both have a ``spec()``, so `PreprocessedRewardNet` saves and rebuilds them
from JSON like the built-in kinds. Importing this module registers them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch as th
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.neural import POTENTIALS
from reward_preprocessing.scaling import BoxScale

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh}


def _mlp(in_size: int, hidden_sizes: Sequence[int], out_size: int, activation: str) -> nn.Sequential:
    if activation not in ACTIVATIONS:
        raise UserError(f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}")
    layers: list[nn.Module] = []
    width = in_size
    for hidden in hidden_sizes:
        layers += [nn.Linear(width, hidden), ACTIVATIONS[activation]()]
        width = hidden
    layers.append(nn.Linear(width, out_size))
    return nn.Sequential(*layers)


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
        if obs_dim < 1 or n_outputs < 1:
            raise UserError("a critic potential needs obs_dim >= 1 and n_outputs >= 1")
        self.obs_dim, self.n_outputs, self.activation = int(obs_dim), int(n_outputs), activation
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.scale = BoxScale(low, high) if low is not None and high is not None else None
        self.net = _mlp(self.obs_dim, self.hidden_sizes, self.n_outputs, activation)

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


class BoxMLPPotential(nn.Module):
    """A ReLU MLP over ``(obs - centre) / half_width``, centre and width from a Box's bounds."""

    def __init__(self, low: Sequence[float], high: Sequence[float], hidden_sizes: Sequence[int] = (128, 128)) -> None:
        super().__init__()
        self.scale = BoxScale(low, high)
        self.hidden_sizes = [int(h) for h in hidden_sizes]
        self.net = _mlp(len(self.scale.low), self.hidden_sizes, 1, "relu")

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.net(self.scale(obs)).squeeze(-1)

    def spec(self) -> dict[str, Any]:
        kwargs = {"low": self.scale.low, "high": self.scale.high, "hidden_sizes": self.hidden_sizes}
        return {"kind": "mlp_box", "kwargs": kwargs}


POTENTIALS.setdefault("critic", CriticPotential)
POTENTIALS.setdefault("mlp_box", BoxMLPPotential)
