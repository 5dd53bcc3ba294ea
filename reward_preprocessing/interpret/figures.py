"""Pictures of features: thumbnails, attribution overlays, the overview grid and one figure per feature.

Thumbnails are drawn with PIL (exact pixels, upscaled by an integer factor with nearest neighbours, so a 64×64
frame stays crisp); the overview and per-feature figures are matplotlib PNGs. Nothing here depends on time or
randomness, so the same inputs give byte-identical files.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image, ImageDraw

from reward_preprocessing.artifacts import atomic_path

POSITIVE = np.array([30, 120, 255], dtype=np.float32)  # blue: pushes the reward up
NEGATIVE = np.array([255, 140, 0], dtype=np.float32)  # orange: pushes it down
PNG_METADATA = {"Software": None}


def rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, C) uint8 as (H, W, 3): grey repeated, a fourth channel dropped."""
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[..., :3]


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    return np.kron(image, np.ones((factor, factor, 1), dtype=image.dtype)) if factor > 1 else image


def scale_for(height: int, target: int = 128) -> int:
    return max(1, target // height)


def mark(image: np.ndarray, position: tuple[float, float] | None, factor: int) -> Image.Image:
    """A PIL image of `image` upscaled by `factor`, with a circle at `position` (y, x in input pixels)."""
    pil = Image.fromarray(upscale(rgb(image), factor))
    if position is not None:
        y, x = position[0] * factor, position[1] * factor
        r = max(4, round(factor * 1.5))
        draw = ImageDraw.Draw(pil)
        draw.ellipse([x - r, y - r, x + r, y + r], outline=(255, 0, 255), width=2)
    return pil


def overlay(image: np.ndarray, attribution: np.ndarray, scale: float) -> np.ndarray:
    """The image dimmed to grey, positive attribution in blue and negative in orange, opacity ∝ |a| / scale.

    Args:
        attribution: (h, w) summed over channels; resized (nearest) to the image when it comes from a layer.
    """
    base = rgb(image).astype(np.float32).mean(axis=2, keepdims=True).repeat(3, axis=2) * 0.6 + 40
    h, w = image.shape[:2]
    if attribution.shape != (h, w):
        rows = (np.arange(h) * attribution.shape[0] // h)[:, None]
        cols = (np.arange(w) * attribution.shape[1] // w)[None, :]
        attribution = attribution[rows, cols]
    strength = np.clip(np.abs(attribution) / scale, 0, 1)[..., None] if scale > 0 else np.zeros((h, w, 1))
    colour = np.where(attribution[..., None] >= 0, POSITIVE, NEGATIVE)
    return (base * (1 - strength) + colour * strength).clip(0, 255).round().astype(np.uint8)


def png_bytes(image: Image.Image | np.ndarray) -> bytes:
    pil = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue()


def pair(obs: np.ndarray, next_obs: np.ndarray, gap: int = 2) -> np.ndarray:
    """obs and next obs side by side with a white gap."""
    obs, next_obs = rgb(obs), rgb(next_obs)
    white = np.full((obs.shape[0], gap, 3), 255, dtype=np.uint8)
    return np.concatenate([obs, white, next_obs], axis=1)


@dataclass
class FeaturePanel:
    """Everything one feature's figures show (images as (H, W, C) uint8)."""

    title: str
    obs: np.ndarray
    next_obs: np.ndarray
    attribution_obs: np.ndarray  # overlays (H, W, 3)
    attribution_next: np.ndarray
    examples: list[tuple[np.ndarray, np.ndarray, str, tuple[float, float] | None]]  # obs, next, label, position
    example_attribution: tuple[np.ndarray, np.ndarray] | None


def _save(fig: plt.Figure, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, metadata=PNG_METADATA)
    plt.close(fig)


def save_overview(panels: Sequence[FeaturePanel], path: str | os.PathLike, title: str) -> None:
    """A grid with one cell per feature: its visualized obs | next obs, titled with its name and values."""
    n = len(panels)
    cols = min(5, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.4 * rows + 0.6), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels, strict=False):
        ax.imshow(pair(panel.obs, panel.next_obs), interpolation="nearest")
        ax.set_title(panel.title, fontsize=8)
    fig.suptitle(title + "\n(each cell: observation | next observation)", fontsize=10)
    fig.tight_layout()
    _save(fig, path)


def save_feature(panel: FeaturePanel, path: str | os.PathLike) -> None:
    """One feature: visualization and its attribution; the dataset examples and the best one's attribution."""
    n_ex = len(panel.examples)
    cols = max(4, 2 * min(n_ex, 3))
    rows = 2 + (1 if panel.example_attribution is not None else 0)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 2.1 * rows + 0.5), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    top = [(panel.obs, "visualized obs"), (panel.next_obs, "visualized next obs"),
           (panel.attribution_obs, "attribution (obs)"), (panel.attribution_next, "attribution (next obs)")]
    for ax, (img, label) in zip(axes[0], top, strict=False):
        ax.imshow(rgb(img), interpolation="nearest")
        ax.set_title(label, fontsize=7)
    for i, (obs, nxt, label, pos) in enumerate(panel.examples[:3]):
        for j, img in enumerate((obs, nxt)):
            ax = axes[1, 2 * i + j]
            ax.imshow(np.asarray(mark(img, pos, scale_for(img.shape[0]))), interpolation="nearest")
            ax.set_title(("obs " if j == 0 else "next ") + label, fontsize=6)
    if panel.example_attribution is not None:
        for ax, img, label in zip(axes[2], panel.example_attribution, ("best example: attribution (obs)",
                                                                        "attribution (next obs)"), strict=False):
            ax.imshow(img, interpolation="nearest")
            ax.set_title(label, fontsize=7)
    fig.suptitle(panel.title + "\nblue: raises the reward, orange: lowers it; circle: strongest position",
                 fontsize=8)
    fig.tight_layout()
    _save(fig, path)
