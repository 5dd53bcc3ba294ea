"""Neural potentials: undoing a known shaping, the stopping rule, in-episode smoothness, saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from reward_preprocessing.envs.maze import LAYOUTS, build_tabular_model, env_id
from reward_preprocessing.errors import UserError, one_line
from reward_preprocessing.preprocessing.neural import consecutive_pairs, fit_potential
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.potentials import LinearPotential, MLPPotential, build_potential
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet
from reward_preprocessing.rewards.tabular import TabularRewardNet

GAMMA = 0.99
SHAPING_WEIGHTS = np.array([2.0, -1.0])


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These tensors are tiny: intra-op threads only add overhead (and seconds on a busy machine)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)


def random_walks(episodes: int = 10, length: int = 20, seed: int = 0) -> dict[str, np.ndarray]:
    """2-d random walks with a rare sparse reward, plus linear shaping phi(s) = w . s on top."""
    rng = np.random.default_rng(seed)
    positions = np.cumsum(rng.normal(0.0, 0.3, size=(episodes, length + 1, 2)), axis=1)
    obs = positions[:, :-1].reshape(-1, 2).astype(np.float32)
    next_obs = positions[:, 1:].reshape(-1, 2).astype(np.float32)
    base = (rng.random(episodes * length) < 0.05).astype(np.float64)
    shaped = base + GAMMA * next_obs @ SHAPING_WEIGHTS - obs @ SHAPING_WEIGHTS
    return {"obs": obs, "next_obs": next_obs, "base": base, "reward": shaped,
            "episode_ids": np.repeat(np.arange(episodes), length)}


def linear(seed: int = 0) -> LinearPotential:
    return build_potential({"kind": "linear", "kwargs": {"obs_dim": 2}}, seed=seed)  # type: ignore[return-value]


@pytest.mark.parametrize("objective", ["sparse_l1", "smooth_log"])
def test_linear_potential_removes_linear_shaping(objective):
    data = random_walks()
    potential = linear()
    result = fit_potential(
        data["obs"], data["next_obs"], data["reward"], data["episode_ids"], objective, potential, GAMMA,
        lr=0.02, max_epochs=300, tol=1e-3, patience=5, progress=False,
    )
    assert result.value_after < 0.3 * result.value_before
    assert result.value_after == min([result.value_initial, *result.history])
    # The learned potential is minus the shaping potential (up to a constant absorbed by c).
    np.testing.assert_allclose(potential.linear.weight.detach().numpy()[0], -SHAPING_WEIGHTS, atol=0.15)
    assert result.converged and result.stopped_by == "patience" and result.epochs < 300
    assert len(result.history) == result.epochs
    with th.no_grad():
        phi = potential(th.as_tensor(data["obs"])).double().numpy()
        phi_next = potential(th.as_tensor(data["next_obs"])).double().numpy()
    preprocessed = data["reward"] + GAMMA * phi_next - phi - result.shift
    if objective.startswith("smooth"):  # c is free; it centres r' on its median
        assert abs(np.median(preprocessed)) < 1e-6
    else:  # the sparse base reward is recovered: mostly zeros
        assert np.median(np.abs(preprocessed)) < 0.05


def test_stops_after_patience_when_nothing_improves():
    data = random_walks(episodes=3, length=5)
    potential = linear()
    with th.no_grad():
        for p in potential.parameters():
            p.zero_()
    zeros = np.zeros(len(data["obs"]))
    result = fit_potential(
        data["obs"], data["next_obs"], zeros, data["episode_ids"], "sparse_l1", potential, GAMMA,
        max_epochs=1000, patience=4, progress=False,
    )
    assert (result.epochs, result.stopped_by, result.converged) == (4, "patience", True)
    assert result.value_after == 0.0


def test_deterministic_given_seed():
    data = random_walks(episodes=4, length=10)
    runs = []
    for _ in range(2):
        potential = linear(seed=3)
        result = fit_potential(
            data["obs"], data["next_obs"], data["reward"], data["episode_ids"], "smooth_l1", potential, GAMMA,
            max_epochs=5, seed=7, progress=False,
        )
        runs.append((result.history, result.shift, potential.linear.weight.detach().numpy().tobytes()))
    assert runs[0] == runs[1]


def test_consecutive_pairs_stay_inside_episodes():
    np.testing.assert_array_equal(consecutive_pairs(np.array([0, 0, 0, 1, 1, 2])), [[0, 1], [1, 2], [3, 4]])
    with pytest.raises(UserError, match="not contiguous"):
        consecutive_pairs(np.array([0, 1, 0]))


def test_smoothness_never_compares_across_episodes():
    # The reward is constant within each episode but jumps between episodes: perfectly smooth along
    # trajectories, so the smooth objective is exactly zero before any fitting.
    data = random_walks(episodes=5, length=8)
    per_episode = np.repeat(np.arange(5) * 10.0, 8)
    result = fit_potential(
        data["obs"], data["next_obs"], per_episode, data["episode_ids"], "smooth_l1", linear(), GAMMA,
        max_epochs=1, progress=False,
    )
    assert result.value_before == 0.0


def test_fixed_potential_fits_only_the_shift():
    data = random_walks(episodes=5, length=20)
    critic = th.nn.Sequential(th.nn.Linear(2, 8), th.nn.Tanh(), th.nn.Linear(8, 1))
    with th.no_grad():
        phi = critic(th.as_tensor(data["obs"])).squeeze(-1).double().numpy()
        phi_next = critic(th.as_tensor(data["next_obs"])).squeeze(-1).double().numpy()
    reward = 3.0 - (GAMMA * phi_next - phi)  # undone exactly by the critic itself
    before = {k: v.clone() for k, v in critic.state_dict().items()}
    result = fit_potential(
        data["obs"], data["next_obs"], reward, data["episode_ids"], "sparse_l1", critic, GAMMA,
        train_potential=False, lr=0.05, max_epochs=200, patience=5, progress=False,
    )
    assert all(th.equal(before[k], v) for k, v in critic.state_dict().items())
    assert result.shift == pytest.approx(3.0, abs=0.05)
    assert result.value_after < 0.05


def test_bad_input():
    data = random_walks(episodes=2, length=3)
    args = (data["obs"], data["next_obs"])
    with pytest.raises(UserError, match="NaN"):
        fit_potential(*args, np.full(6, np.nan), data["episode_ids"], "sparse_l1", linear(), GAMMA)
    with pytest.raises(UserError, match="unknown objective"):
        fit_potential(*args, data["reward"], data["episode_ids"], "dense", linear(), GAMMA)
    with pytest.raises(UserError, match="unknown potential kind"):
        build_potential({"kind": "no_such_kind"})


@pytest.mark.parametrize("kwargs", [
    {"obs_dim": 2, "hidden_sizes": [10**30]},  # found by the loader fuzzing: torch's overflow error is many lines
    {"obs_dim": 10**30, "hidden_sizes": [8]},
    {"obs_dim": 2, "hidden_sizes": [8, 2.5]},
    {"obs_dim": 2, "hidden_sizes": [True]},
    {"obs_dim": 2, "hidden_sizes": [np.True_]},
])
@pytest.mark.parametrize("kind", ["mlp", "critic"])
def test_potential_widths_are_checked_in_one_line(kind, kwargs):
    """A spec asking for an impossible layer fails with one line naming the widths, before torch sees it."""
    with pytest.raises(UserError) as caught:
        build_potential({"kind": kind, "kwargs": kwargs})
    assert "\n" not in str(caught.value) and "layer widths" in str(caught.value)


def test_potential_widths_accept_numpy_integers():
    potential = build_potential({"kind": "mlp", "kwargs": {"obs_dim": np.int64(3), "hidden_sizes": [np.int32(4)]}})
    assert potential(th.zeros(2, 3)).shape == (2,)


def test_wrapped_errors_are_one_line():
    """torch's C++ frames are dropped; a Python message's other lines are kept, joined."""
    torch_error = ValueError("Overflow when unpacking long long\nException raised from unpack at x.cpp:12 (most "
                             "recent call first):\nframe #0: c10::Error::Error() + 0x9d\nframe #1: f()")
    assert one_line(torch_error) == "Overflow when unpacking long long"
    assert one_line(RuntimeError("Error(s) in loading state_dict:\n\tMissing key(s): 'a',  'b'.")) == (
        "Error(s) in loading state_dict: Missing key(s): 'a', 'b'.")
    assert one_line(ValueError("")) == ""


def test_mlp_default_is_four_by_128():
    mlp = MLPPotential(obs_dim=3)
    assert mlp.spec() == {"kind": "mlp", "kwargs": {"obs_dim": 3, "hidden_sizes": [128, 128, 128, 128]}}
    assert mlp(th.zeros(5, 3)).shape == (5,)


def test_preprocessed_reward_net_save_load_round_trip(tmp_path):
    model = build_tabular_model(LAYOUTS["EmptyMaze4"], "goal", "dense", GAMMA)
    obs_space, act_space = spaces.Discrete(model.num_states), spaces.Discrete(model.num_actions)
    base = TabularRewardNet.from_transitions(model.reward, model.next_state, obs_space, act_space)
    potential = build_potential({"kind": "mlp", "kwargs": {"obs_dim": model.num_states, "hidden_sizes": [8]}}, seed=1)
    net = PreprocessedRewardNet.from_parts(base, potential, GAMMA, shift=0.25)
    # Nest once more: a preprocessed net is itself a valid base.
    outer = PreprocessedRewardNet.from_parts(net, linear_on(model.num_states), GAMMA, shift=-1.0)
    save_reward_net(outer, tmp_path / "model", env_id("EmptyMaze4"))
    loaded = load_reward_net(tmp_path / "model")
    assert isinstance(loaded, PreprocessedRewardNet) and isinstance(loaded.base, PreprocessedRewardNet)

    states, actions, next_states = model.transitions()
    dones = np.zeros(len(states), dtype=bool)
    dones[::7] = True
    np.testing.assert_array_equal(
        loaded.predict(states, actions, next_states, dones), outer.predict(states, actions, next_states, dones)
    )
    # And the value is the formula: base + gamma * (1 - done) * phi(s') - phi(s) - c, twice.
    onehot = th.eye(model.num_states)
    with th.no_grad():
        phi_in = potential(onehot).numpy().astype(np.float64)
        phi_out = outer.potential(onehot).numpy().astype(np.float64)
    keep = 1.0 - dones
    expected = model.reward.reshape(-1) + GAMMA * keep * phi_in[next_states] - phi_in[states] - 0.25
    expected = expected + GAMMA * keep * phi_out[next_states] - phi_out[states] + 1.0
    np.testing.assert_allclose(loaded.predict(states, actions, next_states, dones), expected, atol=1e-5)


def linear_on(obs_dim: int) -> LinearPotential:
    return build_potential({"kind": "linear", "kwargs": {"obs_dim": obs_dim}}, seed=2)  # type: ignore[return-value]
