"""Neural preprocessing of MountainCar rewards over rollouts: potentials lower the objective; artifacts load back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch as th

from reward_preprocessing.data.rollouts import RolloutSource, collect_rollouts, load_rollouts, save_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.envs.maze import env_id as maze_env_id
from reward_preprocessing.envs.mountain_car import ENV_ID
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.sb3 import ExpertSettings, train_sb3_expert
from reward_preprocessing.experts.store import save_expert
from reward_preprocessing.preprocessing.neural_run import (
    FitSettings,
    NeuralPreprocessSettings,
    make_potential,
    preprocess_neural_model_dir,
)
from reward_preprocessing.preprocessing.objectives import objective_value
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net
from reward_preprocessing.rewards.potentials import BoxMLPPotential
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Random-policy rollouts (1,200 steps) and the dense-shaped ground truth, on disk."""
    root = tmp_path_factory.mktemp("neural")
    trajs = collect_rollouts(ENV_ID, {}, [RolloutSource("random")], 1200, 0, progress=False)
    save_rollouts(root / "rollouts", trajs, ENV_ID, {})
    net, kwargs = mountain_car_reward_net("dense")
    save_reward_net(net, root / "dense", ENV_ID, kwargs)
    return root


@pytest.mark.parametrize(
    ("objective", "potential", "factor"),
    # A linear potential on raw observations needs weights of ~100 to undo dense shaping: it only moves slowly.
    [("sparse_l1", "mlp_box", 0.5), ("smooth_l1", "mlp_box", 0.5), ("sparse_log", "linear", 0.99)],
)
def test_potential_lowers_the_objective(workdir, objective, potential, factor):
    fit = FitSettings(batch_size=100, lr=2e-2, max_epochs=30, patience=5, seed=0)
    out = workdir / f"pp_{objective}_{potential}"
    result = preprocess_neural_model_dir(workdir / "dense", workdir / "rollouts", objective, out,
                                         NeuralPreprocessSettings(potential=potential, hidden_sizes=[32, 32], fit=fit),
                                         progress=False)
    assert result.value_after < factor * result.value_before
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["value"] == pytest.approx(result.value_after) and metrics["potential"] == potential
    # The saved model reproduces the objective value on the same transitions.
    net = load_reward_net(out)
    assert isinstance(net, PreprocessedRewardNet)
    data = TransitionBatch.from_trajectories(load_rollouts(workdir / "rollouts"))
    pairs = np.stack([np.arange(len(data) - 1), np.arange(1, len(data))], 1)
    pairs = pairs[data.episode_ids[:-1] == data.episode_ids[1:]]
    value = objective_value(data.rewards(net), objective, pairs)
    assert value == pytest.approx(result.value_after, rel=1e-4, abs=1e-6)


@pytest.mark.slow
def test_dense_shaping_is_undone_by_sparsity(workdir):
    """The sparse optimum of -1 per step + dense shaping is ~0 everywhere: the potential absorbs both."""
    fit = FitSettings(batch_size=100, lr=1e-2, max_epochs=20, patience=5, seed=0)
    result = preprocess_neural_model_dir(workdir / "dense", workdir / "rollouts", "sparse_l1", workdir / "undo",
                                         NeuralPreprocessSettings(potential="mlp_box", hidden_sizes=[32, 32], fit=fit),
                                         progress=False)
    assert result.value_before > 0.5 and result.value_after < 0.05


def test_critic_potential_fixed_and_initial(workdir):
    th.set_num_threads(1)
    cfg = ExpertSettings(algo="dqn", total_timesteps=200, hyperparams={"learning_starts": 50, "buffer_size": 500,
                                                           "batch_size": 16}, policy_kwargs={"net_arch": [8]})
    model = train_sb3_expert(ENV_ID, {}, cfg, progress=False)[0]
    save_expert(workdir / "expert", model, ENV_ID, {}, {"algo": "dqn"}, {})
    fit = FitSettings(batch_size=100, lr=1e-2, max_epochs=3, seed=0)
    fixed = preprocess_neural_model_dir(workdir / "dense", workdir / "rollouts", "sparse_l1", workdir / "cf",
                                        NeuralPreprocessSettings(potential="critic_fixed", fit=fit),
                                        str(workdir / "expert"), progress=False)
    initial = preprocess_neural_model_dir(workdir / "dense", workdir / "rollouts", "sparse_l1", workdir / "ci",
                                          NeuralPreprocessSettings(potential="critic", fit=fit),
                                          str(workdir / "expert"), progress=False)
    assert fixed.value_after <= fixed.value_initial and initial.value_after <= initial.value_initial
    fixed_net, initial_net = load_reward_net(workdir / "cf"), load_reward_net(workdir / "ci")
    assert fixed_net.potential_spec["kind"] == "critic" == initial_net.potential_spec["kind"]


def test_potential_needs_what_it_names(workdir):
    net, _ = mountain_car_reward_net("dense")
    with pytest.raises(UserError, match="needs an SB3 expert"):
        make_potential("critic", net.observation_space, [8], 0)
    with pytest.raises(UserError, match="unknown potential 'cubic'"):
        make_potential("cubic", net.observation_space, [8], 0)
    with pytest.raises(UserError, match="rollouts were recorded in"):
        bad = workdir / "maze_rollouts"
        save_rollouts(bad, load_rollouts(workdir / "rollouts")[:1], maze_env_id("EmptyMaze4"), {})
        preprocess_neural_model_dir(workdir / "dense", bad, "sparse_l1", workdir / "never",
                                    NeuralPreprocessSettings(potential="linear"), progress=False)
    assert not (workdir / "never").exists()


def test_box_mlp_potential_round_trips_through_its_spec():
    pot = BoxMLPPotential([-1.2, -0.07], [0.6, 0.07], [4])
    spec = pot.spec()
    assert json.loads(json.dumps(spec)) == spec
    with pytest.raises(UserError, match="high > low"):
        BoxMLPPotential([0.0, 0.0], [1.0, 0.0])
