"""The `interpret` rule: its job, command and report entries, in a throw-away copy of the workflow."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
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
    (wf / "models" / "m").mkdir(parents=True)
    (wf / "data").mkdir()
    (wf / "data" / "tiny.npz").write_bytes(b"")
    return wf


def test_interpret_rule_dry_run(tmp_path: Path) -> None:
    wf = _workflow(tmp_path)
    proc = snakemake(wf, "-n", "-p", "results/interpret/tiny/m/overview.png")
    out = proc.stdout + proc.stderr
    assert "rule interpret:" in out
    assert "--model models/m --rollouts data/tiny.npz --out results/interpret/tiny/m" in out
    assert json.dumps(SETTINGS, sort_keys=True) in out
