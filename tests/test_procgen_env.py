"""CoinRun as a batched VecEnv: shapes, action names, seeding, episode ends, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from reward_preprocessing.envs.procgen import (
    ACTION_NAMES,
    EPISODE_LIMIT,
    CoinRunOptions,
    make_coinrun_venv,
)
from reward_preprocessing.errors import UserError


def test_shapes_and_dtypes():
    venv = make_coinrun_venv({"num_levels": 3, "distribution_mode": "easy"}, n_envs=4, seed=1)
    obs = venv.reset()
    assert obs.shape == (4, 64, 64, 3) and obs.dtype == np.uint8
    assert venv.observation_space.shape == (64, 64, 3) and venv.action_space.n == 15
    obs, rewards, dones, infos = venv.step(np.zeros(4, dtype=np.int64))
    assert obs.shape == (4, 64, 64, 3) and obs.dtype == np.uint8
    assert rewards.shape == (4,) and rewards.dtype == np.float32
    assert dones.shape == (4,) and dones.dtype == bool and len(infos) == 4
    venv.close()


def test_action_names_are_procgens():
    from procgen import ProcgenGym3Env

    combos = ProcgenGym3Env.get_combos(None)
    assert tuple("+".join(c) if c else "NOOP" for c in combos) == ACTION_NAMES
    assert ACTION_NAMES[:9] == ("LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "NOOP", "UP", "RIGHT+DOWN", "RIGHT",
                                "RIGHT+UP")


def _play(seed: int, steps: int) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[list[dict]]]:
    venv = make_coinrun_venv(CoinRunOptions(num_levels=5), n_envs=3, seed=seed)
    rng = np.random.default_rng(0)
    observations, rewards, dones, infos = [venv.reset()], [], [], []
    for _ in range(steps):
        obs, rew, done, info = venv.step(rng.integers(0, 15, 3))
        observations.append(obs)
        rewards.append(rew)
        dones.append(done)
        infos.append(info)
    venv.close()
    return observations, rewards, dones, infos


def test_same_seed_same_games_other_seed_other_games():
    a, b, c = _play(3, 50), _play(3, 50), _play(4, 50)
    assert all(np.array_equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a[0], c[0], strict=True))


def test_episode_ends_carry_the_last_frame_and_raw_reward():
    observations, rewards, dones, infos = _play(0, 1500)
    ends = 0
    for t, (rew, done, info) in enumerate(zip(rewards, dones, infos, strict=True)):
        for i in np.flatnonzero(done):
            ends += 1
            # the last frame of the finished level, not the first frame of the next one
            assert np.array_equal(info[i]["terminal_observation"], observations[t][i])
            assert not np.array_equal(info[i]["terminal_observation"], observations[t + 1][i])
            assert info[i]["level_complete"] == (rew[i] == 10.0)
            assert info[i]["TimeLimit.truncated"] == (info[i]["episode"]["l"] >= EPISODE_LIMIT and rew[i] == 0)
        assert set(np.unique(rew)) <= {0.0, 10.0}  # raw, never normalized
        assert all(not info[i] for i in np.flatnonzero(~done))
    assert ends >= 3


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"num_levels": -1}, "num_levels"),
        ({"distribution_mode": "medium"}, "distribution_mode"),
        ({"levels": 3}, "unknown CoinRun option"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(UserError, match=message):
        make_coinrun_venv(options, n_envs=1)


def test_bad_actions():
    venv = make_coinrun_venv({}, n_envs=2)
    venv.reset()
    with pytest.raises(UserError, match="actions must be in"):
        venv.step(np.array([0, 15]))
    with pytest.raises(UserError, match="expected 2 actions"):
        venv.step(np.array([0]))
    venv.close()
