"""A feature extractor that rescales Box observations to [-1, 1] by the space's bounds.

MountainCar's velocity spans only +-0.07, so an MLP on raw observations needs
many updates before it can use the one feature that matters (push in the
direction of motion); rescaling lets an expert learn in a fraction of the steps.
"""

from __future__ import annotations

import torch as th
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from reward_preprocessing.scaling import BoxScale, box_bounds


class BoxScaler(BaseFeaturesExtractor):
    """SB3 features = `BoxScale` of the observation."""

    def __init__(self, observation_space: spaces.Box) -> None:
        low, high = box_bounds(observation_space)
        super().__init__(observation_space, features_dim=len(low))
        self.scale = BoxScale(low, high)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return self.scale(observations)
