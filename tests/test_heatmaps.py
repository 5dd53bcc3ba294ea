"""Gridworld heatmaps: geometry, centring, the three output formats, and the rewards.csv reader."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from matplotlib.image import imread

from reward_preprocessing.artifacts import write_csv
from reward_preprocessing.envs.maze import ACTION_NAMES, LAYOUTS, build_tabular_model
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.plotting.heatmaps import (
    HALF_GAP,
    HeatmapGrid,
    build_figure,
    build_plotly_figure,
    panel_geometry,
    save_heatmap_html,
    save_heatmap_png_pdf,
    write_plotlyjs,
)
from reward_preprocessing.plotting.tables import REWARDS_CSV_COLUMNS, load_panel_rewards, load_rewards_csv

COLUMNS = ("unmodified", "sparse_l1")
ROWS = ("unshaped", "dense")


def _model(layout: str, reward: str = "goal", shaping: str = "unshaped"):
    return build_tabular_model(LAYOUTS[layout], reward, shaping, 0.99)


def _grid(layout: str, **kw) -> HeatmapGrid:
    """Rows unshaped/dense; columns: the shaped reward, and the unshaped one as a sparse stand-in."""
    base = _model(layout)
    rewards = np.array([[_model(layout, "goal", s).reward, base.reward] for s in ROWS])
    return HeatmapGrid(base, ROWS, COLUMNS, rewards, **kw)


@pytest.fixture(scope="module")
def maze4_grid() -> HeatmapGrid:
    return _grid("EmptyMaze4", title="maze4")


@pytest.fixture(scope="module")
def keymaze6_grid() -> HeatmapGrid:
    return _grid("KeyMaze6")


def _area(polygon: np.ndarray) -> float:
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


# ------------------------------------------------------------------ geometry


@pytest.mark.parametrize("layout", ["EmptyMaze4", "KeyMaze6"])
def test_only_non_blocked_moves_get_a_polygon(layout: str) -> None:
    model = _model(layout)
    geo = panel_geometry(model)
    drawn = ~model.blocked
    assert model.blocked.any()  # the border blocks moves, so the check below can fail
    assert geo.num_polygons == int(drawn.sum())
    index = np.concatenate([geo.triangle_index, geo.circle_index])
    assert len(np.unique(index)) == len(index)
    assert drawn.reshape(-1)[index].all()
    assert len(geo.circle_index) == model.num_states  # "stay" is never blocked


def test_triangles_tile_an_interior_cell_and_point_the_right_way() -> None:
    model = _model("EmptyMaze4")
    geo = panel_geometry(model)
    state = 1 * 4 + 2  # row 1, col 2: no move is blocked
    mine = geo.triangle_index // model.num_actions == state
    triangles = geo.triangles[mine]
    actions = [ACTION_NAMES[a] for a in geo.triangle_index[mine] % model.num_actions]
    assert sorted(actions) == ["down", "left", "right", "up"]
    assert sum(_area(t) for t in triangles) == pytest.approx(1.0)  # four triangles, no gap, no overlap
    assert (triangles[..., 0] >= 2).all() and (triangles[..., 0] <= 3).all()
    assert (triangles[..., 1] >= 1).all() and (triangles[..., 1] <= 2).all()
    for triangle, action in zip(triangles, actions, strict=True):
        assert tuple(triangle[0]) == (2.5, 1.5)  # apex in the centre
        outer = triangle[1:]
        expected_edge = {"up": (1, 1.0), "down": (1, 2.0), "left": (0, 2.0), "right": (0, 3.0)}[action]
        axis, value = expected_edge
        assert (outer[:, axis] == value).all(), action  # y grows downwards: row 0 is at the top


def test_keymaze_with_key_states_are_drawn_in_the_right_sub_grid() -> None:
    model = _model("KeyMaze6")
    geo = panel_geometry(model)
    assert geo.halves == 2
    with_key = model.has_key[geo.circle_index // model.num_actions]
    centres = geo.circles.mean(axis=1)
    assert (centres[with_key, 0] > 6 + HALF_GAP).all()
    assert (centres[~with_key, 0] < 6).all()


# ------------------------------------------------------------------ grid and centring


def test_centring_follows_the_column_flags(maze4_grid: HeatmapGrid) -> None:
    shown = maze4_grid.shown_rewards()
    drawn = ~maze4_grid.model.blocked
    assert maze4_grid.centre == (True, False)
    for r in range(2):
        assert shown[r, 0][drawn].mean() == pytest.approx(0.0, abs=1e-12)
        np.testing.assert_allclose(shown[r, 1][drawn], maze4_grid.rewards[r, 1][drawn])  # sparse: as it is
    assert np.isnan(shown[:, :, maze4_grid.model.blocked]).all()
    limit = maze4_grid.colour_limit()
    assert limit == pytest.approx(np.nanmax(np.abs(shown)))

    uncentred = _grid("EmptyMaze4", centre=(False, False))
    np.testing.assert_allclose(uncentred.shown_rewards()[0, 0][drawn], uncentred.rewards[0, 0][drawn])


def test_grid_rejects_bad_input() -> None:
    model = _model("EmptyMaze4")
    good = np.zeros((1, 1, model.num_states, model.num_actions))
    with pytest.raises(UserError, match="shape"):
        HeatmapGrid(model, ["a"], ["b", "c"], good)
    bad = good.copy()
    bad[0, 0, 5, 0] = np.nan
    with pytest.raises(UserError, match="non-finite"):
        HeatmapGrid(model, ["a"], ["b"], bad)
    blocked_nan = good.copy()
    blocked_nan[0, 0][model.blocked] = np.nan  # blocked moves are never drawn, so NaN there is fine
    assert HeatmapGrid(model, ["a"], ["b"], blocked_nan).colour_limit() == 1.0
    with pytest.raises(UserError, match="centre"):
        HeatmapGrid(model, ["a"], ["b"], good, centre=(True, False))


# ------------------------------------------------------------------ PNG and PDF


def _check_png(path, fig_size_px: tuple[int, int]) -> np.ndarray:
    image = imread(path)
    assert (image.shape[1], image.shape[0]) == fig_size_px
    rgb = (image[..., :3] * 255).round().astype(np.uint8)
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 50  # a real picture, not a blank canvas
    assert rgb.std() > 20
    return rgb


@pytest.mark.parametrize("which", ["maze4_grid", "keymaze6_grid"])
def test_png_and_pdf_are_rendered_and_deterministic(which: str, request, tmp_path) -> None:
    grid: HeatmapGrid = request.getfixturevalue(which)
    png, pdf = tmp_path / "h.png", tmp_path / "h.pdf"
    save_heatmap_png_pdf(grid, png, pdf, dpi=60)
    width, height = build_figure(grid, dpi=60).get_size_inches() * 60
    rgb = _check_png(png, (round(width), round(height)))
    # Strong reds and blues: the dense-shaped panel uses both ends of the diverging scale.
    assert ((rgb[..., 0] > 150) & (rgb[..., 2] < 120)).any()
    assert ((rgb[..., 2] > 150) & (rgb[..., 0] < 120)).any()
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5000

    first = png.read_bytes(), pdf.read_bytes()
    save_heatmap_png_pdf(grid, png, pdf, dpi=60)
    assert (png.read_bytes(), pdf.read_bytes()) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.pdf", "h.png"]  # no temporary files left


def test_figure_grows_with_the_grid(maze4_grid: HeatmapGrid) -> None:
    small = build_figure(maze4_grid).get_size_inches()
    big = build_figure(_grid("EmptyMaze10")).get_size_inches()
    assert big[0] > small[0] and big[1] > small[1]
    key = build_figure(_grid("KeyMaze6")).get_size_inches()
    assert key[0] / key[1] > small[0] / small[1]  # two sub-grids side by side


def test_failed_write_leaves_no_partial_output(maze4_grid: HeatmapGrid, tmp_path) -> None:
    (tmp_path / "h.pdf").mkdir()  # the PDF cannot replace a directory
    with pytest.raises(OSError):
        save_heatmap_png_pdf(maze4_grid, tmp_path / "h.png", tmp_path / "h.pdf", dpi=30)
    assert [p.name for p in tmp_path.iterdir()] == ["h.pdf"]


# ------------------------------------------------------------------ HTML


def _plotly_escaped(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("/", "\\u002f")


def test_html_hover_div_and_shared_plotlyjs(maze4_grid: HeatmapGrid, tmp_path) -> None:
    html_path = tmp_path / "heatmaps" / "maze4.html"
    save_heatmap_html(maze4_grid, html_path, div_id="maze4-heatmap")
    html = html_path.read_text()
    assert 'id="maze4-heatmap"' in html
    assert 'src="../plotly.min.js"' in html
    assert len(html) < 1_000_000  # plotly.js is not embedded

    state, action = 1 * 4 + 2, ACTION_NAMES.index("right")
    value = maze4_grid.rewards[1, 0, state, action]
    centred = maze4_grid.shown_rewards()[1, 0, state, action]
    assert value != pytest.approx(centred)
    expected = (
        f"Dense shaping / Unmodified<br>state {state}: row 1, col 2<br>action: right<br>reward: {value:.4g}"
        f"<br>centred: {centred:.4g}"
    )
    assert _plotly_escaped(expected) in html

    save_heatmap_html(maze4_grid, tmp_path / "again.html", div_id="maze4-heatmap")
    assert (tmp_path / "again.html").read_text() == html

    js = write_plotlyjs(tmp_path / "plotly.min.js")
    assert js.stat().st_size > 1_000_000


def test_html_keymaze_hover_names_the_key(keymaze6_grid: HeatmapGrid, tmp_path) -> None:
    save_heatmap_html(keymaze6_grid, tmp_path / "k.html")
    html = tmp_path / "k.html"
    text = html.read_text()
    assert _plotly_escaped("row 4, col 4, with key<br>action: stay<br>reward: 1<br>") in text
    assert "without key" in text


@pytest.mark.parametrize("which", ["maze4_grid", "keymaze6_grid"])
def test_plotly_figure_is_valid_and_skips_blocked_moves(which: str, request) -> None:
    grid: HeatmapGrid = request.getfixturevalue(which)
    figure = build_plotly_figure(grid)
    go.Figure(figure)  # plotly's validation: every property name and value is one plotly.js knows
    drawn = int((~grid.model.blocked).sum())
    panels = grid.num_rows * grid.num_cols
    filled = [t for t in figure["data"] if t.get("fill") == "toself"]
    polygons = sum(t["x"].count(None) + 1 for t in filled)
    assert polygons == panels * drawn
    markers = [t for t in figure["data"] if t["mode"] == "markers"]
    assert len(markers) == panels
    assert all(len(t["text"]) == drawn for t in markers)


# ------------------------------------------------------------------ rewards.csv


def _write_rewards(path, rows) -> None:
    write_csv(path, REWARDS_CSV_COLUMNS, rows)


def test_load_rewards_csv_round_trip(tmp_path) -> None:
    model = _model("EmptyMaze4", "path", "random")
    preprocessed = model.reward * 0.5 - 0.25
    states, actions, next_states = model.transitions()
    rows = [
        (int(s), int(a), int(n), float(model.reward[s, a]), float(preprocessed[s, a]))
        for s, a, n in zip(states, actions, next_states, strict=True)
    ]
    path = tmp_path / "rewards.csv"
    _write_rewards(path, rows[::-1])  # order does not matter
    original, loaded = load_rewards_csv(path, model.num_states, model.num_actions)
    np.testing.assert_array_equal(original, model.reward)
    np.testing.assert_array_equal(loaded, preprocessed)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows: rows[:-1], "1 of 10 .* missing"),
        (lambda rows: rows + rows[:1], "appears twice"),
        (lambda rows: [(*rows[0][:3], float("nan"), 0.0), *rows[1:]], "must be finite"),
        (lambda rows: [(*rows[0][:4], "abc"), *rows[1:]], "not a number"),
        (lambda rows: [(2, *rows[0][1:]), *rows[1:]], "state 2 is outside"),
        (lambda rows: [(0, 5, *rows[0][2:]), *rows[1:]], "action 5 is outside"),
        (lambda rows: [(*rows[0][:4],), *rows[1:]], "4 fields"),
    ],
)
def test_load_rewards_csv_errors_name_the_file(tmp_path, change, message) -> None:
    rows = [(s, a, s, 0.1 * a, 0.0) for s in range(2) for a in range(5)]
    path = tmp_path / "rewards.csv"
    _write_rewards(path, change(rows))
    with pytest.raises(ArtifactError, match=message) as info:
        load_rewards_csv(path, 2, 5)
    assert str(path) in str(info.value)


def test_load_rewards_csv_header_and_missing_file(tmp_path) -> None:
    path = tmp_path / "rewards.csv"
    write_csv(path, ("state", "action", "original", "preprocessed"), [(0, 0, 1.0, 1.0)])
    with pytest.raises(ArtifactError, match="header"):
        load_rewards_csv(path, 1, 1)
    path.write_text("")
    with pytest.raises(ArtifactError, match="header is missing"):
        load_rewards_csv(path, 1, 1)
    with pytest.raises(ArtifactError, match="not found"):
        load_rewards_csv(tmp_path / "nope.csv", 1, 1)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ArtifactError, match="not a text CSV"):
        load_rewards_csv(path, 1, 1)


def test_load_panel_rewards_picks_the_column(tmp_path) -> None:
    rows = [(s, a, s, 1.0 + a, -2.0 * a) for s in range(2) for a in range(5)]
    path = tmp_path / "rewards.csv"
    _write_rewards(path, rows)
    np.testing.assert_array_equal(load_panel_rewards(path, "unmodified", 2, 5)[1], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(load_panel_rewards(path, "sparse_l1", 2, 5)[1], [0, -2, -4, -6, -8])
