"""Gridworld reward heatmaps: the paper's main figure, as PNG/PDF (matplotlib) and HTML (plotly).

Each state is a cell. The reward of "stay" is a circle in the cell's centre and
each move is a triangle from the centre to the edge it moves through (row 0 at
the top), so the four triangles tile the cell. Blocked moves (into the border or
a wall) are not drawn: a blank triangle means "this transition never happens".
All panels share one diverging colour scale, symmetric around zero, so white
means zero in every panel and colours compare across panels.

Centring: a panel is shown minus the mean of its non-blocked transitions when
its column's ``centre`` flag is set. The default (`default_centre`) follows the
reference code: every column except the sparse objectives is centred. Unmodified
rewards and the smooth objectives are only defined up to a constant (a smooth
objective ignores the shift), so their level is arbitrary and centring removes
it; the sparse objectives choose the shift themselves and moving it would hide
what they found. The HTML hover shows the reward before and after centring.

KeyMazes (``model.has_key`` not all False) show two sub-grids per panel side by
side: "without key" (left) and "with key" (right).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.envs.maze import ACTION_DELTAS, ACTION_NAMES, TabularModel
from reward_preprocessing.errors import UserError

COLOUR_MAP = "RdBu"
DPI = 150
CIRCLE_RADIUS = 0.2  # of a cell's side
CIRCLE_SIDES = 40
HALF_GAP = 0.4  # cells between the "without key" and "with key" sub-grids
PAD = 0.04  # cells around a panel so that border lines are not clipped
# Fill colours in the HTML are quantised to this many levels of the colour map (odd, so zero
# maps to the exact centre): one plotly trace per colour keeps the file and the browser fast.
HTML_COLOUR_LEVELS = 65
PX_PER_INCH = 96

# How the names used in targets and configs are shown in figures; unknown names are shown as given.
DISPLAY_NAMES: dict[str, str] = {
    "unshaped": "Unshaped",
    "dense": "Dense shaping",
    "antidense": "Antidense shaping",
    "random": "Random shaping",
    "unmodified": "Unmodified",
    "sparse_l1": "L1 sparse",
    "smooth_l1": "L1 smooth",
    "sparse_log": "Log sparse",
    "smooth_log": "Log smooth",
}
KEY_HALF_NAMES = ("without key", "with key")


def display_name(label: str) -> str:
    """The pretty form of a row or column name (``sparse_l1`` -> ``L1 sparse``)."""
    return DISPLAY_NAMES.get(label, label)


def default_centre(column: str) -> bool:
    """Whether a column is mean-centred by default: all but the sparse objectives (see module doc)."""
    return not column.startswith("sparse")


@dataclass(frozen=True, eq=False)  # eq=False: fields hold arrays, compare by identity
class HeatmapGrid:
    """A grid of reward panels over one maze: rows (e.g. shapings) x columns (e.g. objectives).

    Attributes:
        model: the maze; only its layout (cells, blocked, has_key, size) is used.
        row_labels: one name per row, shown on the left (via `display_name`).
        col_labels: one name per column, shown on top (via `display_name`).
        rewards: (R, C, S, A) reward of every (state, action) in every panel; blocked entries are ignored.
        centre: per column, whether to subtract the panel's mean; default `default_centre` of the label.
        title: shown above the grid when not empty.
        vmax: the colour limit (scale is [-vmax, vmax]); default the largest |shown reward|.
    """

    model: TabularModel
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    rewards: np.ndarray
    centre: tuple[bool, ...] | None = None
    title: str = ""
    vmax: float | None = None
    _shown: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows, cols = tuple(map(str, self.row_labels)), tuple(map(str, self.col_labels))
        object.__setattr__(self, "row_labels", rows)
        object.__setattr__(self, "col_labels", cols)
        rewards = np.asarray(self.rewards, dtype=np.float64)
        object.__setattr__(self, "rewards", rewards)
        centre = tuple(default_centre(c) for c in cols) if self.centre is None else tuple(map(bool, self.centre))
        object.__setattr__(self, "centre", centre)

        model = self.model
        if model.num_actions != len(ACTION_NAMES):
            raise UserError(f"heatmaps need the {len(ACTION_NAMES)} maze actions, got {model.num_actions}")
        if not rows or not cols:
            raise UserError("a heatmap grid needs at least one row and one column")
        expected = (len(rows), len(cols), model.num_states, model.num_actions)
        if rewards.shape != expected:
            raise UserError(f"heatmap rewards have shape {rewards.shape}, expected (rows, cols, S, A) = {expected}")
        if len(centre) != len(cols):
            raise UserError(f"centre has {len(centre)} entries for {len(cols)} columns")
        drawn = ~model.blocked
        bad = ~np.isfinite(rewards) & drawn
        if bad.any():
            r, c, s, a = (int(i[0]) for i in np.nonzero(bad))
            raise UserError(
                f"{int(bad.sum())} non-finite rewards in the heatmap, e.g. {rows[r]}/{cols[c]} state {s} "
                f"action {ACTION_NAMES[a]}"
            )
        if self.vmax is not None and not (np.isfinite(self.vmax) and self.vmax > 0):
            raise UserError(f"vmax must be a positive number, got {self.vmax}")

        shown = np.where(drawn, rewards, np.nan)
        means = np.nanmean(shown, axis=(2, 3))  # (R, C) over non-blocked transitions
        shown = shown - np.where(np.array(centre)[None, :], means, 0.0)[:, :, None, None]
        object.__setattr__(self, "_shown", shown)

    @property
    def num_rows(self) -> int:
        return len(self.row_labels)

    @property
    def num_cols(self) -> int:
        return len(self.col_labels)

    @property
    def has_key(self) -> bool:
        """KeyMaze: panels split into "without key" / "with key"."""
        return bool(self.model.has_key.any())

    def shown_rewards(self) -> np.ndarray:
        """(R, C, S, A) as drawn: centred where the column says so, NaN where blocked."""
        return self._shown.copy()

    def colour_limit(self) -> float:
        """The symmetric colour limit: `vmax` or the largest |shown reward| (1 if all are zero)."""
        if self.vmax is not None:
            return float(self.vmax)
        largest = float(np.nanmax(np.abs(self._shown)))
        return largest if largest > 0 else 1.0


@dataclass(frozen=True, eq=False)
class PanelGeometry:
    """Polygons of one panel in data units (x right, y down, one unit per cell), shared by all panels.

    Only non-blocked (state, action) pairs get a polygon; ``*_index`` says which
    (flat index ``state * A + action``) so that a panel's colours are ``rewards.reshape(-1)[index]``.
    """

    triangles: np.ndarray  # (Nt, 3, 2)
    triangle_index: np.ndarray  # (Nt,)
    circles: np.ndarray  # (Nc, CIRCLE_SIDES, 2)
    circle_index: np.ndarray  # (Nc,)
    size: int
    halves: int
    width: float
    height: float

    @property
    def num_polygons(self) -> int:
        return len(self.triangle_index) + len(self.circle_index)

    def half_offset(self, half: int) -> float:
        """x of the left edge of sub-grid `half` (0 without key, 1 with key)."""
        return half * (self.size + HALF_GAP)

    def grid_segments(self) -> np.ndarray:
        """(L, 2, 2) line segments of the cell borders of every sub-grid."""
        n = self.size
        ticks = np.arange(n + 1, dtype=np.float64)
        segments = []
        for half in range(self.halves):
            x0 = self.half_offset(half)
            for t in ticks:
                segments.append([(x0, t), (x0 + n, t)])
                segments.append([(x0 + t, 0.0), (x0 + t, float(n))])
        return np.array(segments)


def panel_geometry(model: TabularModel) -> PanelGeometry:
    """Triangles for moves and circles for "stay" of every non-blocked (state, action), vectorised."""
    size = int(model.size)
    halves = 2 if model.has_key.any() else 1
    half = model.has_key.astype(np.int64) if halves == 2 else np.zeros(model.num_states, dtype=np.int64)
    corner = np.stack([half * (size + HALF_GAP) + model.cells[:, 1], model.cells[:, 0]], axis=1).astype(np.float64)
    centre = corner + 0.5

    drawn = ~model.blocked
    # A move with delta (dr, dc) owns the edge whose midpoint is centre + 0.5 (dc, dr); the edge
    # runs perpendicular to it, so its corners are the midpoint -/+ 0.5 (|dr|, |dc|).
    delta_xy = ACTION_DELTAS[:, ::-1].astype(np.float64)  # (A, 2) as (dx, dy)
    is_move = np.abs(delta_xy).sum(axis=1) > 0
    s_move, a_move = np.nonzero(drawn & is_move[None, :])
    mid = centre[s_move] + 0.5 * delta_xy[a_move]
    perp = 0.5 * np.abs(delta_xy[a_move])[:, ::-1]
    triangles = np.stack([centre[s_move], mid - perp, mid + perp], axis=1)

    s_stay, a_stay = np.nonzero(drawn & ~is_move[None, :])
    theta = np.linspace(0.0, 2.0 * np.pi, CIRCLE_SIDES, endpoint=False)
    ring = CIRCLE_RADIUS * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    circles = centre[s_stay][:, None, :] + ring[None, :, :]

    width = halves * size + (halves - 1) * HALF_GAP
    num_actions = model.num_actions
    return PanelGeometry(
        triangles=triangles,
        triangle_index=s_move * num_actions + a_move,
        circles=circles,
        circle_index=s_stay * num_actions + a_stay,
        size=size,
        halves=halves,
        width=float(width),
        height=float(size),
    )


@dataclass(frozen=True)
class _Layout:
    """Where everything goes, in inches and figure fractions (y up), shared by both backends."""

    width: float
    height: float
    panels: np.ndarray  # (R, C, 4): x0, y0, w, h as figure fractions
    colourbar: tuple[float, float, float, float]
    row_label_x: float
    col_title_y: float
    half_label_y: float
    half_rule_dy: float  # from the sub-grid labels up to the rule under a KeyMaze column title
    title_y: float

    def half_label_x(self, geo: PanelGeometry, col: int, half: int) -> float:
        x0, _, w, _ = self.panels[0, col]
        centre = geo.half_offset(half) + geo.size / 2 + PAD
        return float(x0 + w * centre / (geo.width + 2 * PAD))


def _layout(grid: HeatmapGrid, geo: PanelGeometry) -> _Layout:
    """Figure size grows with the grid: cells of about 2.2 in / size, fixed margins for labels."""
    # KeyMaze panels hold two sub-grids: smaller cells, and a wider gap between panels than
    # between the sub-grids of one panel so that the columns read as pairs.
    cell = float(np.clip(2.2 / geo.size * (0.8 if geo.halves == 2 else 1.0), 0.2, 0.45))
    pw, ph = cell * (geo.width + 2 * PAD), cell * (geo.height + 2 * PAD)
    left, vgap, bottom = 0.4, 0.15, 0.1
    hgap = 0.4 if geo.halves == 2 else 0.15
    cb_gap, cb_w, cb_right = 0.2, 0.15, 0.7
    title_h = 0.4 if grid.title else 0.05
    col_h = 0.3
    half_h = 0.25 if geo.halves == 2 else 0.0
    rows, cols = grid.num_rows, grid.num_cols
    width = left + cols * pw + (cols - 1) * hgap + cb_gap + cb_w + cb_right
    top = title_h + col_h + half_h
    height = top + rows * ph + (rows - 1) * vgap + bottom

    panels = np.zeros((rows, cols, 4))
    for r in range(rows):
        for c in range(cols):
            y_top = top + r * (ph + vgap)
            panels[r, c] = (left + c * (pw + hgap)) / width, (height - y_top - ph) / height, pw / width, ph / height
    area_h = rows * ph + (rows - 1) * vgap
    cb_h = min(area_h - 2 * PAD * cell, 5.0)
    cb_y = bottom + (area_h - cb_h) / 2
    cb_x = left + cols * pw + (cols - 1) * hgap + cb_gap
    return _Layout(
        width=width,
        height=height,
        panels=panels,
        colourbar=(cb_x / width, cb_y / height, cb_w / width, cb_h / height),
        row_label_x=left * 0.45 / width,
        col_title_y=(height - title_h - col_h / 2) / height,
        half_label_y=(height - title_h - col_h - half_h / 2) / height,
        half_rule_dy=half_h / 2 / height,
        title_y=(height - title_h / 2) / height,
    )


def _colour_map() -> Colormap:
    return matplotlib.colormaps[COLOUR_MAP]


# ---------------------------------------------------------------- matplotlib (PNG, PDF)

_RC = {"font.family": "DejaVu Sans"}


def build_figure(grid: HeatmapGrid, dpi: int = DPI) -> Figure:
    """The heatmap grid as a matplotlib `Figure` (no pyplot state: safe in scripts and tests)."""
    geo = panel_geometry(grid.model)
    lay = _layout(grid, geo)
    shown = grid.shown_rewards()
    vmax = grid.colour_limit()
    norm, cmap = Normalize(-vmax, vmax), _colour_map()
    segments = geo.grid_segments()

    with matplotlib.rc_context(_RC):
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
    with matplotlib.rc_context(_RC), atomic_path(png_path) as png_tmp, atomic_path(pdf_path) as pdf_tmp:
        fig.savefig(png_tmp, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
        fig.savefig(pdf_tmp, format="pdf", facecolor="white", metadata={"CreationDate": None, "Producer": None})


# ---------------------------------------------------------------- plotly (HTML)


def _rgb(rgba: np.ndarray) -> str:
    return f"rgb({int(rgba[0])},{int(rgba[1])},{int(rgba[2])})"


def _polygon_path(polygons: np.ndarray, close: bool = True) -> tuple[list[float | None], list[float | None]]:
    """Polygons (or polylines) as one x and one y list, separated by None (plotly's "new shape" marker)."""
    n = len(polygons)
    parts = [polygons, polygons[:, :1]] if close else [polygons]
    closed = np.concatenate([*parts, np.full((n, 1, 2), np.nan)], axis=1).reshape(-1, 2)
    closed = np.round(closed[:-1], 3)  # drop the trailing separator; 1/1000 of a cell is plenty
    xs = [None if np.isnan(v) else float(v) for v in closed[:, 0]]
    ys = [None if np.isnan(v) else float(v) for v in closed[:, 1]]
    return xs, ys


def _hover_texts(grid: HeatmapGrid, r: int, c: int, index: np.ndarray) -> list[str]:
    """Per polygon: panel, state (row, col, key), action, reward (and centred reward if centred)."""
    model, num_actions = grid.model, grid.model.num_actions
    states, actions = index // num_actions, index % num_actions
    original = grid.rewards[r, c].reshape(-1)[index]
    shown = grid.shown_rewards()[r, c].reshape(-1)[index]
    panel = f"{display_name(grid.row_labels[r])} / {display_name(grid.col_labels[c])}"
    texts = []
    for s, a, orig, centred in zip(states.tolist(), actions.tolist(), original.tolist(), shown.tolist(), strict=True):
        row, col = (int(v) for v in model.cells[s])
        key = (", with key" if model.has_key[s] else ", without key") if grid.has_key else ""
        text = f"{panel}<br>state {s}: row {row}, col {col}{key}<br>action: {ACTION_NAMES[a]}<br>reward: {orig:.4g}"
        if grid.centre[c]:
            text += f"<br>centred: {centred:.4g}"
        texts.append(text)
    return texts


def build_plotly_figure(grid: HeatmapGrid) -> dict:
    """The heatmap grid as a plotly figure dict (``plotly.graph_objects.Figure(d)`` makes a live figure).

    A dict rather than a validated ``go.Figure``: KeyMaze10 needs thousands of polygons and
    validation would dominate the run time. Fill colours are grouped into one trace per
    colour (`HTML_COLOUR_LEVELS`); an invisible marker per polygon carries the exact hover text.
    """
    geo = panel_geometry(grid.model)
    lay = _layout(grid, geo)
    shown = grid.shown_rewards()
    vmax = grid.colour_limit()
    norm = Normalize(-vmax, vmax)
    cmap = _colour_map()
    levels = cmap.resampled(HTML_COLOUR_LEVELS)
    grey_line = {"color": "rgb(140,140,140)", "width": 0.8}
    tri_centres = geo.triangles.mean(axis=1)
    circle_centres = geo.circles.mean(axis=1)
    html_circles = geo.circles[:, ::2]  # half the sides: the same look in a browser, a smaller file
    marker_px = max(4.0, 0.25 * lay.panels[0, 0, 2] * lay.width * PX_PER_INCH / (geo.width + 2 * PAD))
    grid_x, grid_y = _polygon_path(geo.grid_segments(), close=False)

    traces: list[dict] = []
    layout: dict = {
        "width": round(lay.width * PX_PER_INCH),
        "height": round(lay.height * PX_PER_INCH),
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0},
        "autosize": False,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "hoverlabel": {"bgcolor": "white", "font": {"size": 12}},
        "showlegend": False,
        "coloraxis": {
            "colorscale": [[float(x), _rgb(cmap(float(x), bytes=True))] for x in np.linspace(0, 1, 33)],
            "cmin": -vmax,
            "cmax": vmax,
            "colorbar": {
                "title": {"text": "reward", "side": "right", "font": {"size": 13}},
                "x": lay.colourbar[0],
                "xanchor": "left",
                "y": lay.colourbar[1],
                "yanchor": "bottom",
                "len": lay.colourbar[3],
                "lenmode": "fraction",
                "thickness": lay.colourbar[2] * lay.width * PX_PER_INCH,
                "thicknessmode": "pixels",
                "tickfont": {"size": 11},
            },
        },
        "annotations": [],
    }
    for r in range(grid.num_rows):
        for c in range(grid.num_cols):
            i = r * grid.num_cols + c + 1
            suffix = "" if i == 1 else str(i)
            x0, y0, w, h = (float(v) for v in lay.panels[r, c])
            axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
            layout[f"xaxis{suffix}"] = {
                "domain": [x0, x0 + w],
                "range": [-PAD, geo.width + PAD],
                "visible": False,
                "anchor": f"y{suffix}",
            }
            layout[f"yaxis{suffix}"] = {
                "domain": [y0, y0 + h],
                "range": [geo.height + PAD, -PAD],
                "visible": False,
                "anchor": f"x{suffix}",
                "scaleanchor": f"x{suffix}",
            }
            flat = shown[r, c].reshape(-1)
            for polygons, index, edge in (
                (geo.triangles, geo.triangle_index, None),
                (html_circles, geo.circle_index, {"color": "rgb(115,115,115)", "width": 0.7}),
            ):
                colours = levels(norm(flat[index]), bytes=True)[:, :3]
                unique, which = np.unique(colours, axis=0, return_inverse=True)
                for k, rgba in enumerate(unique):
                    xs, ys = _polygon_path(polygons[which.reshape(-1) == k])
                    fill = _rgb(rgba)
                    traces.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "x": xs,
                            "y": ys,
                            "fill": "toself",
                            "fillcolor": fill,
                            "line": edge or {"color": fill, "width": 0.5},
                            "hoverinfo": "skip",
                            **axes,
                        }
                    )
                if edge is None:  # cell borders above the triangles, below the circles
                    traces.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "x": grid_x,
                            "y": grid_y,
                            "line": grey_line,
                            "hoverinfo": "skip",
                            **axes,
                        }
                    )
            index = np.concatenate([geo.triangle_index, geo.circle_index])
            centres = np.round(np.concatenate([tri_centres, circle_centres]), 4)
            traces.append(
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": centres[:, 0].tolist(),
                    "y": centres[:, 1].tolist(),
                    "marker": {
                        "size": marker_px,
                        "color": np.round(flat[index], 6).tolist(),
                        "coloraxis": "coloraxis",
                        "opacity": 0,
                    },
                    "text": _hover_texts(grid, r, c, index),
                    "hoverinfo": "text",
                    **axes,
                }
            )

    annotations = layout["annotations"]
    font_px = PX_PER_INCH / 72

    def note(text: str, x: float, y: float, size: float, colour: str = "black", **kw: object) -> None:
        annotations.append(
            {
                "text": text,
                "x": x,
                "y": y,
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "xanchor": "center",
                "yanchor": "middle",
                "font": {"size": size * font_px, "color": colour},
                **kw,
            }
        )

    for r, label in enumerate(grid.row_labels):
        _, y0, _, h = lay.panels[r, 0]
        note(display_name(label), lay.row_label_x, float(y0 + h / 2), 10, textangle=-90)
    for c, label in enumerate(grid.col_labels):
        x0, _, w, _ = lay.panels[0, c]
        note(f"<b>{display_name(label)}</b>", float(x0 + w / 2), lay.col_title_y, 10)
        if geo.halves == 2:
            rule_y = lay.half_label_y + lay.half_rule_dy
            layout.setdefault("shapes", []).append(
                {
                    "type": "line",
                    "xref": "paper",
                    "yref": "paper",
                    "x0": float(x0),
                    "x1": float(x0 + w),
                    "y0": rule_y,
                    "y1": rule_y,
                    "line": {"color": "rgb(153,153,153)", "width": 0.8},
                }
            )
            for half, name in enumerate(KEY_HALF_NAMES):
                note(name, lay.half_label_x(geo, c, half), lay.half_label_y, 8, colour="rgb(64,64,64)")
    if grid.title:
        note(grid.title, 0.5, lay.title_y, 12)
    return {"data": traces, "layout": layout}


def save_heatmap_html(
    grid: HeatmapGrid,
    html_path: str | os.PathLike,
    include_plotlyjs: str | bool = "../plotly.min.js",
    div_id: str = "reward-heatmap",
) -> None:
    """Write the interactive figure; deterministic (fixed `div_id`), and by default sharing one plotly.js.

    `include_plotlyjs` is passed to plotly: a string ending in ``.js`` becomes the script's
    src (relative to the HTML file; write it once with `write_plotlyjs`), True embeds the
    whole library (about 4.6 MB per file), "cdn" loads it from the internet.
    """
    import plotly.io as pio

    html = pio.to_html(
        build_plotly_figure(grid),
        include_plotlyjs=include_plotlyjs,
        div_id=div_id,
        full_html=True,
        validate=False,
        config={"displaylogo": False, "responsive": False},
    )
    with atomic_path(html_path) as tmp:
        tmp.write_text(html, encoding="utf-8")


def write_plotlyjs(path: str | os.PathLike) -> Path:
    """Write plotly's bundled JavaScript once, for the HTML files that point at it."""
    from plotly.offline import get_plotlyjs

    with atomic_path(path) as tmp:
        tmp.write_text(get_plotlyjs(), encoding="utf-8")
    return Path(path)
