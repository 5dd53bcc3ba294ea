"""The heatmap grid as a self-contained interactive plotly figure (HTML with a hover per transition)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.colors import Normalize

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.envs.maze import ACTION_NAMES
from reward_preprocessing.plotting.heatmaps.geometry import PAD, figure_layout, panel_geometry
from reward_preprocessing.plotting.heatmaps.panels import KEY_HALF_NAMES, HeatmapGrid, colour_map
from reward_preprocessing.plotting.labels import display_name

# Fill colours in the HTML are quantised to this many levels of the colour map (odd, so zero
# maps to the exact centre): one plotly trace per colour keeps the file and the browser fast.
HTML_COLOUR_LEVELS = 65
PX_PER_INCH = 96


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
    lay = figure_layout(grid, geo)
    shown = grid.shown_rewards()
    vmax = grid.colour_limit()
    norm = Normalize(-vmax, vmax)
    cmap = colour_map()
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
