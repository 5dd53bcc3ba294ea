"""Feature visualization: gradient ascent on an input transition to maximize one feature.

The images (obs and next obs) use lucent's parameterizations (`fft_image`: a scaled Fourier spectrum, or
`pixel_image`), decorrelated colour (lucent's colour matrix, for 3-channel images) and a sigmoid into [0, 1]; the
action is a softmax over learned logits, broadcast over the image (see `transitions`). Each step applies lucent's
transforms (pad, jitter, random scale and rotation) to obs and next obs *together*, so the two frames stay aligned,
resizes back to the model's input size, and maximizes the feature's mean activation (`FeatureSet.objective`),
minus optional penalties: an L2 pull towards the start (the reference's ``dataset_traditional`` mode starts from
the best dataset example with weight 0.3) and total variation.

We run our own loop instead of lucent's ``render_vis``, which assumes 3-channel images, ImageNet normalization,
upsampling to 224 and lucent's import-time device; the loop is seeded (torch and the NumPy RNG lucent's transforms
draw from), so a run is reproducible. All features are optimized at once, one per batch row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch as th
import torch.nn.functional as F
from lucent.optvis import transform as lucent_transform
from lucent.optvis.param import spatial as lucent_spatial
from lucent.optvis.param.color import color_correlation_normalized
from torch import nn
from tqdm import tqdm

from reward_preprocessing.interpret.features import FeatureSet
from reward_preprocessing.interpret.layers import capture
from reward_preprocessing.interpret.transitions import TransitionModel, split_transition, transition_tensor

SD = 0.01  # lucent's initial spread of the parameters
MAGIC = 4.0  # lucent's fft_image divides the image by this constant


@dataclass(frozen=True)
class Transforms:
    """Lucent's robustness transforms, in the order applied; zero or empty turns one off."""

    pad: int = 0
    jitter: int = 8
    scales: tuple[float, ...] = ()
    rotate_degrees: tuple[float, ...] = ()

    def build(self) -> list:
        out = []
        if self.pad:
            out.append(lucent_transform.pad(self.pad, mode="constant", constant_value=0.5))
        if self.jitter > 1:
            out.append(lucent_transform.jitter(self.jitter))
        if self.scales:
            out.append(lucent_transform.random_scale(list(self.scales)))
        if self.rotate_degrees:
            out.append(lucent_transform.random_rotate(list(self.rotate_degrees)))
        return out


@dataclass
class Visualization:
    """Optimized transitions, one per requested feature, in unit scale (B, 2C + A, H, W)."""

    transitions: th.Tensor
    activation: np.ndarray  # the feature's objective on the final transition, without transforms
    start_activation: np.ndarray  # ... on the starting transition
    action_moved: np.ndarray  # whether the action logits received any gradient (the feature depends on the action)


@contextlib.contextmanager
def _lucent_on(device: th.device, seed: int) -> Iterator[None]:
    """Lucent picks its device at import and draws from global RNGs: point it at ours and seed, then restore."""
    saved = (lucent_spatial.device, lucent_transform.device)
    np_state = np.random.get_state()
    lucent_spatial.device = lucent_transform.device = device
    np.random.seed(seed)
    try:
        with th.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            th.manual_seed(seed)
            yield
    finally:
        lucent_spatial.device, lucent_transform.device = saved
        np.random.set_state(np_state)


def _colour_matrix(channels: int, decorrelate: bool, device: th.device) -> th.Tensor | None:
    if not decorrelate or channels != 3:
        return None
    return th.as_tensor(color_correlation_normalized.T, dtype=th.float32, device=device)


def _fft_scale(h: int, w: int, device: th.device) -> th.Tensor:
    freqs = lucent_spatial.rfft2d_freqs(h, w)
    return th.as_tensor(1.0 / np.maximum(freqs, 1.0 / max(w, h)), dtype=th.float32, device=device)


class ImageParam(nn.Module):
    """n images (n, C, H, W) in [0, 1] from lucent's parameterization, optionally started at given images."""

    def __init__(self, shape: Sequence[int], fft: bool, decorrelate: bool, device: th.device,
                 init: th.Tensor | None = None) -> None:
        super().__init__()
        c = shape[1]
        self.fft, self.shape = fft, tuple(shape)
        params, self._image_f = (lucent_spatial.fft_image if fft else lucent_spatial.pixel_image)(list(shape), sd=SD)
        self.raw = params[0]
        self.colour = _colour_matrix(c, decorrelate, device)
        if init is not None:
            self._start_at(init.to(device))

    def _decorrelate(self, x: th.Tensor) -> th.Tensor:
        if self.colour is None:
            return x
        return (x.permute(0, 2, 3, 1) @ self.colour).permute(0, 3, 1, 2)

    def forward(self) -> th.Tensor:
        return th.sigmoid(self._decorrelate(self._image_f()))

    def _start_at(self, images: th.Tensor) -> None:
        """Set the parameters so that `forward` returns `images` (clipped into the sigmoid's open range)."""
        z = th.logit(images.float().clamp(1e-3, 1 - 1e-3))
        if self.colour is not None:
            z = (z.permute(0, 2, 3, 1) @ th.linalg.inv(self.colour)).permute(0, 3, 1, 2)
        with th.no_grad():
            if not self.fft:
                self.raw.copy_(z)
                return
            h, w = self.shape[2:]
            spectrum = th.fft.rfftn(z * MAGIC, s=(h, w), norm="ortho") / _fft_scale(h, w, z.device)
            spectrum = th.view_as_real(spectrum)
            target = th.zeros_like(self.raw)
            target[..., : spectrum.shape[-2], :] = spectrum
            self.raw.copy_(target)


def _total_variation(images: th.Tensor) -> th.Tensor:
    """(B,) mean absolute difference of neighbouring pixels."""
    dh = (images[..., 1:, :] - images[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (images[..., :, 1:] - images[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw


def feature_values(model: TransitionModel, layer: nn.Module, features: FeatureSet, x: th.Tensor,
                   which: th.Tensor) -> th.Tensor:
    """(B,) objective of feature ``which[b]`` on transition b."""
    with capture(layer) as store:
        model(x)
    return features.objective(store["output"], which)


def visualize(
    model: TransitionModel,
    layer: nn.Module,
    features: FeatureSet,
    which: Sequence[int],
    *,
    steps: int,
    lr: float,
    transforms: Transforms,
    l2_weight: float = 0.0,
    tv_weight: float = 0.0,
    fft: bool = True,
    decorrelate: bool = True,
    start: th.Tensor | None = None,
    seed: int = 0,
    progress: bool = True,
) -> Visualization:
    """Maximize feature ``which[b]`` over input transition b, for all b at once.

    Args:
        start: unit transitions (B, 2C + A, H, W) to start from (dataset mode) and pull towards with `l2_weight`;
            None starts from lucent's low-amplitude noise (grey images, uniform action) and pulls towards that.
    """
    layout = model.layout
    device = next(model.parameters()).device
    b, c, h, w = len(which), layout.channels, layout.height, layout.width
    which_t = th.as_tensor(list(which), dtype=th.long, device=device)
    was_training = model.training
    model.eval()
    grad_flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    with _lucent_on(device, seed):
        if start is not None:
            obs0, act0, next0 = split_transition(start.to(device), layout)
            images0 = th.stack([obs0, next0], dim=1).reshape(2 * b, c, h, w)
            logits0 = th.log(act0.clamp_min(1e-6))
        else:
            images0, logits0 = None, th.zeros(b, layout.n_actions, device=device)
        param = ImageParam((2 * b, c, h, w), fft, decorrelate, device, init=images0)
        logits = logits0.clone().requires_grad_(True)
        anchor = param().detach()
        optimizer = th.optim.Adam([param.raw, logits], lr=lr)
        chain = transforms.build()

        def assemble(images: th.Tensor, augment: bool) -> th.Tensor:
            pair = images.reshape(b, 2 * c, h, w)
            if augment:
                for t in chain:
                    pair = t(pair)
                if pair.shape[-2:] != (h, w):
                    pair = F.interpolate(pair, size=(h, w), mode="bilinear", align_corners=False)
            return transition_tensor(pair[:, :c], th.softmax(logits, dim=1), pair[:, c:])

        with th.no_grad():
            start_value = feature_values(model, layer, features, assemble(param(), False), which_t)
        action_grad = th.zeros(b, device=device)
        for _ in tqdm(range(steps), desc="feature visualization", disable=not progress):
            optimizer.zero_grad()
            images = param()
            value = feature_values(model, layer, features, assemble(images, True), which_t)
            penalty = l2_weight * (images - anchor).pow(2).reshape(b, -1).mean(dim=1)
            if tv_weight:
                penalty = penalty + tv_weight * _total_variation(images.reshape(b, 2 * c, h, w))
            (penalty - value).sum().backward()
            action_grad += logits.grad.abs().sum(dim=1)
            optimizer.step()
        with th.no_grad():
            final = assemble(param(), False)
            value = feature_values(model, layer, features, final, which_t)
    for p, flag in zip(model.parameters(), grad_flags, strict=True):
        p.requires_grad_(flag)
    model.train(was_training)
    return Visualization(final.detach(), value.cpu().numpy(), start_value.cpu().numpy(),
                         (action_grad > 0).cpu().numpy())
