"""Reward curves along an image episode with a filmstrip of the frames at the reward events.

Rows of line plots (the original reward, then each preprocessed one) share the
time axis; below them, the observations at the steps where some reward is
largest in magnitude, so one sees *what happened* when a reward fired. Event
steps are marked in every row. PNG/PDF (matplotlib) and HTML (plotly).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.errors import UserError

DPI = 150
_RC = {"font.family": "DejaVu Sans", "svg.hashsalt": "reward_preprocessing"}
LINE = "#1f4e9c"
EVENT = "#c0392b"


@dataclass(frozen=True, eq=False)
class Filmstrip:
    """Rewards (label → (T,)) along T steps whose observations are ``frames`` (T, H, W, C) uint8."""

    frames: np.ndarray
    curves: dict[str, np.ndarray]
    events: tuple[int, ...]
    episode_starts: tuple[int, ...] = ()
    title: str = ""

    def __post_init__(self) -> None:
        steps = len(self.frames)
        if self.frames.ndim != 4 or self.frames.dtype != np.uint8:
            raise UserError(f"filmstrip frames must be (T, H, W, C) uint8, got {self.frames.shape} {self.frames.dtype}")
        if not self.curves:
            raise UserError("a filmstrip needs at least one reward curve")
        for label, values in self.curves.items():
            if np.shape(values) != (steps,):
                raise UserError(f"curve {label!r} has shape {np.shape(values)}, expected ({steps},)")
            if not np.isfinite(values).all():
                raise UserError(f"curve {label!r} has non-finite rewards")
        if any(not 0 <= e < steps for e in self.events):
            raise UserError(f"event steps must lie in [0, {steps})")


def reward_events(curves: dict[str, np.ndarray], max_events: int = 8, per_curve: int = 3, min_gap: int = 3,
                  rel_threshold: float = 0.2) -> tuple[int, ...]:
    """Steps worth a frame: each curve's `per_curve` largest |r| (at least `rel_threshold` of its maximum),
    at least `min_gap` steps apart, at most `max_events` in all, in time order."""
    candidates: list[tuple[float, int]] = []
    for values in curves.values():
        magnitude = np.abs(np.asarray(values, dtype=np.float64))
        top = float(magnitude.max(initial=0.0))
        if top <= 0:
            continue
        taken: list[int] = []
        for step in np.argsort(-magnitude, kind="stable"):
            if magnitude[step] < rel_threshold * top or len(taken) >= per_curve:
                break
            if all(abs(int(step) - t) >= min_gap for t in taken):
                taken.append(int(step))
                candidates.append((magnitude[step] / top, int(step)))
    chosen: list[int] = []
    for _, step in sorted(candidates, key=lambda c: (-c[0], c[1])):
        if len(chosen) < max_events and all(abs(step - c) >= min_gap for c in chosen):
            chosen.append(step)
    return tuple(sorted(chosen))


def build_figure(strip: Filmstrip) -> Figure:
    rows, n = len(strip.curves), max(len(strip.events), 1)
    steps = np.arange(len(strip.frames))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(max(8.0, 1.2 * n), 1.5 * rows + 1.9), dpi=DPI, facecolor="white")
        grid = fig.add_gridspec(rows + 1, n, height_ratios=[1.0] * rows + [1.2])
        first = None
        for r, (label, values) in enumerate(strip.curves.items()):
            ax = fig.add_subplot(grid[r, :], sharex=first)
            first = first or ax
            ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
            for start in strip.episode_starts:
                ax.axvline(start, color="0.6", linewidth=0.6, linestyle=":", zorder=0)
            for event in strip.events:
                ax.axvline(event, color=EVENT, linewidth=0.7, alpha=0.5, zorder=0)
            ax.plot(steps, values, color=LINE, linewidth=0.9)
            ax.set_ylabel(label, fontsize=8)
            ax.tick_params(labelsize=7, labelbottom=r == rows - 1)
            ax.set_xlim(0, max(len(steps) - 1, 1))
        if strip.title and first is not None:
            first.set_title(strip.title, fontsize=10)
        for c, event in enumerate(strip.events):
            ax = fig.add_subplot(grid[rows, c])
            ax.imshow(strip.frames[event], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            values = ", ".join(f"{v[event]:.2g}" for v in strip.curves.values())
            ax.set_title(f"step {event}", fontsize=7, color=EVENT)
            ax.set_xlabel(values, fontsize=6)
        fig.tight_layout()
    return fig


def save_png_pdf(strip: Filmstrip, png_path: str | os.PathLike, pdf_path: str | os.PathLike) -> None:
    """PNG and PDF, byte-identical on reruns."""
    fig = build_figure(strip)
    with matplotlib.rc_context(_RC), atomic_path(png_path) as png, atomic_path(pdf_path) as pdf:
        fig.savefig(png, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        fig.savefig(pdf, format="pdf", facecolor="white", metadata={"CreationDate": None, "Producer": None})


def save_html(strip: Filmstrip, path: str | os.PathLike, include_plotlyjs: str | bool = True) -> None:
    """Interactive curves (hover: step and reward) above the filmstrip images."""
    import plotly.graph_objects as go
    import plotly.io as pio
    from plotly.subplots import make_subplots

    rows, n = len(strip.curves), max(len(strip.events), 1)
    specs: list[list[dict | None]] = [[{"colspan": n}] + [None] * (n - 1) for _ in range(rows)]
    specs.append([{} for _ in range(n)])
    fig = make_subplots(rows=rows + 1, cols=n, specs=specs, vertical_spacing=0.04,
                        subplot_titles=[*strip.curves, *(f"step {e}" for e in strip.events)])
    steps = list(range(len(strip.frames)))
    for r, (label, values) in enumerate(strip.curves.items(), start=1):
        fig.add_scatter(x=steps, y=np.round(values, 6).tolist(), mode="lines", name=label, line={"color": LINE},
                        hovertemplate=f"{label}<br>step %{{x}}<br>reward %{{y:.4g}}<extra></extra>", row=r, col=1)
        for event in strip.events:
            fig.add_vline(x=event, line={"color": EVENT, "width": 1}, opacity=0.5, row=r, col=1)
    for c, event in enumerate(strip.events, start=1):
        fig.add_trace(go.Image(z=strip.frames[event]), row=rows + 1, col=c)
        fig.update_xaxes(visible=False, row=rows + 1, col=c)
        fig.update_yaxes(visible=False, row=rows + 1, col=c)
    fig.update_layout(width=max(900, 130 * n), height=170 * rows + 220, showlegend=False, paper_bgcolor="white",
                      plot_bgcolor="white", title={"text": strip.title} if strip.title else None)
    html = pio.to_html(fig, include_plotlyjs=include_plotlyjs, full_html=True, div_id="reward-filmstrip",
                       config={"displaylogo": False})
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")


def episode_starts_of(lengths: Sequence[int]) -> tuple[int, ...]:
    """Step indices where episodes 2, 3, ... begin, for concatenated episodes of these lengths."""
    return tuple(int(x) for x in np.cumsum(lengths)[:-1])


@dataclass(frozen=True)
class FilmstripSettings:
    """Which episodes of the rollouts the curves follow, and how many frames the strip shows.

    ``rows`` (shapings) and ``columns`` (objectives) name the preprocessed models passed in row-major order;
    ``steps`` caps the steps drawn.
    """

    rows: tuple[str, ...] = ("unshaped",)
    columns: tuple[str, ...] = ()
    title: str = ""
    steps: int | None = None
    episodes: int = 2
    completed_only: bool = True  # prefer episodes that reach the coin (they have a reward event)
    max_events: int = 8
    batch_size: int = 256

    def __post_init__(self) -> None:
        if self.steps is not None and self.steps < 1:
            raise UserError("steps must be >= 1")
        if self.episodes < 1 or self.max_events < 1 or self.batch_size < 1:
            raise UserError("episodes, max_events and batch_size must be >= 1")


def image_reward_filmstrip(
    rollouts: Any, models: dict[str, Any], settings: FilmstripSettings, title: str = ""
) -> Filmstrip:
    """Rewards of `models` (label → reward net) along the first finished episodes of `rollouts` (`ImageRollouts`)."""
    from reward_preprocessing.data.image_batches import predict_rewards

    finished = np.flatnonzero(rollouts.terminal & (rollouts.lengths > 0))
    if settings.completed_only:
        completed = [k for k in finished if rollouts.rews[rollouts.starts[k]:rollouts.starts[k] + rollouts.lengths[k]]
                     .max(initial=0) > 0]
        finished = np.array(completed or finished.tolist(), dtype=np.int64)
    if len(finished) == 0:  # e.g. an expert that never finishes a level in the curve's steps: draw what exists
        finished = np.flatnonzero(rollouts.lengths > 0)
    chosen = finished[: settings.episodes]
    if len(chosen) == 0:
        raise UserError(f"{rollouts.where}: no transitions to draw reward curves along")
    index = np.concatenate([np.arange(rollouts.starts[k], rollouts.starts[k] + rollouts.lengths[k]) for k in chosen])
    frames = np.concatenate([rollouts.trajectory(int(k)).obs[:-1] for k in chosen])
    lengths = [int(rollouts.lengths[k]) for k in chosen]
    if settings.steps is not None and len(index) > settings.steps:
        index, frames = index[: settings.steps], frames[: settings.steps]
    curves = {label: predict_rewards(net, rollouts, index, settings.batch_size) for label, net in models.items()}
    events = reward_events(curves, settings.max_events)
    starts = tuple(s for s in episode_starts_of(lengths) if s < len(index))
    return Filmstrip(frames, curves, events, starts, title or settings.title)
