"""Names of the reward-net classes that may be rebuilt from a `spec.json`.

Loading looks the class up here by name, so a spec can never make us import
or run arbitrary code.
"""

from __future__ import annotations

from typing import TypeVar

from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.errors import UserError

_REGISTRY: dict[str, type[RewardNet]] = {}

T = TypeVar("T", bound=type[RewardNet])


def register_reward_net(cls: T) -> T:
    """Class decorator: make `cls` loadable by its name.

    A registered class takes ``(observation_space, action_space, **spec_kwargs())``.
    """
    if not hasattr(cls, "spec_kwargs"):
        raise TypeError(f"{cls.__name__} must define spec_kwargs() to be saved")
    _REGISTRY[cls.__name__] = cls
    return cls


def reward_net_class(name: str) -> type[RewardNet]:
    if name not in _REGISTRY:
        raise UserError(f"unknown reward-net class {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]
