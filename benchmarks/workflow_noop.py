"""Benchmark the workflow's fixed costs: a no-op rerun of the default targets and the paper grid's dry run.

    .venv/bin/python benchmarks/workflow_noop.py [--workdir DIR] [--repeats 3] [--cores 2]
                                                 [--out benchmarks/results/workflow_noop.json]

Runs Snakemake with the default profile (output cache on) in the repository root, or with --workdir in DIR: a
copy of the workflow made there first unless DIR already holds one, sharing the repository's output cache (so
it leaves the repository's results/ alone and takes whatever the cache holds). It first brings the default
targets up to date (from the cache where it can; timed but not part of the benchmark), then times each of these
`--repeats` times:
  version        `snakemake --version`: starting Python and Snakemake, the floor under everything else;
  noop           `snakemake` with everything up to date; must say "Nothing to be done";
  paper_dry_run  `snakemake -n --configfile config/paper.yaml`: parse, validate and plan the paper grid
                 (listing the jobs that differ from what is there);
  paper_dry_run_forceall  the same with --forceall: every job of the paper grid listed.
Prints a table (min and median seconds) and writes the JSON to --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reward_preprocessing.artifacts import write_json
from reward_preprocessing.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "config", "profiles", "reward_preprocessing", "environment.yml")


def copy_workflow(dest: Path) -> None:
    """Copy what the workflow needs to `dest` (nothing of results/ or .snakemake/)."""
    for name in WORKFLOW_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def timed(args: list[str], workdir: Path, env: dict[str, str]) -> tuple[float, str]:
    """Seconds and output of one snakemake call; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=workdir, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise UserError(f"snakemake {' '.join(args)} failed (exit {proc.returncode}):\n{output[-2000:]}")
    return seconds, output


def planned_total(output: str) -> int:
    """The total of a dry run's "Job stats" table (0 when there is nothing to do)."""
    match = re.search(r"^total\s+(\d+)\s*$", output, re.M)
    return int(match.group(1)) if match else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None, help="run in this copy of the workflow (made if new)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/workflow_noop.json")
    args = parser.parse_args()

    env = dict(os.environ)
    workdir = REPO_ROOT
    if args.workdir is not None:
        workdir = args.workdir.resolve()
        if not (workdir / "Snakefile").exists():
            copy_workflow(workdir)
        env.setdefault("SNAKEMAKE_OUTPUT_CACHE", str(REPO_ROOT / ".cache" / "snakemake"))
    cores = ["--cores", str(args.cores)]
    print(f"bringing the default targets up to date in {workdir} ...", flush=True)
    prepare_s, _ = timed(cores, workdir, env)
    cases = {
        "version": ["--version"],
        "noop": cores,
        "paper_dry_run": [*cores, "-n", "--configfile", "config/paper.yaml"],
        "paper_dry_run_forceall": [*cores, "-n", "--forceall", "--configfile", "config/paper.yaml"],
    }
    results = {}
    for name, call in cases.items():
        runs = [timed(call, workdir, env) for _ in range(args.repeats)]
        seconds = [s for s, _ in runs]
        if name == "noop" and not all("Nothing to be done" in out for _, out in runs):
            raise UserError("the no-op rerun ran jobs: the default targets are not stable; see `snakemake -n -r`")
        results[name] = {
            "seconds": seconds,
            "min_s": min(seconds),
            "median_s": statistics.median(seconds),
            "planned_jobs": planned_total(runs[-1][1]),
        }

    print(f"prepare (bring default targets up to date): {prepare_s:.1f} s")
    print(f"{'case':<24} {'min s':>7} {'median s':>9} {'jobs':>6}")
    for name, r in results.items():
        print(f"{name:<24} {r['min_s']:>7.2f} {r['median_s']:>9.2f} {r['planned_jobs']:>6}")
    write_json(
        REPO_ROOT / args.out,
        {
            "cases": results,
            "prepare_s": prepare_s,
            "cores": args.cores,
            "repeats": args.repeats,
            "workdir": "repository" if args.workdir is None else "copy",
            "machine": {
                "python": platform.python_version(),
                "cpus": len(os.sched_getaffinity(0)),
                "load_1min": os.getloadavg()[0],
                "platform": platform.platform(),
            },
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
