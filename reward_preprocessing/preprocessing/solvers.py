"""Solvers for tabular preprocessing: an exact LP for L1, a certified local search for log, Adam as the baseline.

* ``lp``: the L1 objectives are linear programs; `weighted_l1` solves them
  exactly (with a duality certificate) on a shaping-free canonical reward, so
  shaped and unshaped inputs give the same answer.
* ``mm``: the log objectives are concave in |residual|, hence non-convex.
  Starting from the L1 optimum we alternate majorize-minimize steps (each a
  weighted L1 LP, warm-started) with exact single-coordinate moves, accepting
  only strict decreases, until neither improves; then we do the same from one
  restart point (a smoothed quasi-Newton descent from the L1 optimum) and keep
  the better end point. See `_mm` for what "converged" certifies.
* ``adam``: the reference recipe (zero-initialised potential and shift,
  full-batch Adam, lr 1e-3, 10,000 steps), kept as the baseline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.optimize
import torch as th
from threadpoolctl import ThreadpoolController

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import (
    check_objective,
    is_log,
    is_smooth,
    objective_torch,
    objective_value,
)
from reward_preprocessing.preprocessing.tabular import Solution, TabularProblem
from reward_preprocessing.preprocessing.weighted_l1 import ResidualMap, WeightedL1, residual_map

SOLVERS = ("lp", "mm", "adam")
AUTO = "auto"
# Smoothing of |x| (sqrt(x^2 + delta^2)) for the restart's quasi-Newton descent, in reward units.
RESTART_SMOOTHING = 0.01


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
        phi, shift, iterations, converged, info = _RUNNERS[name](problem, objective, **options)
    seconds = time.perf_counter() - start
    return _solution(problem, objective, phi, shift, name, seconds, iterations, converged, info)


_threadpools: ThreadpoolController | None = None


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """Run BLAS single-threaded: these dense problems are tiny (least squares, L-BFGS), and extra
    BLAS threads only add overhead, up to seconds per call on a machine whose cores are busy."""
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    return _threadpools.limit(limits=1, user_api="blas")


# Each solver returns (phi, shift, iterations, converged, info).
Outcome = tuple[np.ndarray, float, int, bool, dict[str, Any]]


def _lp(problem: TabularProblem, objective: str) -> Outcome:
    residuals = residual_map(problem, objective)
    result = WeightedL1(residuals).solve()
    phi, shift = residuals.variables_to_potential(result.x, problem.num_states)
    info = {
        "duality_gap": result.gap,
        "dual_infeasibility": result.dual_infeasibility,
        "simplex_iterations": result.simplex_iterations,
    }
    return phi, shift, 1, True, info


# --------------------------------------------------------------------------------------------
# Log objectives


def _log_value(residuals: np.ndarray) -> float:
    return float(np.log1p(np.abs(residuals)).mean())


@dataclass(frozen=True)
class _Point:
    x: np.ndarray
    residuals: np.ndarray
    value: float


class _LogDescent:
    """Strict-descent moves on ``mean log(1 + |g + A x|)``: MM steps and exact coordinate moves."""

    def __init__(self, residuals: ResidualMap, lp: WeightedL1, tol: float, max_iter: int) -> None:
        self.map, self.lp, self.tol, self.budget = residuals, lp, tol, max_iter
        columns = residuals.matrix.tocsc()
        columns.eliminate_zeros()
        self.columns = [
            (columns.indices[lo:hi], columns.data[lo:hi])
            for lo, hi in zip(columns.indptr[:-1], columns.indptr[1:], strict=True)
        ]
        self.mm_steps = 0
        self.coordinate_moves = 0

    def point(self, x: np.ndarray) -> _Point:
        residuals = self.map(x)
        return _Point(x, residuals, _log_value(residuals))

    def majorize_minimize(self, point: _Point, trace: list[float]) -> _Point:
        """MM steps until one fails to decrease the objective (or gains a fraction <= tol)."""
        while self.budget > 0 and point.value > 0.0:
            self.budget -= 1
            step = self.lp.solve(1.0 / (1.0 + np.abs(point.residuals)))
            candidate = _Point(step.x, step.residuals, _log_value(step.residuals))
            if not candidate.value < point.value:
                break
            self.mm_steps += 1
            gain, point = point.value - candidate.value, candidate
            trace.append(point.value)
            if gain <= self.tol * point.value:
                break
        return point

    def coordinate_sweep(self, point: _Point, chunk: int = 512) -> _Point:
        """Move each variable in turn to the global minimum of the objective along its axis.

        Along one axis the objective is concave between the points where one of
        its residuals crosses zero, so its minimum is at one of those breakpoints;
        all are evaluated. A move is taken only if it strictly decreases the objective.
        """
        x, res = point.x.copy(), point.residuals.copy()
        for j, (rows, coef) in enumerate(self.columns):
            if len(rows) == 0:
                continue
            local = res[rows]
            steps = -local / coef
            totals = np.empty(len(steps))
            for k in range(0, len(steps), chunk):  # chunks bound the memory of the (steps x rows) table
                moved = local[None, :] + steps[k : k + chunk, None] * coef[None, :]
                totals[k : k + chunk] = np.log1p(np.abs(moved)).sum(axis=1)
            best = int(np.argmin(totals))
            if totals[best] < np.log1p(np.abs(local)).sum() - 1e-12:
                res[rows] = local + steps[best] * coef
                x[j] += steps[best]
                self.coordinate_moves += 1
        return self.point(x)  # recompute the residuals exactly

    def descend(self, point: _Point, trace: list[float]) -> tuple[_Point, str]:
        """Alternate MM and coordinate sweeps until neither decreases the objective."""
        while True:
            point = self.majorize_minimize(point, trace)
            if point.value == 0.0:
                return point, "zero_objective"
            if self.budget <= 0:
                return point, "max_iter"
            self.budget -= 1
            swept = self.coordinate_sweep(point)
            if not swept.value < point.value:
                return point, "stationary"
            gain, point = point.value - swept.value, swept
            trace.append(point.value)
            if gain <= self.tol * point.value:
                return point, "relative_decrease"


def smoothed_descent(residuals: ResidualMap, x0: np.ndarray, delta: float = RESTART_SMOOTHING) -> np.ndarray:
    """L-BFGS on ``sum log(1 + sqrt(res^2 + delta^2))``: a smooth path that can cross kinks MM stops at."""

    def value_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        res = residuals(x)
        soft = np.sqrt(res * res + delta * delta)
        return float(np.log1p(soft).sum()), residuals.transpose @ (res / (soft * (1.0 + soft)))

    result = scipy.optimize.minimize(
        value_and_gradient, x0, jac=True, method="L-BFGS-B", options={"maxiter": 1000}
    )
    return np.asarray(result.x, dtype=np.float64)


def _mm(
    problem: TabularProblem, objective: str, tol: float = 1e-10, max_iter: int = 500, restart: bool = True
) -> Outcome:
    """Majorize-minimize from the L1 optimum, with exact coordinate moves and one restart.

    MM: log(1+|x|) <= log(1+|x_k|) + (|x| - |x_k|) / (1 + |x_k|), so each step
    is a weighted L1 LP whose exact minimum cannot increase the objective.
    Every accepted move (MM step or coordinate move) strictly decreases it, so
    `info["trace"]` is strictly decreasing from the L1 optimum's value.

    "stationary" certifies two things at the returned point: (1) it minimizes
    its own majorizer (the reweighted LP finds nothing better), and since the
    majorizer is convex and tangent to the objective there, every directional
    derivative of the objective is >= 0; (2) no single variable can be moved
    to a better value (coordinate-wise global optimality). The objective is
    non-convex, so this is a local certificate; the restart (a smoothed
    quasi-Newton descent from the L1 optimum, then the same descent) is kept
    only if it ends lower. `max_iter` bounds LP solves plus sweeps.
    """
    if tol < 0 or max_iter < 0:
        raise UserError("mm needs tol >= 0 and max_iter >= 0")
    residuals = residual_map(problem, objective)
    lp = WeightedL1(residuals)
    start = lp.solve()
    if not is_log(objective):
        phi, shift = residuals.variables_to_potential(start.x, problem.num_states)
        return phi, shift, 1, True, {"converged_by": "exact_lp", "duality_gap": start.gap}
    search = _LogDescent(residuals, lp, tol, max_iter)
    first = _Point(start.x, start.residuals, _log_value(start.residuals))
    trace = [first.value]
    best, converged_by = search.descend(first, trace)
    restart_trace: list[float] = []
    restart_improved = False
    if restart and best.value > 0.0:
        other = search.point(smoothed_descent(residuals, start.x))
        restart_trace.append(other.value)
        other, other_by = search.descend(other, restart_trace)
        if other.value < best.value - 1e-12 * max(best.value, 1.0):  # more than rounding
            best, converged_by, restart_improved = other, other_by, True
            trace.append(best.value)
    phi, shift = residuals.variables_to_potential(best.x, problem.num_states)
    info = {
        "converged_by": converged_by,
        "trace": trace,
        "start_value": trace[0],
        "monotone": bool(np.all(np.diff(trace) < 0.0)),
        "restart_trace": restart_trace,
        "restart_improved": restart_improved,
        "mm_steps": search.mm_steps,
        "coordinate_moves": search.coordinate_moves,
        "lp_solves": lp.solves,
        "simplex_iterations": lp.total_simplex_iterations,
        "tol": tol,
    }
    return phi, shift, search.mm_steps + search.coordinate_moves, converged_by != "max_iter", info


# --------------------------------------------------------------------------------------------
# The reference recipe


def _adam(problem: TabularProblem, objective: str, lr: float = 1e-3, epochs: int = 10_000) -> Outcome:
    """The reference recipe: zero-initialised potential table and shift, full-batch Adam, float32.

    The initialisation is deterministic (zeros, as in the reference), so no seed is needed.
    """
    if lr <= 0 or epochs < 0:
        raise UserError("adam needs lr > 0 and epochs >= 0")
    reward = th.as_tensor(problem.reward, dtype=th.float32)
    states = th.as_tensor(problem.states)
    next_states = th.as_tensor(problem.next_states)
    pairs = th.as_tensor(problem.pairs) if is_smooth(objective) else None
    phi = th.zeros(problem.num_states, requires_grad=True)
    shift = th.zeros((), requires_grad=True)
    optimizer = th.optim.Adam([phi, shift], lr=lr)
    trace = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        shaped = reward + problem.gamma * phi[next_states] - phi[states] - shift
        loss = objective_torch(shaped, objective, pairs)
        loss.backward()
        optimizer.step()
        if epoch % 1000 == 0:
            trace.append(float(loss.detach()))
    info = {"lr": lr, "epochs": epochs, "trace": trace}
    return phi.detach().double().numpy(), float(shift.detach()), epochs, True, info


_RUNNERS: dict[str, Callable[..., Outcome]] = {"lp": _lp, "mm": _mm, "adam": _adam}
_OPTIONS: dict[str, tuple[str, ...]] = {"lp": (), "mm": ("tol", "max_iter", "restart"), "adam": ("lr", "epochs")}


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


def _solution(
    problem: TabularProblem,
    objective: str,
    phi: np.ndarray,
    shift: float,
    solver: str,
    seconds: float,
    iterations: int,
    converged: bool,
    info: dict[str, Any],
) -> Solution:
    phi, shift = normalise(problem, objective, np.asarray(phi, dtype=np.float64), shift)
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
        iterations=iterations,
        converged=converged,
        info=info,
    )
