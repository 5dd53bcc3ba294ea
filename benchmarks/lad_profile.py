"""Where the feature LP's interior-point iterations go: sparse_log's LPs, and the L1 solve iteration by iteration.

The problem of `feature_lp_scaling.py` (random-policy MountainCar, randomly shaped reward plus a speed bonus,
Chebyshev features of total degree d). Prints and saves:

* every LP of sparse_log's majorize-minimize (exact steps, then inexact ones): interior-point iterations, seconds;
* the residuals at the sparse_l1 optimum: quantiles and how many lie below each threshold;
* per iteration of that L1 solve: mu, the predictor's primal and dual steps, how many rows block the predictor
  (their ratio within a factor 2 of the limiting one), the spread of the complementarity products around mu, and
  how many of the K rows of largest D are rows of the optimal basis (the K rows of smallest |residual|), and the
  share of the rows whose scaling partial updating refreshed in the normal matrix (1 where it was rebuilt).

Observes the solver by wrapping `lad._steps` and `lad.NormalMatrix.update` (read-only: the solve is unchanged).

    python benchmarks/lad_profile.py [--transitions 100000] [--degree 23] [--threads 2] [--out ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feature_lp_scaling import HIGH, LOW, RESULTS, benchmark_problem

from reward_preprocessing.preprocessing import feature_lp, lad
from reward_preprocessing.preprocessing.feature_lp import FeatureSettings, solve_features
from reward_preprocessing.rewards.feature_potential import FeatureMap

QUANTILES = (0.01, 0.1, 0.5, 0.9, 0.99)
THRESHOLDS = (1e-10, 1e-8, 1e-6, 1e-4)


class Recorder:
    """Per-LP and per-iteration records of the solves run while it is installed."""

    def __init__(self) -> None:
        self.lps: list[dict[str, Any]] = []
        self.iterations: list[dict[str, Any]] = []
        self.normal_diagonals: list[np.ndarray] = []
        self.residuals: np.ndarray | None = None
        self._predictor_pending = False
        self._updated_share = 1.0

    def install(self) -> None:
        solve, steps, update = feature_lp.ExactL1.solve, lad._steps, lad.NormalMatrix.update

        def recorded_solve(solver, weights, *args, **kwargs):
            start, before = time.perf_counter(), solver.iterations
            out = solve(solver, weights, *args, **kwargs)
            self.lps.append({"iterations": solver.iterations - before, "seconds": time.perf_counter() - start,
                             "certificate": out[2].method, "gap": out[2].gap})
            if self.residuals is None:
                self.residuals = out[1]
            return out

        def recorded_update(normal, d):
            before = normal.rows_updated
            update(normal, d)
            if self.residuals is None:  # the first (L1) solve only
                self.normal_diagonals.append(d.copy())
                self._predictor_pending = True
                self._updated_share = (normal.rows_updated - before) / len(d)

        def recorded_steps(p, step):
            primal_step, dual_step = steps(p, step)
            if self._predictor_pending:  # the first _steps call of an iteration is the predictor's
                self._predictor_pending = False
                self.iterations.append({**_predictor_record(p, step, primal_step, dual_step),
                                        "rows_updated": self._updated_share})
            return primal_step, dual_step

        feature_lp.ExactL1.solve, lad._steps, lad.NormalMatrix.update = recorded_solve, recorded_steps, recorded_update


def _predictor_record(p: lad.LadState, step: Any, primal_step: float, dual_step: float) -> dict[str, Any]:
    mu = float((p.v @ p.zd + p.s @ p.om) / (2 * len(p.v)))
    products = np.concatenate([p.v * p.zd, p.s * p.om]) / mu
    blocking = 0
    for values, direction, limit in ((p.v, step.v, primal_step), (p.s, -step.v, primal_step),
                                     (p.zd, step.zd, dual_step), (p.om, step.om, dual_step)):
        if limit < 1.0:  # rows whose ratio -dx/x is within a factor 2 of the limiting 1/limit
            blocking += int((-direction / values > 0.5 / limit).sum())
    low, high = np.quantile(products, [0.001, 0.999])
    return {"mu": mu, "primal_step": primal_step, "dual_step": dual_step, "blocking_rows": blocking,
            "product_min": float(products.min()), "product_q001": float(low), "product_q999": float(high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, default=100_000)
    parser.add_argument("--degree", type=int, default=23)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS / "lad_profile"))
    args = parser.parse_args()
    obs, next_obs, reward, ids = benchmark_problem(args.transitions)
    components = [{"kind": "polynomial", "degree": args.degree}]
    fmap = FeatureMap(LOW, HIGH, components)
    features, next_features = fmap.numpy(obs), fmap.numpy(next_obs)
    report: dict[str, Any] = {"transitions": args.transitions, "features": fmap.num_features, "threads": args.threads}
    lines = [f"{args.transitions} transitions x {fmap.num_features} features, {args.threads} threads, mm_tol 1e-4"]
    for mode in ("exact", "inexact"):
        recorder = Recorder()
        saved = feature_lp.ExactL1.solve, lad._steps, lad.NormalMatrix.update
        recorder.install()
        try:
            start = time.perf_counter()
            solution = solve_features(features, next_features, reward, ids, "sparse_log", 0.99, threads=args.threads,
                                      settings=FeatureSettings(components=components, mm_tol=1e-4,
                                                               mm_inexact=mode == "inexact"))
            seconds = time.perf_counter() - start
        finally:
            feature_lp.ExactL1.solve, lad._steps, lad.NormalMatrix.update = saved
        report[mode] = {"seconds": seconds, "value": solution.value_after, "rank": solution.info["rank"],
                        "lps": recorder.lps}
        lines.append(f"sparse_log, {mode} MM steps: {seconds:.1f} s, value {solution.value_after:.8f}, "
                     f"rank {solution.info['rank']}")
        lines += [f"  LP {i}: {lp['iterations']:>3} iterations {lp['seconds']:6.2f} s  gap {lp['gap']:.1e} "
                  f"({lp['certificate']})" for i, lp in enumerate(recorder.lps)]
        if mode == "exact":
            lines += _l1_report(recorder, solution.info["rank"], report)
    text = "\n".join(lines)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".txt").write_text(text + "\n")
    Path(args.out + ".json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


def _l1_report(recorder: Recorder, rank: int, report: dict[str, Any]) -> list[str]:
    """The residual scales at the L1 optimum and the L1 solve's iterations (also stored in `report`)."""
    assert recorder.residuals is not None
    magnitude = np.abs(recorder.residuals)
    quantiles = dict(zip(map(str, QUANTILES), np.quantile(magnitude, QUANTILES).tolist(), strict=True))
    below = {str(t): int((magnitude < t).sum()) for t in THRESHOLDS}
    basis = set(np.argsort(magnitude, kind="stable")[:rank].tolist())
    for record, d in zip(recorder.iterations, recorder.normal_diagonals, strict=True):
        record["basis_overlap"] = len(basis & set(np.argsort(-d, kind="stable")[:rank].tolist()))
    report["l1"] = {"residual_quantiles": quantiles, "residuals_below": below, "iterations": recorder.iterations}
    lines = ["L1 optimum, |residual| quantiles: " + ", ".join(f"{q}: {v:.1e}" for q, v in quantiles.items()),
             "  rows below: " + ", ".join(f"{t}: {c}" for t, c in below.items()),
             f"L1 solve per iteration (predictor steps; rows blocking it; products / mu; rows of the {rank} "
             "largest D in the optimal basis; share of the rows updated in the normal matrix):"]
    lines += [f"  {i + 1:>3} mu {r['mu']:.1e} steps ({r['primal_step']:.2f}, {r['dual_step']:.2f}) blocking "
              f"{r['blocking_rows']:>6} products min {r['product_min']:.1e} [{r['product_q001']:.2f}, "
              f"{r['product_q999']:.2f}] basis {r['basis_overlap']:>4} updated {r['rows_updated']:.2f}"
              for i, r in enumerate(recorder.iterations)]
    return lines


if __name__ == "__main__":
    main()
