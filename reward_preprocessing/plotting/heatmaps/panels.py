"""The data of a heatmap figure: a grid of reward panels over one maze, centred and on one colour scale.

Centring: a panel is shown minus the mean of its non-blocked transitions when
its column's ``centre`` flag is set. The default (`default_centre`) follows the
reference code: every column except the sparse objectives is centred. Unmodified
rewards and the smooth objectives are only defined up to a constant (a smooth
objective ignores the shift), so their level is arbitrary and centring removes
it; the sparse objectives choose the shift themselves and moving it would hide
what they found. The HTML hover shows the reward before and after centring.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import matplotlib
import numpy as np
from matplotlib.colors import Colormap

from reward_preprocessing.envs.maze import ACTION_NAMES, TabularModel
from reward_preprocessing.errors import UserError

COLOUR_MAP = "RdBu"

KEY_HALF_NAMES = ("without key", "with key")


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


def colour_map() -> Colormap:
    """The diverging colour map shared by every panel and both renderers (white is zero)."""
    return matplotlib.colormaps[COLOUR_MAP]
