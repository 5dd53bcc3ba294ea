"""Solvers for tabular preprocessing: exact LPs for L1, majorize-minimize for log, Adam as the baseline.

Every objective is a penalty on residuals that are affine in the free variables:
``res = g + A @ x`` with x = (phi, c) for the sparse objectives and x = phi for
the smooth ones (the shift c cancels in differences). Two ideas make the result
exact, fast and independent of any shaping already in the input:

* **Canonical input.** Before solving, the reward is replaced by its orthogonal
  projection off the shaping subspace ``{gamma*phi(s') - phi(s) - c}``. Shaped
  and unshaped versions of one reward project to the same vector (up to
  rounding), so every solver sees the same problem and returns the same r'.
* **Weighted L1 through its dual.** ``min_x sum_p w_p |res_p|`` is solved as
  ``min_y g.y  s.t.  A^T y = 0, -w <= y <= w`` (HiGHS dual simplex). It has one
  row per state instead of one per transition or pair, x comes back as the
  row duals, and the pair (x, y) is an optimality certificate: the primal and
  dual objectives agree. Majorize-minimize for the log objectives only changes
  the box ``w``, so each re-solve starts from the previous basis.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import scipy.sparse as sp
import torch as th
from scipy.sparse.linalg import lsqr

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import (
    check_objective,
    is_log,
    is_smooth,
    objective_torch,
    objective_value,
)
from reward_preprocessing.preprocessing.tabular import Solution, TabularProblem

SOLVERS = ("lp", "mm", "adam")
AUTO = "auto"

# Relative duality gap above which an "optimal" LP answer is refused rather than returned.
CERTIFICATE_TOL = 1e-6
# Dense least squares for the canonical projection up to this many matrix entries (32 MB); LSQR above.
DENSE_LSTSQ_MAX_ENTRIES = 4_000_000


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
        **options: solver settings: ``mm``: ``tol``, ``max_iter``; ``adam``: ``lr``, ``epochs``.

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
    phi, shift, iterations, converged, info = _RUNNERS[name](problem, objective, **options)
    seconds = time.perf_counter() - start
    return _solution(problem, objective, phi, shift, name, seconds, iterations, converged, info)


# --------------------------------------------------------------------------------------------
# The affine residual map and the canonical (shaping-free) reward


@dataclass(frozen=True)
class ResidualMap:
    """``res = offset + matrix @ x``: the objective's residuals as a function of the free variables.

    ``phi0`` and ``shift0`` are the shaping removed by the canonical projection;
    the full solution is ``phi = phi0 + x[:S]`` and ``shift = shift0 + x[S]``.
    """

    offset: np.ndarray
    matrix: sp.csr_matrix
    phi0: np.ndarray
    shift0: float
    smooth: bool

    def variables_to_potential(self, x: np.ndarray, num_states: int) -> tuple[np.ndarray, float]:
        phi = self.phi0 + x[:num_states]
        shift = self.shift0 + (0.0 if self.smooth else float(x[num_states]))
        return phi, shift


def shaping_matrix(problem: TabularProblem) -> sp.csr_matrix:
    """B with ``B @ (phi, c) = gamma * phi[s'] - phi[s] - c`` for every transition, shape (N, S + 1)."""
    n, s = len(problem.states), problem.num_states
    rows = np.arange(n)
    data = np.concatenate([np.full(n, problem.gamma), np.full(n, -1.0), np.full(n, -1.0)])
    cols = np.concatenate([problem.next_states, problem.states, np.full(n, s)])
    return sp.csr_matrix((data, (np.tile(rows, 3), cols)), shape=(n, s + 1))


def pair_difference_matrix(pairs: np.ndarray, n: int) -> sp.csr_matrix:
    """D with ``(D @ r)_p = r[i_p] - r[j_p]`` for each neighbour pair p."""
    p = len(pairs)
    rows = np.concatenate([np.arange(p), np.arange(p)])
    data = np.concatenate([np.ones(p), -np.ones(p)])
    return sp.csr_matrix((data, (rows, pairs.T.reshape(-1))), shape=(p, n))


def canonical_shaping(problem: TabularProblem, matrix: sp.csr_matrix) -> np.ndarray:
    """x* minimizing ||r - B x||_2: the least-squares shaping inside the reward.

    The residual ``r - B x*`` is unique (even though x* is not), so it is a
    canonical representative of the reward's shaping-equivalence class.
    """
    if matrix.shape[0] * matrix.shape[1] <= DENSE_LSTSQ_MAX_ENTRIES:
        x, *_ = np.linalg.lstsq(matrix.toarray(), problem.reward, rcond=None)
        return x
    # Large problems: iterative least squares. Its accuracy only affects which of several equally good
    # optima is returned (the LP optimizes over every potential anyway), never the optimal value.
    iter_lim = max(1000, 10 * matrix.shape[1])
    return np.asarray(lsqr(matrix, problem.reward, atol=1e-12, btol=1e-12, iter_lim=iter_lim)[0])


def residual_map(problem: TabularProblem, objective: str) -> ResidualMap:
    """The residuals of `objective` as an affine map of (phi, c), after removing the canonical shaping."""
    b = shaping_matrix(problem)
    x0 = canonical_shaping(problem, b)
    canonical = problem.reward - b @ x0
    s = problem.num_states
    phi0, shift0 = -x0[:s], -float(x0[s])
    if not is_smooth(objective):
        return ResidualMap(canonical, b, phi0, shift0, smooth=False)
    pairs = problem.pairs
    if len(pairs) == 0:
        raise UserError(f"objective {objective!r} needs neighbour pairs, but no two transitions are neighbours")
    d = pair_difference_matrix(pairs, len(canonical))
    return ResidualMap(d @ canonical, (d @ b[:, :s]).tocsr(), phi0, shift0, smooth=True)


# --------------------------------------------------------------------------------------------
# Weighted L1 by its dual LP on HiGHS


@contextlib.contextmanager
def _silence_stdout() -> Iterator[None]:
    """Swallow what C code writes to file descriptor 1 (HiGHS prints a banner on first use)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            try:
                yield
            finally:
                ctypes.CDLL(None).fflush(None)
                os.dup2(saved, 1)
    finally:
        os.close(saved)


_banner_printed = False


def _new_highs() -> highspy.Highs:
    """A quiet, deterministic HiGHS instance (dual simplex, no presolve: these LPs are small and warm-started)."""
    global _banner_printed
    if _banner_printed:
        highs = highspy.Highs()
    else:
        with _silence_stdout():
            highs = highspy.Highs()
        _banner_printed = True
    for option, value in (
        ("output_flag", False),
        ("solver", "simplex"),
        ("random_seed", 0),
        ("presolve", "off"),
        ("primal_feasibility_tolerance", 1e-9),
        ("dual_feasibility_tolerance", 1e-9),
    ):
        highs.setOptionValue(option, value)
    return highs


def check_lp_status(highs: highspy.Highs) -> None:
    """Refuse anything but a proven optimum: infeasible, unbounded or failed LPs are errors."""
    status = highs.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise UserError(
            f"the preprocessing LP ended with status {highs.modelStatusToString(status)!r} instead of "
            "'Optimal'; check the reward for extreme values (no solution was returned)"
        )


@dataclass(frozen=True)
class L1Result:
    """One weighted-L1 solve: variables, residuals and the duality certificate.

    For any y with ``A^T y = 0`` and ``|y| <= w``, weak duality gives
    ``sum w |res(x)| >= -g.y`` for every x; equality proves x optimal. `gap` is
    that difference (relative for primals above 1), `dual_infeasibility` how far the
    returned y is from ``A^T y = 0``.
    """

    x: np.ndarray
    residuals: np.ndarray
    primal: float
    dual: float
    dual_infeasibility: float
    simplex_iterations: int

    @property
    def gap(self) -> float:
        """|primal - dual|, relative once the primal (a sum over residuals) exceeds 1."""
        return abs(self.primal - self.dual) / max(abs(self.primal), 1.0)


class WeightedL1:
    """``min_x sum_p w_p |g_p + (A x)_p|``, solved through its dual and warm-started across weights.

    Dual: ``min_y g.y  s.t.  A^T y = 0,  -w <= y <= w`` (one row per variable of
    x). Its row duals lambda give the primal as ``x = -lambda``: HiGHS's reduced
    costs ``g - A lambda`` are then exactly the residuals, zero on basic y.
    """

    def __init__(self, residuals: ResidualMap) -> None:
        self.offset = residuals.offset
        self.matrix = residuals.matrix
        m, k = self.matrix.shape
        self._m = m
        self._index = np.arange(m, dtype=np.int32)
        # CSR of A (m x k) is the column-wise storage of A^T (k rows, m columns).
        columns = self.matrix.tocsr()
        columns.sort_indices()
        lp = highspy.HighsLp()
        lp.num_col_ = m
        lp.num_row_ = k
        lp.col_cost_ = self.offset
        lp.col_lower_ = -np.ones(m)
        lp.col_upper_ = np.ones(m)
        lp.row_lower_ = np.zeros(k)
        lp.row_upper_ = np.zeros(k)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = m
        lp.a_matrix_.num_row_ = k
        lp.a_matrix_.start_ = columns.indptr.astype(np.int32)
        lp.a_matrix_.index_ = columns.indices.astype(np.int32)
        lp.a_matrix_.value_ = columns.data
        self.highs = _new_highs()
        self.highs.passModel(lp)
        self._weights = np.ones(m)
        self.total_simplex_iterations = 0

    def solve(self, weights: np.ndarray | None = None) -> L1Result:
        """Solve with the given positive weights (default: all 1), warm-started from the last basis."""
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (self._m,) or not np.isfinite(weights).all() or (weights <= 0).any():
                raise UserError("weighted-L1 weights must be finite, positive and one per residual")
            self.highs.changeColsBounds(self._m, self._index, -weights, weights)
            self._weights = weights
        self.highs.run()
        check_lp_status(self.highs)
        solution = self.highs.getSolution()
        self.total_simplex_iterations += int(self.highs.getInfo().simplex_iteration_count)
        x = -np.asarray(solution.row_dual, dtype=np.float64)
        y = np.asarray(solution.col_value, dtype=np.float64)
        residuals = self.offset + self.matrix @ x
        result = L1Result(
            x=x,
            residuals=residuals,
            primal=float(self._weights @ np.abs(residuals)),
            dual=float(-(self.offset @ y)),
            dual_infeasibility=float(np.abs(self.matrix.T @ y).max(initial=0.0)),
            simplex_iterations=int(self.highs.getInfo().simplex_iteration_count),
        )
        if result.gap > CERTIFICATE_TOL or result.dual_infeasibility > CERTIFICATE_TOL:
            raise UserError(
                f"the preprocessing LP failed its optimality certificate (duality gap {result.gap:.2e}, "
                f"dual infeasibility {result.dual_infeasibility:.2e}); the reward is probably badly scaled"
            )
        return result


# --------------------------------------------------------------------------------------------
# The three solvers; each returns (phi, shift, iterations, converged, info)

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


def _log_objective(residuals: np.ndarray) -> float:
    return float(np.log1p(np.abs(residuals)).mean())


def _mm(problem: TabularProblem, objective: str, tol: float = 1e-10, max_iter: int = 500) -> Outcome:
    """Majorize-minimize: log(1+|x|) <= log(1+|x_k|) + (|x| - |x_k|) / (1 + |x_k|), so each step is weighted L1.

    Starts at the exact L1 optimum. Each step minimizes the majorizer exactly,
    so the objective cannot increase; a step that does not decrease it (LP
    rounding, ties) is rejected, which keeps the trace strictly decreasing.

    Convergence is certified, not assumed: the majorizer at x_k is convex and
    tangent to the objective at x_k (same value, same directional derivatives).
    When its exact minimum does not improve on x_k ("fixed_point": the LP
    returns the same residuals; "no_decrease": an equally good point), x_k
    minimizes the majorizer, so every directional derivative of the log
    objective at x_k is >= 0: a stationary point. "relative_decrease" stops
    once a step gains a fraction <= `tol`; "max_iter" is reported as not converged.
    """
    if tol < 0 or max_iter < 0:
        raise UserError("mm needs tol >= 0 and max_iter >= 0")
    residuals = residual_map(problem, objective)
    lp = WeightedL1(residuals)
    current = lp.solve()
    if not is_log(objective):
        phi, shift = residuals.variables_to_potential(current.x, problem.num_states)
        return phi, shift, 1, True, {"converged_by": "exact_lp", "duality_gap": current.gap}
    value = _log_objective(current.residuals)
    trace, gaps = [value], [current.gap]
    converged_by, rejected_increase = "max_iter", 0.0
    for _ in range(max_iter):
        if value == 0.0:
            converged_by = "zero_objective"
            break
        candidate = lp.solve(1.0 / (1.0 + np.abs(current.residuals)))
        new_value = _log_objective(candidate.residuals)
        gaps.append(candidate.gap)
        if new_value >= value:
            # No decrease: the majorizer's minimum is (up to LP rounding) the current point.
            rejected_increase = new_value - value
            converged_by = "no_decrease"
            break
        moved = float(np.abs(candidate.residuals - current.residuals).max())
        current, decrease, value = candidate, value - new_value, new_value
        trace.append(value)
        if moved <= 1e-12 * (1.0 + float(np.abs(current.residuals).max())):
            converged_by = "fixed_point"
            break
        if decrease <= tol * value:
            converged_by = "relative_decrease"
            break
    phi, shift = residuals.variables_to_potential(current.x, problem.num_states)
    info = {
        "converged_by": converged_by,
        "trace": trace,
        "start_value": trace[0],
        "max_duality_gap": max(gaps),
        "monotone": bool(np.all(np.diff(trace) < 0.0)),
        "rejected_increase": rejected_increase,
        "lp_solves": len(gaps),
        "simplex_iterations": lp.total_simplex_iterations,
        "tol": tol,
    }
    return phi, shift, len(trace) - 1, converged_by != "max_iter", info


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
_OPTIONS: dict[str, tuple[str, ...]] = {"lp": (), "mm": ("tol", "max_iter"), "adam": ("lr", "epochs")}


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
