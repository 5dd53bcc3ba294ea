"""Where everything of a heatmap figure goes: the cell triangles and circles, and the panel layout.

Each state is a cell. The reward of "stay" is a circle in the cell's centre and
each move is a triangle from the centre to the edge it moves through (row 0 at
the top), so the four triangles tile the cell. Blocked moves (into the border or
a wall) get no polygon: a blank triangle means "this transition never happens".
KeyMazes show two sub-grids per panel side by side: "without key" (left) and
"with key" (right). Both renderers draw from this geometry.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reward_preprocessing.envs.maze import ACTION_DELTAS, TabularModel
from reward_preprocessing.plotting.heatmaps.panels import HeatmapGrid

CIRCLE_RADIUS = 0.2  # of a cell's side
CIRCLE_SIDES = 40
HALF_GAP = 0.4  # cells between the "without key" and "with key" sub-grids
PAD = 0.04  # cells around a panel so that border lines are not clipped


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
class FigureLayout:
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


def figure_layout(grid: HeatmapGrid, geo: PanelGeometry) -> FigureLayout:
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
    return FigureLayout(
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
