"""Weighted least absolute deviations, ``min_x sum_i w_i |g_i + (A x)_i|``, by a primal-dual interior point.

Why a dedicated solver: the feature objectives have ~10^5 dense rows and a few hundred columns. A general LP
solver sees ``n x p`` nonzeros and pivots or factors them sparsely; the Frisch-Newton method (Portnoy & Koenker
1997, quantile regression at tau = 1/2) works on the dual instead, whose only linear system per iteration is the
``p x p`` matrix ``A^T D A`` (a dense rank-k update, BLAS syrk, over the rows), so time grows linearly with the
rows.

The dual: ``max -g.y  s.t.  A^T y = 0, |y| <= w``. With ``v = y + w`` it is the bounded LP
``min g.v  s.t.  A^T v = A^T w, 0 <= v <= 2w``; slack ``s = 2w - v``, multipliers ``lam`` (so ``x = -lam``) and
``zd, om >= 0`` on ``v >= 0`` and ``s >= 0``. Directions: Mehrotra's predictor-corrector; Gondzio's centrality
correctors (`correctors`) reuse the factorization, two matrix-vector passes each. One by default: since partial
updating made an iteration cheap, more no longer pay at 10^5 rows, while none at all costs ~6 % at 10^4 rows and
twice the iterations on small degenerate problems (ties: 41 against 19).

What an iteration costs, and how it is kept low:

* **Partial updating** (Karmarkar's, 1984) of the normal matrix, built for scalings ``dt`` kept within a factor
  `_SCALING_BAND` of the true ``d`` (`NormalMatrix`). Between iterations most rows' d move by one common factor
  (a row decided far from zero has d proportional to mu), so the matrix is rescaled by that factor and updated
  only on the rows that left the band: about a tenth of the rows an iteration instead of all of them. The
  direction stays exact where it matters: the primal step uses ``dt`` (so ``A^T v`` moves exactly as asked)
  and the multipliers use d (so the dual equation holds); the two differ only in the complementarity products
  they aim at, by at most the band: a slightly different centring, which the next iterations correct.
* **Float32 passes** while the gap is large (`rough`, `_ROUGH_ABOVE_GAP`): the matrix-vector passes are bound
  by memory traffic, which a float32 copy of A halves; the residuals are recomputed exactly at the switch.

Returned: x, the dual y and both objectives; the caller decides whether the gap certifies optimality. A solve
can start from a given point (`LadState`): majorize-minimize starts each step at the previous step's x. (Starting
from a late iterate of the previous solve instead stalls: a point near the old optimum is badly centred for new
weights, the usual trouble with warm-started interior points; an early one saves nothing.)
Deterministic: no randomness, BLAS runs single-threaded inside `solve_lad`, and the passes over the rows run on
fixed blocks of rows (`RowBlocks`) whose partial sums are added in block order, so the answer does not depend on
how many threads share the blocks.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from threadpoolctl import ThreadpoolController

# Fraction of the longest feasible step taken (Portnoy & Koenker's 0.99995).
_STEP_FRACTION = 0.99995
# Gondzio correctors: aim at steps this much longer, keep a corrector only if it lengthens the steps by 1 %,
# and push complementarity products into [0.1, 10] x the target.
_CORRECTOR_AIM = (1.5, 0.1)
_CORRECTOR_GAIN = 1.01
_CENTRALITY_BOX = (0.1, 10.0)
# While the relative duality gap is above this, the residual and the primal infeasibility follow each step
# (`res - step * A d_lam`, `r_p - step * A^T d_v`, see `_Step`) instead of being recomputed: two passes over the
# rows fewer an iteration. Below it (the last iterations, where the stopping test needs them exact) they are
# recomputed.
_UPDATE_ABOVE_GAP = 1e-6
# While the relative duality gap is above this, the matrix-vector passes read a float32 copy of A (`rough`): half
# the memory traffic, and the directions need no more accuracy yet (the residuals are recomputed exactly at the
# switch). Measured at 1e5 rows x 222: the switch at 1e-3, 1e-4 or 1e-5 takes the same iterations to the same
# certificate (sparse_log 8 % faster at 1e-4 than at 1e-3); at 1e-6 the solve no longer reaches it.
_ROUGH_ABOVE_GAP = 1e-4
# Stop after this many consecutive iterations whose step is below 1e-3 (numerical stall near the optimum), or
# after this many without a better iterate (past the attainable accuracy, the iterates wander and lose
# feasibility: the best one is returned either way).
_STALL_ITERATIONS = 3
_NO_PROGRESS_ITERATIONS = 5

# Partial updating: a row's scaling in the normal matrix stays within this factor of its true d; the matrix is
# rebuilt from scratch once more than this share of the rows has left the band.
_SCALING_BAND = 1.5
_REBUILD_SHARE = 0.4

# Rows per block of the passes over the rows: fixed, so partial sums (and the answer) never depend on the machine.
_BLOCK_ROWS = 8192
# Rows per chunk of the normal matrix's product: a scaled chunk (about 1.8 MB at 222 columns) stays in cache.
_GRAM_CHUNK = 1024
# Threads sharing the blocks: the CPUs this process may use, at most this many.
_MAX_THREADS = 8

_threadpools: ThreadpoolController | None = None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Single-threaded BLAS for every loaded library (numpy's and scipy's): deterministic sums, and no spinning
    helper thread competing with other jobs. The controller is built at call time, after scipy is loaded."""
    global _threadpools
    if _threadpools is None:
        _threadpools = ThreadpoolController()
    with _threadpools.limit(limits=1, user_api="blas"):
        yield


def worker_threads() -> int:
    """Threads for the row passes: the CPUs this process may run on (capped)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_THREADS))


def block_slices(rows: int) -> list[slice]:
    """The fixed blocks of `_BLOCK_ROWS` rows (the last one shorter) that every blocked pass uses."""
    return [slice(i, min(i + _BLOCK_ROWS, rows)) for i in range(0, rows, _BLOCK_ROWS)]


def thread_count(threads: int | None, blocks: int) -> int:
    """Threads for `blocks` blocks: `threads`, or by default every CPU this process may use; at most one a block."""
    return max(1, min(worker_threads() if threads is None else threads, blocks))


class RowBlocks:
    """``A x``, ``A^T y`` and ``A^T D A`` over fixed blocks of A's rows, the blocks shared by a thread pool.

    Why: every interior-point iteration is a handful of passes over the ~10^5 rows (one syrk, the rest
    matrix-vector products); single-threaded BLAS keeps each block's sums deterministic, and the blocks spread
    the passes over the cores. Partial sums are added in block order: bit-identical for any thread count.
    """

    def __init__(self, a: np.ndarray, threads: int | None = None, rough: bool = False) -> None:
        self.a = a
        self._rough = a.astype(np.float32) if rough else None
        self.blocks = block_slices(a.shape[0])
        threads = thread_count(threads, len(self.blocks))
        self._pool = ThreadPoolExecutor(threads) if threads > 1 else None
        self._scaled = [np.empty((min(_GRAM_CHUNK, b.stop - b.start), a.shape[1])) for b in self.blocks]

    def _map(self, fn: Callable[[int], np.ndarray | None]) -> list[np.ndarray | None]:
        indices = range(len(self.blocks))
        return list(self._pool.map(fn, indices) if self._pool is not None else map(fn, indices))

    @staticmethod
    def _ordered_sum(parts: list[np.ndarray | None], dtype: type | np.dtype = np.float64) -> np.ndarray:
        total = np.array(parts[0], dtype=dtype)
        for part in parts[1:]:
            total += part
        return total

    @property
    def rough(self) -> bool:
        """Whether `matvec` and `rmatvec` still read the float32 copy of A (half the memory traffic)."""
        return self._rough is not None

    def exact(self) -> None:
        """From now on every pass reads A itself; the float32 copy is freed."""
        self._rough = None

    def _rough_pass(self, pass_: Callable[[np.ndarray, np.ndarray], np.ndarray], v: np.ndarray) -> np.ndarray | None:
        """`pass_` over the float32 copy, or None (and exact passes from now on) where float32's range is exceeded."""
        if self._rough is not None:
            with np.errstate(over="ignore", invalid="ignore"):
                out = pass_(self._rough, v.astype(np.float32))
            if np.isfinite(out).all():
                return out.astype(np.float64)
            self.exact()
        return None

    def matvec(self, x: np.ndarray) -> np.ndarray:
        rough = self._rough_pass(self._matvec, x)
        return self._matvec(self.a, x) if rough is None else rough

    def rmatvec(self, y: np.ndarray) -> np.ndarray:
        rough = self._rough_pass(self._rmatvec, y)
        return self._rmatvec(self.a, y) if rough is None else rough

    def _matvec(self, a: np.ndarray, x: np.ndarray) -> np.ndarray:
        out = np.empty(a.shape[0], dtype=a.dtype)

        def block(i: int) -> None:
            np.matmul(a[self.blocks[i]], x, out=out[self.blocks[i]])

        self._map(block)
        return out

    def _rmatvec(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        # np.dot, not @: numpy's matmul keeps the GIL for a transposed matrix-vector product.
        return self._ordered_sum(self._map(lambda i: a[self.blocks[i]].T.dot(y[self.blocks[i]])), a.dtype)

    def gram(self, d: np.ndarray) -> np.ndarray:
        """``A^T diag(d) A`` for d >= 0, as sums of ``X^T X`` (BLAS syrk) over chunks ``X = sqrt(d) A`` of
        `_GRAM_CHUNK` rows: a chunk is scaled while it is in cache, which saves 15 % of the product over
        scaling whole blocks. Fixed chunks in fixed blocks: the same sums in the same order on any machine."""
        root = np.sqrt(d)

        def block(i: int) -> np.ndarray:
            rows, scaled = self.blocks[i], self._scaled[i]
            total = np.zeros((self.a.shape[1],) * 2)
            for start in range(rows.start, rows.stop, _GRAM_CHUNK):
                stop = min(start + _GRAM_CHUNK, rows.stop)
                chunk = scaled[: stop - start]
                np.multiply(self.a[start:stop], root[start:stop, None], out=chunk)
                total += chunk.T @ chunk  # numpy's syrk, which (unlike scipy's BLAS wrappers) frees the GIL
            return total

        return self._ordered_sum(self._map(block))

    def gram_update(self, rows: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``sum_i coef_i a_i a_i^T`` over the rows where `rows` (a mask) holds, for coefficients of either sign:
        the selected rows are gathered chunk by chunk into the cache-sized buffers, positive and negative
        coefficients summed by separate syrks (same fixed blocks and order as `gram`)."""
        def block(i: int) -> np.ndarray:
            span, scaled = self.blocks[i], self._scaled[i]
            picked = np.flatnonzero(rows[span]) + span.start
            total = np.zeros((self.a.shape[1],) * 2)
            for sign in (1.0, -1.0):
                part = picked[coef[picked] * sign > 0]
                for start in range(0, len(part), _GRAM_CHUNK):
                    index = part[start:start + _GRAM_CHUNK]
                    chunk = scaled[: len(index)]
                    np.take(self.a, index, axis=0, out=chunk)
                    chunk *= np.sqrt(np.abs(coef[index]))[:, None]
                    if sign > 0:
                        total += chunk.T @ chunk
                    else:
                        total -= chunk.T @ chunk
            return total

        return self._ordered_sum(self._map(block))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()


class NormalMatrix:
    """``A^T diag(dt) A`` for scalings dt that stay within `_SCALING_BAND` of the true d (partial updating).

    `update(d)` rescales the last matrix by the median ratio d / dt and corrects only the rows whose ratio
    then lies outside the band (one gathered syrk over them), or rebuilds it when more than `_REBUILD_SHARE`
    of the rows moved: one full syrk every ten iterations or so instead of every iteration, the same sums
    for any thread count. Rounding does not accumulate beyond that of one syrk (measured: the matrix stays
    within 1e-15 of a fresh product, relative to its largest entry, over a whole solve).
    """

    def __init__(self, rows: RowBlocks) -> None:
        self.rows = rows
        self.scaling = np.empty(0)
        self.matrix = np.empty((0, 0))
        self.rebuilds = 0
        self.rows_updated = 0

    def update(self, d: np.ndarray) -> None:
        if self.scaling.shape == d.shape:
            ratio = d / self.scaling
            common = float(np.median(ratio))
            # NaN ratios count as outside the band
            outside = ~((ratio <= common * _SCALING_BAND) & (ratio * _SCALING_BAND >= common))
            moved = int(np.count_nonzero(outside))
            if np.isfinite(common) and common > 0.0 and moved <= _REBUILD_SHARE * len(d):
                self.matrix = common * self.matrix + self.rows.gram_update(outside, d - common * self.scaling)
                self.scaling *= common
                self.scaling[outside] = d[outside]
                self.rows_updated += moved
                return
        self.scaling = d.copy()
        self.matrix = self.rows.gram(d)
        self.rebuilds += 1
        self.rows_updated += len(d)


@dataclass
class LadState:
    """An interior iterate (the dual box point v, its slack s, and the multipliers) at weights `w`."""

    w: np.ndarray
    v: np.ndarray
    s: np.ndarray
    lam: np.ndarray
    zd: np.ndarray
    om: np.ndarray

    def at_weights(self, w: np.ndarray) -> LadState:
        """The same point at new weights: y = v - w scaled with the box, so it stays strictly inside it. The
        multipliers stay dual feasible (weights only move the box); A^T y = 0 is restored by the iterations."""
        ratio = w / self.w
        y = (self.v - self.w) * ratio
        v = y + w
        s = 2.0 * w - v
        # Rounding must not put the point on the box's boundary.
        floor = 1e-12 * w
        return LadState(w, np.maximum(v, floor), np.maximum(s, floor), self.lam.copy(), self.zd.copy(),
                        self.om.copy())


@dataclass
class LadResult:
    """The minimizer x, the dual y (|y| <= w), both objectives, and the work done."""

    x: np.ndarray
    y: np.ndarray
    primal: float
    dual: float
    iterations: int
    correctors: int
    state: LadState | None = None  # the last iterate: a solve stopped at a loose `tol` resumes from it (``warm=state``)

    @property
    def gap(self) -> float:
        return abs(self.primal - self.dual) / max(abs(self.primal), 1.0)


def _longest_step(x: np.ndarray, dx: np.ndarray) -> float:
    """The largest step in [0, 1] that keeps x + step * dx >= 0, for x > 0 (an interior point): the step is
    1 / max(-dx / x), one division and one reduction (no boolean indexing: this runs ~20 times an iteration)."""
    shrink = -float(np.min(dx / x, initial=0.0))
    return 1.0 if shrink <= 1.0 else 1.0 / shrink


def _factor(m: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """Cholesky of the normal matrix; where rounding made it indefinite (late iterations, degenerate problems),
    of the matrix plus the smallest tried multiple of its largest diagonal entry. None: not factorizable."""
    diag_max = float(m.diagonal().max(initial=0.0))
    if not np.isfinite(diag_max) or diag_max <= 0.0:
        return None
    for ridge in (0.0, 1e-15, 1e-13, 1e-11, 1e-9):
        try:
            return scipy.linalg.cho_factor(m + ridge * diag_max * np.eye(len(m)) if ridge else m, lower=True,
                                           check_finite=False)
        except np.linalg.LinAlgError:
            continue
    return None


def solve_lad(
    g: np.ndarray,
    a: np.ndarray,
    w: np.ndarray,
    *,
    tol: float = 1e-11,
    max_iter: int = 300,
    correctors: int = 1,
    warm: LadState | None = None,
    threads: int | None = None,
    rough: bool = False,
) -> LadResult:
    """``min_x sum w |g + A x|`` for positive weights `w` (see the module docstring); `threads` share the row
    passes (default: the CPUs this process may use; the answer is the same for any number). `rough`: while the
    gap is above `_ROUGH_ABOVE_GAP`, the matrix-vector passes read a float32 copy of A; only for A with
    well-conditioned columns (the orthonormal ones of `feature_lp`): where A is rank-deficient, the float32
    rounding of A^T y lands in its null space and the ridge of `_factor` blows it up.

    Stops once the relative duality gap and the relative violation of ``A^T y = 0`` are both below `tol`, or
    when the steps stall; returns the best iterate seen (the smaller of the two measures, the worse one counting).
    """
    g = np.ascontiguousarray(g, dtype=np.float64)
    a = np.ascontiguousarray(a, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    n, k = a.shape
    with one_blas_thread():
        rows = RowBlocks(a, threads, rough=rough)
        try:
            return _solve(g, rows, w, n, k, tol, max_iter, correctors, warm)
        finally:
            rows.close()


@dataclass
class _Step:
    """A Newton direction, with ``A d_lam`` and ``A^T d_v``: what the residual and the primal infeasibility
    move by, so that they can follow the step without passes over the rows."""

    lam: np.ndarray
    v: np.ndarray
    zd: np.ndarray
    om: np.ndarray
    a_lam: np.ndarray
    at_v: np.ndarray

    def __add__(self, other: _Step) -> _Step:
        return _Step(self.lam + other.lam, self.v + other.v, self.zd + other.zd, self.om + other.om,
                     self.a_lam + other.a_lam, self.at_v + other.at_v)


def _direction(
    a: RowBlocks, p: LadState, d: np.ndarray, normal: NormalMatrix, chol: tuple[np.ndarray, bool],
    r_vz: np.ndarray, r_so: np.ndarray, r_dual: np.ndarray | float, r_primal: np.ndarray | float,
) -> _Step:
    """Newton step for right-hand sides: complementarity (v zd, s om), dual, primal, with the normal matrix's
    scalings dt for the primal step and the true d for the multipliers (see the module docstring; with dt = d
    it is the exact Newton step). ``A^T d_v`` is ``(A^T Dt A) d_lam - A^T (dt r_t)`` from the normal matrix
    (no pass; exact even where `_factor` added a ridge)."""
    r_t = r_dual - r_vz / p.v + r_so / p.s
    at_dr = a.rmatvec(normal.scaling * r_t)
    d_lam = scipy.linalg.cho_solve(chol, r_primal + at_dr, check_finite=False)
    a_lam = a.matvec(d_lam)
    moved = a_lam - r_t
    d_v = normal.scaling * moved
    moved *= d
    return _Step(d_lam, d_v, (r_vz - p.zd * moved) / p.v, (r_so + p.om * moved) / p.s, a_lam,
                 normal.matrix @ d_lam - at_dr)


def _steps(p: LadState, step: _Step) -> tuple[float, float]:
    """Longest primal (v, s) and dual (zd, om) steps in [0, 1] that stay nonnegative."""
    return (min(_longest_step(p.v, step.v), _longest_step(p.s, -step.v)),
            min(_longest_step(p.zd, step.zd), _longest_step(p.om, step.om)))


def _residuals(g: np.ndarray, a: RowBlocks, w: np.ndarray, p: LadState) -> tuple[np.ndarray, np.ndarray]:
    """The LAD residual ``g - A lam`` and the dual LP's primal infeasibility ``A^T w - A^T v``, recomputed."""
    return g - a.matvec(p.lam), -a.rmatvec(p.v - w)


def _objectives(g: np.ndarray, w: np.ndarray, res: np.ndarray, p: LadState) -> tuple[float, float, float]:
    """The LAD objective, the dual objective and their relative gap."""
    primal, dual = float(w @ np.abs(res)), float(-(g @ (p.v - w)))
    return primal, dual, abs(primal - dual) / max(abs(primal), 1.0)


def _solve(
    g: np.ndarray, a: RowBlocks, w: np.ndarray, n: int, k: int, tol: float, max_iter: int, correctors: int,
    warm: LadState | None,
) -> LadResult:
    if warm is not None and warm.v.shape == (n,) and warm.lam.shape == (k,):
        p = warm.at_weights(w)
    else:  # y = 0 (the centre of the box), x = 0 (the least-squares fit when g is orthogonal to A's columns)
        scale = max(float(np.abs(g).mean()), 1e-12)
        p = LadState(w, w.copy(), w.copy(), np.zeros(k), np.maximum(g, 0.0) + scale, np.maximum(-g, 0.0) + scale)
    b_scale = max(float(np.abs(a.rmatvec(w)).max(initial=0.0)), 1.0)
    normal = NormalMatrix(a)
    best: tuple[float, np.ndarray, np.ndarray, float, float] | None = None
    stalls = used_correctors = iteration = best_iteration = 0
    gap = np.inf
    for iteration in range(1, max_iter + 1):
        if iteration == 1 or gap < _UPDATE_ABOVE_GAP:  # else: followed through the last step (two passes fewer)
            res, r_p = _residuals(g, a, w, p)
        primal, dual, gap = _objectives(g, w, res, p)
        if a.rough and gap < _ROUGH_ABOVE_GAP:  # the float32 passes have done their part: exact from here on
            a.exact()
            res, r_p = _residuals(g, a, w, p)
            primal, dual, gap = _objectives(g, w, res, p)
        infeasibility = float(np.abs(r_p).max(initial=0.0)) / b_scale
        score = max(gap, infeasibility)
        if best is None or score < best[0]:
            best, best_iteration = (score, -p.lam, p.v - w, primal, dual), iteration
        if ((gap <= tol and infeasibility <= tol) or stalls >= _STALL_ITERATIONS
                or iteration - best_iteration >= _NO_PROGRESS_ITERATIONS):
            break
        r_d = res - p.zd + p.om
        mu = float((p.v @ p.zd + p.s @ p.om) / (2 * n))
        d = 1.0 / (p.zd / p.v + p.om / p.s)
        normal.update(d)
        chol = _factor(normal.matrix)
        if chol is None:
            break
        # Predictor (affine scaling), then Mehrotra's corrector centred at (mu_aff / mu)^3 mu.
        step = _direction(a, p, d, normal, chol, -p.v * p.zd, -p.s * p.om, r_d, r_p)
        ap, ad = _steps(p, step)
        mu_aff = float(((p.v + ap * step.v) @ (p.zd + ad * step.zd) + (p.s - ap * step.v) @ (p.om + ad * step.om))
                       / (2 * n))
        target = (mu_aff / mu) ** 3 * mu
        step = _direction(a, p, d, normal, chol, target - p.v * p.zd - step.v * step.zd,
                          target - p.s * p.om + step.v * step.om, r_d, r_p)
        ap, ad = _steps(p, step)
        # Gondzio: correct the products that a longer trial step would push out of [0.1, 10] x target.
        lo, hi = _CENTRALITY_BOX[0] * target, _CENTRALITY_BOX[1] * target
        for _ in range(correctors):
            if min(ap, ad) >= 1.0:
                break
            tp = min(1.0, _CORRECTOR_AIM[0] * ap + _CORRECTOR_AIM[1])
            td = min(1.0, _CORRECTOR_AIM[0] * ad + _CORRECTOR_AIM[1])
            p_vz = (p.v + tp * step.v) * (p.zd + td * step.zd)
            p_so = (p.s - tp * step.v) * (p.om + td * step.om)
            c_vz = np.maximum(np.clip(p_vz, lo, hi) - p_vz, -hi)
            c_so = np.maximum(np.clip(p_so, lo, hi) - p_so, -hi)
            corrected = step + _direction(a, p, d, normal, chol, c_vz, c_so, 0.0, 0.0)
            used_correctors += 1
            cp, cd = _steps(p, corrected)
            if cp + cd < _CORRECTOR_GAIN * (ap + ad):
                break
            step, ap, ad = corrected, cp, cd
        stalls = stalls + 1 if min(ap, ad) < 1e-3 else 0
        ap, ad = _STEP_FRACTION * ap, _STEP_FRACTION * ad
        p = LadState(w, p.v + ap * step.v, p.s - ap * step.v, p.lam + ad * step.lam, p.zd + ad * step.zd,
                     p.om + ad * step.om)
        # What the step does to g - A lam and to A^T w - A^T v, without passes over the rows (exact up to
        # rounding); both are recomputed from scratch once the gap is small.
        res = res - ad * step.a_lam
        r_p = r_p - ap * step.at_v
    assert best is not None
    _, x, y, primal, dual = best
    return LadResult(x=x, y=y, primal=primal, dual=dual, iterations=iteration, correctors=used_correctors, state=p)
