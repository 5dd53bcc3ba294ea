"""The heatmap grid as a static matplotlib figure (PNG for screens, PDF for papers)."""

from __future__ import annotations

import os

import matplotlib
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.plotting.heatmaps.geometry import PAD, figure_layout, panel_geometry
from reward_preprocessing.plotting.heatmaps.panels import KEY_HALF_NAMES, HeatmapGrid, colour_map
from reward_preprocessing.plotting.labels import display_name
from reward_preprocessing.plotting.style import RC

DPI = 150


def build_figure(grid: HeatmapGrid, dpi: int = DPI) -> Figure:
    """The heatmap grid as a matplotlib `Figure` (no pyplot state: safe in scripts and tests)."""
    geo = panel_geometry(grid.model)
    lay = figure_layout(grid, geo)
    shown = grid.shown_rewards()
    vmax = grid.colour_limit()
    norm, cmap = Normalize(-vmax, vmax), colour_map()
    segments = geo.grid_segments()

    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(lay.width, lay.height), dpi=dpi, facecolor="white")
        for r in range(grid.num_rows):
            for c in range(grid.num_cols):
                ax = fig.add_axes(tuple(lay.panels[r, c]))
                flat = shown[r, c].reshape(-1)
                # Edges in the face colour close the anti-aliasing seams between neighbouring triangles.
                ax.add_collection(
                    PolyCollection(
                        geo.triangles,
                        array=flat[geo.triangle_index],
                        cmap=cmap,
                        norm=norm,
                        edgecolors="face",
                        linewidths=0.3,
                    )
                )
                ax.add_collection(LineCollection(segments, colors="0.55", linewidths=0.5))
                ax.add_collection(
                    PolyCollection(
                        geo.circles,
                        array=flat[geo.circle_index],
                        cmap=cmap,
                        norm=norm,
                        edgecolors="0.45",
                        linewidths=0.35,
                    )
                )
                ax.set_xlim(-PAD, geo.width + PAD)
                ax.set_ylim(geo.height + PAD, -PAD)  # row 0 at the top
                ax.set_axis_off()

        for r, label in enumerate(grid.row_labels):
            _, y0, _, h = lay.panels[r, 0]
            fig.text(
                lay.row_label_x, y0 + h / 2, display_name(label), rotation=90, ha="center", va="center", fontsize=10
            )
        for c, label in enumerate(grid.col_labels):
            x0, _, w, _ = lay.panels[0, c]
            fig.text(
                x0 + w / 2,
                lay.col_title_y,
                display_name(label),
                ha="center",
                va="center",
                fontsize=10,
                fontweight="bold",
            )
            if geo.halves == 2:
                rule_y = lay.half_label_y + lay.half_rule_dy
                fig.add_artist(Line2D([x0, x0 + w], [rule_y, rule_y], color="0.6", linewidth=0.6))
                for half, name in enumerate(KEY_HALF_NAMES):
                    fig.text(
                        lay.half_label_x(geo, c, half),
                        lay.half_label_y,
                        name,
                        ha="center",
                        va="center",
                        fontsize=8,
                        color="0.25",
                    )
        if grid.title:
            fig.text(0.5, lay.title_y, grid.title, ha="center", va="center", fontsize=12)

        cax = fig.add_axes(lay.colourbar)
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax)
        bar.set_label("reward", fontsize=10)
        bar.ax.tick_params(labelsize=8)
    return fig


def save_heatmap_png_pdf(
    grid: HeatmapGrid, png_path: str | os.PathLike, pdf_path: str | os.PathLike, dpi: int = DPI
) -> None:
    """Write the figure as PNG and PDF, byte-identical on reruns; neither file appears unless both succeed."""
    fig = build_figure(grid, dpi)
    with matplotlib.rc_context(RC), atomic_path(png_path) as png_tmp, atomic_path(pdf_path) as pdf_tmp:
        fig.savefig(png_tmp, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
        fig.savefig(pdf_tmp, format="pdf", facecolor="white", metadata={"CreationDate": None, "Producer": None})
