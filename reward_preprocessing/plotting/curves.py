"""Reward curves: a model's reward along one rollout, for non-tabular envs.

A grid of panels, rows = shapings and columns = the unmodified reward followed by
one preprocessed reward per objective, each the reward at every step of the
same rollout. Dotted vertical lines mark episode starts. Every panel has its own
y-range (shaped rewards and preprocessed ones differ by orders of magnitude),
with zero drawn as a thin grey line so that sparsity is visible.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.labels import display_name
from reward_preprocessing.plotting.style import RC
from reward_preprocessing.preprocessing.objectives import OBJECTIVES
from reward_preprocessing.rewards.io import load_reward_net, read_spec

DPI = 150
PANEL_SIZE = (3.2, 1.9)  # inches per panel
LINE_COLOUR = "#1f4e9c"


@dataclass(frozen=True, eq=False)  # eq=False: fields hold arrays
class CurveGrid:
    """Rewards along a rollout for rows (shapings) x columns (unmodified, then objectives).

    Attributes:
        rewards: (R, C, T) reward at each of the T steps in each panel.
        episode_starts: step indices where a new episode begins (0 excluded).
    """

    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    rewards: np.ndarray
    episode_starts: tuple[int, ...] = ()
    title: str = ""

    def __post_init__(self) -> None:
        rewards = np.asarray(self.rewards, dtype=np.float64)
        object.__setattr__(self, "rewards", rewards)
        object.__setattr__(self, "row_labels", tuple(map(str, self.row_labels)))
        object.__setattr__(self, "col_labels", tuple(map(str, self.col_labels)))
        if not self.row_labels or not self.col_labels:
            raise UserError("a curve grid needs at least one row and one column")
        if rewards.ndim != 3 or rewards.shape[:2] != (len(self.row_labels), len(self.col_labels)):
            raise UserError(
                f"curve rewards have shape {rewards.shape}, expected (rows, cols, steps) = "
                f"({len(self.row_labels)}, {len(self.col_labels)}, T)"
            )
        if rewards.shape[2] == 0:
            raise UserError("a curve needs at least one step")
        if not np.isfinite(rewards).all():
            raise UserError(f"{int((~np.isfinite(rewards)).sum())} non-finite rewards in the curves")


def _ylim(values: np.ndarray) -> tuple[float, float]:
    low, high = float(min(values.min(), 0.0)), float(max(values.max(), 0.0))
    pad = 0.08 * (high - low) if high > low else 0.5
    return low - pad, high + pad


def build_figure(grid: CurveGrid, dpi: int = DPI) -> Figure:
    """The grid as a matplotlib `Figure` (no pyplot state)."""
    rows, cols = len(grid.row_labels), len(grid.col_labels)
    steps = np.arange(grid.rewards.shape[2])
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(PANEL_SIZE[0] * cols + 0.6, PANEL_SIZE[1] * rows + 0.7), dpi=dpi, facecolor="white")
        axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
        for r in range(rows):
            for c in range(cols):
                ax = axes[r, c]
                values = grid.rewards[r, c]
                ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
                for start in grid.episode_starts:
                    ax.axvline(start, color="0.6", linewidth=0.6, linestyle=":", zorder=0)
                ax.plot(steps, values, color=LINE_COLOUR, linewidth=0.8)
                ax.set_ylim(*_ylim(values))
                ax.set_xlim(0, max(len(steps) - 1, 1))
                ax.tick_params(labelsize=7)
                if r == 0:
                    ax.set_title(display_name(grid.col_labels[c]), fontsize=10)
                if c == 0:
                    ax.set_ylabel(display_name(grid.row_labels[r]), fontsize=9)
                if r == rows - 1:
                    ax.set_xlabel("step", fontsize=8)
        if grid.title:
            fig.suptitle(grid.title, fontsize=11)
        fig.tight_layout()
    return fig


def save_curves_png_pdf(grid: CurveGrid, png_path: str | os.PathLike, pdf_path: str | os.PathLike) -> None:
    """PNG and PDF, byte-identical on reruns (no timestamps or software tags)."""
    fig = build_figure(grid)
    with matplotlib.rc_context(RC), atomic_path(png_path) as png_tmp, atomic_path(pdf_path) as pdf_tmp:
        fig.savefig(png_tmp, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})
        fig.savefig(pdf_tmp, format="pdf", facecolor="white", metadata={"CreationDate": None, "Producer": None})


def build_plotly_figure(grid: CurveGrid) -> dict:
    """The grid as a plotly figure dict: one line trace per panel, hover shows step and reward."""
    from plotly.subplots import make_subplots

    rows, cols = len(grid.row_labels), len(grid.col_labels)
    fig = make_subplots(
        rows=rows, cols=cols, shared_xaxes=True, horizontal_spacing=0.05, vertical_spacing=0.06,
        column_titles=[display_name(c) for c in grid.col_labels],
        row_titles=[display_name(r) for r in grid.row_labels],
    )
    steps = list(range(grid.rewards.shape[2]))
    for r in range(rows):
        for c in range(cols):
            values = np.round(grid.rewards[r, c], 6).tolist()
            name = f"{display_name(grid.row_labels[r])} / {display_name(grid.col_labels[c])}"
            fig.add_scatter(
                x=steps, y=values, mode="lines", line={"color": LINE_COLOUR, "width": 1}, name=name,
                hovertemplate=f"{name}<br>step %{{x}}<br>reward %{{y:.4g}}<extra></extra>", row=r + 1, col=c + 1,
            )
            for start in grid.episode_starts:
                fig.add_vline(x=start, line={"color": "rgb(160,160,160)", "width": 0.6, "dash": "dot"},
                              row=r + 1, col=c + 1)
    fig.update_layout(
        width=int(260 * cols + 80), height=int(170 * rows + 90), showlegend=False, paper_bgcolor="white",
        plot_bgcolor="white", margin={"l": 50, "r": 40, "t": 60 if grid.title else 40, "b": 40},
        title={"text": grid.title} if grid.title else None,
    )
    fig.update_xaxes(showgrid=False, zeroline=False)
    fig.update_yaxes(zeroline=True, zerolinecolor="rgb(200,200,200)", showgrid=False)
    return fig.to_dict()


def save_curves_html(
    grid: CurveGrid, html_path: str | os.PathLike, include_plotlyjs: str | bool = "../plotly.min.js",
    div_id: str = "reward-curves",
) -> None:
    """Interactive HTML sharing one plotly.js (a path relative to the HTML file) by default; deterministic."""
    import plotly.io as pio

    html = pio.to_html(
        build_plotly_figure(grid), include_plotlyjs=include_plotlyjs, div_id=div_id, full_html=True,
        validate=False, config={"displaylogo": False, "responsive": False},
    )
    with atomic_path(html_path) as tmp:
        tmp.write_text(html, encoding="utf-8")


@dataclass
class CurveSettings:
    """One reward-curve figure (config: ``envs.<env>.shapings``, ``objectives``, ``envs.<env>.title``).

    Attributes:
        rows: shapings, one row each; columns: objectives shown after the unmodified reward.
        steps: plot the first this many steps of the curve rollout.
    """

    rows: list[str] = field(default_factory=lambda: ["unshaped"])
    columns: list[str] = field(default_factory=lambda: list(OBJECTIVES))
    steps: int = 1000
    title: str = ""

    def __post_init__(self) -> None:
        if not self.rows or not self.columns:
            raise UserError("a curve figure needs at least one row and one column")
        if self.steps < 1:
            raise UserError("steps must be positive")


def reward_curve_grid(
    rollouts_dir: str | os.PathLike, runs: Sequence[str | os.PathLike], settings: CurveSettings
) -> CurveGrid:
    """The rewards of every preprocessed model in `runs` (row-major) and of its base model along the rollout."""
    rows, columns = settings.rows, settings.columns
    if len(runs) != len(rows) * len(columns):
        raise UserError(f"got {len(runs)} runs for {len(rows)} rows x {len(columns)} columns")
    nets = [load_reward_net(r) for r in runs]
    if not all(hasattr(net, "base") for net in nets):
        raise UserError("every run must be a preprocessed model (a PreprocessedRewardNet directory)")
    env_id = read_spec(runs[0]).get("env", {}).get("id")
    data = TransitionBatch.from_trajectories(
        load_rollouts(rollouts_dir, env_id=env_id, obs_shape=nets[0].observation_space.shape)
    )
    if len(data) < settings.steps:
        raise UserError(f"{rollouts_dir}: only {len(data)} steps, fewer than steps = {settings.steps}")
    data = data.select(np.arange(settings.steps))
    panels = np.empty((len(rows), 1 + len(columns), settings.steps))
    for i in range(len(rows)):
        row = nets[i * len(columns) : (i + 1) * len(columns)]
        panels[i, 0] = data.rewards(row[0].base)  # every column of a row starts from the same model
        for j, net in enumerate(row):
            panels[i, 1 + j] = data.rewards(net)
    starts = tuple(int(k) for k in np.flatnonzero(np.diff(data.episode_ids)) + 1)
    return CurveGrid(tuple(rows), ("unmodified", *columns), panels, starts, settings.title)


def reward_curves_stage(
    rollouts_dir: str | os.PathLike, runs: Sequence[str | os.PathLike], settings: CurveSettings,
    prefix: str | os.PathLike,
) -> None:
    """Draw the curve figure as ``prefix.png``, ``prefix.pdf`` and ``prefix.html``."""
    grid = reward_curve_grid(rollouts_dir, runs, settings)
    prefix = Path(prefix)
    save_curves_png_pdf(grid, prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".pdf"))
    save_curves_html(grid, prefix.with_name(prefix.name + ".html"))
