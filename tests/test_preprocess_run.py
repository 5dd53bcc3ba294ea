"""The preprocessing step's artifacts follow docs/architecture.md and keep the optimal policy."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.value_iteration import value_iteration
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, objective_value
from reward_preprocessing.preprocessing.tabular import TabularProblem, reward_table
from reward_preprocessing.preprocessing.tabular_run import preprocess_model_dir
from reward_preprocessing.rewards.ground_truth import make_maze, maze_reward_net
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net

GAMMA = 0.99


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("models") / "keymaze6_goal_dense"
    net, kwargs = maze_reward_net("keymaze6", "goal", "dense", GAMMA)
    save_reward_net(net, directory, "reward_preprocessing/KeyMaze6-v0", kwargs)
    return directory


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=np.float64)


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_artifact_contract(model_dir, tmp_path, objective):
    out = tmp_path / objective
    solution = preprocess_model_dir(model_dir, objective, out)
    assert {p.name for p in out.iterdir()} == {
        "model.safetensors", "spec.json", "rewards.csv", "potential.csv", "metrics.json"
    }
    maze = make_maze("keymaze6", "goal", "dense", GAMMA).tabular_model()
    header, rewards = read_csv(out / "rewards.csv")
    assert header == ["state", "action", "next_state", "original", "preprocessed"]
    assert len(rewards) == maze.num_states * maze.num_actions
    s, a, s_next = (rewards[:, i].astype(int) for i in range(3))
    np.testing.assert_array_equal(s_next, maze.next_state[s, a])
    np.testing.assert_allclose(rewards[:, 3], maze.reward[s, a], atol=1e-12)

    pot_header, potential = read_csv(out / "potential.csv")
    assert pot_header == ["state", "potential"]
    phi = potential[:, 1]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"objective", "value", "solver", "seconds"} <= set(metrics)
    assert metrics["objective"] == objective
    # r' = r + gamma * phi(s') - phi(s) - c, exactly as written.
    expected = rewards[:, 3] + GAMMA * phi[s_next] - phi[s] - metrics["shift"]
    np.testing.assert_allclose(rewards[:, 4], expected, atol=1e-9)
    problem = TabularProblem.from_model(maze)
    assert metrics["value"] == pytest.approx(objective_value(rewards[:, 4], objective, problem.pairs), abs=1e-9)
    assert metrics["value"] == pytest.approx(solution.value)

    # The stored preprocessed model reproduces the CSV and keeps the optimal policy.
    net = load_reward_net(out)
    table = reward_table(net, maze)
    np.testing.assert_allclose(table.reshape(-1), rewards[:, 4], atol=1e-9)
    vi_new = value_iteration(maze.next_state, table, GAMMA)
    vi_old = value_iteration(maze.next_state, maze.reward, GAMMA)
    np.testing.assert_array_equal(vi_new.optimal_actions(1e-5), vi_old.optimal_actions(1e-5))


def test_deterministic(model_dir, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    preprocess_model_dir(model_dir, "smooth_log", a)
    preprocess_model_dir(model_dir, "smooth_log", b)
    for name in ("model.safetensors", "spec.json", "rewards.csv", "potential.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    metrics_a = json.loads((a / "metrics.json").read_text())
    metrics_b = json.loads((b / "metrics.json").read_text())
    metrics_a.pop("seconds"), metrics_b.pop("seconds")
    assert metrics_a == metrics_b


def test_unknown_objective_writes_nothing(model_dir, tmp_path):
    with pytest.raises(UserError, match="unknown objective"):
        preprocess_model_dir(model_dir, "sparse_l3", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_model_is_named(tmp_path):
    with pytest.raises(UserError, match="not a reward-model directory"):
        preprocess_model_dir(tmp_path / "missing", "sparse_l1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_nan_reward_is_refused(tmp_path):
    net, kwargs = maze_reward_net("maze4", "goal", "unshaped", GAMMA)
    with torch.no_grad():
        net.table[0, 0, 0] = float("nan")
    save_reward_net(net, tmp_path / "nan_model", "reward_preprocessing/EmptyMaze4-v0", kwargs)
    with pytest.raises(UserError, match="NaN"):
        preprocess_model_dir(tmp_path / "nan_model", "sparse_l1", tmp_path / "out")
    assert not (tmp_path / "out").exists()
