"""Transitions are honest: ``done`` is the env's termination flag, and a time limit is not a termination."""

from __future__ import annotations

import numpy as np
import pytest
from imitation.data.types import TrajectoryWithRew

from reward_preprocessing.data.rollouts import RolloutSource, collect_rollouts, load_rollouts, save_rollouts
from reward_preprocessing.data.transitions import TransitionBatch, honest_terminal, trajectory_dones
from reward_preprocessing.envs.mountain_car import ENV_ID, HORIZON
from reward_preprocessing.errors import UserError


def _trajectory(length: int, terminal: bool, last_info: dict | None = None) -> TrajectoryWithRew:
    infos = [{} for _ in range(length - 1)] + [last_info or {}]
    return TrajectoryWithRew(
        obs=np.arange(length + 1, dtype=np.float32)[:, None],
        acts=np.zeros(length, dtype=np.int64),
        infos=np.array(infos),
        rews=np.zeros(length, dtype=np.float32),
        terminal=terminal,
    )


@pytest.mark.parametrize(
    ("terminal", "info", "expected"),
    [
        (True, {"TimeLimit.truncated": True}, False),  # imitation says terminal, the time limit cut it off
        (True, {"TimeLimit.truncated": False}, True),  # a real termination
        (True, {}, True),  # no time limit at all
        (False, {"TimeLimit.truncated": False}, False),  # an unfinished trajectory stays non-terminal
    ],
)
def test_honest_terminal(terminal, info, expected):
    assert honest_terminal(_trajectory(4, terminal, info)).terminal is expected


def test_honest_terminal_needs_infos():
    trajectory = _trajectory(3, True)
    with pytest.raises(UserError, match="termination from truncation"):
        honest_terminal(
            TrajectoryWithRew(obs=trajectory.obs, acts=trajectory.acts, infos=None, rews=trajectory.rews, terminal=True)
        )


def test_only_the_last_transition_of_a_terminated_trajectory_is_done():
    batch = TransitionBatch.from_trajectories([_trajectory(3, True), _trajectory(2, False), _trajectory(4, True)])
    np.testing.assert_array_equal(batch.dones, [0, 0, 1, 0, 0, 0, 0, 0, 1])
    np.testing.assert_array_equal(trajectory_dones(_trajectory(1, True)), [True])


def test_terminating_env_gives_done_on_the_last_step():
    """CartPole terminates when the pole falls: a random policy's episodes end in a real terminal state."""
    trajectories = collect_rollouts("CartPole-v1", {}, [RolloutSource("random")], 60, 0, progress=False)
    assert all(t.terminal for t in trajectories) and all(len(t) < 500 for t in trajectories)
    batch = TransitionBatch.from_trajectories(trajectories)
    ends = np.r_[batch.episode_ids[1:] != batch.episode_ids[:-1], True]
    np.testing.assert_array_equal(batch.dones, ends)


def test_time_limited_episodes_are_truncated_not_terminated():
    trajectories = collect_rollouts(
        "CartPole-v1", {"max_episode_steps": 3}, [RolloutSource("random")], 12, 0, progress=False
    )
    assert [len(t) for t in trajectories] == [3] * 4
    assert not any(t.terminal for t in trajectories)
    assert not TransitionBatch.from_trajectories(trajectories).dones.any()


def test_mountain_car_episodes_are_truncated_and_the_flag_survives_saving(tmp_path):
    """MountainCar has a fixed horizon (its goal is absorbing, not terminal): no transition is done."""
    trajectories = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], HORIZON, 0, progress=False)
    assert [len(t) for t in trajectories] == [HORIZON] and not trajectories[0].terminal
    save_rollouts(tmp_path / "r", trajectories, ENV_ID, {})
    loaded = load_rollouts(tmp_path / "r")
    assert not loaded[0].terminal
    assert not TransitionBatch.from_trajectories(loaded).dones.any()
