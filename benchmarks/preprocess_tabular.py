"""Benchmark the tabular solvers against the reference recipe on the maze grid (issue 3).

For every maze x reward x shaping x objective it runs the best solver (exact LP
for L1, majorize-minimize for log) and the reference recipe (``adam``: 10,000
full-batch Adam steps) in one process, on one CPU thread each, and reports:
per case the objective value and seconds of each solver; per (maze, reward,
objective) the shaping invariance gap max_shaping |value(shaped) - value(unshaped)|;
and the speed-up on the whole maze10 grid (sum of seconds, adam / best).

    .venv/bin/python benchmarks/preprocess_tabular.py [--mazes maze4,maze10] [--skip-reference] [--out PATH]
"""

# ruff: noqa: E402  (thread limits must be set before numpy and torch are imported)
from __future__ import annotations

import os

# One core for every solver, as in the reference measurement (set before numpy and torch load).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch as th
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reward_preprocessing.artifacts import write_json
from reward_preprocessing.envs.maze import REWARDS, SHAPINGS, SHORT_NAMES, build_tabular_model, layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, is_log
from reward_preprocessing.preprocessing.solvers import best_solver, solve
from reward_preprocessing.preprocessing.tabular import TabularProblem

DEFAULT_MAZES = ("maze4", "maze10", "keymaze6")
SPEEDUP_MAZE = "maze10"
GAMMA = 0.99


def run_case(problem: TabularProblem, objective: str, reference: bool) -> dict[str, Any]:
    """Solve one case with the best solver (and the reference recipe) and record value and time."""
    result: dict[str, Any] = {}
    solvers = ["best", "adam"] if reference else ["best"]
    for key in solvers:
        name = best_solver(objective) if key == "best" else "adam"
        solution = solve(problem, objective, name)
        result[key] = {
            "solver": name,
            "value": solution.value,
            "seconds": solution.seconds,
            "iterations": solution.iterations,
            "converged": solution.converged,
            **({"converged_by": solution.info["converged_by"]} if "converged_by" in solution.info else {}),
        }
    return result


def run(mazes: list[str], reference: bool) -> dict[str, Any]:
    cases = [(m, r, s, o) for m in mazes for r in REWARDS for s in SHAPINGS for o in OBJECTIVES]
    problems: dict[tuple[str, str, str], TabularProblem] = {}
    pair_seconds = {}
    records = []
    for maze, reward, shaping, objective in tqdm(cases, desc="cases", file=sys.stderr):
        key = (maze, reward, shaping)
        if key not in problems:
            _, layout = layout_from_name(maze)
            problems[key] = TabularProblem.from_model(build_tabular_model(layout, reward, shaping, GAMMA))
            start = time.perf_counter()
            _ = problems[key].pairs  # shared by all solvers; timed separately
            pair_seconds["/".join(key)] = time.perf_counter() - start
        case = {"maze": maze, "reward": reward, "shaping": shaping, "objective": objective}
        records.append({**case, **run_case(problems[key], objective, reference)})
    return {"cases": records, "pair_seconds": pair_seconds}


def invariance(records: list[dict[str, Any]], solver_key: str) -> list[dict[str, Any]]:
    """Per (maze, reward, objective): max over shapings of |value(shaped) - value(unshaped)|."""
    groups: dict[tuple[str, str, str], dict[str, float]] = {}
    for rec in records:
        if solver_key in rec:
            group = groups.setdefault((rec["maze"], rec["reward"], rec["objective"]), {})
            group[rec["shaping"]] = rec[solver_key]["value"]
    return [
        {"maze": m, "reward": r, "objective": o, "gap": max(abs(v - values["unshaped"]) for v in values.values())}
        for (m, r, o), values in groups.items()
    ]


def summarise(records: list[dict[str, Any]], reference: bool) -> dict[str, Any]:
    keys = ["best", "adam"] if reference else ["best"]
    summary: dict[str, Any] = {}
    for key in keys:
        seconds = [rec[key]["seconds"] for rec in records]
        per_objective = {
            o: {
                "median_seconds": statistics.median(rec[key]["seconds"] for rec in records if rec["objective"] == o),
                "median_value": statistics.median(rec[key]["value"] for rec in records if rec["objective"] == o),
            }
            for o in OBJECTIVES
        }
        gaps = invariance(records, key)
        summary[key] = {
            "median_seconds": statistics.median(seconds),
            "total_seconds": sum(seconds),
            "per_objective": per_objective,
            "largest_invariance_gap": max(gaps, key=lambda g: g["gap"]),
            "invariance": gaps,
        }
    grid = [rec for rec in records if rec["maze"] == SPEEDUP_MAZE]
    if reference and grid:
        best = sum(rec["best"]["seconds"] for rec in grid)
        adam = sum(rec["adam"]["seconds"] for rec in grid)
        summary["speedup"] = {"maze": SPEEDUP_MAZE, "cases": len(grid), "best_seconds": best,
                              "adam_seconds": adam, "speedup": adam / best}
    if reference:
        log_cases = [rec for rec in records if is_log(rec["objective"])]
        worse = [rec for rec in log_cases if rec["best"]["value"] > rec["adam"]["value"]]
        summary["log_never_worse_than_adam"] = not worse
        summary["log_cases_worse_than_adam"] = [
            {k: rec[k] for k in ("maze", "reward", "shaping", "objective")} for rec in worse
        ]
        summary["log_min_margin"] = min(rec["adam"]["value"] - rec["best"]["value"] for rec in log_cases)
    return summary


def print_table(records: list[dict[str, Any]], summary: dict[str, Any], reference: bool) -> None:
    header = f"{'maze':9} {'reward':6} {'shaping':9} {'objective':10} {'solver':4} {'value':>12} {'ms':>8}"
    if reference:
        header += f" {'adam value':>12} {'adam s':>7}"
    print(header)
    for rec in records:
        best = rec["best"]
        line = (f"{rec['maze']:9} {rec['reward']:6} {rec['shaping']:9} {rec['objective']:10} {best['solver']:4} "
                f"{best['value']:12.8f} {1000 * best['seconds']:8.1f}")
        if reference:
            line += f" {rec['adam']['value']:12.8f} {rec['adam']['seconds']:7.2f}"
        print(line)
    print()
    for key, info in summary.items():
        if key not in ("best", "adam"):
            continue
        print(f"{key}: median {1000 * info['median_seconds']:.1f} ms per case, total {info['total_seconds']:.2f} s; "
              f"largest invariance gap {info['largest_invariance_gap']['gap']:.3g} "
              f"({info['largest_invariance_gap']['maze']}/{info['largest_invariance_gap']['reward']}/"
              f"{info['largest_invariance_gap']['objective']})")
        for objective, stats in info["per_objective"].items():
            print(f"  {objective:10}: median value {stats['median_value']:.8f}, "
                  f"median {1000 * stats['median_seconds']:.1f} ms")
    if "speedup" in summary:
        s = summary["speedup"]
        print(f"{s['maze']} grid ({s['cases']} cases): best {s['best_seconds']:.2f} s, adam {s['adam_seconds']:.1f} s, "
              f"speed-up {s['speedup']:.0f}x")
    if reference:
        print(f"log objectives never worse than adam: {summary['log_never_worse_than_adam']} "
              f"(smallest margin adam - best: {summary['log_min_margin']:.3g})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mazes", default=",".join(DEFAULT_MAZES), help="comma-separated short maze names")
    parser.add_argument("--skip-reference", action="store_true", help="skip the (slow) adam reference recipe")
    parser.add_argument("--out", default="benchmarks/results/preprocess_tabular.json", help="JSON output path")
    args = parser.parse_args(argv)
    mazes = [m.strip() for m in args.mazes.split(",") if m.strip()]
    try:
        for maze in mazes:
            if maze not in SHORT_NAMES:
                raise UserError(f"unknown maze {maze!r}; choose from: {', '.join(SHORT_NAMES)}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    th.set_num_threads(1)
    reference = not args.skip_reference
    results = run(mazes, reference)
    summary = summarise(results["cases"], reference)
    print_table(results["cases"], summary, reference)
    write_json(args.out, {
        "config": {"mazes": mazes, "reference": reference, "gamma": GAMMA, "torch_threads": th.get_num_threads(),
                   "python": platform.python_version(), "torch": th.__version__, "machine": platform.machine()},
        "summary": summary,
        **results,
    })
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
