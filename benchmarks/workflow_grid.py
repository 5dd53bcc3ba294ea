"""Time the whole ground-truth maze grid from nothing, for a baseline commit and the working tree, side by side.

    .venv/bin/python benchmarks/workflow_grid.py [--baseline d9111e2] [--cores 2] [--scratch DIR]
        [--out benchmarks/results/workflow_grid.json]

The grid: every maze x reward x column mode heatmap (24 figures) and the 4 main figures, over 32 ground-truth
models and 128 preprocessed ones (the default config). Each revision is checked out into its own scratch
directory and runs `snakemake --cores N <grid>` with its default profile, from an empty results/ and an empty
output cache, one revision after the other on the same machine. Prints a table (wall seconds; CPU seconds of
Snakemake and all its jobs, which a machine busy with other work inflates much less than wall time; jobs)
and writes the JSON to --out. --revisions runs only some of them (e.g. `head`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from revisions import REPO_ROOT, WORKTREE, checkout, resolve, run_snakemake

MAZES = ("maze4", "maze10", "keymaze6", "keymaze10")
MODES = ("default", "l1", "log")
GRID = [f"results/heatmaps/{m}_{r}_{mode}.png" for m in MAZES for r in ("goal", "path") for mode in MODES]
GRID += [f"results/heatmaps/{m}.png" for m in MAZES]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="d9111e2", help="baseline commit (default: the pre-redesign main)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--scratch", type=Path, help="where to check out and run (default: a temporary dir)")
    parser.add_argument("--revisions", nargs="+", default=["baseline", "head"], choices=["baseline", "head"])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "workflow_grid.json")
    args = parser.parse_args()

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="workflow_grid_"))
    rows = []
    revisions = {"baseline": resolve(args.baseline), "head": WORKTREE}
    for name in args.revisions:
        revision = revisions[name]
        workdir = checkout(revision, scratch / name)
        run = run_snakemake(workdir, GRID, cores=args.cores)
        figures = sorted(p.name for p in (workdir / "results" / "heatmaps").glob("*.png"))
        preprocessed = [p for p in (workdir / "results" / "preprocessed" / "ground_truth").glob("*/*") if p.is_dir()]
        rows.append({"revision": name, "commit": revision, "seconds": round(run.seconds, 1),
                     "cpu_seconds": round(run.cpu_seconds, 1), "jobs": run.jobs, "figures": len(figures),
                     "preprocessed_models": len(preprocessed), "load_average": os.getloadavg()})
        print(f"{name}: {run.seconds:.1f} s wall, {run.cpu_seconds:.1f} s CPU, {run.jobs} jobs", file=sys.stderr)
    print(f"{'revision':<10}{'wall s':>8}{'cpu s':>8}{'jobs':>6}{'figures':>9}{'preprocessed':>14}")
    for r in rows:
        print(f"{r['revision']:<10}{r['seconds']:>8.1f}{r['cpu_seconds']:>8.1f}{r['jobs']:>6}{r['figures']:>9}"
              f"{r['preprocessed_models']:>14}")
    report = {"grid_targets": len(GRID), "cores": args.cores, "cpus": os.cpu_count(), "platform": platform.platform(),
              "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
