"""Interpretation of image reward models (issue 10): NMF, integrated gradients, visualization, dataset examples."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from hypothesis import given, settings
from hypothesis import strategies as st
from imitation.rewards.reward_nets import RewardNet
from interpret_helpers import (
    N_ACTIONS,
    SIZE,
    random_trajectories,
    save_imitation_rollouts,
    save_procgen_npz,
    tiny_net,
)

from reward_preprocessing.data.image_rollouts import ImageRolloutWriter
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import UserError
from reward_preprocessing.interpret.attribution import attribute, integrated_gradients
from reward_preprocessing.interpret.dataset import (
    Transitions,
    feature_peaks,
    layer_activations,
    load_transitions,
    top_examples,
)
from reward_preprocessing.interpret.features import nmf_features, unit_features
from reward_preprocessing.interpret.layers import LayerInfo, is_action_heads, list_layers, output_layer, resolve_layer
from reward_preprocessing.interpret.nmf import channels_last_rows, check_n_features, fit_nmf
from reward_preprocessing.interpret.transitions import (
    ImageLayout,
    TransitionModel,
    image_layout,
    read_action,
    transition_tensor,
    transitions_from_arrays,
)
from reward_preprocessing.interpret.visualize import Transforms, feature_values, visualize


def tiny_model(seed: int = 0, hid: int = 4) -> TransitionModel:
    net = tiny_net(seed, hid=hid)
    return TransitionModel(net, image_layout(net)).eval()


# --- transitions --------------------------------------------------------------------------------------------------


def test_transition_tensor_reproduces_the_nets_reward() -> None:
    """The 21-channel-style wrapper gives exactly the net's own reward on stored (uint8) transitions."""
    model = tiny_model()
    traj = random_trajectories(1, 6)[0]
    x = transitions_from_arrays(traj.obs[:-1], traj.acts, traj.obs[1:], model.layout)
    assert x.shape == (6, 2 * 3 + N_ACTIONS, SIZE, SIZE)
    expected = model.net.predict(traj.obs[:-1], traj.acts, traj.obs[1:], np.zeros(6, dtype=bool))
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    actions, probs = read_action(x, model.layout)
    np.testing.assert_array_equal(actions, traj.acts)
    np.testing.assert_allclose(probs, 1.0)


# --- layers -------------------------------------------------------------------------------------------------------


def test_layers_listed_with_shapes_and_unknown_layer_lists_valid_ones() -> None:
    model = tiny_model()
    layers = {info.name: info.shape for info in list_layers(model)}
    assert layers["cnn.conv0"] == (4, SIZE, SIZE)
    assert layers["cnn.dense_final"] == (N_ACTIONS,)
    assert resolve_layer(model, "")[0] == "cnn.dense_final"
    with pytest.raises(UserError, match=r"no layer 'cnn.nope'.*valid layers: .*cnn\.conv0.*cnn\.dense_final"):
        resolve_layer(model, "cnn.nope")


# --- NMF ----------------------------------------------------------------------------------------------------------


def test_output_layer_is_the_per_action_heads_even_before_a_potential() -> None:
    """A shaped net runs its potential after its reward heads: the default layer is still the heads."""
    layers = [LayerInfo("base.conv", "Conv2d", (15, 4, 4), True), LayerInfo("base.dense", "Linear", (15,), True),
              LayerInfo("base", "CnnRewardNet", (), False), LayerInfo("pot.dense", "Linear", (1,), True),
              LayerInfo("pot.squeeze", "SqueezeLayer", (), True), LayerInfo("net", "ShapedRewardNet", (), False)]
    assert output_layer(layers, 15) == "base.dense"
    assert is_action_heads(layers[1], layers, 15)
    assert not is_action_heads(layers[0], layers, 15)  # 15 channels of a conv map are not the 15 actions
    assert output_layer(layers, 4) == "pot.squeeze" and not is_action_heads(layers[4], layers, 4)  # no heads


def test_channels_last_rows_keep_each_position_together() -> None:
    acts = np.arange(2 * 3 * 4 * 5, dtype=float).reshape(2, 3, 4, 5)
    rows = channels_last_rows(acts)
    assert rows.shape == (2 * 4 * 5, 3)
    np.testing.assert_array_equal(rows[1 * 20 + 2 * 5 + 3], acts[1, :, 2, 3])


def _best_match(found: np.ndarray, truth: np.ndarray) -> np.ndarray:
    truth = truth / np.linalg.norm(truth, axis=1, keepdims=True)
    return (found @ truth.T).max(axis=0)  # for every true factor, the best cosine among the found ones


def test_nmf_recovers_known_channel_factors() -> None:
    """Activations (N, C, H, W) made of 3 sparse channel patterns at random positions: NMF finds the patterns."""
    rng = np.random.default_rng(0)
    n, c, h, w, k = 40, 12, 6, 6, 3
    factors = np.zeros((k, c))
    for i in range(k):
        factors[i, rng.choice(c, 4, replace=False)] = rng.uniform(0.5, 2.0, 4)
    weights = rng.exponential(1.0, (n, h, w, k)) * (rng.random((n, h, w, k)) < 0.3)
    acts = np.einsum("nhwk,kc->nchw", weights, factors)
    result = fit_nmf(acts, k, seed=0)
    assert _best_match(result.directions, factors).min() > 0.99
    assert result.relative_error < 0.01
    sampled = fit_nmf(acts, k, seed=0, max_rows=500)  # positions sampled straight from (N, C, H, W)
    assert sampled.rows == 500 and _best_match(sampled.directions, factors).min() > 0.99
    # The reference's reshape without moving channels last mixes positions and channels: it must not recover them.
    wrong = fit_nmf(np.ascontiguousarray(acts.reshape(-1, c))[:, :, None, None], k, seed=0)
    assert _best_match(wrong.directions, factors).min() < 0.9


def test_too_many_nmf_features_is_one_clear_error() -> None:
    with pytest.raises(UserError, match="asked for 9 NMF features of layer 'cnn.act0', which has only 4 channels"):
        check_n_features(9, 4, "cnn.act0")
    check_n_features(8, 4, "cnn.act0", "posneg")  # split activations have twice the columns
    with pytest.raises(UserError, match=r"only 4 channels \(8 columns after the positive/negative split\)"):
        check_n_features(9, 4, "cnn.act0", "posneg")


# --- integrated gradients -----------------------------------------------------------------------------------------


def test_integrated_gradients_of_a_linear_function_is_analytic() -> None:
    gen = th.Generator().manual_seed(0)
    weight = th.randn(1, 3, 5, 5, generator=gen)
    x, baseline = th.randn(1, 3, 5, 5, generator=gen), th.randn(1, 3, 5, 5, generator=gen)
    result = integrated_gradients(lambda z: (z * weight).sum(dim=(1, 2, 3)), x, baseline, steps=3)
    th.testing.assert_close(result.values, ((x - baseline) * weight)[0])
    assert result.completeness_error < 1e-4


def test_integrated_gradients_recomputes_the_gradient_along_the_path() -> None:
    """f = Σ x²: IG against 0 is exactly x² (one gradient reused for every α would give 2x²·α)."""
    x = th.linspace(-2, 2, 12).reshape(1, 12)
    result = integrated_gradients(lambda z: z.pow(2).sum(dim=1), x, th.zeros_like(x), steps=8)
    th.testing.assert_close(result.values, x[0] ** 2)


class LinearImageReward(RewardNet):
    """r = Σ w_obs·obs + Σ w_next·next_obs + b[a], on [0, 1] float HWC images: its attribution is known."""

    def __init__(self) -> None:
        super().__init__(spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8), spaces.Discrete(N_ACTIONS))
        gen = th.Generator().manual_seed(1)
        self.w_obs = th.nn.Parameter(th.randn(SIZE, SIZE, 3, generator=gen))
        self.w_next = th.nn.Parameter(th.randn(SIZE, SIZE, 3, generator=gen))
        self.bias = th.nn.Parameter(th.randn(N_ACTIONS, generator=gen))

    def forward(self, state, action, next_state, done):  # type: ignore[no-untyped-def]
        return (state * self.w_obs).sum(dim=(1, 2, 3)) + (next_state * self.w_next).sum(dim=(1, 2, 3)) + (
            action * self.bias).sum(dim=1)


def test_input_attribution_matches_a_linear_reward_model() -> None:
    net = LinearImageReward()
    model = TransitionModel(net, image_layout(net))
    gen = th.Generator().manual_seed(2)
    obs, nxt = th.rand(1, 3, SIZE, SIZE, generator=gen), th.rand(1, 3, SIZE, SIZE, generator=gen)
    x = transition_tensor(obs, th.nn.functional.one_hot(th.tensor([2]), N_ACTIONS).float(), nxt)
    baseline = th.full((1, 3, SIZE, SIZE), 0.5)
    result = attribute(model, x, baseline, steps=4)
    chw = lambda w: w.detach().permute(2, 0, 1)  # noqa: E731
    th.testing.assert_close(result.values[:3], ((obs - 0.5)[0] * chw(net.w_obs)))
    th.testing.assert_close(result.values[3 + N_ACTIONS :], ((nxt - 0.5)[0] * chw(net.w_next)))
    assert float(result.values[3 : 3 + N_ACTIONS].abs().sum()) == 0.0  # the action is not attributed
    assert result.completeness_error < 1e-4


@pytest.mark.parametrize("layer", [None, "cnn.conv0", "cnn.act0"])
def test_attribution_is_complete_on_a_cnn(layer: str | None) -> None:
    """Σ IG = f(x) − f(baseline) within 1% on a ReLU CNN, from the input and from inner layers."""
    model = tiny_model(seed=3)
    traj = random_trajectories(1, 1, seed=4)[0]
    x = transitions_from_arrays(traj.obs[:-1], traj.acts, traj.obs[1:], model.layout)
    module = resolve_layer(model, layer)[1] if layer else None
    result = attribute(model, x, th.zeros(1, 3, SIZE, SIZE), steps=256, layer=module)
    delta = result.f_input - result.f_baseline
    assert abs(delta) > 1e-3
    assert result.completeness_error <= 0.01 * abs(delta)
    assert abs(result.f_input - float(model(x).detach()[0])) < 1e-5


# --- feature visualization ----------------------------------------------------------------------------------------


def _random_inputs(model: TransitionModel, n: int = 256) -> th.Tensor:
    gen = th.Generator().manual_seed(5)
    obs, nxt = th.rand(n, 3, SIZE, SIZE, generator=gen), th.rand(n, 3, SIZE, SIZE, generator=gen)
    acts = th.randint(0, N_ACTIONS, (n,), generator=gen)
    return transition_tensor(obs, th.nn.functional.one_hot(acts, N_ACTIONS).float(), nxt)


def test_visualization_raises_each_output_head_far_above_random_inputs() -> None:
    model = tiny_model(seed=6, hid=8)
    name, layer, info = resolve_layer(model, "")
    features = unit_features(name, info.shape[0], [f"a{i}" for i in range(N_ACTIONS)])
    vis = visualize(model, layer, features, range(N_ACTIONS), steps=150, lr=0.1, transforms=Transforms(jitter=2),
                    seed=0, progress=False)
    random_x = _random_inputs(model)
    for f in range(N_ACTIONS):
        with th.no_grad():
            rand = feature_values(model, layer, features, random_x, th.full((len(random_x),), f)).numpy()
        assert vis.activation[f] > rand.max()
        assert vis.activation[f] > rand.mean() + 3 * rand.std()
    assert not vis.action_moved.any()  # a per-action head does not read the action input


def test_nmf_direction_objective_is_what_is_optimized() -> None:
    """With NMF features, the optimized quantity is the activation projected on the chosen direction."""
    model = tiny_model(seed=7, hid=8)
    name, layer, _ = resolve_layer(model, "cnn.act0")
    data = _as_transitions(random_trajectories(2, 20, seed=8))
    acts, _ = layer_activations(model, layer, data)
    directions = fit_nmf(acts, 3, seed=0).directions
    features = nmf_features(name, directions, "relu")
    vis = visualize(model, layer, features, [0, 1, 2], steps=100, lr=0.1, transforms=Transforms(jitter=2), seed=0,
                    progress=False)
    with th.no_grad():
        _, store = _capture(model, layer, vis.transitions)
    # Independent computation: project the ReLU'd activation on each unit direction, averaged over positions.
    projections = np.einsum("bchw,kc->bkhw", np.maximum(store, 0), directions).mean(axis=(2, 3))
    np.testing.assert_allclose(vis.activation, np.diag(projections), rtol=1e-4)
    assert (vis.activation > vis.start_activation + 0.1).all()
    # Each transition is best at its own direction relative to the others' targets.
    for k in range(3):
        others = [j for j in range(3) if j != k]
        assert projections[k, k] > projections[others, k].max()


def _capture(model: TransitionModel, layer: th.nn.Module, x: th.Tensor) -> tuple[th.Tensor, np.ndarray]:
    from reward_preprocessing.interpret.layers import capture

    with capture(layer) as store:
        out = model(x)
    return out, store["output"].numpy()


def test_visualization_is_deterministic_and_dataset_mode_starts_at_the_example() -> None:
    model = tiny_model(seed=9)
    name, layer, info = resolve_layer(model, "")
    features = unit_features(name, info.shape[0], [f"a{i}" for i in range(N_ACTIONS)])
    kwargs = dict(steps=5, lr=0.05, transforms=Transforms(jitter=3, scales=(0.9, 1.1), rotate_degrees=(-5.0, 5.0)),
                  seed=1, progress=False)
    a = visualize(model, layer, features, [0, 1], **kwargs)
    b = visualize(model, layer, features, [0, 1], **kwargs)
    assert th.equal(a.transitions, b.transitions)
    start = _random_inputs(model, 2)
    zero_steps = visualize(model, layer, features, [0, 1], start=start, l2_weight=0.3,
                           **{**kwargs, "steps": 0})
    th.testing.assert_close(zero_steps.transitions, start, atol=2e-3, rtol=0)


# --- dataset examples ---------------------------------------------------------------------------------------------


def _as_transitions(trajs: list) -> Transitions:
    batch = TransitionBatch.from_trajectories(trajs)
    return Transitions(batch.obs, batch.acts, batch.next_obs, np.arange(len(batch)))


def test_dataset_examples_are_the_true_arg_maxima() -> None:
    model = tiny_model(seed=10)
    name, layer, info = resolve_layer(model, "cnn.conv0")
    features = unit_features(name, info.shape[0], [])
    data = _as_transitions(random_trajectories(3, 15, seed=11))
    acts, rewards = layer_activations(model, layer, data, batch_size=7)
    examples = top_examples(feature_peaks(features, acts, batch_size=5), data, rewards, 3, (SIZE, SIZE))
    for f in range(len(features)):
        # Brute force: every transition on its own, every position.
        values, own_rewards = [], []
        for i in range(len(data)):
            x = transitions_from_arrays(data.obs[i : i + 1], data.acts[i : i + 1], data.next_obs[i : i + 1],
                                        model.layout)
            with th.no_grad():
                out, acts_i = _capture(model, layer, x)
            values.append(acts_i[0, f])
            own_rewards.append(float(out[0]))
        values = np.stack(values)
        best = np.argsort(-values.reshape(len(data), -1).max(axis=1), kind="stable")[:3]
        assert [ex.row for ex in examples[f]] == best.tolist()
        y, x_ = np.unravel_index(values[best[0]].argmax(), values[best[0]].shape)
        assert examples[f][0].position == (y + 0.5, x_ + 0.5)
        assert examples[f][0].value == pytest.approx(values[best[0]].max(), rel=1e-5)
        assert examples[f][0].reward == pytest.approx(own_rewards[best[0]], rel=1e-5)


def _layout(size: int, n_actions: int = 15) -> ImageLayout:
    return ImageLayout(size, size, 3, False, n_actions, 0.0, 1.0, 0.0, 255.0)


@settings(deadline=None, max_examples=25)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(1, 30), st.booleans(), st.booleans())
def test_rollouts_read_through_the_project_readers_pair_frames_like_imitation(
        lengths: list[int], n: int, as_npz: bool, compress: bool) -> None:
    """A train-procgen .npz (plain or compressed) and an image rollout directory give the same transitions."""
    import tempfile
    from pathlib import Path

    rng = np.random.default_rng(sum(lengths))
    obs = [rng.integers(0, 256, (k + 1, 2, 2, 3), dtype=np.uint8) for k in lengths]
    acts = [rng.integers(0, 15, k) for k in lengths]
    with tempfile.TemporaryDirectory() as tmp:
        if as_npz:
            path = Path(tmp) / "t.npz"
            save = np.savez_compressed if compress else np.savez
            save(path, obs=np.concatenate(obs), acts=np.concatenate(acts).astype(np.int8),
                 rews=np.zeros(sum(lengths), np.float32), terminal=np.ones(len(lengths), bool),
                 indices=np.cumsum(lengths)[:-1])
        else:
            path = Path(tmp) / "r"
            path.mkdir()
            writer = ImageRolloutWriter(path, (2, 2, 3), shard_frames=3)
            for o, a in zip(obs, acts, strict=True):
                writer.add(o, a, np.zeros(len(a), np.float32), True)
            writer.close({})
        data = load_transitions(path, _layout(2), n)
    index = np.unique(np.linspace(0, sum(lengths) - 1, num=min(n, sum(lengths))).round().astype(np.int64))
    np.testing.assert_array_equal(data.index, index)
    np.testing.assert_array_equal(data.obs, np.concatenate([o[:-1] for o in obs])[index])
    np.testing.assert_array_equal(data.next_obs, np.concatenate([o[1:] for o in obs])[index])
    np.testing.assert_array_equal(data.acts, np.concatenate(acts)[index])


def test_npz_and_imitation_fixtures_read_alike(tmp_path) -> None:  # type: ignore[no-untyped-def]
    layout = _layout(SIZE, N_ACTIONS)
    from_npz = load_transitions(save_procgen_npz(tmp_path / "r.npz"), layout, 100)
    from_dir = load_transitions(save_imitation_rollouts(tmp_path / "r"), layout, 100)
    assert from_npz.obs.shape == (30, SIZE, SIZE, 3)
    for name in ("obs", "acts", "next_obs", "index"):
        np.testing.assert_array_equal(getattr(from_npz, name), getattr(from_dir, name))


def test_rollouts_that_do_not_fit_are_refused_in_one_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = save_procgen_npz(tmp_path / "r.npz")
    with pytest.raises(UserError, match=r"actions 0\.\.3 do not fit the model's 2 actions"):
        load_transitions(path, _layout(SIZE, 2), 10)
    with pytest.raises(UserError, match=r"expected \(6, 6, 3\)"):
        load_transitions(save_imitation_rollouts(tmp_path / "r"), _layout(6, N_ACTIONS), 10)


def test_coinrun_models_are_labelled_with_procgens_action_names() -> None:
    from reward_preprocessing.envs import procgen
    from reward_preprocessing.interpret.run import env_action_names

    names = env_action_names({"env": {"id": procgen.ENV_ID}}, len(procgen.ACTION_NAMES))
    assert names[:3] == ["LEFT+DOWN", "LEFT", "LEFT+UP"] and names == list(procgen.ACTION_NAMES) and len(names) == 15
    assert env_action_names({"env": {"id": procgen.ENV_ID}}, 4) == []  # names that do not fit are ignored
    assert env_action_names({"env": {"id": "Other-v0"}}, 15) == []
    assert env_action_names({}, 15) == []
