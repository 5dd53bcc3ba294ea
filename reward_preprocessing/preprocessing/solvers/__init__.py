"""Solvers for tabular preprocessing: an exact LP for L1, a certified local search for log, Adam as the baseline.

* ``lp`` (`lp.py`): the L1 objectives are linear programs; `weighted_l1` solves
  them exactly (with a duality certificate) on a shaping-free canonical reward,
  so shaped and unshaped inputs give the same answer.
* ``mm`` (`mm.py`): the log objectives are non-convex; majorize-minimize from the
  L1 optimum with exact coordinate moves and one restart, accepting only strict
  decreases.
* ``adam`` (`adam.py`): the reference recipe (zero-initialised potential and
  shift, full-batch Adam, lr 1e-3, 10,000 steps), kept as the baseline.

Each returns a `SolverResult`; `solve` normalises it into a `Solution`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import check_objective, is_log, is_smooth, objective_value
from reward_preprocessing.preprocessing.solvers import adam, lp, mm
from reward_preprocessing.preprocessing.solvers.result import SolverResult
from reward_preprocessing.preprocessing.tabular import Solution, TabularProblem

SOLVERS = ("lp", "mm", "adam")
AUTO = "auto"


def best_solver(objective: str) -> str:
    """What "auto" means: the exact LP for L1 objectives, majorize-minimize for log ones."""
    return "mm" if is_log(objective) else "lp"


def solve(problem: TabularProblem, objective: str, solver: str = AUTO, **options: Any) -> Solution:
    """Find the potential and shift that minimize `objective` on `problem`.

    Args:
        problem: the transitions and their reward.
        objective: one of `objectives.OBJECTIVES`.
        solver: ``lp`` (exact, L1 objectives), ``mm`` (log objectives; on an L1
            objective it is the LP), ``adam`` (the reference recipe) or ``auto``.
        **options: solver settings: ``mm``: ``tol``, ``max_iter``, ``restart``;
            ``adam``: ``lr``, ``epochs``.

    Returns:
        A `Solution` normalised so that the potential has mean 0 (smooth
        objectives: the shift makes the median of r' zero), hence byte-identical
        on reruns.
    """
    check_objective(objective)
    name = best_solver(objective) if solver == AUTO else solver
    if name not in SOLVERS:
        raise UserError(f"unknown solver {solver!r}; choose one of: {', '.join((AUTO, *SOLVERS))}")
    unknown = set(options) - set(_OPTIONS[name])
    if unknown:
        raise UserError(
            f"solver {name!r} has no option(s) {', '.join(sorted(unknown))}; "
            f"it accepts: {', '.join(_OPTIONS[name]) or 'none'}"
        )
    if name == "lp" and is_log(objective):
        raise UserError(f"solver 'lp' solves L1 objectives only; use 'mm' (or 'auto') for {objective!r}")
    start = time.perf_counter()
    with _one_blas_thread():
        result = _RUNNERS[name](problem, objective, **options)
    seconds = time.perf_counter() - start
    return _solution(problem, objective, result, name, seconds)


_threadpools: ThreadpoolController | None = None


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS single-threaded: these dense problems are tiny (least squares, L-BFGS), and extra
    BLAS threads only add overhead, up to seconds per call on a machine whose cores are busy."""
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1, user_api="blas")


_RUNNERS: dict[str, Callable[..., SolverResult]] = {"lp": lp.solve_lp, "mm": mm.solve_mm, "adam": adam.solve_adam}
_OPTIONS: dict[str, tuple[str, ...]] = {"lp": lp.OPTIONS, "mm": mm.OPTIONS, "adam": adam.OPTIONS}


# --------------------------------------------------------------------------------------------
# Normalisation


def normalise(problem: TabularProblem, objective: str, phi: np.ndarray, shift: float) -> tuple[np.ndarray, float]:
    """The representative with mean-zero potential (and, for smooth objectives, median-zero r').

    (phi + k, c + (gamma - 1) k) gives the same r' as (phi, c), so subtracting
    the mean of phi loses nothing. Smooth objectives do not see c at all; we
    pick the c that makes the median of r' zero, which is also the c that
    minimizes mean |r'| for that potential.
    """
    k = -float(np.mean(phi))
    phi = phi + k
    shift = shift + (problem.gamma - 1.0) * k
    if is_smooth(objective):
        shift = float(np.median(problem.shaped(phi, 0.0)))
    return phi, float(shift)


def _solution(problem: TabularProblem, objective: str, result: SolverResult, solver: str, seconds: float) -> Solution:
    phi, shift = normalise(problem, objective, np.asarray(result.potential, dtype=np.float64), result.shift)
    preprocessed = problem.shaped(phi, shift)
    pairs = problem.pairs if is_smooth(objective) else None
    return Solution(
        potential=phi,
        shift=shift,
        preprocessed=preprocessed,
        objective=objective,
        value=objective_value(preprocessed, objective, pairs),
        solver=solver,
        seconds=seconds,
        iterations=result.iterations,
        converged=result.converged,
        info=result.info,
    )
