"""The matplotlib settings every static figure uses, so that figures are byte-identical across machines.

Text is drawn with the DejaVu Sans that ships inside matplotlib. A machine may also have a system copy of
DejaVu (Debian's fonts-dejavu-core comes with chromium, for example) whose glyph metrics differ in the last
unit; which copy a family name resolves to then depends on the order of matplotlib's font cache. Putting the
bundled font files first makes the choice independent of what else is installed.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib import font_manager

RC = {"font.family": "DejaVu Sans", "svg.hashsalt": "reward_preprocessing"}


def _prefer_bundled_fonts() -> None:
    bundled = str(Path(matplotlib.get_data_path(), "fonts"))
    # A stable sort: among equally good matches `findfont` takes the first, now a bundled one.
    font_manager.fontManager.ttflist.sort(key=lambda font: not str(font.fname).startswith(bundled))


_prefer_bundled_fonts()
