"""``mm``: the log objectives, by majorize-minimize with exact coordinate moves and one restart.

The log objectives are concave in |residual|, hence non-convex. Starting from
the L1 optimum we alternate majorize-minimize steps (each a weighted L1 LP,
warm-started) with exact single-coordinate moves, accepting only strict
decreases, until neither improves; then we do the same from one restart point
(a smoothed quasi-Newton descent from the L1 optimum) and keep the better end
point. See `solve_mm` for what "converged" certifies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import is_log, log_penalty
from reward_preprocessing.preprocessing.solvers.result import SolverResult
from reward_preprocessing.preprocessing.tabular import TabularProblem
from reward_preprocessing.preprocessing.weighted_l1 import ResidualMap, WeightedL1, residual_map

OPTIONS = ("tol", "max_iter", "restart")
# Smoothing of |x| (sqrt(x^2 + delta^2)) for the restart's quasi-Newton descent, in reward units.
RESTART_SMOOTHING = 0.01


def _log_value(residuals: np.ndarray) -> float:
    return float(log_penalty(residuals).mean())


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
                totals[k : k + chunk] = log_penalty(moved).sum(axis=1)
            best = int(np.argmin(totals))
            if totals[best] < log_penalty(local).sum() - 1e-12:
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


def solve_mm(
    problem: TabularProblem, objective: str, tol: float = 1e-10, max_iter: int = 500, restart: bool = True
) -> SolverResult:
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
        return SolverResult(phi, shift, 1, True, {"converged_by": "exact_lp", "duality_gap": start.gap})
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
    return SolverResult(phi, shift, search.mm_steps + search.coordinate_moves, converged_by != "max_iter", info)
