"""Mazes: exact potential shaping, the tabular model, and the env API."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reward_preprocessing.envs  # noqa: F401
from reward_preprocessing.envs.maze import (
    LAYOUTS,
    PATH_PENALTY,
    REWARDS,
    SHAPINGS,
    SHORT_NAMES,
    build_tabular_model,
    env_id,
)
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.value_iteration import value_iteration
from reward_preprocessing.rewards.ground_truth import make_maze

layouts = st.sampled_from(sorted(LAYOUTS))
gammas = st.floats(min_value=0.5, max_value=0.999)


@given(layouts, st.sampled_from(REWARDS), st.sampled_from(SHAPINGS), gammas, st.integers(0, 2**16))
def test_shaping_is_exact_potential_shaping(layout, reward, shaping, gamma, seed):
    shaped = build_tabular_model(LAYOUTS[layout], reward, shaping, gamma, seed)
    plain = build_tabular_model(LAYOUTS[layout], reward, "unshaped", gamma, seed)
    phi = shaped.potential
    expected = gamma * phi[shaped.next_state] - phi[:, None]
    np.testing.assert_allclose(shaped.reward - plain.reward, expected, atol=1e-12)
    np.testing.assert_array_equal(shaped.next_state, plain.next_state)


@given(layouts, st.sampled_from(REWARDS), st.sampled_from(SHAPINGS[1:]), gammas)
def test_shaping_keeps_optimal_policy(layout, reward, shaping, gamma):
    shaped = build_tabular_model(LAYOUTS[layout], reward, shaping, gamma)
    plain = build_tabular_model(LAYOUTS[layout], reward, "unshaped", gamma)
    vi_shaped = value_iteration(shaped.next_state, shaped.reward, gamma)
    vi_plain = value_iteration(plain.next_state, plain.reward, gamma)
    np.testing.assert_array_equal(vi_shaped.optimal_actions(1e-6), vi_plain.optimal_actions(1e-6))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_tabular_model_dynamics(layout):
    spec = LAYOUTS[layout]
    model = build_tabular_model(spec, "goal", "unshaped")
    n = spec.size
    assert model.num_states == spec.num_states
    assert model.num_actions == 5
    # Staying never moves and is never blocked; blocked moves stay put.
    np.testing.assert_array_equal(model.next_state[:, 0] % spec.num_cells, np.arange(model.num_states) % spec.num_cells)
    assert not model.blocked[:, 0].any()
    corner = 0  # (0, 0) without key: up and left are blocked
    assert model.blocked[corner].tolist() == [False, True, False, False, True]
    assert model.next_state[corner, 2] == 1 and model.next_state[corner, 3] == n
    # The number of blocked moves is the grid's border: 4 sides * n cells, per key layer.
    assert model.blocked.sum() == 4 * n * (2 if spec.key else 1)


def test_goal_reward_only_from_goal_and_with_key():
    maze = build_tabular_model(LAYOUTS["EmptyMaze10"], "goal")
    goal_state = 8 * 10 + 8
    assert (maze.reward[goal_state] == 1).all()
    assert maze.reward.sum() == 5
    key_maze = build_tabular_model(LAYOUTS["KeyMaze6"], "goal")
    goal_cell = 4 * 6 + 4
    assert (key_maze.reward[goal_cell] == 0).all()  # without the key nothing pays
    assert (key_maze.reward[36 + goal_cell] == 1).all()
    # Entering the key cell picks the key up.
    key_cell = 1 * 6 + 1
    from_left = key_cell - 1
    assert key_maze.next_state[from_left, 2] == 36 + key_cell


def test_path_reward_values():
    maze = build_tabular_model(LAYOUTS["EmptyMaze4"], "path")
    on_path = {(i, i) for i in range(4)} | {(i, i + 1) for i in range(3)}
    for s, (r, c) in enumerate(maze.cells):
        assert np.all(maze.reward[s] == (0.0 if (r, c) in on_path else PATH_PENALTY))


def test_random_potential_is_seeded():
    a = build_tabular_model(LAYOUTS["EmptyMaze4"], "goal", "random", seed=3).potential
    b = build_tabular_model(LAYOUTS["EmptyMaze4"], "goal", "random", seed=3).potential
    c = build_tabular_model(LAYOUTS["EmptyMaze4"], "goal", "random", seed=4).potential
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert (np.abs(a) <= 1).all()


@pytest.mark.parametrize("short", sorted(SHORT_NAMES))
def test_registered_env_steps_like_its_model(short):
    layout = SHORT_NAMES[short]
    env = gym.make(env_id(layout), reward="goal", shaping="dense", gamma=0.9)
    model = env.unwrapped.tabular_model()
    state, _ = env.reset(seed=0)
    steps = 0
    truncated = False
    rng = np.random.default_rng(0)
    while not truncated:
        action = int(rng.integers(5))
        nxt, reward, terminated, truncated, _ = env.step(action)
        assert nxt == model.next_state[state, action]
        assert reward == pytest.approx(model.reward[state, action])
        assert not terminated
        state = nxt
        steps += 1
    assert steps == LAYOUTS[layout].time_limit
    frame = env.unwrapped.render()
    assert frame.ndim == 3 and frame.dtype == np.uint8


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"maze": "maze11"}, "unknown maze"),
        ({"maze": "maze4", "reward": "gold"}, "unknown reward"),
        ({"maze": "maze4", "shaping": "shaped"}, "unknown shaping"),
        ({"maze": "maze4", "gamma": 1.5}, "gamma"),
    ],
)
def test_bad_maze_options(kwargs, message):
    with pytest.raises(UserError, match=message):
        make_maze(**kwargs)
