"""Image rollouts on disk: collection without cross-level pairs, batched reads, the train-procgen .npz both ways."""

from __future__ import annotations

import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from imitation.data import serialize

from reward_preprocessing.data.image_collect import collect_image_rollouts, mixed_actions
from reward_preprocessing.data.image_rollouts import ImageRolloutWriter, open_image_rollouts
from reward_preprocessing.data.procgen_npz import open_procgen_npz, write_procgen_npz
from reward_preprocessing.envs.procgen import make_coinrun_venv
from reward_preprocessing.errors import ArtifactError, UserError

SHAPE = (4, 4, 3)


def _trajectories(lengths, terminal, seed=0):
    rng = np.random.default_rng(seed)
    return [
        (rng.integers(0, 256, (n + 1, *SHAPE), dtype=np.uint8), rng.integers(0, 15, n),
         rng.normal(size=n).astype(np.float32), term)
        for n, term in zip(lengths, terminal, strict=True)
    ]


def _write(directory, trajs, shard_frames=5):
    directory.mkdir()
    writer = ImageRolloutWriter(directory, SHAPE, shard_frames=shard_frames)
    for t in trajs:
        writer.add(*t)
    writer.close({"env": {"id": "test"}})
    return open_image_rollouts(directory)


@given(lengths=st.lists(st.integers(1, 9), min_size=1, max_size=6), shard=st.integers(1, 8), data=st.data())
def test_transitions_pair_consecutive_frames_of_one_trajectory(tmp_path_factory, lengths, shard, data):
    terminal = data.draw(st.lists(st.booleans(), min_size=len(lengths), max_size=len(lengths)))
    trajs = _trajectories(lengths, terminal)
    rollouts = _write(tmp_path_factory.mktemp("r") / "r", trajs, shard)
    assert len(rollouts) == sum(lengths) and rollouts.n_trajectories == len(lengths)
    index = np.arange(len(rollouts))[::-1]  # any order
    obs, next_obs = rollouts.transitions(index)
    expected_obs = np.concatenate([t[0][:-1] for t in trajs])[index]
    expected_next = np.concatenate([t[0][1:] for t in trajs])[index]
    np.testing.assert_array_equal(obs, expected_obs)
    np.testing.assert_array_equal(next_obs, expected_next)
    np.testing.assert_array_equal(rollouts.rews, np.concatenate([t[2] for t in trajs]))
    ends = np.cumsum(lengths) - 1
    np.testing.assert_array_equal(np.flatnonzero(rollouts.dones), ends[np.array(terminal, dtype=bool)])
    for k, t in enumerate(trajs):
        np.testing.assert_array_equal(rollouts.trajectory(k).obs, t[0])


def test_collected_coinrun_rollouts_never_pair_two_levels(tmp_path):
    venv = make_coinrun_venv({"num_levels": 3}, n_envs=4, seed=0)
    (tmp_path / "r").mkdir()
    writer = ImageRolloutWriter(tmp_path / "r", (64, 64, 3), shard_frames=100)
    summary = collect_image_rollouts(venv, mixed_actions(None, 1.0, 15, 0), 3000, writer, progress=False)
    writer.close({})
    rollouts = open_image_rollouts(tmp_path / "r")
    assert len(rollouts) == summary["n_transitions"] == 3000
    assert rollouts.terminal.sum() == summary["episodes_finished"] >= 2
    done = np.flatnonzero(rollouts.dones)
    obs, next_obs = rollouts.transitions(done)
    np.testing.assert_array_equal(obs, next_obs)  # a finished level's last frame, repeated
    # every coin reward is on a done transition and is procgen's raw 10
    assert set(np.unique(rollouts.rews)) <= {0.0, 10.0}
    assert rollouts.dones[rollouts.rews > 0].all()
    # not done: the next frame is the next observation of the same game, so the level seen does not jump
    obs, next_obs = rollouts.transitions(np.flatnonzero(~rollouts.dones)[:500])
    assert (np.abs(obs.astype(int) - next_obs.astype(int)).mean(axis=(1, 2, 3)) < 60).all()


@pytest.mark.parametrize("compress", [False, True])
def test_npz_round_trip_and_imitation_loads_it(tmp_path, compress):
    trajs = _trajectories([3, 5, 2], [True, True, False])
    rollouts = _write(tmp_path / "r", trajs)
    npz = tmp_path / "t.npz"
    write_procgen_npz(rollouts, npz, compress=compress, chunk_frames=4)
    again = open_procgen_npz(npz)
    obs, _next_obs = again.transitions(np.arange(len(again)))
    np.testing.assert_array_equal(obs, rollouts.transitions(np.arange(len(rollouts)))[0])
    np.testing.assert_array_equal(again.terminal, [True, True, False])
    np.testing.assert_array_equal(again.acts, rollouts.acts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loaded = serialize.load(npz)
    assert [len(t.acts) for t in loaded] == [3, 5, 2]
    for t, (o, a, r, term) in zip(loaded, trajs, strict=True):
        np.testing.assert_array_equal(t.obs, o)
        np.testing.assert_array_equal(t.acts, a)
        np.testing.assert_array_equal(t.rews, r)
        assert t.terminal == term
    write_procgen_npz(rollouts, tmp_path / "u.npz", compress=compress, chunk_frames=4)
    assert npz.read_bytes() == (tmp_path / "u.npz").read_bytes()


def _reference_npz(path, **overrides):
    """A file as train-procgen's render.py writes it: savez_compressed, int8 acts, object infos."""
    rng = np.random.default_rng(1)
    lengths = [4, 3]
    data = {
        "obs": rng.integers(0, 256, (sum(lengths) + len(lengths), *SHAPE), dtype=np.uint8),
        "acts": rng.integers(0, 15, sum(lengths)).astype(np.int8),
        "infos": np.array([{} for _ in range(sum(lengths))], dtype=object),
        "terminal": np.array([True, False]),
        "rews": np.array([0, 0, 0, 10, 0, 0, 0], dtype=np.float32),
        "indices": np.array([4]),
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    np.savez_compressed(path, **data)
    return data


def test_reference_layout_reads_without_pickle(tmp_path):
    data = _reference_npz(tmp_path / "ref.npz")
    rollouts = open_image_rollouts(tmp_path / "ref.npz")
    assert len(rollouts) == 7 and list(rollouts.lengths) == [4, 3]
    obs, next_obs = rollouts.transitions(np.array([3, 4]))
    np.testing.assert_array_equal(obs, data["obs"][[3, 5]])
    np.testing.assert_array_equal(next_obs, data["obs"][[4, 6]])
    assert rollouts.dones.tolist() == [False, False, False, True, False, False, False]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"indices": None}, "missing key"),
        ({"rews": np.zeros(5, np.float32)}, "7 actions but 5 rewards"),
        ({"obs": np.zeros((8, *SHAPE), np.uint8)}, "one extra final frame"),
        ({"obs": np.zeros((9, 4, 4), np.uint8)}, "uint8"),
        ({"obs": np.zeros((9, *SHAPE), np.float32)}, "uint8"),
        ({"terminal": np.array([True])}, "terminal flags"),
        ({"acts": np.zeros(7, np.float32)}, "acts must be integers"),
    ],
)
def test_bad_npz(tmp_path, overrides, message):
    _reference_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(UserError, match=message):
        open_image_rollouts(tmp_path / "bad.npz")


def test_not_a_rollout_directory(tmp_path):
    with pytest.raises(ArtifactError, match="not an image rollout directory"):
        open_image_rollouts(tmp_path)
    (tmp_path / "x.npz").write_text("nope")
    with pytest.raises(ArtifactError, match="not an .npz"):
        open_image_rollouts(tmp_path / "x.npz")
    assert not zipfile.is_zipfile(tmp_path / "x.npz")


def test_head_keeps_whole_first_trajectories(tmp_path):
    trajs = _trajectories([3, 5, 2, 4], [True, False, True, True])
    rollouts = _write(tmp_path / "r", trajs, shard_frames=4)
    head = rollouts.head(9)
    assert list(head.lengths) == [3, 5] and len(head) == 8 and head.frames.n_frames == 10
    np.testing.assert_array_equal(head.transitions(np.arange(8))[1], rollouts.transitions(np.arange(8))[1])
    assert rollouts.head(1).n_trajectories == 1 and rollouts.head(100) is rollouts
