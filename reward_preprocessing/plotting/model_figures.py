"""The heatmap of one user model on a maze (config ``models:``): the unmodified reward and every objective."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from reward_preprocessing.envs.maze import layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.maze_figures import heatmap_grid, maze_model, save_figure
from reward_preprocessing.preprocessing.objectives import OBJECTIVES


@dataclass
class ModelHeatmapSettings:
    """One row (the model) and a column per objective after the unmodified reward.

    Attributes:
        maze: the maze the model belongs to (``maze4``, ...).
        name: the model's name (the row label).
        columns: the objectives, one preprocessed directory each.
    """

    maze: str
    name: str
    columns: list[str] = field(default_factory=lambda: list(OBJECTIVES))
    title: str = ""

    def __post_init__(self) -> None:
        layout_from_name(self.maze)
        if not self.columns:
            raise UserError("a model heatmap needs at least one objective")


def model_heatmap_stage(
    settings: ModelHeatmapSettings, runs: Sequence[str | os.PathLike], out: str | os.PathLike
) -> None:
    """Write ``out.png``, ``out.pdf`` and ``out.html`` from the preprocessed directories `runs` (one per column)."""
    grid = heatmap_grid(maze_model(settings.maze), [settings.name], settings.columns, runs,
                        settings.title or settings.name)
    save_figure(grid, out)
