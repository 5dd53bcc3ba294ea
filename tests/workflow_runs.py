"""Tiny workflow runs with the project's default profile (output cache on), shared by the workflow tests.

The first caller runs the tiny maze grid once per test session in a throw-away copy of the repository (its own
output cache under .cache/snakemake); every test then works on a clone of that finished run, so the slow part
happens once.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG, copy_workflow

# The maze figures of TINY_CONFIG: the grid of maze4's goal reward in the default columns and the main figure.
TINY_TARGETS = tuple(
    f"results/heatmaps/{name}.{ext}" for name in ("maze4", "maze4_goal_default") for ext in ("png", "pdf", "html")
)


def copy_with_profiles(dest: Path, config: dict | None = None) -> Path:
    """A copy of the workflow (see `copy_workflow`) that also has profiles/, so profiles/default applies."""
    copy_workflow(dest, TINY_CONFIG if config is None else config)
    if not (dest / "profiles").exists():
        shutil.copytree(REPO_ROOT / "profiles", dest / "profiles")
    if not (dest / "environment.yml").exists():  # named by the rules' conda: directive
        shutil.copy2(REPO_ROOT / "environment.yml", dest / "environment.yml")
    return dest


def snakemake(workdir: Path, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run snakemake in `workdir` on 2 cores, with the copy's own package and its default cache location."""
    exe = Path(sys.executable).with_name("snakemake")
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_OUTPUT_CACHE"}
    env["PYTHONPATH"] = str(workdir)
    proc = subprocess.run(
        [str(exe), "--cores", "2", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def planned_jobs(output: str) -> dict[str, int]:
    """Job counts per rule from a dry run's "Job stats" table; empty when there is nothing to do."""
    if "Job stats:" not in output:
        assert "Nothing to be done" in output, output[-3000:]
        return {}
    table = output.split("Job stats:")[1].split("\n\n")[0]
    jobs = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)}
    jobs.pop("total", None)
    return jobs


def planned_outputs(output: str) -> set[str]:
    """Every output file of the jobs in a dry run's (not --quiet) output."""
    return {f for line in re.findall(r"^    output: (.*)$", output, re.M) for f in line.split(", ")}


def content_digests(results: Path) -> dict[str, str]:
    """sha256 of every file under `results` (through the cache's symlinks), except logs and Snakemake's stamps."""
    digests = {}
    for root, _, files in os.walk(results, followlinks=True):
        for name in files:
            path = Path(root, name)
            relative = path.relative_to(results).as_posix()
            if relative.startswith("logs/") or name == ".snakemake_timestamp":
                continue
            digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return dict(sorted(digests.items()))


@dataclass(frozen=True)
class Run:
    """A finished run: its directory and what snakemake printed."""

    workdir: Path
    output: str


_BASELINE: Run | None = None


def baseline_run(tmp_path_factory) -> Run:
    """The tiny grid run once per session with the default profile (cache on, cache empty before)."""
    global _BASELINE
    if _BASELINE is None:
        workdir = copy_with_profiles(tmp_path_factory.mktemp("baseline"))
        proc = snakemake(workdir, *TINY_TARGETS)
        _BASELINE = Run(workdir, proc.stdout + proc.stderr)
    return _BASELINE


def clone(run: Run, dest: Path) -> Path:
    """An independent copy of a finished run (results, Snakemake metadata and its own copy of the cache).

    The cache stores outputs by moving them into .cache/snakemake and leaving absolute symlinks behind; these
    are pointed at the clone's cache (keeping their own times), so a test may touch or change anything.
    """
    shutil.copytree(run.workdir, dest, symlinks=True, dirs_exist_ok=True)
    for link in sorted(p for p in (dest / "results").rglob("*") if p.is_symlink()):
        target = Path(os.readlink(link))
        if target.is_relative_to(run.workdir):
            times = link.lstat()
            link.unlink()
            link.symlink_to(dest / target.relative_to(run.workdir))
            os.utime(link, ns=(times.st_atime_ns, times.st_mtime_ns), follow_symlinks=False)
    return dest


def workflow_rules(workdir: Path, monkeypatch) -> dict:
    """The workflow's rules by name, parsed with Snakemake's API (no job runs), for checks on their directives.

    Reaches into the API's `_workflow`, the only way to the parsed rules; snakemake is pinned in
    requirements.lock.
    """
    from snakemake.api import SnakemakeApi
    from snakemake.settings.enums import Quietness
    from snakemake.settings.types import DAGSettings, OutputSettings, ResourceSettings

    # common.smk sets a default cache location in os.environ: keep it out of this process's environment.
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", str(workdir / ".cache" / "snakemake"))
    monkeypatch.chdir(workdir)
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow_api = api.workflow(
            resource_settings=ResourceSettings(cores=1), snakefile=workdir / "Snakefile", workdir=workdir
        )
        workflow_api.dag(DAGSettings(targets=set()))  # parses the Snakefile
        return {rule.name: rule for rule in workflow_api._workflow.rules}
