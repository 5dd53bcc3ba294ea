"""Integrated gradients (Sundararajan et al., 2017) from the input transition or a layer to the reward.

IG(x)_i = (x_i − b_i) · ∫₀¹ ∂f(b + α(x − b))/∂x_i dα, approximated by the midpoint rule over `steps` points, with
the gradient taken afresh at every point of the path (the reference reused one gradient for every α, which is
not integrated gradients). Completeness, Σ_i IG_i = f(x) − f(b), holds up to the quadrature error; every call
measures it, so a caller can report it and ask for more steps when it is too large.

At the input, only the images are attributed: the baseline keeps the transition's action, so the action channels
get zero attribution and f(b) is the reward of the same action on baseline images. At a layer, the baseline is
the layer's activation on the baseline input, and the rest of the net runs from the interpolated activation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch as th
from torch import nn

from reward_preprocessing.interpret.layers import as_maps, capture, replace_output
from reward_preprocessing.interpret.transitions import TransitionModel, split_transition, transition_tensor

Baseline = Literal["black", "grey", "mean"]


@dataclass
class Attribution:
    """Attributions shaped like the attributed tensor (one transition), and the completeness check."""

    values: th.Tensor
    f_input: float
    f_baseline: float

    @property
    def total(self) -> float:
        return float(self.values.sum())

    @property
    def completeness_error(self) -> float:
        """|Σ attributions − (f(x) − f(b))|."""
        return abs(self.total - (self.f_input - self.f_baseline))


def integrated_gradients(f: Callable[[th.Tensor], th.Tensor], x: th.Tensor, baseline: th.Tensor, steps: int,
                         chunk: int = 64) -> Attribution:
    """IG of the scalar function `f` (batched: (S, ...) → (S,)) at one point `x` (1, ...) against `baseline`."""
    if steps < 1:
        raise ValueError("steps must be at least 1")
    x, baseline = x.detach(), baseline.detach()
    alphas = (th.arange(steps, dtype=x.dtype, device=x.device) + 0.5) / steps
    grad_sum = th.zeros_like(x)
    for i in range(0, steps, chunk):
        a = alphas[i : i + chunk].reshape(-1, *([1] * (x.dim() - 1)))
        path = (baseline + a * (x - baseline)).requires_grad_(True)
        (grad,) = th.autograd.grad(f(path).sum(), path)
        grad_sum += grad.sum(dim=0, keepdim=True)
    with th.no_grad():
        f_x, f_b = float(f(x)[0]), float(f(baseline)[0])
    return Attribution(((x - baseline) * grad_sum / steps)[0], f_x, f_b)


def baseline_images(kind: Baseline, x: th.Tensor, layout_channels: int, mean_images: th.Tensor | None) -> th.Tensor:
    """Baseline images (1, C, H, W) in unit scale: black, mid-grey, or the dataset's mean observation."""
    shape = (1, layout_channels, *x.shape[-2:])
    if kind == "black":
        return th.zeros(shape, dtype=x.dtype, device=x.device)
    if kind == "grey":
        return th.full(shape, 0.5, dtype=x.dtype, device=x.device)
    if kind == "mean":
        if mean_images is None:
            raise ValueError("the 'mean' baseline needs the dataset's mean images")
        return mean_images.reshape(shape).to(x.device, x.dtype)
    raise ValueError(f"unknown baseline {kind!r}")


def attribute(model: TransitionModel, x: th.Tensor, baseline: th.Tensor, steps: int,
              layer: nn.Module | None = None) -> Attribution:
    """IG of the reward of transition `x` (1, 2C + A, H, W) from the input (images) or from `layer`.

    Args:
        baseline: unit images (1, C, H, W) used for both obs and next obs.
    Returns:
        input: attributions (2C + A, H, W), zero on the action channels; layer: (C_layer, H', W').
    """
    layout = model.layout
    _, action, _ = split_transition(x, layout)
    base = transition_tensor(baseline, action, baseline)
    if layer is None:
        return integrated_gradients(model, x, base, steps)
    with th.no_grad(), capture(layer) as store:
        model(x)
        a_x = store["output"].clone()
        model(base)
        a_b = store["output"].clone()

    def from_layer(acts: th.Tensor) -> th.Tensor:
        with replace_output(layer, acts):
            return model(x.expand(acts.shape[0], *x.shape[1:]))

    return integrated_gradients(from_layer, as_maps(a_x), as_maps(a_b), steps)
