"""Training curves as PNG (matplotlib) and self-contained HTML (plotly): PPO learning curves, reward-model losses.

A figure is a list of panels, each with named series over a shared x; an
optional horizontal reference line per panel (e.g. a random policy's
completion rate, or the MSE of predicting the mean).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.errors import UserError

DPI = 150
_RC = {"font.family": "DejaVu Sans", "svg.hashsalt": "reward_preprocessing"}
COLOURS = ("#1f4e9c", "#c0392b", "#27ae60", "#8e44ad")


@dataclass(frozen=True, eq=False)
class Panel:
    """Series over x; ``reference`` = (label, y) draws a dashed horizontal line."""

    title: str
    xlabel: str
    ylabel: str
    x: np.ndarray
    series: dict[str, np.ndarray]
    reference: tuple[str, float] | None = None
    log_y: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, values in self.series.items():
            if len(values) != len(self.x):
                raise UserError(f"series {name!r} has {len(values)} values for {len(self.x)} x values")


def build_figure(panels: Sequence[Panel], title: str = "") -> Figure:
    if not panels:
        raise UserError("no panels to plot")
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(4.2 * len(panels), 3.2), dpi=DPI, facecolor="white")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels, strict=True):
            for colour, (name, values) in zip(COLOURS, panel.series.items(), strict=False):
                finite = np.isfinite(values)
                ax.plot(np.asarray(panel.x)[finite], np.asarray(values)[finite], color=colour, linewidth=1.2,
                        marker="o" if len(panel.x) <= 30 else None, markersize=3, label=name)
            if panel.reference is not None:
                ax.axhline(panel.reference[1], color="0.4", linestyle="--", linewidth=1, label=panel.reference[0])
            if panel.log_y:
                ax.set_yscale("log")
            ax.set_title(panel.title, fontsize=10)
            ax.set_xlabel(panel.xlabel, fontsize=9)
            ax.set_ylabel(panel.ylabel, fontsize=9)
            ax.tick_params(labelsize=8)
            ax.legend(fontsize=7, frameon=False)
        if title:
            fig.suptitle(title, fontsize=11)
        fig.tight_layout()
    return fig


def save_png(panels: Sequence[Panel], path: str | os.PathLike, title: str = "") -> None:
    fig = build_figure(panels, title)
    with matplotlib.rc_context(_RC), atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, facecolor="white", metadata={"Software": None})


def save_html(panels: Sequence[Panel], path: str | os.PathLike, title: str = "",
              include_plotlyjs: str | bool = True) -> None:
    """Interactive HTML; self-contained unless `include_plotlyjs` names a shared plotly.js."""
    import plotly.io as pio
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.title for p in panels])
    for col, panel in enumerate(panels, start=1):
        for colour, (name, values) in zip(COLOURS, panel.series.items(), strict=False):
            y = [None if not np.isfinite(v) else round(float(v), 6) for v in values]
            fig.add_scatter(x=np.asarray(panel.x).tolist(), y=y, mode="lines+markers", name=name,
                            line={"color": colour}, row=1, col=col)
        if panel.reference is not None:
            fig.add_hline(y=panel.reference[1], line={"dash": "dash", "color": "gray"}, row=1, col=col,
                          annotation_text=panel.reference[0])
        fig.update_xaxes(title_text=panel.xlabel, row=1, col=col)
        fig.update_yaxes(title_text=panel.ylabel, type="log" if panel.log_y else None, row=1, col=col)
    fig.update_layout(width=420 * len(panels) + 80, height=380, title={"text": title} if title else None,
                      paper_bgcolor="white", plot_bgcolor="white")
    html = pio.to_html(fig, include_plotlyjs=include_plotlyjs, full_html=True, div_id="training-curves",
                       config={"displaylogo": False})
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")


def ppo_panels(curve: dict[str, np.ndarray], random_rate: float | None = None) -> list[Panel]:
    """Return and level-completion rate of the episodes finished in each PPO rollout."""
    x = curve["timesteps"]
    return [
        Panel("episode return", "environment steps", "mean return", x, {"PPO": curve["return_mean"]}),
        Panel("levels completed", "environment steps", "completion rate", x,
              {"PPO": curve["level_completion_rate"]},
              ("random policy", random_rate) if random_rate is not None else None),
    ]


def reward_loss_panels(curve: Sequence[dict[str, float]], baseline_mse: float | None) -> list[Panel]:
    """Training loss and test MSE per epoch, against the MSE of predicting the training mean."""
    x = np.array([row["epoch"] for row in curve], dtype=float)
    series = {"train loss": np.array([row["train_loss"] for row in curve])}
    if curve and "test_mse" in curve[0]:
        series["test MSE"] = np.array([row["test_mse"] for row in curve])
    reference = ("predict the mean (test)", baseline_mse) if baseline_mse is not None else None
    return [Panel("reward model", "epoch", "mean squared error", x, series, reference, log_y=True)]
