"""Exact preprocessing over rollout transitions with a feature potential Phi(s) = w . phi(s).

r' = r + gamma * (1 - done) * Phi(s') - Phi(s) - c is affine in (w, c), so every
objective penalizes residuals ``h + M x``:

* sparse: h = r, M = [B, -1], x = (w, c), with B = gamma (1 - done) phi(s') - phi(s);
* smooth: h = D r, M = D B, x = w, where D takes differences of consecutive
  transitions of one trajectory (a terminal transition ends the trajectory).

How it is solved exactly, and fast:

1. **Orthonormal coordinates.** A thin SVD M = U S V^T (numerically null
   directions dropped: they do not change r'; `blocked_svd.thin_svd`, threaded). With z the new variables the
   residual is ``g + U z``, where ``g = h - U U^T h`` is h projected off the
   shaping span. Shaped and unshaped versions of one reward have the same g (to
   rounding) whenever the shaping lies in the span of the features, so they
   pose the *same* LP and get the same answer.
2. **Exact weighted L1.** ``min_z sum_i w_i |g_i + u_i z|`` is a weighted least-absolute-deviations
   problem, solved by a dedicated primal-dual interior point (`lad.solve_lad`, Frisch-Newton with
   Mehrotra's and one Gondzio corrector) whose iterations cost a K x K Cholesky, a syrk over the ~tenth
   of the rows whose scaling moved (partial updating) and a few passes over the rows, float32 ones while
   the gap is large, so time grows linearly with the transitions. HiGHS dual simplex on the dual LP
   ``min g.y s.t. U^T y = 0, |y| <= w`` is the fallback (and the tests' independent check).
3. **Certificate.** For the returned (z, y) the primal ``sum w |res|`` and the dual
   ``-g.y`` of the full problem and the dual infeasibility ``|U^T y|`` go into
   ``metrics.json``; a solution with a relative gap above 1e-6 is refused.
4. **Log objectives.** Majorize-minimize from the L1 optimum: each step is the
   weighted L1 problem with weights 1 / (1 + |res|), started from the previous
   step's primal point, accepted only if it lowers the objective, so the trace
   is monotone.
5. **One BLAS thread** per call; the SVD's and the interior point's passes over the rows run on fixed blocks
   of rows shared by `threads` (`blocked_svd`, `lad.RowBlocks`): bit-identical output for any thread count.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch as th
from tqdm.auto import tqdm

from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.blocked_svd import thin_svd
from reward_preprocessing.preprocessing.lad import LadState, one_blas_thread, solve_lad
from reward_preprocessing.preprocessing.objectives import check_objective, is_log, is_smooth, objective_value
from reward_preprocessing.preprocessing.outputs import write_preprocessed_model
from reward_preprocessing.preprocessing.weighted_l1 import CERTIFICATE_TOL, ResidualMap, WeightedL1
from reward_preprocessing.rewards.feature_potential import FeaturePotential, component_size
from reward_preprocessing.rewards.io import load_reward_net, read_spec
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet
from reward_preprocessing.scaling import box_bounds

# Float64 arrays of the problem's size held at the peak (phi(s), phi(s'), M, U and the SVD's workspace).
_PEAK_COPIES = 6
# The interior point's stopping tolerance (relative duality gap and A^T y = 0), well inside CERTIFICATE_TOL.
_LAD_TOL = 1e-11
# MM's warm start: the previous step's residuals, each dual slack lifted by this fraction of their mean |.|.
_WARM_CENTRE = 0.1
# Inexact MM: an intermediate step's weighted L1 problem is solved only to a relative duality gap that costs at
# most this fraction of the gain expected from the step (the last gain times the last ratio of gains), and never
# looser than _MM_LOOSEST_GAP (the first step, with no gain to go by).
_MM_GAP_PER_GAIN = 0.1
_MM_LOOSEST_GAP = 1e-3


@dataclass
class FeatureSettings:
    """The feature map and the exact solver's knobs.

    ``components``: the feature map (see `rewards.feature_potential`).
    ``max_memory_gb``: refuse, before building anything, an LP whose estimated
    peak memory exceeds this. ``mm_tol``/``mm_max_iter``: stop MM once a step
    gains a fraction <= mm_tol, or after mm_max_iter steps. ``mm_inexact``: solve
    MM's intermediate steps only as far as they need to lower the objective (see
    `_majorize_minimize`): fewer interior-point iterations on large problems, but
    the path then depends on rounding, so shaped variants end up to ~1e-6 apart instead
    of ~1e-11 (exact steps: the same path from every shaping).
    """

    components: list[dict[str, Any]] = field(default_factory=lambda: [{"kind": "polynomial", "degree": 16}])
    max_memory_gb: float = 8.0
    mm_tol: float = 1e-9
    mm_max_iter: int = 100
    mm_inexact: bool = False


def estimated_bytes(rows: int, num_features: int) -> int:
    """Peak memory of the solve for `rows` residuals over `num_features` features (plus the shift)."""
    return 8 * _PEAK_COPIES * rows * (num_features + 1)


def check_size(rows: int, num_features: int, max_memory_gb: float) -> None:
    need = estimated_bytes(rows, num_features) / 1e9
    if need > max_memory_gb:
        raise UserError(
            f"the feature LP would need about {need:.1f} GB ({rows} transitions x {num_features} features), "
            f"above max_memory_gb={max_memory_gb:g}; lower the feature degree/order or use fewer transitions"
        )


def smooth_pairs(episode_ids: np.ndarray, dones: np.ndarray) -> np.ndarray:
    """(P, 2) indices (t, t + 1) of consecutive transitions of one trajectory; a terminal t ends it."""
    ids = np.asarray(episode_ids)
    if len(ids) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    same = ids[1:] == ids[:-1]
    if int((~same).sum()) + 1 != len(np.unique(ids)):
        raise UserError(
            "episode ids are not contiguous: transitions must be in trajectory order (was the data shuffled?)"
        )
    starts = np.flatnonzero(same & ~np.asarray(dones, dtype=bool)[:-1])
    return np.stack([starts, starts + 1], axis=1).astype(np.int64)


# --------------------------------------------------------------------------------------------
# The exact weighted L1 solve over many rows


@dataclass
class L1Certificate:
    """Full-problem primal and dual objective of one weighted L1 solve, and how it was reached."""

    primal: float
    dual: float
    dual_infeasibility: float
    method: str
    iterations: int  # simplex or interior-point iterations

    @property
    def gap(self) -> float:
        return abs(self.primal - self.dual) / max(abs(self.primal), 1.0)


class ExactL1:
    """``min_z sum_i w_i |g_i + (U z)_i|`` exactly, with a full-problem certificate.

    By default the weighted-LAD interior point (`lad.solve_lad`: a K x K Cholesky and a syrk over the rows whose
    scaling moved per iteration, time linear in the rows); its answer is kept only if its primal and dual
    objectives agree to CERTIFICATE_TOL. Otherwise, or with ``method="simplex"``, HiGHS dual simplex
    (`weighted_l1.WeightedL1`), a vertex, warm-started across the weights of MM.
    """

    def __init__(
        self, offset: np.ndarray, matrix: np.ndarray, method: str = "interior_point", threads: int | None = None
    ) -> None:
        if method not in ("interior_point", "simplex"):
            raise UserError(f"unknown feature LP method {method!r}; use 'interior_point' or 'simplex'")
        self.g, self.u = offset, matrix
        self.method = method
        self.threads = threads
        self.lp_solves = 0
        self.correctors = 0
        self.float64_repeats = 0  # solves repeated without float32 passes (see `solve`)
        self.iterations = 0  # interior-point iterations over all solves
        self._simplex: WeightedL1 | None = None
        self._last: LadState | None = None

    def solve(
        self, weights: np.ndarray, start: tuple[np.ndarray, np.ndarray] | None = None, gap: float | None = None,
        resume: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, L1Certificate]:
        """(z, residuals, certificate) for positive `weights`; `start` = (z, residuals) of an earlier solve
        (majorize-minimize's previous step) starts the interior point from that primal point. `gap`: stop the
        interior point at this relative duality gap instead, uncertified (inexact MM steps; the simplex ignores
        it). `resume`: go on with the last (inexact) solve, same weights, from its last iterate."""
        w = np.asarray(weights, dtype=np.float64)
        if not resume:
            self.lp_solves += 1
        if self.method == "interior_point":
            warm = None
            if resume and self._last is not None:
                warm = self._last
            elif start is not None:
                z0, res0 = start
                centre = max(_WARM_CENTRE * float(np.abs(res0).mean()), 1e-12)
                warm = LadState(w, w.copy(), w.copy(), -np.asarray(z0, dtype=np.float64),
                                np.maximum(res0, 0.0) + centre, np.maximum(-res0, 0.0) + centre)
            loose = gap is not None and gap > _LAD_TOL
            # U's columns are orthonormal, so the early passes may read float32 (`rough`); a solve that then
            # misses the certificate is repeated with float64 passes only, before the (much slower) simplex.
            for rough in (True, False):
                lad = solve_lad(self.g, self.u, w, tol=gap if loose else _LAD_TOL, warm=warm, threads=self.threads,
                                rough=rough)
                self.correctors += lad.correctors
                self.iterations += lad.iterations
                self._last = lad.state
                res = self.g + self.u @ lad.x
                if loose:
                    return lad.x, res, L1Certificate(lad.primal, lad.dual,
                                                     float(np.abs(self.u.T @ lad.y).max(initial=0.0)),
                                                     "interior_point_inexact", lad.iterations)
                try:
                    return lad.x, res, self._certify(w, res, lad.y, lad.iterations)
                except UserError:  # not proven optimal (ill-conditioned weights)
                    if rough:
                        self.float64_repeats += 1
            self.method = "simplex"  # slower, but a vertex
        if self._simplex is None:
            residual_map = ResidualMap(self.g, sp.csr_matrix(self.u), np.zeros(0), 0.0, smooth=False)
            self._simplex = WeightedL1(residual_map)
        result = self._simplex.solve(w)
        y = np.asarray(self._simplex.highs.getSolution().col_value, dtype=np.float64)
        res = self.g + self.u @ result.x
        return result.x, res, self._certify(w, res, y, result.simplex_iterations)

    def _certify(self, w: np.ndarray, res: np.ndarray, y: np.ndarray, iterations: int) -> L1Certificate:
        """Primal and dual objective of the full problem; refuse a solution they do not prove optimal."""
        certificate = L1Certificate(
            primal=float(w @ np.abs(res)),
            dual=float(-(self.g @ y)),
            dual_infeasibility=float(np.abs(self.u.T @ y).max(initial=0.0)),
            method=self.method,
            iterations=iterations,
        )
        if not (certificate.gap <= CERTIFICATE_TOL and certificate.dual_infeasibility <= CERTIFICATE_TOL):  # NaN too
            raise UserError(
                f"the feature LP failed its optimality certificate (duality gap {certificate.gap:.2e}, dual "
                f"infeasibility {certificate.dual_infeasibility:.2e}); the reward or features are badly scaled"
            )
        return certificate


# --------------------------------------------------------------------------------------------
# The preprocessing problem


@dataclass
class FeatureSolution:
    """Weights and shift of the optimal feature potential, with the values and the certificate."""

    weights: np.ndarray
    shift: float
    objective: str
    preprocessed: np.ndarray
    value_before: float
    value_after: float
    seconds: float
    info: dict[str, Any]

    @property
    def work(self) -> str:
        """What the solve took, for the scripts' log line (a fit reports its epochs)."""
        return f"{int(self.info.get('lp_solves', 0))} LP solves"

    def metrics(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "value": self.value_after,
            "value_before": self.value_before,
            "value_initial": self.value_before,  # as for fitted potentials: Φ = 0, c = 0, where the solve starts
            "solver": "feature_mm" if is_log(self.objective) else "feature_lp",
            "seconds": self.seconds,
            "shift": self.shift,
            **self.info,
        }


def solve_features(
    features: np.ndarray,
    next_features: np.ndarray,
    reward: np.ndarray,
    episode_ids: np.ndarray,
    objective: str,
    gamma: float,
    dones: np.ndarray | None = None,
    settings: FeatureSettings | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> FeatureSolution:
    """The exact optimum of `objective` over potentials ``features @ w`` (log objectives: MM from the L1 optimum);
    `threads` share the interior point's passes over the rows (default: every CPU this process may use).
    `progress`: a bar counting the weighted L1 solves (MM's steps take seconds each at 10^5 transitions)."""
    with one_blas_thread(), tqdm(desc=f"exact {objective}", unit="LP", disable=not progress, leave=False) as bar:
        return _solve_features(features, next_features, reward, episode_ids, objective, gamma, dones, settings,
                               threads, bar)


def _solve_features(
    features: np.ndarray,
    next_features: np.ndarray,
    reward: np.ndarray,
    episode_ids: np.ndarray,
    objective: str,
    gamma: float,
    dones: np.ndarray | None,
    settings: FeatureSettings | None,
    threads: int | None,
    bar: tqdm,
) -> FeatureSolution:
    check_objective(objective)
    settings = settings or FeatureSettings()
    start_time = time.perf_counter()
    reward = np.asarray(reward, dtype=np.float64)
    n = len(reward)
    if n == 0:
        raise UserError("cannot preprocess an empty set of transitions")
    if not 0.0 < gamma <= 1.0:
        raise UserError(f"gamma must be in (0, 1], got {gamma}")
    if not np.isfinite(reward).all():
        raise UserError(f"reward contains {int((~np.isfinite(reward)).sum())} NaN or infinite values")
    for name, f in (("phi(s)", features), ("phi(s')", next_features)):
        if f.shape != (n, features.shape[1]):
            raise UserError(f"{name} must have one row of {features.shape[1]} features per transition")
        if not np.isfinite(f).all():
            raise UserError(
                f"the feature map produced {int((~np.isfinite(f)).sum())} NaN or infinite values in {name}; "
                "check the observation bounds and the feature degree/order"
            )
    if settings.mm_tol < 0 or settings.mm_max_iter < 0:
        raise UserError("feature MM needs mm_tol >= 0 and mm_max_iter >= 0")
    dones = np.zeros(n, dtype=bool) if dones is None else np.asarray(dones, dtype=bool)
    k = features.shape[1]
    check_size(n, k, settings.max_memory_gb)
    pairs = smooth_pairs(episode_ids, dones) if is_smooth(objective) else None
    if is_smooth(objective) and len(pairs) == 0:
        raise UserError(f"objective {objective!r} needs trajectories with at least two consecutive transitions")
    # Sparse: M = [B, -1], built in place (B is a view of it); smooth: differences of B's rows.
    sparse_matrix = np.empty((n, k + 1))
    shaping = sparse_matrix[:, :k]
    np.multiply(next_features, (gamma * (1.0 - dones))[:, None], out=shaping)
    shaping -= features
    if is_smooth(objective):
        h = reward[pairs[:, 0]] - reward[pairs[:, 1]]
        matrix = shaping[pairs[:, 0]] - shaping[pairs[:, 1]]
    else:
        h = reward
        sparse_matrix[:, k] = -1.0
        matrix = sparse_matrix
    u, s, vt = thin_svd(matrix, threads)
    del matrix
    if not s.size:
        raise UserError("the features do not change r' on these transitions (the shaping matrix is zero)")
    z0 = u.T @ h
    g = h - u @ z0
    solver = ExactL1(g, u, threads=threads)
    z, res, cert = solver.solve(np.ones(len(g)))
    bar.update()
    info: dict[str, Any] = {
        "features": k,
        "rank": len(s),
        "singular_values": [float(s[0]), float(s[-1])] if s.size else [],
        "duality_gap": cert.gap,
        "primal": cert.primal,
        "dual": cert.dual,
        "dual_infeasibility": cert.dual_infeasibility,
        "lp_method": cert.method,
        "lp_iterations": cert.iterations,
    }
    if is_log(objective):
        z, mm = _majorize_minimize(solver, z, res, settings.mm_tol, settings.mm_max_iter, settings.mm_inexact, bar)
        info.update(mm)
    info["lp_solves"] = solver.lp_solves
    info["lp_iterations_total"] = solver.iterations
    info["lp_float64_repeats"] = solver.float64_repeats
    x = vt.T @ ((z - z0) / s)
    weights = x[:k]
    preprocessed = reward + shaping @ weights
    # Smooth objectives: c cancels in differences; centre r' on its median.
    shift = float(np.median(preprocessed)) if is_smooth(objective) else float(x[k])
    preprocessed = preprocessed - shift
    return FeatureSolution(
        weights=weights,
        shift=shift,
        objective=objective,
        preprocessed=preprocessed,
        value_before=objective_value(reward, objective, pairs),
        value_after=objective_value(preprocessed, objective, pairs),
        seconds=time.perf_counter() - start_time,
        info=info,
    )


def _log_mean(res: np.ndarray) -> float:
    return float(np.log1p(np.abs(res)).mean())


def _majorize_minimize(
    solver: ExactL1, z: np.ndarray, res: np.ndarray, tol: float, max_iter: int, inexact: bool, bar: tqdm,
) -> tuple[np.ndarray, dict[str, Any]]:
    """log(1 + |x|) <= log(1 + |x_k|) + (|x| - |x_k|) / (1 + |x_k|): each step a weighted L1 solve, started from
    the previous step's point.

    Inexact MM (`inexact`): any point that lowers the true objective is a valid step, so a step's interior point
    first stops at a duality gap small against the gain expected from the step (see _MM_GAP_PER_GAIN). Where
    that point would decide anything (it does not lower the objective, gains <= tol, or is the last allowed
    step), the same interior point goes on from its last iterate to the certified optimum. So MM stops only on
    an exact step, whose certificate is the last of ``mm_duality_gaps``, and only an exact gain is tested
    against tol. Otherwise every step is solved to its certificate.
    """
    n = len(res)
    value = _log_mean(res)
    trace, gaps, loose_gaps, gains, converged_by = [value], [], [], [], "max_iter"
    for iteration in range(max_iter):
        if value == 0.0:
            converged_by = "zero_objective"
            break
        weights = 1.0 / (1.0 + np.abs(res))
        gap: float | None = None
        if inexact and iteration < max_iter - 1:
            # The expected gain (mean log units: the last gain times the last ratio of gains) as a relative gap
            # of the majorizer sum(weights |res|); the first step has none to go by.
            gap = _MM_LOOSEST_GAP
            if gains:
                expected = gains[-1] * min(1.0, gains[-1] / gains[-2]) if len(gains) >= 2 else gains[-1]
                gap = min(gap, _MM_GAP_PER_GAIN * expected * n / max(float(weights @ np.abs(res)), 1e-300))
        candidate, cand_res, cert = solver.solve(weights, start=(z, res), gap=gap)
        cand_value = _log_mean(cand_res)
        if cert.method == "interior_point_inexact":
            loose_gaps.append(cert.gap)
            if not cand_value < value or value - cand_value <= tol * value:  # decides: solve it exactly
                candidate, cand_res, cert = solver.solve(weights, resume=True)
                cand_value = _log_mean(cand_res)
        bar.update()
        bar.set_postfix(value=f"{min(value, cand_value):.8g}", refresh=False)  # a rejected step keeps value
        exact = cert.method != "interior_point_inexact"
        if exact:
            gaps.append(cert.gap)
        if not cand_value < value:
            converged_by = "stationary"
            break
        gains.append(value - cand_value)
        z, res, value = candidate, cand_res, cand_value
        trace.append(value)
        if exact and gains[-1] <= tol * value:
            converged_by = "relative_decrease"
            break
    info = {
        "converged_by": converged_by,
        "trace": trace,
        "start_value": trace[0],
        "mm_steps": len(trace) - 1,
        "monotone": bool(np.all(np.diff(trace) < 0.0)),
        "mm_duality_gaps": gaps,
        "mm_inexact_gaps": loose_gaps,
    }
    return z, info


# --------------------------------------------------------------------------------------------
# Model directories (the `features` kind of neural preprocessing)


def preprocess_features_model_dir(
    model_dir: str | os.PathLike,
    rollouts_dir: str | os.PathLike,
    objective: str,
    out_dir: str | os.PathLike,
    gamma: float = 0.99,
    settings: FeatureSettings | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> FeatureSolution:
    """Solve exactly for a feature potential over the rollouts' transitions and write `out_dir`
    (a `PreprocessedRewardNet` + metrics.json), like `neural_run.preprocess_neural_model_dir`."""
    check_objective(objective)
    settings = settings or FeatureSettings()
    spec = read_spec(model_dir)
    net = load_reward_net(model_dir)
    env_id = spec.get("env", {}).get("id")
    low, high = box_bounds(net.observation_space)
    potential = FeaturePotential(low, high, settings.components)  # checks the components before any work
    trajectories = load_rollouts(rollouts_dir, env_id=env_id, obs_shape=net.observation_space.shape)
    data = TransitionBatch.from_trajectories(trajectories)
    k = sum(component_size(c, len(low)) for c in settings.components)
    check_size(len(data), k, settings.max_memory_gb)
    reward = data.rewards(net)
    obs, next_obs = data.preprocessed_obs(net)
    fmap = potential.feature_map
    solution = solve_features(fmap.numpy(obs), fmap.numpy(next_obs), reward, data.episode_ids, objective, gamma,
                              data.dones, settings, threads, progress)
    potential.set_weights(solution.weights)
    preprocessed = PreprocessedRewardNet.from_parts(net, potential, gamma, solution.shift)
    with th.no_grad():
        model_reward = data.rewards(preprocessed)
    pairs = smooth_pairs(data.episode_ids, data.dones) if is_smooth(objective) else None
    metrics = {
        **solution.metrics(),
        "value_model": objective_value(model_reward, objective, pairs),
        "potential": "features",
        "feature_map": potential.feature_map.spec(),
        "gamma": gamma,
        "model": str(model_dir),
        "rollouts": str(rollouts_dir),
        "transitions": len(data),
        "trajectories": len(set(data.episode_ids.tolist())),
    }
    write_preprocessed_model(out_dir, preprocessed, spec, model_dir, objective, "features", metrics)
    return solution
