"""Shaped MountainCar: exact shaping from the state before the step, fixed horizon, ground-truth reward nets."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs.mountain_car import (
    ENV_ID,
    HORIZON,
    SHAPINGS,
    RandomPotentialParams,
    potential,
    shaped_reward,
)
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net

# float32 states, as the env keeps them (it rounds its state to float32 after every step).
positions = st.floats(float(np.float32(-1.2)), float(np.float32(0.6)), width=32)
velocities = st.floats(float(np.float32(-0.07)), float(np.float32(0.07)), width=32)


def _step_from(env: gym.Env, pos: float, vel: float, action: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Put the car at (pos, vel), take `action`; return (obs, next_obs, reward)."""
    env.reset(seed=0)
    inner = env.unwrapped
    inner.state = np.array([pos, vel], dtype=np.float64)
    inner.absorbed = bool(pos >= 0.5 and vel >= 0.0)
    obs = np.array([pos, vel], dtype=np.float32)
    next_obs, reward, *_ = env.step(action)
    return obs, next_obs, reward


@pytest.mark.parametrize("shaping", SHAPINGS)
@given(pos=positions, vel=velocities, action=st.integers(0, 2))
def test_shaping_uses_state_before_step_and_net_matches_env(shaping, pos, vel, action):
    env = gym.make(ENV_ID, shaping=shaping, gamma=0.97, shaping_seed=3)
    net, _ = mountain_car_reward_net(shaping, 0.97, 3)
    obs, next_obs, reward = _step_from(env, pos, vel, action)
    params = RandomPotentialParams.from_seed(3)
    base = 0.0 if (pos >= 0.5 and vel >= 0.0) else -1.0
    expected = base + 0.97 * potential(next_obs, shaping, params) - potential(obs, shaping, params)
    assert reward == pytest.approx(float(expected), abs=1e-12)
    predicted = net.predict(obs[None], np.array([action]), next_obs[None], np.array([False]))
    np.testing.assert_allclose(predicted, [reward], rtol=0, atol=1e-9)


@pytest.mark.parametrize("shaping", SHAPINGS)
def test_net_reproduces_env_along_a_whole_episode(shaping):
    env = gym.make(ENV_ID, shaping=shaping)
    net, _ = mountain_car_reward_net(shaping)
    obs, _ = env.reset(seed=1)
    observations, actions, rewards = [obs], [], []
    done = False
    while not done:
        action = 2 if obs[1] >= 0 else 0  # pump energy: reaches the flag
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
        done = terminated or truncated
    assert len(rewards) == HORIZON and not terminated  # fixed horizon, no early termination
    assert info["at_goal"]
    obs_arr = np.array(observations)
    predicted = net.predict(obs_arr[:-1], np.array(actions), obs_arr[1:], np.zeros(HORIZON, dtype=bool))
    np.testing.assert_allclose(predicted, rewards, rtol=0, atol=1e-9)


def test_absorbing_goal_repeats_observation_and_pays_zero():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    rewards, seen = [], []
    for _ in range(HORIZON):
        obs, reward, *_ = env.step(2 if obs[1] >= 0 else 0)
        rewards.append(reward)
        seen.append(obs)
    first = int(np.argmax([o[0] >= 0.5 for o in seen]))
    assert all(r == -1.0 for r in rewards[: first + 1])
    assert all(r == 0.0 for r in rewards[first + 1 :])
    assert all(np.array_equal(o, seen[first]) for o in seen[first:])


@given(st.lists(st.tuples(positions, velocities), min_size=2, max_size=20))
def test_shaped_return_telescopes(states):
    """sum_t gamma^t r'_t = sum_t gamma^t r_t + gamma^T phi(s_T) - phi(s_0): exact potential shaping."""
    obs = np.array(states, dtype=np.float32)
    gamma, params = 0.9, RandomPotentialParams.from_seed(0)
    discounts = gamma ** np.arange(len(obs) - 1)
    base = shaped_reward(obs[:-1], obs[1:], "unshaped", gamma)
    for shaping in SHAPINGS:
        shaped = shaped_reward(obs[:-1], obs[1:], shaping, gamma, params)
        phi = potential(obs, shaping, params)
        expected = (discounts * base).sum() + gamma ** (len(obs) - 1) * phi[-1] - phi[0]
        assert (discounts * shaped).sum() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("shaping", SHAPINGS)
def test_ground_truth_net_round_trip(tmp_path, shaping):
    net, kwargs = mountain_car_reward_net(shaping, 0.99, 5)
    save_reward_net(net, tmp_path / "m", ENV_ID, kwargs)
    loaded = load_reward_net(tmp_path / "m")
    rng = np.random.default_rng(0)
    obs = rng.uniform([-1.2, -0.07], [0.6, 0.07], size=(50, 2)).astype(np.float32)
    nxt = rng.uniform([-1.2, -0.07], [0.6, 0.07], size=(50, 2)).astype(np.float32)
    args = (obs, np.zeros(50, dtype=np.int64), nxt, np.zeros(50, dtype=bool))
    np.testing.assert_array_equal(loaded.predict(*args), net.predict(*args))


def test_random_potential_depends_on_seed_and_is_bounded():
    obs = np.random.default_rng(0).uniform([-1.2, -0.07], [0.6, 0.07], size=(200, 2))
    a = potential(obs, "random", RandomPotentialParams.from_seed(0))
    b = potential(obs, "random", RandomPotentialParams.from_seed(1))
    assert not np.allclose(a, b)
    assert np.abs(a).max() <= 100.0 and a.std() > 1.0


def test_bad_options_are_user_errors():
    with pytest.raises(UserError, match="unknown MountainCar shaping 'shaped'"):
        gym.make(ENV_ID, shaping="shaped")
    with pytest.raises(UserError, match="gamma"):
        gym.make(ENV_ID, gamma=1.5)
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(UserError, match="invalid MountainCar action"):
        env.step(3)
