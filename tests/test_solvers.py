"""Tabular solvers: exact L1 optimum, monotone MM, shaping invariance, policy invariance, bad input."""

from __future__ import annotations

import itertools

import highspy
import numpy as np
import pytest
import scipy.optimize
from hypothesis import assume, given
from hypothesis import strategies as st

from reward_preprocessing.envs.maze import LAYOUTS, REWARDS, SHAPINGS, SHORT_NAMES, build_tabular_model
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.value_iteration import value_iteration
from reward_preprocessing.preprocessing import weighted_l1
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, is_smooth, objective_value
from reward_preprocessing.preprocessing.solvers import SOLVERS, adam, best_solver, lp, mm, normalise, solve
from reward_preprocessing.preprocessing.solvers.result import SolverResult
from reward_preprocessing.preprocessing.tabular import TabularProblem
from reward_preprocessing.preprocessing.weighted_l1 import WeightedL1, check_lp_status, new_highs, residual_map

L1_OBJECTIVES = ("sparse_l1", "smooth_l1")
LOG_OBJECTIVES = ("sparse_log", "smooth_log")
GAMMA = 0.99


def maze_problem(maze: str, reward: str, shaping: str) -> TabularProblem:
    return TabularProblem.from_model(build_tabular_model(LAYOUTS[SHORT_NAMES[maze]], reward, shaping, GAMMA))


# Rewards mix round numbers (degenerate LPs with ties) and floats with six decimals (the reference LP
# solver chokes on values like 1e-231).
reward_values = st.one_of(st.integers(-4, 4).map(lambda k: k / 2), st.floats(-3, 3).map(lambda x: round(x, 6)))


@st.composite
def problems(draw: st.DrawFn) -> TabularProblem:
    num_states = draw(st.integers(1, 5))
    n = draw(st.integers(1, 12))
    index = st.lists(st.integers(0, num_states - 1), min_size=n, max_size=n)
    states, next_states = draw(index), draw(index)
    reward = draw(st.lists(reward_values, min_size=n, max_size=n))
    gamma = draw(st.sampled_from([0.5, 0.9, 0.99, 1.0]))
    return TabularProblem(states, np.zeros(n), next_states, reward, num_states, gamma)


def independent_l1_optimum(problem: TabularProblem, objective: str, weights: np.ndarray | None = None) -> float:
    """min mean_p w_p |residual_p| from a differently built LP: primal, variables (phi, c, t), -t <= res <= t, dense."""
    const, coef = independent_residuals(problem, objective)
    m, k = coef.shape
    if m == 0:
        raise UserError("no residuals")
    weights = np.ones(m) if weights is None else weights
    # residual = const + coef @ z;  residual - t <= 0  and  -residual - t <= 0
    a_ub = np.block([[coef, -np.eye(m)], [-coef, -np.eye(m)]])
    b_ub = np.concatenate([-const, const])
    cost = np.concatenate([np.zeros(k), weights / m])
    bounds = [(None, None)] * k + [(0, None)] * m
    result = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs-ipm")
    assert result.status == 0, result.message
    return float(result.fun)


def independent_residuals(problem: TabularProblem, objective: str) -> tuple[np.ndarray, np.ndarray]:
    """(const, coef) with residuals = const + coef @ (phi, c), built densely transition by transition."""
    s, n = problem.num_states, len(problem.reward)
    shaping = np.zeros((n, s + 1))  # d r'_i / d (phi, c)
    for i in range(n):
        shaping[i, problem.next_states[i]] += problem.gamma
        shaping[i, problem.states[i]] -= 1.0
        shaping[i, s] = -1.0
    if not is_smooth(objective):
        return problem.reward.copy(), shaping
    rows = [(i, j) for i in range(n) for j in range(i + 1, n) if _neighbours(problem, i, j)]
    coef = np.array([shaping[i] - shaping[j] for i, j in rows]).reshape(-1, s + 1)
    const = np.array([problem.reward[i] - problem.reward[j] for i, j in rows])
    return const, coef


def _neighbours(problem: TabularProblem, i: int, j: int) -> bool:
    s, t = problem.states, problem.next_states
    return bool(s[i] == s[j] or s[i] == t[j] or s[j] == t[i])


def _close(a: float, b: float, rel: float = 1e-6, floor: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b)) + floor


# --------------------------------------------------------------------------------------------
# Optimality and invariance on random problems


@given(problems(), st.sampled_from(L1_OBJECTIVES))
def test_lp_matches_independent_formulation(problem, objective):
    assume(not is_smooth(objective) or len(problem.pairs) > 0)
    solution = solve(problem, objective, "lp")
    reference = independent_l1_optimum(problem, objective)
    assert _close(solution.value, reference), (solution.value, reference)
    assert solution.info["duality_gap"] <= 1e-6
    assert solution.value == objective_value(solution.preprocessed, objective, problem.pairs)


@given(
    problems(),
    st.sampled_from(OBJECTIVES),
    st.lists(st.floats(-10, 10), min_size=5, max_size=5),
    st.floats(-5, 5),
)
def test_value_invariant_under_input_shaping(problem, objective, psi, constant):
    assume(not is_smooth(objective) or len(problem.pairs) > 0)
    psi = np.array(psi[: problem.num_states])
    shaped_reward = problem.shaped(psi, -constant)
    shaped = TabularProblem(
        problem.states, problem.actions, problem.next_states, shaped_reward, problem.num_states, problem.gamma
    )
    a, b = solve(problem, objective), solve(shaped, objective)
    assert _close(a.value, b.value), (a.value, b.value)


@given(problems(), st.sampled_from(LOG_OBJECTIVES))
def test_mm_monotone_and_never_worse_than_l1_start(problem, objective):
    assume(not is_smooth(objective) or len(problem.pairs) > 0)
    solution = solve(problem, objective, "mm")
    trace = solution.info["trace"]
    assert solution.info["monotone"]
    assert all(b < a for a, b in itertools.pairwise(trace))
    l1 = solve(problem, objective.replace("log", "l1"), "lp")
    start = objective_value(l1.preprocessed, objective, problem.pairs)
    assert trace[0] == pytest.approx(start, rel=1e-9, abs=1e-12)
    assert solution.value <= start + 1e-12
    assert solution.converged


@given(problems(), st.sampled_from(LOG_OBJECTIVES))
def test_mm_stationarity_certificate(problem, objective):
    """Check "stationary" independently: no MM step and no single-variable move improves the result."""
    assume(not is_smooth(objective) or len(problem.pairs) > 0)
    solution = solve(problem, objective, "mm")
    assert solution.info["converged_by"] in ("stationary", "zero_objective")
    const, coef = independent_residuals(problem, objective)
    z = np.concatenate([solution.potential, [solution.shift]])
    res = const + coef @ z
    assert np.log1p(np.abs(res)).mean() == pytest.approx(solution.value, abs=1e-12)
    # (1) The point minimizes its own majorizer: the weighted L1 problem with weights 1 / (1 + |res|).
    weights = 1.0 / (1.0 + np.abs(res))
    assert (weights * np.abs(res)).mean() <= independent_l1_optimum(problem, objective, weights) + 1e-8
    # (2) Along each coordinate the objective is concave between breakpoints: none of them is better.
    for j in range(coef.shape[1]):
        moving = coef[:, j] != 0
        for step in -res[moving] / coef[moving, j]:
            moved = np.log1p(np.abs(res + step * coef[:, j])).mean()
            assert moved >= solution.value - 1e-9


def test_mm_moves_when_the_l1_optimum_is_not_log_optimal():
    # On the ground-truth mazes MM stops within a step of the L1 optimum; with noise added to the reward
    # the L1 optimum is not log-optimal, and MM must take strictly decreasing steps away from it.
    problem = maze_problem("maze4", "path", "unshaped")
    rng = np.random.default_rng(0)
    noisy = TabularProblem(
        problem.states, problem.actions, problem.next_states,
        problem.reward + rng.normal(0, 0.3, len(problem.reward)), problem.num_states, GAMMA,
    )
    solution = solve(noisy, "sparse_log", "mm")
    trace = solution.info["trace"]
    assert len(trace) >= 2 and trace[-1] < trace[0]
    assert solution.info["converged_by"] == "stationary" and solution.info["mm_steps"] >= 1


# --------------------------------------------------------------------------------------------
# Mazes: invariance, policy, normalisation, determinism


@pytest.mark.parametrize("maze", ["maze4", "keymaze6"])
@pytest.mark.parametrize("reward", REWARDS)
def test_maze_shaping_invariance_and_policy(maze, reward):
    unshaped = {o: solve(maze_problem(maze, reward, "unshaped"), o) for o in OBJECTIVES}
    for shaping in SHAPINGS:
        model = build_tabular_model(LAYOUTS[SHORT_NAMES[maze]], reward, shaping, GAMMA)
        problem = TabularProblem.from_model(model)
        before = value_iteration(model.next_state, model.reward, GAMMA).optimal_actions(1e-6)
        for objective in OBJECTIVES:
            solution = solve(problem, objective)
            # The canonical projection makes the whole result, not just its value, shaping-free.
            assert abs(solution.value - unshaped[objective].value) <= 1e-9
            np.testing.assert_allclose(solution.preprocessed, unshaped[objective].preprocessed, atol=1e-8)
            after = value_iteration(model.next_state, solution.preprocessed.reshape(model.reward.shape), GAMMA)
            np.testing.assert_array_equal(after.optimal_actions(1e-6), before)


def test_maze_dense_shaping_is_undone_exactly():
    # Dense shaping on the goal reward collapses back to the sparse goal reward's optimum.
    for objective in OBJECTIVES:
        dense = solve(maze_problem("maze10", "goal", "dense"), objective)
        plain = maze_problem("maze10", "goal", "unshaped")
        assert dense.value <= objective_value(plain.reward, objective, plain.pairs) + 1e-9


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_normalised_and_deterministic(objective):
    problem = maze_problem("keymaze6", "path", "random")
    a, b = solve(problem, objective), solve(problem, objective)
    assert a.potential.tobytes() == b.potential.tobytes()
    assert a.preprocessed.tobytes() == b.preprocessed.tobytes()
    assert (a.shift, a.value, a.info.get("trace")) == (b.shift, b.value, b.info.get("trace"))
    assert abs(a.potential.mean()) <= 1e-12 * max(1.0, np.abs(a.potential).max())
    np.testing.assert_array_equal(a.preprocessed, problem.shaped(a.potential, a.shift))
    if is_smooth(objective):
        assert abs(np.median(a.preprocessed)) <= 1e-12
    assert a.solver == best_solver(objective)
    assert a.converged


@pytest.mark.parametrize(
    ("name", "run", "options"),
    [("lp", lp.solve_lp, {}), ("mm", mm.solve_mm, {}), ("adam", adam.solve_adam, {"epochs": 50})],
)
def test_each_solver_returns_a_result_that_solve_normalises(name, run, options):
    """A solver module returns a `SolverResult`; `solve` reports its normalised representative."""
    problem = maze_problem("maze4", "goal", "dense")
    objective = "sparse_log" if name == "mm" else "sparse_l1"
    raw = run(problem, objective, **options)
    assert isinstance(raw, SolverResult) and raw.potential.shape == (problem.num_states,)
    solution = solve(problem, objective, name, **options)
    phi, shift = normalise(problem, objective, np.asarray(raw.potential, dtype=np.float64), raw.shift)
    np.testing.assert_allclose(solution.potential, phi, atol=1e-9)
    assert solution.shift == pytest.approx(shift, abs=1e-9)
    assert (solution.iterations, solution.converged) == (raw.iterations, raw.converged)
    assert set(solution.info) == set(raw.info)


def test_lp_certificate_on_mazes():
    for objective in L1_OBJECTIVES:
        solution = solve(maze_problem("maze10", "path", "antidense"), objective, "lp")
        assert solution.info["duality_gap"] <= 1e-9


def test_adam_reference_recipe_descends_and_is_deterministic():
    problem = maze_problem("maze4", "goal", "dense")
    a = solve(problem, "sparse_l1", "adam", epochs=300)
    b = solve(problem, "sparse_l1", "adam", epochs=300)
    assert a.potential.tobytes() == b.potential.tobytes() and a.value == b.value
    assert a.value < objective_value(problem.reward, "sparse_l1")
    assert (a.info["lr"], a.info["epochs"], a.iterations) == (1e-3, 300, 300)


@pytest.mark.parametrize("objective", ["sparse_l1", "smooth_log"])
def test_iterative_projection_for_large_problems_gives_the_same_optimum(monkeypatch, objective):
    problem = maze_problem("keymaze6", "path", "random")
    dense = solve(problem, objective)
    monkeypatch.setattr(weighted_l1, "DENSE_LSTSQ_MAX_ENTRIES", 0)
    iterative = solve(problem, objective)
    assert iterative.value == pytest.approx(dense.value, rel=1e-9, abs=1e-12)


def test_mm_on_l1_objective_is_the_lp():
    problem = maze_problem("maze4", "path", "dense")
    assert solve(problem, "smooth_l1", "mm").value == solve(problem, "smooth_l1", "lp").value


# --------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_reward(bad):
    with pytest.raises(UserError, match="NaN or infinite"):
        TabularProblem([0, 1], [0, 0], [1, 0], [0.0, bad], num_states=2, gamma=GAMMA)


def test_empty_transitions():
    with pytest.raises(UserError, match="empty"):
        TabularProblem([], [], [], [], num_states=2, gamma=GAMMA)


def test_bad_solver_and_options():
    problem = maze_problem("maze4", "goal", "unshaped")
    with pytest.raises(UserError, match="unknown solver"):
        solve(problem, "sparse_l1", "simplex")
    with pytest.raises(UserError, match="unknown objective"):
        solve(problem, "sparse_l3")
    with pytest.raises(UserError, match="L1 objectives only"):
        solve(problem, "sparse_log", "lp")
    with pytest.raises(UserError, match="has no option"):
        solve(problem, "sparse_log", "mm", epochs=3)
    assert set(SOLVERS) == {"lp", "mm", "adam"}


def test_smooth_without_neighbours():
    problem = TabularProblem([0, 1], [0, 0], [0, 1], [1.0, 2.0], num_states=2, gamma=GAMMA)
    with pytest.raises(UserError, match="neighbour"):
        solve(problem, "smooth_l1")


def test_non_optimal_lp_status_is_an_error():
    infeasible = new_highs()
    infeasible.addVar(0.0, 1.0)
    infeasible.addRow(2.0, highspy.kHighsInf, 1, np.array([0], dtype=np.int32), np.array([1.0]))
    infeasible.run()
    with pytest.raises(UserError, match="instead of 'Optimal'"):
        check_lp_status(infeasible)
    unbounded = new_highs()
    unbounded.addVar(0.0, highspy.kHighsInf)
    unbounded.changeColCost(0, -1.0)
    unbounded.run()
    with pytest.raises(UserError, match="instead of 'Optimal'"):
        check_lp_status(unbounded)


def test_invalid_weights():
    lp = WeightedL1(residual_map(maze_problem("maze4", "goal", "dense"), "sparse_l1"))
    with pytest.raises(UserError, match="weights"):
        lp.solve(np.zeros(3))
