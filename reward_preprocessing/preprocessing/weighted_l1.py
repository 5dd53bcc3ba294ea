"""Weighted L1 problems of tabular preprocessing, solved exactly through their dual LP.

Every objective penalizes residuals that are affine in the free variables:
``res = g + A @ x`` with x = (phi, c) for the sparse objectives and x = phi for
the smooth ones (the shift c cancels in differences).

* **Canonical input.** Before solving, the reward is replaced by its orthogonal
  projection off the shaping subspace ``{gamma*phi(s') - phi(s) - c}``. Shaped
  and unshaped versions of one reward project to the same vector (up to
  rounding), so every solver sees the same problem and returns the same r'.
* **Weighted L1 through its dual.** ``min_x sum_p w_p |res_p|`` is solved as
  ``min_y g.y  s.t.  A^T y = 0, -w <= y <= w`` (HiGHS dual simplex). It has one
  row per state instead of one per transition or pair, x comes back as the row
  duals, and the pair (x, y) is an optimality certificate: the primal and dual
  objectives agree. Changing the weights only changes the box, so re-solves
  start from the previous basis.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import is_smooth
from reward_preprocessing.preprocessing.tabular import TabularProblem

# Relative duality gap above which an "optimal" LP answer is refused rather than returned.
CERTIFICATE_TOL = 1e-6
# Dense least squares for the canonical projection up to this many matrix entries (32 MB); LSQR above.
DENSE_LSTSQ_MAX_ENTRIES = 4_000_000


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

    @functools.cached_property
    def transpose(self) -> sp.csr_matrix:
        """A^T, stored once (gradients and certificates need it repeatedly)."""
        return self.matrix.T.tocsr()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The residuals at x."""
        return self.offset + self.matrix @ x

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


def new_highs() -> highspy.Highs:
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
        self.transpose = residuals.transpose
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
        self.highs = new_highs()
        self.highs.passModel(lp)
        self._weights = np.ones(m)
        self.total_simplex_iterations = 0
        self.solves = 0

    def solve(self, weights: np.ndarray | None = None) -> L1Result:
        """Solve with the given positive weights (default: all 1), warm-started from the last basis."""
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (self._m,) or not np.isfinite(weights).all() or (weights <= 0).any():
                raise UserError("weighted-L1 weights must be finite, positive and one per residual")
            self.highs.changeColsBounds(self._m, self._index, -weights, weights)
            self._weights = weights
        self.highs.run()
        self.solves += 1
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
            dual_infeasibility=float(np.abs(self.transpose @ y).max(initial=0.0)),
            simplex_iterations=int(self.highs.getInfo().simplex_iteration_count),
        )
        if result.gap > CERTIFICATE_TOL or result.dual_infeasibility > CERTIFICATE_TOL:
            raise UserError(
                f"the preprocessing LP failed its optimality certificate (duality gap {result.gap:.2e}, "
                f"dual infeasibility {result.dual_infeasibility:.2e}); the reward is probably badly scaled"
            )
        return result
