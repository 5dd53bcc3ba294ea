"""The `interpret` rule: its job, command and report entries, in a throw-away copy of the workflow."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import yaml
from interpret_helpers import save_imitation_rollouts, save_tiny_net
from workflow_helpers import copy_workflow, snakemake

SETTINGS = {"n_observations": 16, "steps": 7}
TARGET = "results/interpret/tiny/learned_unshaped/overview.png"


def _workflow(tmp_path: Path) -> Path:
    """A copy with an env "tiny" whose learned model and rollouts already exist (made here, not by rules)."""
    wf = copy_workflow(tmp_path)
    config = yaml.safe_load((wf / "config" / "config.yaml").read_text())
    config["envs"]["tiny"] = {"id": "Tiny-v0", "shapings": ["unshaped"], "ground_truth": False,
                              "reward_model": {"labels": "rollouts"}, "interpret": SETTINGS}
    (wf / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    # Rollouts first: a model older than its rollouts would be out of date, and Snakemake would retrain it.
    save_imitation_rollouts(wf / "results" / "rollouts" / "tiny")
    save_tiny_net(wf / "results" / "reward_models" / "learned" / "tiny_unshaped")
    return wf


def test_interpret_rule_dry_run(tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    proc = snakemake(wf, "-n", "-p", TARGET)
    out = proc.stdout + proc.stderr
    assert "rule interpret:" in out
    assert ("--model results/reward_models/learned/tiny_unshaped --rollouts results/rollouts/tiny"
            " --out results/interpret/tiny/learned_unshaped") in out
    assert json.dumps(SETTINGS, sort_keys=True, separators=(",", ":")) in out


@pytest.mark.slow
def test_interpret_rule_runs_and_enters_the_report(tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    snakemake(wf, TARGET)
    out = wf / "results" / "interpret" / "tiny" / "learned_unshaped"
    assert sorted(p.name for p in out.iterdir()) == ["features", "features.json", "overview.png", "report.html"]
    assert json.loads((out / "features.json").read_text())["settings"]["steps"] == SETTINGS["steps"]
    snakemake(wf, "--report", "report.zip", TARGET)
    names = zipfile.ZipFile(wf / "report.zip").namelist()
    assert any(n.endswith("overview.png") for n in names) and any(n.endswith("report.html") for n in names)
