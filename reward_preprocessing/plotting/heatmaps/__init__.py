"""Gridworld reward heatmaps: the paper's main figure, as PNG/PDF (matplotlib) and HTML (plotly).

The parts: `panels` (the data: HeatmapGrid, centring, colour scale), `geometry` (cell triangles and
circles, figure layout), `render_matplotlib` (PNG, PDF) and `render_plotly` (HTML).

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

from reward_preprocessing.plotting.heatmaps.geometry import (
    CIRCLE_RADIUS,
    CIRCLE_SIDES,
    HALF_GAP,
    PAD,
    FigureLayout,
    PanelGeometry,
    figure_layout,
    panel_geometry,
)
from reward_preprocessing.plotting.heatmaps.panels import (
    COLOUR_MAP,
    KEY_HALF_NAMES,
    HeatmapGrid,
    colour_map,
    default_centre,
)
from reward_preprocessing.plotting.heatmaps.render_matplotlib import DPI, build_figure, save_heatmap_png_pdf
from reward_preprocessing.plotting.heatmaps.render_plotly import (
    HTML_COLOUR_LEVELS,
    PX_PER_INCH,
    build_plotly_figure,
    save_heatmap_html,
    write_plotlyjs,
)

__all__ = [
    "CIRCLE_RADIUS",
    "CIRCLE_SIDES",
    "COLOUR_MAP",
    "DPI",
    "HALF_GAP",
    "HTML_COLOUR_LEVELS",
    "KEY_HALF_NAMES",
    "PAD",
    "PX_PER_INCH",
    "FigureLayout",
    "HeatmapGrid",
    "PanelGeometry",
    "build_figure",
    "build_plotly_figure",
    "colour_map",
    "default_centre",
    "figure_layout",
    "panel_geometry",
    "save_heatmap_html",
    "save_heatmap_png_pdf",
    "write_plotlyjs",
]
