"""Check out a revision of the workflow into a scratch directory and run Snakemake there, with its own output
cache; shared by the benchmarks that compare a baseline commit with the working tree."""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from reward_preprocessing.artifacts import comparable_bytes  # noqa: E402

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKTREE = "worktree"  # the revision name of the checkout's working tree (committed or not)


def checkout(revision: str, dest: Path) -> Path:
    """The files of `revision` (a commit, or `WORKTREE` for the working tree's tracked and new files) in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    if revision == WORKTREE:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=REPO_ROOT, capture_output=True, check=True).stdout.decode().split("\0")
        for name in filter(None, listed):
            src = REPO_ROOT / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
    else:
        archive = subprocess.run(["git", "archive", revision], cwd=REPO_ROOT, capture_output=True, check=True).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest


def resolve(revision: str) -> str:
    """The full commit id of `revision`, or `WORKTREE` as it is."""
    if revision == WORKTREE:
        return revision
    return subprocess.run(["git", "rev-parse", revision], cwd=REPO_ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


@dataclass
class SnakemakeRun:
    seconds: float  # wall clock
    cpu_seconds: float  # user + system time of Snakemake and every job it ran (robust to a busy machine)
    jobs: int
    output: str


def run_snakemake(workdir: Path, targets: list[str], extra: list[str] = (), cores: int = 2) -> SnakemakeRun:
    """Run Snakemake in `workdir` on `targets` (default profile, output cache in workdir/.cache/snakemake);
    `extra` options go last (options such as --configfile take several values)."""
    env = {**os.environ, "PYTHONPATH": str(workdir), "SNAKEMAKE_OUTPUT_CACHE": str(workdir / ".cache" / "snakemake")}
    start, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([SNAKEMAKE, "--cores", str(cores), *targets, *extra], cwd=workdir, env=env,
                          capture_output=True, text=True)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake in {workdir} failed (exit {proc.returncode}):\n{output[-3000:]}")
    done = [line for line in output.splitlines() if "steps (100%) done" in line]
    jobs = int(done[-1].split(" of ")[0]) if done else 0
    return SnakemakeRun(seconds=seconds, cpu_seconds=cpu_seconds, jobs=jobs, output=output)


def artifact_digests(results: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """sha256 of every file under `results` (through the cache's symlinks) except logs and Snakemake's stamps,
    with the values of `reward_preprocessing.artifacts.TIMING_KEYS` masked (`comparable_bytes`); and which
    keys were masked in which file (the one part two runs may differ in)."""
    digests, masked = {}, {}
    for root, _, files in os.walk(results, followlinks=True):
        for name in files:
            path = Path(root, name)
            relative = path.relative_to(results).as_posix()
            if relative.startswith("logs/") or name == ".snakemake_timestamp":
                continue
            data, keys = comparable_bytes(path)
            digests[relative] = hashlib.sha256(data).hexdigest()
            if keys:
                masked[relative] = keys
    return dict(sorted(digests.items())), dict(sorted(masked.items()))
