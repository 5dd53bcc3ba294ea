"""Figures use matplotlib's bundled DejaVu even when the system has its own copy first in the font cache."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest
from matplotlib import font_manager

from reward_preprocessing.plotting import style


def test_bundled_font_wins_over_a_system_copy(tmp_path: Path) -> None:
    bundled_dir = Path(matplotlib.get_data_path(), "fonts")
    bundled = bundled_dir / "ttf" / "DejaVuSans.ttf"
    system_copy = tmp_path / "DejaVuSans.ttf"
    system_copy.write_bytes(bundled.read_bytes())  # same family name, another file, as a system font would be
    manager = font_manager.fontManager
    saved = list(manager.ttflist)
    try:
        manager.addfont(str(system_copy))
        manager.ttflist.insert(0, manager.ttflist.pop())  # the system copy first, as a cache can list it
        manager._findfont_cached.cache_clear()
        assert Path(manager.findfont("DejaVu Sans")) == system_copy  # the hazard is real
        style._prefer_bundled_fonts()
        manager._findfont_cached.cache_clear()
        assert Path(manager.findfont("DejaVu Sans")).is_relative_to(bundled_dir)
    finally:
        manager.ttflist[:] = saved
        manager._findfont_cached.cache_clear()


@pytest.mark.parametrize("key", ["font.family", "svg.hashsalt"])
def test_one_style_for_every_figure(key: str) -> None:
    assert key in style.RC
