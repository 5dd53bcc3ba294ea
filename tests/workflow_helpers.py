"""Run the Snakemake workflow in a throw-away copy of the repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "config", "reward_preprocessing", "environment.yml", "profiles")

TINY_CONFIG = {
    "gamma": 0.99,
    "shaping_seed": 0,
    "mazes": ["maze4"],
    "rewards": ["goal"],
    "shapings": ["unshaped", "dense"],
    "objectives": ["sparse_l1", "smooth_log"],
    "heatmap_modes": ["default"],
    "preprocessing": {"solver": "auto"},
}


def copy_workflow(dest: Path, config: dict | None = None) -> Path:
    """Copy what the workflow needs into `dest`, optionally writing a config of our own."""
    for name in WORKFLOW_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "results", ".snakemake"))
        else:
            shutil.copy2(src, dest / name)
    if config is not None:
        full = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
        full.update(config)
        (dest / "config" / "config.yaml").write_text(yaml.safe_dump(full))
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run snakemake (the one next to this interpreter) in `workdir` and capture its output."""
    exe = Path(sys.executable).with_name("snakemake")
    env = {**os.environ, "PYTHONPATH": str(workdir)}
    proc = subprocess.run(
        [str(exe), "--cores", "2", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc
