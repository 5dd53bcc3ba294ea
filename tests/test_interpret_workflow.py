"""The `interpret` rule: its job, command and report entries, in a throw-away copy of the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from interpret_helpers import save_procgen_npz, save_tiny_net
from workflow_helpers import copy_workflow, snakemake

SETTINGS = {"steps": 7, "n_observations": 16}


def _workflow(tmp_path: Path) -> Path:
    """A copy whose config points the `interpret` inputs of env "tiny" at files outside results/."""
    wf = copy_workflow(tmp_path)
    schema_path = wf / "workflow" / "schemas" / "config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    # The section is optional; until the schema lists it, this copy's schema does.
    schema["properties"].setdefault("interpret", {"type": "object"})
    schema_path.write_text(yaml.safe_dump(schema))
    config = yaml.safe_load((wf / "config" / "config.yaml").read_text())
    config["interpret"] = {"settings": SETTINGS,
                           "inputs": {"tiny": {"model": "models/{model}", "rollouts": "data/{env}.npz"}}}
    (wf / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (wf / "models").mkdir()
    (wf / "data").mkdir()
    save_tiny_net(wf / "models" / "m")
    save_procgen_npz(wf / "data" / "tiny.npz")
    return wf


def test_interpret_rule_dry_run(tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    proc = snakemake(wf, "-n", "-p", "results/interpret/tiny/m/overview.png")
    out = proc.stdout + proc.stderr
    assert "rule interpret:" in out
    assert "--model models/m --rollouts data/tiny.npz --out results/interpret/tiny/m" in out
    assert json.dumps(SETTINGS, sort_keys=True) in out


@pytest.mark.slow
def test_interpret_rule_runs_and_enters_the_report(tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    snakemake(wf, "results/interpret/tiny/m/overview.png")
    out = wf / "results" / "interpret" / "tiny" / "m"
    assert sorted(p.name for p in out.iterdir()) == ["features", "features.json", "overview.png", "report.html"]
    assert json.loads((out / "features.json").read_text())["settings"]["steps"] == SETTINGS["steps"]
    snakemake(wf, "--report", "report.zip", "results/interpret/tiny/m/overview.png")
    import zipfile

    names = zipfile.ZipFile(wf / "report.zip").namelist()
    assert any(n.endswith("overview.png") for n in names) and any(n.endswith("report.html") for n in names)
