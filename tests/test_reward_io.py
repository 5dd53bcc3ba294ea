"""Reward models round-trip through safetensors + spec.json, and bad files fail clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch as th

from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.preprocessing.tabular import reward_table
from reward_preprocessing.rewards.ground_truth import make_maze, maze_reward_net
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net


@pytest.fixture
def saved(tmp_path):
    net, kwargs = maze_reward_net("keymaze6", "path", "random", 0.95, shaping_seed=7)
    directory = tmp_path / "model"
    save_reward_net(net, directory, "reward_preprocessing/KeyMaze6-v0", kwargs)
    return net, directory


def test_round_trip(saved):
    net, directory = saved
    assert sorted(p.name for p in directory.iterdir()) == ["model.safetensors", "spec.json"]
    loaded = load_reward_net(directory)
    assert th.equal(loaded.table, net.table)
    model = make_maze("keymaze6", "path", "random", 0.95, shaping_seed=7).tabular_model()
    np.testing.assert_array_equal(reward_table(loaded, model), model.reward)
    spec = json.loads((directory / "spec.json").read_text())
    assert spec["class"] == "TabularRewardNet"
    assert spec["env"] == {
        "id": "reward_preprocessing/KeyMaze6-v0",
        "kwargs": {"gamma": 0.95, "reward": "path", "shaping": "random", "shaping_seed": 7},
    }
    assert spec["library_version"]


def test_save_is_deterministic(saved, tmp_path):
    net, directory = saved
    again = tmp_path / "again"
    save_reward_net(net, again, "reward_preprocessing/KeyMaze6-v0", json.loads((directory / "spec.json").read_text())[
        "env"]["kwargs"])
    for name in ("model.safetensors", "spec.json"):
        assert (directory / name).read_bytes() == (again / name).read_bytes()


def test_missing_directory(tmp_path):
    with pytest.raises(ArtifactError, match="not a reward-model directory"):
        load_reward_net(tmp_path / "nope")


@pytest.mark.parametrize("victim", ["spec.json", "model.safetensors"])
def test_missing_file_is_named(saved, victim):
    _, directory = saved
    (directory / victim).unlink()
    with pytest.raises(ArtifactError, match=victim):
        load_reward_net(directory)


def test_corrupt_weights_are_named(saved):
    _, directory = saved
    (directory / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ArtifactError, match="model.safetensors"):
        load_reward_net(directory)


def test_corrupt_spec_is_named(saved):
    _, directory = saved
    (directory / "spec.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="spec.json"):
        load_reward_net(directory)


def test_unknown_class_is_refused(saved):
    _, directory = saved
    spec = json.loads((directory / "spec.json").read_text())
    spec["class"] = "os.system"
    (directory / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(UserError, match="unknown reward-net class"):
        load_reward_net(directory)


def test_shape_mismatch_is_refused(saved):
    _, directory = saved
    spec = json.loads((directory / "spec.json").read_text())
    spec["observation_space"]["n"] = 10
    (directory / "spec.json").write_text(json.dumps(spec))
    with pytest.raises(ArtifactError, match="do not match"):
        load_reward_net(directory)


def test_pickle_is_never_loaded_directly(saved, tmp_path):
    """A pickled model goes through the importer (allow-list unpickler, --trust-pickle), never the loader."""
    net, _ = saved
    pickled = tmp_path / "model.pt"
    th.save(net, pickled)
    for allow in (False, True):
        with pytest.raises(UserError, match="import_reward_net.py --trust-pickle"):
            load_reward_net(pickled, allow_pickle=allow)


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    net, kwargs = maze_reward_net("maze4", "goal", "unshaped")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("reward_preprocessing.rewards.io.save_file", boom)
    with pytest.raises(OSError):
        save_reward_net(net, tmp_path / "out", "reward_preprocessing/EmptyMaze4-v0", kwargs)
    assert list(tmp_path.iterdir()) == []
