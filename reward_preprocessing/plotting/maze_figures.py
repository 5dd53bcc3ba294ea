"""Maze heatmap figures from preprocessed run directories: the panel assembly and the figure stage.

A figure's rows are shapings and its columns the unmodified reward followed by one objective each; every
panel comes from the ``rewards.csv`` of one preprocessed directory (docs/architecture.md, artifacts).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.maze import REWARDS, SHAPINGS, TabularModel, check_choice, env_id, layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.heatmaps import HeatmapGrid, save_heatmap_html, save_heatmap_png_pdf
from reward_preprocessing.plotting.tables import load_rewards_csv

# Columns of each heatmap mode after the unmodified reward.
HEATMAP_MODES: dict[str, tuple[str, ...]] = {
    "default": ("sparse_l1", "smooth_log"),
    "l1": ("sparse_l1", "smooth_l1"),
    "log": ("sparse_log", "smooth_log"),
}
EXTENSIONS = ("png", "pdf", "html")


def maze_model(maze: str) -> TabularModel:
    """The tabular model whose geometry (cells, walls, key, goal) the heatmaps draw."""
    name, _ = layout_from_name(maze)
    env = gym.make(env_id(name), reward="goal", shaping="unshaped", gamma=0.99)
    return env.unwrapped.tabular_model()


def heatmap_grid(
    model: TabularModel, rows: Sequence[str], columns: Sequence[str], runs: Sequence[str | os.PathLike], title: str
) -> HeatmapGrid:
    """The panels of one figure from its preprocessed directories, row-major (rows x columns)."""
    if len(runs) != len(rows) * len(columns):
        raise UserError(f"got {len(runs)} runs for {len(rows)} rows x {len(columns)} columns")
    shape = (model.num_states, model.num_actions)
    panels = np.empty((len(rows), 1 + len(columns), *shape))
    for i in range(len(rows)):
        for j in range(len(columns)):
            original, preprocessed = load_rewards_csv(Path(runs[i * len(columns) + j]) / "rewards.csv", *shape)
            panels[i, 0] = original  # every column of a row starts from the same reward
            panels[i, 1 + j] = preprocessed
    return HeatmapGrid(model, tuple(rows), ("unmodified", *columns), panels, title=title)


def save_figure(grid: HeatmapGrid, prefix: str | os.PathLike) -> None:
    """``prefix.png``, ``prefix.pdf`` and ``prefix.html``."""
    prefix = Path(prefix)
    save_heatmap_png_pdf(grid, prefix.with_name(prefix.name + ".png"), prefix.with_name(prefix.name + ".pdf"))
    save_heatmap_html(grid, prefix.with_name(prefix.name + ".html"))


@dataclass
class MazeFigureSettings:
    """Every heatmap of one maze (config: ``mazes``, ``rewards``, ``shapings``, ``heatmap_modes``).

    ``source: ground_truth`` draws ``{maze}_{reward}_{mode}`` for every reward and mode, and the paper's main
    figure ``{maze}`` (the goal reward in the default columns) when both are configured; ``source: learned``
    draws ``{maze}_learned``: the learned goal rewards in the default columns.
    """

    maze: str
    source: str = "ground_truth"
    rewards: list[str] = field(default_factory=lambda: list(REWARDS))
    shapings: list[str] = field(default_factory=lambda: list(SHAPINGS))
    modes: list[str] = field(default_factory=lambda: list(HEATMAP_MODES))

    def __post_init__(self) -> None:
        layout_from_name(self.maze)
        check_choice("source", self.source, ("ground_truth", "learned"))
        for reward in self.rewards:
            check_choice("reward", reward, REWARDS)
        for shaping in self.shapings:
            check_choice("shaping", shaping, SHAPINGS)
        for mode in self.modes:
            check_choice("heatmap mode", mode, tuple(HEATMAP_MODES))


def _runs(preprocessed_root: Path, maze: str, reward: str, shapings: Sequence[str], columns: Sequence[str]) -> list:
    return [preprocessed_root / f"{maze}_{reward}_{shaping}" / column for shaping in shapings for column in columns]


def maze_figures_stage(
    settings: MazeFigureSettings, preprocessed_root: str | os.PathLike, out_dir: str | os.PathLike
) -> list[Path]:
    """Draw every figure of the maze into `out_dir` in one process; returns the files written."""
    root, out_dir = Path(preprocessed_root), Path(out_dir)
    model = maze_model(settings.maze)
    maze, written = settings.maze, []
    if settings.source == "learned":
        columns = HEATMAP_MODES["default"]
        grid = heatmap_grid(model, settings.shapings, columns, _runs(root, maze, "goal", settings.shapings, columns),
                            f"{maze}, goal reward learned from preferences")
        save_figure(grid, out_dir / f"{maze}_learned")
        return [out_dir / f"{maze}_learned.{ext}" for ext in EXTENSIONS]
    for reward in settings.rewards:
        for mode in settings.modes:
            columns = HEATMAP_MODES[mode]
            grid = heatmap_grid(model, settings.shapings, columns,
                                _runs(root, maze, reward, settings.shapings, columns), f"{maze}, {reward} reward")
            save_figure(grid, out_dir / f"{maze}_{reward}_{mode}")
            written += [out_dir / f"{maze}_{reward}_{mode}.{ext}" for ext in EXTENSIONS]
    if "goal" in settings.rewards:  # the main figure: the goal grid in the default columns, under the short name
        if "default" in settings.modes:
            for ext in EXTENSIONS:
                shutil.copyfile(out_dir / f"{maze}_goal_default.{ext}", out_dir / f"{maze}.{ext}")
        else:
            columns = HEATMAP_MODES["default"]
            save_figure(heatmap_grid(model, settings.shapings, columns,
                                     _runs(root, maze, "goal", settings.shapings, columns), f"{maze}, goal reward"),
                        out_dir / maze)
        written += [out_dir / f"{maze}.{ext}" for ext in EXTENSIONS]
    return written
