"""Features of a layer: its units (channels), or its activations projected on NMF directions.

Every feature has a spatial map per transition (a vector layer's map is 1×1). Feature visualization maximizes the
map's mean (lucent's "channel" objective, or the NMF-direction objective of "Understanding RL Vision"); dataset
examples rank transitions by the map's maximum and remember where it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch as th

from reward_preprocessing.interpret.nmf import Split, nonnegative


@dataclass(frozen=True)
class FeatureSet:
    """The features of one layer.

    Attributes:
        layer: the layer's name.
        names: one label per feature (action names for the output heads of a per-action reward net).
        directions: (k, C') unit NMF directions in the (split) channel space, or None for plain units.
        split: how activations were made non-negative before NMF ("relu" or "posneg").
        actions: for each feature, the action it stands for (an output head), else None.
    """

    layer: str
    names: list[str]
    directions: np.ndarray | None = None
    split: Split = "relu"
    actions: list[int | None] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def kind(self) -> str:
        return "unit" if self.directions is None else "nmf"

    def maps(self, activation: th.Tensor) -> th.Tensor:
        """(B, C, H, W) layer activations → (B, K, H, W) feature maps (differentiable)."""
        if self.directions is None:
            return activation
        d = th.as_tensor(self.directions, dtype=activation.dtype, device=activation.device)
        return th.einsum("bchw,kc->bkhw", nonnegative(activation, self.split), d)

    def objective(self, activation: th.Tensor, which: th.Tensor) -> th.Tensor:
        """(B,) the value feature ``which[b]`` takes on transition b: the mean of its map."""
        maps = self.maps(activation)
        return maps[th.arange(maps.shape[0], device=maps.device), which.to(maps.device)].mean(dim=(1, 2))


def unit_features(layer: str, channels: int, action_names: list[str]) -> FeatureSet:
    """One feature per channel; given one name per channel (the output heads of a per-action reward net), each
    feature is that action's reward and is titled with its name. Pass no names for any other layer."""
    if channels == len(action_names):
        return FeatureSet(layer, list(action_names), actions=list(range(channels)))
    return FeatureSet(layer, [f"{layer}:{i}" for i in range(channels)], actions=[None] * channels)


def nmf_features(layer: str, directions: np.ndarray, split: Split) -> FeatureSet:
    names = [f"{layer} NMF {i}" for i in range(len(directions))]
    return FeatureSet(layer, names, directions, split, [None] * len(directions))
