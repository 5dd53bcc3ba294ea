"""Benchmark the workflow's fixed costs: a no-op rerun of the default targets and the paper grid's dry run.

    .venv/bin/python benchmarks/workflow_noop.py [--repeats 3] [--cores 2] [--out benchmarks/results/workflow_noop.json]

Runs Snakemake in the repository root with the default profile (output cache on). It first brings the default
targets up to date (from the cache where it can; timed but not part of the benchmark), then times, `--repeats`
times each:
  version        `snakemake --version`: starting Python and Snakemake, the floor under everything else;
  noop           `snakemake` with everything up to date; must end with "Nothing to be done";
  paper_dry_run  `snakemake -n --configfile config/paper.yaml`: parse, validate and plan the whole paper grid.
Prints a table (min and median seconds) and writes the JSON to --out.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
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


def timed(args: list[str]) -> tuple[float, str]:
    """Seconds and output of one snakemake call in the repository root; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run([SNAKEMAKE, *args], cwd=REPO_ROOT, capture_output=True, text=True)
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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--out", default="benchmarks/results/workflow_noop.json")
    args = parser.parse_args()

    cores = ["--cores", str(args.cores)]
    prepare_s, _ = timed(cores)
    cases = {
        "version": ["--version"],
        "noop": cores,
        "paper_dry_run": [*cores, "-n", "--configfile", "config/paper.yaml"],
    }
    results = {}
    for name, call in cases.items():
        seconds, outputs = [], []
        for _ in range(args.repeats):
            s, out = timed(call)
            seconds.append(s)
            outputs.append(out)
        if name == "noop" and not all("Nothing to be done" in out for out in outputs):
            raise UserError("the no-op rerun ran jobs: the default targets are not stable; see `snakemake -n -r`")
        results[name] = {
            "seconds": seconds,
            "min_s": min(seconds),
            "median_s": statistics.median(seconds),
            "planned_jobs": planned_total(outputs[-1]),
        }

    print(f"prepare (bring default targets up to date): {prepare_s:.1f} s")
    print(f"{'case':<15} {'min s':>7} {'median s':>9} {'jobs':>6}")
    for name, r in results.items():
        print(f"{name:<15} {r['min_s']:>7.2f} {r['median_s']:>9.2f} {r['planned_jobs']:>6}")
    write_json(
        REPO_ROOT / args.out,
        {
            "cases": results,
            "prepare_s": prepare_s,
            "cores": args.cores,
            "repeats": args.repeats,
            "machine": {
                "python": platform.python_version(),
                "cpus": len(os.sched_getaffinity(0)),
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
