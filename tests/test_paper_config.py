"""config/paper.yaml: the paper's full grid at original scale, valid on its own, and plannable."""

from __future__ import annotations

import re

import jsonschema
import yaml

from tests.workflow_helpers import REPO_ROOT
from tests.workflow_runs import planned_jobs, planned_outputs, snakemake

SCHEMA = yaml.safe_load((REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
PAPER = yaml.safe_load((REPO_ROOT / "config" / "paper.yaml").read_text())


def test_paper_config_is_complete_and_valid_on_its_own():
    """Every key the schema requires is in paper.yaml itself, so the file alone describes the paper's grid."""
    jsonschema.Draft202012Validator(SCHEMA).validate(PAPER)


def test_paper_config_spans_every_maze_reward_shaping_objective_and_mode():
    for key in ("mazes", "rewards", "shapings", "objectives", "heatmap_modes"):
        assert PAPER[key] == SCHEMA["properties"][key]["items"]["enum"], key
    assert PAPER["preprocessing"]["solver"] == "adam"  # the reference recipe


def test_paper_grid_dry_run_plans_without_error():
    proc = snakemake(REPO_ROOT, "-n", "--forceall", "--configfile", "config/paper.yaml")
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(out)
    assert jobs["maze_ground_truth"] == 4 and jobs["maze_heatmaps"] == 4
    outputs = planned_outputs(out)
    assert len({f for f in outputs if re.match(r"results/preprocessed/ground_truth/\w*maze\d+_", f)}) == 4 * 2 * 4 * 4
    assert len({f for f in outputs if re.match(r"results/heatmaps/\w+_(goal|path)_\w+\.png$", f)}) == 4 * 2 * 3
