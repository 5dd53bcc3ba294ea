"""The four objectives and the tabular neighbour pairs, checked against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import (
    OBJECTIVES,
    is_log,
    is_smooth,
    objective_torch,
    objective_value,
)
from reward_preprocessing.preprocessing.tabular import TabularProblem, neighbour_pairs

# Three transitions over two states: t0 = 0 -> 1, t1 = 0 -> 0 (a self-loop), t2 = 1 -> 1.
STATES = np.array([0, 0, 1])
NEXT_STATES = np.array([1, 0, 1])
REWARD = np.array([1.0, 3.0, -1.0])


def test_neighbour_pairs_by_hand():
    # t0, t1 start in the same state; t2 starts where t0 ends. t1 ends in state 0, where t0 and t1
    # start: (0, 1) again, and (1, 1) is no pair. t1 and t2 share nothing.
    np.testing.assert_array_equal(neighbour_pairs(STATES, NEXT_STATES), [[0, 1], [0, 2]])


def test_neighbour_pairs_none():
    # Two self-loops in different states are not neighbours of each other.
    assert neighbour_pairs(np.array([0, 1]), np.array([0, 1])).shape == (0, 2)


@pytest.mark.parametrize(
    ("objective", "expected"),
    [
        ("sparse_l1", (1 + 3 + 1) / 3),
        ("sparse_log", (math.log(2) + math.log(4) + math.log(2)) / 3),
        # pairs (0, 1) and (0, 2): |1 - 3| = 2 and |1 - (-1)| = 2
        ("smooth_l1", 2.0),
        ("smooth_log", math.log(3)),
    ],
)
def test_objective_values_by_hand(objective, expected):
    pairs = neighbour_pairs(STATES, NEXT_STATES)
    assert objective_value(REWARD, objective, pairs) == pytest.approx(expected, rel=1e-15)
    torch_value = objective_torch(th.tensor(REWARD), objective, th.as_tensor(pairs))
    assert float(torch_value) == pytest.approx(expected, rel=1e-15)


def test_problem_pairs_and_shaping_by_hand():
    problem = TabularProblem(STATES, np.zeros(3), NEXT_STATES, REWARD, num_states=2, gamma=0.5)
    np.testing.assert_array_equal(problem.pairs, [[0, 1], [0, 2]])
    # r' = r + 0.5 * phi(s') - phi(s) - c with phi = (2, 4), c = 1
    expected = [1 + 2 - 2 - 1, 3 + 1 - 2 - 1, -1 + 2 - 4 - 1]
    np.testing.assert_allclose(problem.shaped(np.array([2.0, 4.0]), 1.0), expected)


def test_objective_names():
    assert [is_smooth(o) for o in OBJECTIVES] == [False, True, False, True]
    assert [is_log(o) for o in OBJECTIVES] == [False, False, True, True]
    with pytest.raises(UserError, match="unknown objective"):
        objective_value(REWARD, "sparse_l2")


def test_smooth_needs_pairs_and_nonempty():
    with pytest.raises(UserError, match="needs neighbour pairs"):
        objective_value(REWARD, "smooth_l1")
    with pytest.raises(UserError, match="undefined"):
        objective_value(REWARD, "smooth_l1", np.zeros((0, 2), dtype=np.int64))


@given(
    st.lists(st.floats(-100, 100), min_size=2, max_size=20),
    st.sampled_from(OBJECTIVES),
)
def test_torch_matches_numpy(values, objective):
    reward = np.array(values)
    n = len(reward)
    pairs = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    expected = objective_value(reward, objective, pairs)
    got = float(objective_torch(th.tensor(reward), objective, th.as_tensor(pairs)))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert expected >= 0.0
