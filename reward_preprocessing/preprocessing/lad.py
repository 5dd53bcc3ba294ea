"""Weighted least absolute deviations, ``min_x sum_i w_i |g_i + (A x)_i|``, by a primal-dual interior point.

Why a dedicated solver: the feature objectives have ~10^5 dense rows and a few hundred columns. A general LP
solver sees ``n x p`` nonzeros and pivots or factors them sparsely; the Frisch-Newton method (Portnoy & Koenker
1997, quantile regression at tau = 1/2) works on the dual instead, whose only linear system per iteration is the
``p x p`` matrix ``A^T D A``: one dense rank-k update (BLAS syrk) over the rows, so an iteration costs O(n p^2)
flops at full BLAS speed and time grows linearly with the rows.

The dual: ``max -g.y  s.t.  A^T y = 0, |y| <= w``. With ``v = y + w`` it is the bounded LP
``min g.v  s.t.  A^T v = A^T w, 0 <= v <= 2w``; slack ``s = 2w - v``, multipliers ``lam`` (so ``x = -lam``) and
``zd, om >= 0`` on ``v >= 0`` and ``s >= 0``. Directions: Mehrotra's predictor-corrector plus Gondzio's
centrality correctors, which reuse the factorization (two matrix-vector passes each) and cut the iteration count
on the badly scaled, degenerate problems preprocessing poses (most residuals tiny at the optimum).

Returned: x, the dual y and both objectives; the caller decides whether the gap certifies optimality. A solve
can start from a given point (`LadState`): majorize-minimize starts each step at the previous step's x. (Starting
from a late iterate of the previous solve instead stalls: a point near the old optimum is badly centred for new
weights, the usual trouble with warm-started interior points; an early one saves nothing.)
Deterministic: no randomness, and BLAS runs single-threaded inside `solve_lad`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
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
# Stop after this many consecutive iterations whose step is below 1e-3 (numerical stall near the optimum).
_STALL_ITERATIONS = 3

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
    """The largest step in [0, 1] that keeps x + step * dx >= 0."""
    neg = dx < 0
    return float(min(1.0, (-x[neg] / dx[neg]).min(initial=np.inf)))


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
    correctors: int = 3,
    warm: LadState | None = None,
) -> LadResult:
    """``min_x sum w |g + A x|`` for positive weights `w` (see the module docstring).

    Stops once the relative duality gap and the relative violation of ``A^T y = 0`` are both below `tol`, or
    when the steps stall; returns the best iterate seen (the smaller of the two measures, the worse one counting).
    """
    g = np.ascontiguousarray(g, dtype=np.float64)
    a = np.ascontiguousarray(a, dtype=np.float64)
    w = np.ascontiguousarray(w, dtype=np.float64)
    n, k = a.shape
    with one_blas_thread():
        return _solve(g, a, w, n, k, tol, max_iter, correctors, warm)


def _direction(
    a: np.ndarray, p: LadState, d: np.ndarray, chol: tuple[np.ndarray, bool], r_vz: np.ndarray, r_so: np.ndarray,
    r_dual: np.ndarray | float, r_primal: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Newton step (d_lam, d_v, d_zd, d_om) for right-hand sides: complementarity (v zd, s om), dual, primal."""
    r_t = r_dual - r_vz / p.v + r_so / p.s
    d_lam = scipy.linalg.cho_solve(chol, r_primal + a.T @ (d * r_t), check_finite=False)
    d_v = d * (a @ d_lam - r_t)
    return d_lam, d_v, (r_vz - p.zd * d_v) / p.v, (r_so + p.om * d_v) / p.s


def _steps(p: LadState, d_v: np.ndarray, d_z: np.ndarray, d_o: np.ndarray) -> tuple[float, float]:
    """Longest primal (v, s) and dual (zd, om) steps in [0, 1] that stay nonnegative."""
    return (min(_longest_step(p.v, d_v), _longest_step(p.s, -d_v)),
            min(_longest_step(p.zd, d_z), _longest_step(p.om, d_o)))


def _solve(
    g: np.ndarray, a: np.ndarray, w: np.ndarray, n: int, k: int, tol: float, max_iter: int, correctors: int,
    warm: LadState | None,
) -> LadResult:
    if warm is not None and warm.v.shape == (n,) and warm.lam.shape == (k,):
        p = warm.at_weights(w)
    else:  # y = 0 (the centre of the box), x = 0 (the least-squares fit when g is orthogonal to A's columns)
        scale = max(float(np.abs(g).mean()), 1e-12)
        p = LadState(w, w.copy(), w.copy(), np.zeros(k), np.maximum(g, 0.0) + scale, np.maximum(-g, 0.0) + scale)
    b_scale = max(float(np.abs(a.T @ w).max(initial=0.0)), 1.0)
    scaled = np.empty((n, k))  # sqrt(D) A, reused every iteration
    best: tuple[float, np.ndarray, np.ndarray, float, float] | None = None
    stalls = used_correctors = iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 (reported)
        res = g - a @ p.lam
        r_p = -(a.T @ (p.v - w))  # A^T w - A^T v
        primal, dual = float(w @ np.abs(res)), float(-(g @ (p.v - w)))
        gap = abs(primal - dual) / max(abs(primal), 1.0)
        infeasibility = float(np.abs(r_p).max(initial=0.0)) / b_scale
        score = max(gap, infeasibility)
        if best is None or score < best[0]:
            best = (score, -p.lam, p.v - w, primal, dual)
        if (gap <= tol and infeasibility <= tol) or stalls >= _STALL_ITERATIONS:
            break
        r_d = res - p.zd + p.om
        mu = float((p.v @ p.zd + p.s @ p.om) / (2 * n))
        d = 1.0 / (p.zd / p.v + p.om / p.s)
        np.multiply(a, np.sqrt(d)[:, None], out=scaled)
        chol = _factor(scaled.T @ scaled)  # numpy runs X^T X as one syrk
        if chol is None:
            break
        # Predictor (affine scaling), then Mehrotra's corrector centred at (mu_aff / mu)^3 mu.
        d_lam, d_v, d_z, d_o = _direction(a, p, d, chol, -p.v * p.zd, -p.s * p.om, r_d, r_p)
        ap, ad = _steps(p, d_v, d_z, d_o)
        mu_aff = float(((p.v + ap * d_v) @ (p.zd + ad * d_z) + (p.s - ap * d_v) @ (p.om + ad * d_o)) / (2 * n))
        target = (mu_aff / mu) ** 3 * mu
        d_lam, d_v, d_z, d_o = _direction(a, p, d, chol, target - p.v * p.zd - d_v * d_z,
                                          target - p.s * p.om + d_v * d_o, r_d, r_p)
        ap, ad = _steps(p, d_v, d_z, d_o)
        # Gondzio: correct the products that a longer trial step would push out of [0.1, 10] x target.
        lo, hi = _CENTRALITY_BOX[0] * target, _CENTRALITY_BOX[1] * target
        for _ in range(correctors):
            if min(ap, ad) >= 1.0:
                break
            tp = min(1.0, _CORRECTOR_AIM[0] * ap + _CORRECTOR_AIM[1])
            td = min(1.0, _CORRECTOR_AIM[0] * ad + _CORRECTOR_AIM[1])
            p_vz, p_so = (p.v + tp * d_v) * (p.zd + td * d_z), (p.s - tp * d_v) * (p.om + td * d_o)
            c_vz = np.maximum(np.clip(p_vz, lo, hi) - p_vz, -hi)
            c_so = np.maximum(np.clip(p_so, lo, hi) - p_so, -hi)
            e_lam, e_v, e_z, e_o = _direction(a, p, d, chol, c_vz, c_so, 0.0, 0.0)
            used_correctors += 1
            cp, cd = _steps(p, d_v + e_v, d_z + e_z, d_o + e_o)
            if cp + cd < _CORRECTOR_GAIN * (ap + ad):
                break
            d_lam, d_v, d_z, d_o, ap, ad = d_lam + e_lam, d_v + e_v, d_z + e_z, d_o + e_o, cp, cd
        stalls = stalls + 1 if min(ap, ad) < 1e-3 else 0
        ap, ad = _STEP_FRACTION * ap, _STEP_FRACTION * ad
        p = LadState(w, p.v + ap * d_v, p.s - ap * d_v, p.lam + ad * d_lam, p.zd + ad * d_z, p.om + ad * d_o)
    assert best is not None
    _, x, y, primal, dual = best
    return LadResult(x=x, y=y, primal=primal, dual=dual, iterations=iteration, correctors=used_correctors, state=p)
