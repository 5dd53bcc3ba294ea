"""Exact preprocessing with feature potentials: LP against scipy, invariance, MM monotonicity, bad input, storage."""

from __future__ import annotations

import functools
import json
import re
import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse as sp
import torch as th
from hypothesis import given
from hypothesis import strategies as st
from tqdm.auto import tqdm

from reward_preprocessing.data.rollouts import RolloutSource, collect_rollouts, save_rollouts
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing import feature_lp, lad
from reward_preprocessing.preprocessing.feature_lp import (
    ExactL1,
    FeatureSettings,
    check_size,
    smooth_pairs,
    solve_features,
)
from reward_preprocessing.preprocessing.lad import LadResult, LadState, RowBlocks, solve_lad
from reward_preprocessing.preprocessing.neural_run import NeuralPreprocessSettings, preprocess_neural_model_dir
from reward_preprocessing.preprocessing.objectives import objective_value
from reward_preprocessing.rewards.feature_potential import FeatureMap, FeaturePotential, component_size
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet

LOW, HIGH = [-1.2, -0.07], [0.6, 0.07]


def _trajectories(n_episodes: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random walks in the MountainCar box: obs, next_obs (consecutive) and episode ids."""
    rng = np.random.default_rng(seed)
    obs, next_obs, ids = [], [], []
    for e in range(n_episodes):
        walk = np.cumsum(rng.normal(0, 0.05, (length + 1, 2)), axis=0) * [0.9, 0.035] + [-0.3, 0.0]
        walk = np.clip(walk, LOW, HIGH)
        obs.append(walk[:-1])
        next_obs.append(walk[1:])
        ids.append(np.full(length, e))
    return np.concatenate(obs), np.concatenate(next_obs), np.concatenate(ids)


def _problem(degree: int = 3, n_episodes: int = 4, length: int = 25, seed: int = 0):
    obs, next_obs, ids = _trajectories(n_episodes, length, seed)
    fmap = FeatureMap(LOW, HIGH, [{"kind": "polynomial", "degree": degree}])
    reward = np.random.default_rng(seed + 1).normal(size=len(obs)).round(1)
    return fmap.numpy(obs), fmap.numpy(next_obs), reward, ids


# ---------------------------------------------------------------------------------------------------------------
# Feature maps


def test_feature_counts_and_linear_exactness():
    fmap = FeatureMap(LOW, HIGH, [{"kind": "polynomial", "degree": 1}])
    obs = np.array([[-1.2, -0.07], [0.6, 0.07], [-0.3, 0.0]])
    np.testing.assert_allclose(fmap.numpy(obs), [[-1, -1], [1, 1], [0, 0]], atol=1e-15)
    for comp, count in [({"kind": "polynomial", "degree": 16}, 152), ({"kind": "fourier", "order": 3}, 15),
                        ({"kind": "rbf", "per_dim": 5}, 25)]:
        fm = FeatureMap(LOW, HIGH, [comp])
        assert fm.num_features == component_size(comp, 2) == count == fm.numpy(obs).shape[1]
    both = FeatureMap(LOW, HIGH, [{"kind": "polynomial", "degree": 2}, {"kind": "fourier", "order": 2}])
    assert both.numpy(obs).shape == (3, 5 + 8) and np.isfinite(both.numpy(obs)).all()


@pytest.mark.parametrize(
    ("components", "message"),
    [([], "at least one component"), ([{"kind": "spline"}], "needs 'kind'"),
     ([{"kind": "polynomial", "degree": 0}], "degree >= 1"), ([{"kind": "fourier"}], "need 'order'"),
     ([{"kind": "rbf", "per_dim": 4, "sigma": 1}], "not sigma"), ([{"kind": "polynomial", "degree": 2.5}], "integer")],
)
def test_bad_components_are_one_line(components, message):
    with pytest.raises(UserError, match=message):
        FeatureMap(LOW, HIGH, components)


def test_feature_potential_saves_and_loads_in_the_safe_format(tmp_path):
    base, kwargs = mountain_car_reward_net("dense")
    potential = FeaturePotential(LOW, HIGH, [{"kind": "polynomial", "degree": 2}, {"kind": "rbf", "per_dim": 3}])
    potential.set_weights(np.linspace(-2, 3, potential.feature_map.num_features))
    net = PreprocessedRewardNet.from_parts(base, potential, 0.99, 0.25)
    save_reward_net(net, tmp_path / "m", ENV_ID, kwargs)
    loaded = load_reward_net(tmp_path / "m")
    obs = th.tensor([[-0.5, 0.01], [0.1, -0.03]], dtype=th.float32)
    assert loaded.potential.weight.dtype == th.float64
    assert th.equal(loaded.potential(obs), potential(obs))
    assert json.loads((tmp_path / "m" / "spec.json").read_text())["kwargs"]["potential"]["kind"] == "features"


# ---------------------------------------------------------------------------------------------------------------
# The LP against an independent formulation


def _scipy_l1(h: np.ndarray, m: np.ndarray, w: np.ndarray | None = None) -> float:
    """min mean w |h + M x| as the textbook primal LP (x free, t >= |residual|), HiGHS via scipy."""
    n, k = m.shape
    cost = np.concatenate([np.zeros(k), np.ones(n) if w is None else w])
    eye = sp.identity(n)
    a_ub = sp.vstack([sp.hstack([sp.csr_matrix(m), -eye]), sp.hstack([sp.csr_matrix(-m), -eye])])
    b_ub = np.concatenate([-h, h])
    res = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * k + [(0, None)] * n,
                                 method="highs")
    assert res.status == 0
    return float(res.fun) / n


@pytest.mark.parametrize("objective", ["sparse_l1", "smooth_l1"])
def test_lp_matches_scipy(objective):
    f, fn, reward, ids = _problem()
    gamma = 0.9
    solution = solve_features(f, fn, reward, ids, objective, gamma)
    shaping = gamma * fn - f
    if objective == "sparse_l1":
        expected = _scipy_l1(reward, np.hstack([shaping, -np.ones((len(reward), 1))]))
    else:
        pairs = smooth_pairs(ids, np.zeros(len(ids), bool))
        expected = _scipy_l1(reward[pairs[:, 0]] - reward[pairs[:, 1]], shaping[pairs[:, 0]] - shaping[pairs[:, 1]])
    assert solution.value_after == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert solution.info["duality_gap"] < 1e-9 and solution.value_after < solution.value_before


def test_interior_point_equals_the_simplex():
    """The interior-point method (the default) reaches the simplex optimum and certifies it."""
    rng = np.random.default_rng(3)
    u, _ = np.linalg.qr(rng.normal(size=(3000, 12)))
    g = rng.standard_t(2, size=3000)
    g -= u @ (u.T @ g)
    w = rng.uniform(0.5, 2.0, size=3000)
    simplex = ExactL1(g, u, method="simplex").solve(w)[2]
    z, res, cert = ExactL1(g, u).solve(w)
    assert simplex.method == "simplex" and cert.method == "interior_point"
    assert cert.primal == pytest.approx(simplex.primal, rel=1e-9) and cert.gap < 1e-9
    np.testing.assert_allclose(res, g + u @ z)


@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    ties=st.booleans(),
    weighted=st.booleans(),
    correctors=st.integers(0, 2),
)
def test_lad_solver_matches_linprog(rows, cols, seed, ties, weighted, correctors):
    """`solve_lad` on small dense problems (any A, not orthonormal; rank-deficient when cols > rows; rounded g
    for ties and degeneracy) against the textbook primal LP in scipy/HiGHS; its dual is feasible and certifies."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(rows, cols)) * rng.uniform(0.1, 10.0, size=cols)
    g = rng.standard_t(2, size=rows)
    g = g.round(0) if ties else g
    w = rng.uniform(0.2, 3.0, size=rows) if weighted else np.ones(rows)
    result = solve_lad(g, a, w, correctors=correctors)
    expected = _scipy_l1(g, a, w) * rows
    value = float(w @ np.abs(g + a @ result.x))
    assert value == pytest.approx(expected, rel=1e-8, abs=1e-9)
    assert np.all(np.abs(result.y) <= w * (1 + 1e-12))
    assert np.abs(a.T @ result.y).max() <= 1e-8 * max(1.0, float(np.abs(a).sum(0).max()))
    assert result.gap <= 1e-8 and result.primal == pytest.approx(value, rel=1e-12, abs=1e-12)


def test_lad_solver_is_deterministic_and_warm_starts():
    """Same input, bit-identical output; a start at another point (MM's previous step) reaches the same optimum."""
    rng = np.random.default_rng(7)
    a = rng.normal(size=(2000, 20))
    g = rng.standard_t(3, size=2000)
    w = rng.uniform(0.5, 1.5, size=2000)
    first, second = solve_lad(g, a, w), solve_lad(g, a, w)
    assert np.array_equal(first.x, second.x) and np.array_equal(first.y, second.y)
    res = g + a @ first.x
    warm = LadState(w, w.copy(), w.copy(), -first.x, np.maximum(res, 0) + 0.01, np.maximum(-res, 0) + 0.01)
    other = solve_lad(g, a, 1.0 / (1.0 + np.abs(res)), warm=warm)
    cold = solve_lad(g, a, 1.0 / (1.0 + np.abs(res)))
    assert other.primal == pytest.approx(cold.primal, rel=1e-9) and other.gap < 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lad_stops_once_its_iterates_stop_improving(seed):
    """Asked for more accuracy than rounding allows (tol 0), the interior point stops a few iterations after its
    best iterate and returns it, without overflowing: past that point the iterates wander (25-100 iterations
    before the no-progress stop, each a pass over every row)."""
    rng = np.random.default_rng(seed)
    a, g, w = rng.normal(size=(3000, 12)), rng.standard_t(2, size=3000).round(1), rng.uniform(0.5, 1.5, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = solve_lad(g, a, w, tol=0.0)
    assert result.iterations <= 30 and result.gap <= 1e-12
    assert result.primal == pytest.approx(float(w @ np.abs(g + a @ result.x)), rel=1e-12)


@given(rows=st.integers(1, 3 * lad._BLOCK_ROWS), cols=st.integers(1, 5), threads=st.integers(1, 4))
def test_row_blocks_are_exact_products(rows, cols, threads):
    """The blocked passes are the products they replace (to rounding), for any split of the rows."""
    rng = np.random.default_rng(rows * 7 + cols)
    a, x, y, d = rng.normal(size=(rows, cols)), rng.normal(size=cols), rng.normal(size=rows), rng.uniform(size=rows)
    blocks = RowBlocks(a, threads)
    try:
        np.testing.assert_allclose(blocks.matvec(x), a @ x, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(blocks.rmatvec(y), a.T @ y, rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(blocks.gram(d), a.T @ (d[:, None] * a), rtol=1e-10, atol=1e-10)
    finally:
        blocks.close()


def test_rough_passes_are_float32_products_until_out_of_range():
    """`rough` passes read the float32 copy (float32 rounding, float64 results); past float32's range they fall back
    to A itself for good, without a warning."""
    rng = np.random.default_rng(3)
    a, x, y = rng.normal(size=(300, 4)), rng.normal(size=4), rng.normal(size=300)
    blocks = RowBlocks(a, 2, rough=True)
    try:
        rough = blocks.matvec(x)
        assert rough.dtype == np.float64 and blocks.rough
        np.testing.assert_array_equal(rough, a.astype(np.float32) @ x.astype(np.float32))
        np.testing.assert_allclose(blocks.rmatvec(y), a.T @ y, rtol=1e-5)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            huge = blocks.matvec(x * 1e40)
        assert not blocks.rough
        np.testing.assert_array_equal(huge, blocks.matvec(x * 1e40))
        np.testing.assert_allclose(huge, a @ (x * 1e40), rtol=1e-12)
    finally:
        blocks.close()


@given(rows=st.integers(1, 2 * lad._BLOCK_ROWS + 50), cols=st.integers(1, 6), threads=st.integers(1, 3),
       seed=st.integers(0, 2**32 - 1))
def test_normal_matrix_follows_its_scalings(rows, cols, threads, seed):
    """Partial updating, on scalings that move like an interior point's (all rows by a common factor, a few on
    their own): after every update the matrix is ``A^T diag(scaling) A`` to rounding, every scaling lies within
    the band of the true d, and one build serves the whole sequence."""
    rng = np.random.default_rng(seed)
    a, d = rng.normal(size=(rows, cols)), rng.lognormal(0.0, 3.0, size=rows)
    blocks = RowBlocks(a, threads)
    normal = lad.NormalMatrix(blocks)
    try:
        for _ in range(6):
            normal.update(d)
            ratio = d / normal.scaling
            assert ratio.max() <= lad._SCALING_BAND * (1 + 1e-12) and ratio.min() >= (1 - 1e-12) / lad._SCALING_BAND
            expected = a.T @ (normal.scaling[:, None] * a)
            np.testing.assert_allclose(normal.matrix, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
            alone = rng.uniform(size=rows) < 0.1
            d = d * rng.uniform(0.3, 0.9) * np.where(alone, rng.lognormal(0.0, 3.0, rows), rng.uniform(0.9, 1.1, rows))
    finally:
        blocks.close()
    assert normal.rebuilds == 1 or rows < 200


def test_lad_answer_does_not_depend_on_the_thread_count():
    """Partial sums over fixed blocks, added in block order: bit-identical on 1 or 3 threads (determinism)."""
    rng = np.random.default_rng(11)
    a = rng.normal(size=(2 * lad._BLOCK_ROWS + 100, 8))
    g, w = rng.standard_t(3, size=len(a)), rng.uniform(0.5, 1.5, size=len(a))
    answers = [solve_lad(g, a, w, threads=threads) for threads in (1, 3)]
    assert np.array_equal(answers[0].x, answers[1].x) and np.array_equal(answers[0].y, answers[1].y)
    assert answers[0].gap < 1e-9


@pytest.mark.parametrize("objective", ["sparse_l1", "sparse_log"])
def test_feature_solve_does_not_depend_on_the_thread_count(objective):
    """The whole solve (blocked SVD, interior point, MM) over several blocks of rows: the same bits on 1 or 3
    threads, so a job's artifacts do not depend on the cores Snakemake gives it."""
    f, fn, reward, ids = _problem(degree=4, n_episodes=2 * lad._BLOCK_ROWS // 100 + 1, length=100)
    one, three = (solve_features(f, fn, reward, ids, objective, 0.95, threads=threads) for threads in (1, 3))
    assert np.array_equal(one.weights, three.weights) and one.shift == three.shift
    assert np.array_equal(one.preprocessed, three.preprocessed) and one.info["duality_gap"] < 1e-9


@pytest.mark.parametrize("objective", ["sparse_l1", "smooth_l1", "sparse_log", "smooth_log"])
def test_terminal_transitions_end_trajectories(objective):
    f, fn, reward, ids = _problem()
    dones = np.zeros(len(ids), bool)
    dones[10] = True
    pairs = smooth_pairs(ids, dones)
    assert not ((pairs[:, 0] == 10).any()) and ((pairs[:, 0] == 9).any())
    solution = solve_features(f, fn, reward, ids, objective, 0.95, dones)
    shaped = reward + (0.95 * (1 - dones)[:, None] * fn - f) @ solution.weights - solution.shift
    assert objective_value(shaped, objective, pairs if objective.startswith("smooth") else None) == pytest.approx(
        solution.value_after, abs=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Invariance and MM


@given(
    weights=st.lists(st.floats(-100, 100), min_size=9, max_size=9),
    gamma=st.floats(0.5, 1.0),
    objective=st.sampled_from(["sparse_l1", "smooth_l1", "sparse_log"]),
)
def test_shaping_in_the_span_is_removed_exactly(weights, gamma, objective):
    f, fn, reward, ids = _problem(degree=3)
    shaped = reward + (gamma * fn - f) @ np.asarray(weights)
    settings = FeatureSettings(mm_tol=0.0, mm_max_iter=5)
    plain = solve_features(f, fn, reward, ids, objective, gamma, settings=settings)
    other = solve_features(f, fn, shaped, ids, objective, gamma, settings=settings)
    assert abs(other.value_after - plain.value_after) < 1e-8
    np.testing.assert_allclose(other.preprocessed, plain.preprocessed, atol=1e-6)


@pytest.mark.parametrize("objective", ["sparse_log", "smooth_log"])
def test_mm_trace_is_monotone_from_the_l1_optimum(objective):
    f, fn, reward, ids = _problem(degree=4, n_episodes=6)
    reward = reward * 5.0
    l1 = solve_features(f, fn, reward, ids, objective.replace("log", "l1"), 0.99)
    log = solve_features(f, fn, reward, ids, objective, 0.99, settings=FeatureSettings(mm_tol=0.0))
    trace = np.asarray(log.info["trace"])
    pairs = smooth_pairs(ids, np.zeros(len(ids), bool)) if objective.startswith("smooth") else None
    if objective.startswith("sparse"):  # same LP, so the trace starts at the L1 optimum's log value
        assert trace[0] == pytest.approx(objective_value(l1.preprocessed, objective, pairs), rel=1e-9)
    assert len(trace) >= 2 and np.all(np.diff(trace) < 0) and log.info["monotone"]
    assert log.value_after == pytest.approx(trace[-1], rel=1e-9) and log.info["converged_by"] != "max_iter"


def test_progress_bar_counts_the_lp_solves_and_changes_nothing(capsys, monkeypatch):
    """MM's steps take seconds each at 10^5 transitions: the bar shows them (on stderr), the answer is the same."""
    monkeypatch.setattr(feature_lp, "tqdm", functools.partial(tqdm, mininterval=0))  # these solves take ms
    f, fn, reward, ids = _problem(degree=4, n_episodes=6)
    reward = reward * 5.0
    quiet = solve_features(f, fn, reward, ids, "sparse_log", 0.99)
    assert capsys.readouterr().err == ""
    shown = solve_features(f, fn, reward, ids, "sparse_log", 0.99, progress=True)
    err = capsys.readouterr().err
    solves = shown.info["lp_solves"]
    counts = [int(c) for c in re.findall(r"exact sparse_log: (\d+)LP", err)]
    assert solves >= 2 and counts == list(range(solves + 1))  # drawn at the start and after every solve
    assert f"value={shown.value_after:.8g}" in err and shown.work == f"{solves} LP solves"
    np.testing.assert_array_equal(shown.preprocessed, quiet.preprocessed)


@pytest.mark.parametrize("objective", ["sparse_log", "smooth_log"])
def test_inexact_mm_steps_end_on_a_certified_step(monkeypatch, objective):
    """Inexact MM: intermediate steps stop at a loose duality gap, the step that decides convergence is resumed to
    a certified optimum, and the end point is as good as the all-exact MM's (both are local: the log objectives
    are not convex, and the two take different paths)."""
    f, fn, reward, ids = _problem(degree=4, n_episodes=6)
    reward = reward * 5.0
    settings = FeatureSettings(mm_tol=1e-7, mm_inexact=True)
    resumed = []
    solve = ExactL1.solve

    def spy(self, weights, start=None, gap=None, resume=False):
        resumed.append(resume)
        return solve(self, weights, start, gap, resume)

    monkeypatch.setattr(ExactL1, "solve", spy)
    inexact = solve_features(f, fn, reward, ids, objective, 0.99, settings=settings)
    assert inexact.info["mm_inexact_gaps"] and any(resumed) and inexact.info["monotone"]
    # loose, but a loose solve may land closer than it was asked to
    assert all(gap <= 1e-3 for gap in inexact.info["mm_inexact_gaps"]) and max(inexact.info["mm_inexact_gaps"]) > 1e-9
    assert inexact.info["mm_duality_gaps"] and inexact.info["mm_duality_gaps"][-1] < 1e-9
    assert inexact.info["converged_by"] in ("relative_decrease", "stationary")
    exact = solve_features(f, fn, reward, ids, objective, 0.99, settings=FeatureSettings(mm_tol=1e-7))
    assert not exact.info["mm_inexact_gaps"] and len(exact.info["mm_duality_gaps"]) == exact.info["mm_steps"] + (
        exact.info["converged_by"] == "stationary")
    assert inexact.value_after <= exact.value_after * (1 + 1e-5)


# ---------------------------------------------------------------------------------------------------------------
# Bad input


def test_bad_inputs_are_one_line():
    f, fn, reward, ids = _problem()
    bad = f.copy()
    bad[3, 2] = np.nan
    with pytest.raises(UserError, match="feature map produced 1 NaN"):
        solve_features(bad, fn, reward, ids, "sparse_l1", 0.99)
    with pytest.raises(UserError, match="empty set of transitions"):
        solve_features(f[:0], fn[:0], reward[:0], ids[:0], "sparse_l1", 0.99)
    with pytest.raises(UserError, match=r"would need about .* GB \(100000 transitions x 1819 features\)"):
        check_size(100_000, component_size({"kind": "polynomial", "degree": 12}, 4), 8.0)
    check_size(100_000, 300, 8.0)
    with pytest.raises(UserError, match="do not change r'"):
        solve_features(np.zeros_like(f), np.zeros_like(fn), reward, ids, "smooth_l1", 0.99)
    with pytest.raises(UserError, match="at least two consecutive"):
        solve_features(f[:3], fn[:3], reward[:3], np.arange(3), "smooth_l1", 0.99)


# ---------------------------------------------------------------------------------------------------------------
# The `features` kind of neural preprocessing


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("features")
    trajs = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], 600, 0, progress=False)
    save_rollouts(root / "rollouts", trajs, ENV_ID, {})
    for shaping in ("unshaped", "dense"):
        net, kwargs = mountain_car_reward_net(shaping)
        save_reward_net(net, root / shaping, ENV_ID, kwargs)
    return root


def test_features_kind_is_solved_exactly_and_invariant(workdir):
    settings = FeatureSettings(components=[{"kind": "polynomial", "degree": 3}])
    values = {}
    for shaping in ("unshaped", "dense"):
        out = workdir / f"pp_{shaping}"
        preprocess_neural_model_dir(workdir / shaping, workdir / "rollouts", "sparse_l1", out,
                                    NeuralPreprocessSettings(potential="features", features=settings))
        metrics = json.loads((out / "metrics.json").read_text())
        assert metrics["potential"] == "features" and metrics["duality_gap"] < 1e-9
        assert metrics["value_model"] == pytest.approx(metrics["value"], abs=1e-9)
        assert isinstance(load_reward_net(out), PreprocessedRewardNet)
        values[shaping] = metrics["value"]
    assert abs(values["dense"] - values["unshaped"]) < 1e-9


def test_too_large_feature_map_fails_before_work(workdir, tmp_path):
    settings = FeatureSettings(components=[{"kind": "fourier", "order": 10}], max_memory_gb=0.001)
    with pytest.raises(UserError, match="max_memory_gb=0.001"):
        preprocess_neural_model_dir(workdir / "dense", workdir / "rollouts", "sparse_l1", tmp_path / "x",
                                    NeuralPreprocessSettings(potential="features", features=settings))
    assert not (tmp_path / "x").exists()


def test_an_uncertified_float32_solve_is_repeated_in_float64(monkeypatch):
    """A solve with float32 passes that misses the certificate is solved again with float64 passes only (which
    certifies it here), not handed to the simplex."""
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.normal(size=(500, 6)))
    g = rng.normal(size=500)
    g -= u @ (u.T @ g)
    calls = []

    def flaky(g, u, w, rough=False, **kwargs):
        calls.append(rough)
        if rough:  # stands for float32 rounding that kept the interior point from the optimum
            return LadResult(np.zeros(6), np.zeros(500), float(np.abs(g).sum()), 0.0, 1, 0)
        return solve_lad(g, u, w, **kwargs)

    monkeypatch.setattr(feature_lp, "solve_lad", flaky)
    solver = ExactL1(g, u)
    _, _, cert = solver.solve(np.ones(500))
    assert calls == [True, False] and cert.method == "interior_point" and cert.gap < 1e-9
    assert solver.float64_repeats == 1 and solver.method == "interior_point"


def test_an_uncertified_interior_point_falls_back_to_the_simplex(monkeypatch):
    """A NaN or non-optimal interior-point answer is never returned: the simplex solves it instead."""
    rng = np.random.default_rng(5)
    u, _ = np.linalg.qr(rng.normal(size=(500, 6)))
    g = rng.normal(size=500)
    g -= u @ (u.T @ g)
    expected = ExactL1(g, u, method="simplex").solve(np.ones(500))[2]
    monkeypatch.setattr(feature_lp, "solve_lad", lambda g, u, w, **_: LadResult(np.full(6, np.nan), np.zeros(500),
                                                                               np.nan, np.nan, 1, 0))
    solver = ExactL1(g, u)
    _, _, cert = solver.solve(np.ones(500))
    assert cert.method == "simplex" and cert.primal == pytest.approx(expected.primal, rel=1e-12)
