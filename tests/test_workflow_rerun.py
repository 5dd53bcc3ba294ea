"""What changed is recomputed, exactly: config values, library code, but not a touch that changes nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from tests.workflow_runs import TINY_TARGETS, baseline_run, clone, planned_jobs, snakemake

# Downstream of every preprocessed model: the one job drawing the maze's figures.
FIGURES = {"maze_heatmaps": 1}
# The one job writing the maze's ground-truth models and their preprocessed directories.
MODELS = {"maze_ground_truth": 1}

pytestmark = pytest.mark.slow


def dry_run(work: Path) -> dict[str, int]:
    proc = snakemake(work, "-n", *TINY_TARGETS)
    return planned_jobs(proc.stdout + proc.stderr)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        # Solver: a param of preprocessing only.
        ({"preprocessing": {"solver": "lp"}}, {**MODELS, **FIGURES}),
        # Discount: a param of the ground-truth models (shaping) and of preprocessing.
        ({"gamma": 0.9}, {**MODELS, **FIGURES}),
        # One more shaping: the maze's batch (its outputs changed) and the grid whose rows changed.
        ({"shapings": ["unshaped", "dense", "random"]}, {**MODELS, **FIGURES}),
    ],
)
def test_config_change_reruns_exactly_the_affected_jobs(tmp_path, tmp_path_factory, change, expected):
    work = clone(baseline_run(tmp_path_factory), tmp_path / "work")
    assert dry_run(work) == {}
    path = work / "config" / "config.yaml"
    path.write_text(yaml.safe_dump({**yaml.safe_load(path.read_text()), **change}))
    assert dry_run(work) == expected


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        # Library code the models' script imports (through preprocessing/tabular_run.py), and the figures after.
        ("reward_preprocessing/preprocessing/objectives.py", {**MODELS, **FIGURES}),
        # Plotting code: only the figures and plotly_js, whose script imports it too.
        ("reward_preprocessing/plotting/heatmaps/render_plotly.py", {**FIGURES, "plotly_js": 1}),
        # A script: its rule and everything downstream.
        ("scripts/maze_ground_truth.py", {**MODELS, **FIGURES}),
        # The settings module: every rule whose script parses a settings document, but not plotly_js.
        ("reward_preprocessing/settings.py", {**MODELS, **FIGURES}),
    ],
)
def test_code_change_reruns_its_rules_and_their_descendants(tmp_path, tmp_path_factory, module, expected):
    work = clone(baseline_run(tmp_path_factory), tmp_path / "work")
    path = work / module
    path.write_text(path.read_text() + "\n# an edit\n")
    assert dry_run(work) == expected


def test_touching_unchanged_files_reruns_nothing(tmp_path, tmp_path_factory):
    """Every file of results/ (through the cache's symlinks), the config, the rules and all code, a minute ahead."""
    work = clone(baseline_run(tmp_path_factory), tmp_path / "work")
    later = time.time() + 60
    touched = 0
    for top in ("results", "config", "workflow", "scripts", "reward_preprocessing"):
        for root, _, files in os.walk(work / top, followlinks=True):
            for name in files:
                os.utime(Path(root, name), (later, later))
                touched += 1
    os.utime(work / "Snakefile", (later, later))
    assert touched > 50
    assert dry_run(work) == {}
