"""Reward curves: rendered (size, not blank), deterministic, interactive HTML sharing plotly.js; bad grids refused."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.image import imread

from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.curves import CurveGrid, save_curves_html, save_curves_png_pdf


def _grid() -> CurveGrid:
    steps = np.arange(400)
    unmodified = np.where(steps % 200 < 150, -1.0, 0.0) + 0.3 * np.sin(steps / 7)
    rewards = np.stack([
        np.stack([unmodified, np.where(steps % 200 == 150, 1.0, 0.0)]),
        np.stack([2 * unmodified, 0.01 * steps]),
    ])
    return CurveGrid(("unshaped", "dense"), ("unmodified", "sparse_l1"), rewards, (200,), "test curves")


def test_png_pdf_html_rendered_and_deterministic(tmp_path):
    grid = _grid()
    save_curves_png_pdf(grid, tmp_path / "a.png", tmp_path / "a.pdf")
    save_curves_png_pdf(grid, tmp_path / "b.png", tmp_path / "b.pdf")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()
    image = imread(io.BytesIO((tmp_path / "a.png").read_bytes()))
    height, width = image.shape[:2]
    assert width > 800 and height > 500  # two columns and two rows of panels at 150 dpi
    assert image[..., :3].std() > 0.05  # not blank
    dark = (image[..., :3].mean(axis=2) < 0.5).mean()
    assert 0.005 < dark < 0.5  # lines and text drawn, not a filled block
    save_curves_html(grid, tmp_path / "a.html")
    save_curves_html(grid, tmp_path / "b.html")
    html = (tmp_path / "a.html").read_text()
    assert html == (tmp_path / "b.html").read_text()
    assert 'src="../plotly.min.js"' in html and "L1 sparse" in html and "Dense shaping" in html
    assert len(html) < 200_000  # plotly.js itself is not embedded


@pytest.mark.parametrize(
    ("rewards", "message"),
    [
        (np.zeros((2, 3, 10)), "expected \\(rows, cols, steps\\)"),
        (np.zeros((2, 2, 0)), "at least one step"),
        (np.full((2, 2, 5), np.nan), "non-finite"),
    ],
)
def test_bad_grids_are_refused(rewards, message):
    with pytest.raises(UserError, match=message):
        CurveGrid(("a", "b"), ("c", "d"), rewards)
