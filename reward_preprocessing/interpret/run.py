"""One interpretation run: settings, checks before any work, then features, examples, visualization, attribution.

`interpret_model` is what `scripts/interpret.py` calls; it writes into a directory the caller makes atomic.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch as th
from tqdm import tqdm

from reward_preprocessing.devices import resolve_device
from reward_preprocessing.envs.action_names import action_names
from reward_preprocessing.interpret import figures, report
from reward_preprocessing.interpret.attribution import Attribution, attribute, baseline_images
from reward_preprocessing.interpret.dataset import (
    Example,
    feature_peaks,
    layer_activations,
    load_transitions,
    tensor_of,
    top_examples,
)
from reward_preprocessing.interpret.features import FeatureSet, nmf_features, unit_features
from reward_preprocessing.interpret.layers import is_action_heads, list_layers, resolve_layer
from reward_preprocessing.interpret.nmf import Split, check_n_features, fit_nmf, nonnegative
from reward_preprocessing.interpret.transitions import (
    TransitionModel,
    action_labels,
    image_layout,
    read_action,
    split_transition,
    transition_tensor,
    unit_to_uint8,
)
from reward_preprocessing.interpret.visualize import Transforms, feature_values, visualize
from reward_preprocessing.rewards.io import load_reward_net, read_spec
from reward_preprocessing.settings import to_mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InterpretSettings:
    """Everything a run can be told; the field defaults are the only defaults (config/config.yaml overrides)."""

    layer: str = ""  # "" = the output layer: the per-action reward heads when the net has them (named by action)
    features: Literal["units", "nmf"] = "units"  # the layer's channels, or NMF directions of them
    n_features: int = 8  # NMF directions (at most the layer's channels)
    nmf_of: Literal["activations", "attributions"] = "activations"
    nmf_split: Literal["relu", "posneg"] = "relu"  # attributions are always split into positive and negative
    nmf_max_rows: int = 100_000  # positions sampled for the fit when N·H·W is larger (0: all)
    nmf_attribution_observations: int = 256  # transitions whose attributions NMF factorizes (ig_steps passes each)
    n_observations: int = 2048  # transitions read from the rollouts (evenly spaced)
    n_examples: int = 4  # dataset examples per feature
    mode: Literal["noise", "dataset"] = "noise"  # start from noise, or from the best dataset example
    l2_weight: float = 0.3  # dataset mode: L2 pull towards the starting example (reference dataset_traditional)
    steps: int = 512
    lr: float = 0.05
    jitter: int = 8  # lucent jitter (pixels); 0 or 1 turns it off
    pad: int = 0
    scales: list[float] = field(default_factory=list)  # lucent random_scale factors; empty: off
    rotate_degrees: list[float] = field(default_factory=list)  # lucent random_rotate angles; empty: off
    tv_weight: float = 0.0  # total-variation penalty
    fft: bool = True  # lucent's Fourier parameterization (else pixels)
    decorrelate: bool = True  # lucent's decorrelated colour space (3-channel images)
    ig_steps: int = 64  # integrated-gradients quadrature points
    ig_baseline: Literal["black", "grey", "mean"] = "black"
    ig_layer: str = ""  # "" = attribute to the input images, else to this layer
    ig_tolerance: float = 0.01  # completeness: |Σ IG − (f(x) − f(b))| <= tol · max(|f(x) − f(b)|, |f(x)|, |f(b)|)
    action_names: list[str] = field(default_factory=list)  # empty: from the model's env, else "action i"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "n_observations", "n_examples", "ig_steps", "n_features", "nmf_attribution_observations"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.lr <= 0 or self.l2_weight < 0 or self.tv_weight < 0 or self.ig_tolerance <= 0:
            raise ValueError("lr and ig_tolerance must be positive; l2_weight and tv_weight non-negative")


def env_action_names(spec: dict[str, Any], n_actions: int) -> list[str]:
    """Action names of the env a model was trained in (`envs.action_names`), when there are `n_actions` of them."""
    names = list(action_names((spec.get("env") or {}).get("id")))
    return names if len(names) == n_actions else []


def _nmf_split(settings: InterpretSettings) -> Split:
    """Attributions are signed, so they are always split into positive and negative parts."""
    return "posneg" if settings.nmf_of == "attributions" else settings.nmf_split


@dataclass
class Prepared:
    """A run's inputs, all checked: built before any expensive work so that bad input fails fast."""

    model: TransitionModel
    layer_name: str
    layer: th.nn.Module
    channels: int
    ig_layer: th.nn.Module | None
    names: list[str]
    spec: dict[str, Any]
    heads: bool  # the layer is the output layer with one unit per action: its units are named by the actions


def prepare(model_dir: str | os.PathLike, settings: InterpretSettings) -> Prepared:
    """Load the model and resolve everything the settings name; raises `UserError` on bad input."""
    device = resolve_device(settings.device)
    spec = read_spec(model_dir)
    net = load_reward_net(model_dir)
    layout = image_layout(net)
    model = TransitionModel(net, layout).to(device).eval()
    layer_name, layer, info = resolve_layer(model, settings.layer)
    channels = info.shape[0] if info.shape else 1
    if settings.features == "nmf":
        check_n_features(settings.n_features, channels, layer_name, _nmf_split(settings))
    ig_layer = resolve_layer(model, settings.ig_layer)[1] if settings.ig_layer else None
    names = action_labels(layout.n_actions, settings.action_names or env_action_names(spec, layout.n_actions))
    # Only the output layer's units are per-action rewards; a hidden layer that happens to have A channels is not.
    heads = is_action_heads(info, list_layers(model), layout.n_actions)
    return Prepared(model, layer_name, layer, channels, ig_layer, names, spec, heads)


def _attributions_at_layer(p: Prepared, x_all: th.Tensor, settings: InterpretSettings, progress: bool
                           ) -> np.ndarray:
    """(N, C, H, W) integrated gradients of every transition's reward at the NMF layer."""
    out = []
    base = baseline_images(settings.ig_baseline, x_all, p.model.layout.channels, _mean_images(x_all, p))
    for i in tqdm(range(len(x_all)), desc="attributions for NMF", disable=not progress):
        out.append(attribute(p.model, x_all[i : i + 1], base, settings.ig_steps, p.layer).values.cpu().numpy())
    return np.stack(out)


def _mean_images(x_all: th.Tensor, p: Prepared) -> th.Tensor:
    obs, _, next_obs = split_transition(x_all, p.model.layout)
    return th.cat([obs, next_obs]).mean(dim=0, keepdim=True)


def _quantized(x: th.Tensor, actions: np.ndarray, p: Prepared) -> th.Tensor:
    """The transition as it is saved and shown: images rounded to 8 bits, the action one-hot."""
    obs, _, next_obs = split_transition(x, p.model.layout)
    one_hot = th.nn.functional.one_hot(th.as_tensor(actions, device=x.device), p.model.layout.n_actions)
    return transition_tensor((obs * 255).round() / 255, one_hot.float(), (next_obs * 255).round() / 255)


def _attribution_record(a: Attribution, tol: float) -> dict[str, Any]:
    # Relative to the larger of the attributed difference and the reward itself: a near-zero f(x) − f(b) must not
    # demand an absolute precision the quadrature of a piecewise-linear net cannot give.
    allowed = tol * max(abs(a.f_input - a.f_baseline), abs(a.f_input), abs(a.f_baseline), 1e-6)
    return {"reward": a.f_input, "baseline_reward": a.f_baseline, "sum": a.total,
            "completeness_error": a.completeness_error, "completeness_tolerance": allowed,
            "complete": a.completeness_error <= allowed}


def _overlays(p: Prepared, a: Attribution, obs_u8: np.ndarray, next_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = a.values.detach().cpu().numpy()
    if p.ig_layer is None:
        c, n_act = p.model.layout.channels, p.model.layout.n_actions
        m_obs, m_next = values[:c].sum(axis=0), values[c + n_act :].sum(axis=0)
    else:
        m_obs = m_next = values.sum(axis=0)
    scale = float(max(np.abs(m_obs).max(), np.abs(m_next).max(), 1e-12))
    return figures.overlay(obs_u8, m_obs, scale), figures.overlay(next_u8, m_next, scale)


def interpret_model(
    model_dir: str | os.PathLike, rollouts: str | os.PathLike, out_dir: str | os.PathLike,
    settings: InterpretSettings, title: str = "", progress: bool = True, timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Run everything and write overview.png, features/*.png, features.json and report.html into `out_dir`.

    Returns the features.json document; `timings`, when given, receives the seconds of each phase (kept out of
    the artifacts, which must not change between identical runs).
    """
    t0 = time.perf_counter()
    p = prepare(model_dir, settings)
    layout, model = p.model.layout, p.model
    data = load_transitions(rollouts, layout, settings.n_observations)
    device = next(model.parameters()).device
    th.manual_seed(settings.seed)

    activations, rewards = layer_activations(model, p.layer, data)
    nmf_info: dict[str, Any] | None = None
    if settings.features == "nmf":
        split = _nmf_split(settings)
        if settings.nmf_of == "attributions":
            rows = np.arange(min(len(data), settings.nmf_attribution_observations))
            source = _attributions_at_layer(p, tensor_of(data, layout, rows).to(device), settings, progress)
        else:
            source = activations
        result = fit_nmf(nonnegative(th.as_tensor(source), split).numpy(), settings.n_features, settings.seed,
                         settings.nmf_max_rows)
        features: FeatureSet = nmf_features(p.layer_name, result.directions, split)
        nmf_info = {"of": settings.nmf_of, "split": split, "rows": result.rows,
                    "relative_error": result.relative_error, "directions": result.directions.tolist()}
    else:
        features = unit_features(p.layer_name, p.channels, p.names if p.heads else [])
    log.info("%d features of layer %s (%s) from %d transitions", len(features), p.layer_name, features.kind,
             len(data))
    peaks = feature_peaks(features, activations)
    examples = top_examples(peaks, data, rewards, settings.n_examples, (layout.height, layout.width))

    which = list(range(len(features)))
    start = None
    if settings.mode == "dataset":
        start = tensor_of(data, layout, np.array([ex[0].row for ex in examples])).to(device)
    t_vis = time.perf_counter()
    vis = visualize(
        model, p.layer, features, which, steps=settings.steps, lr=settings.lr,
        transforms=Transforms(settings.pad, settings.jitter, tuple(settings.scales), tuple(settings.rotate_degrees)),
        l2_weight=settings.l2_weight if settings.mode == "dataset" else 0.0, tv_weight=settings.tv_weight,
        fft=settings.fft, decorrelate=settings.decorrelate, start=start, seed=settings.seed, progress=progress,
    )
    t_after_vis = time.perf_counter()

    best_action, best_prob = read_action(vis.transitions, layout)
    with th.no_grad():
        by_action = model.rewards_by_action(_quantized(vis.transitions, best_action, p)).cpu().numpy()
    used, source_of_action = [], []
    for f in which:
        if vis.action_moved[f]:
            used.append(int(best_action[f])), source_of_action.append("optimized")
        elif features.actions[f] is not None:
            used.append(int(features.actions[f])), source_of_action.append("feature")
        elif settings.mode == "dataset":
            used.append(int(best_action[f])), source_of_action.append("dataset example")
        else:
            used.append(int(by_action[f].argmax())), source_of_action.append("highest reward")
    shown = _quantized(vis.transitions, np.array(used), p)
    with th.no_grad():
        reached = feature_values(model, p.layer, features, shown, th.as_tensor(which, device=device)).cpu().numpy()
    obs_u8 = unit_to_uint8(split_transition(shown, layout)[0])
    next_u8 = unit_to_uint8(split_transition(shown, layout)[2])

    all_x = tensor_of(data, layout).to(device) if settings.ig_baseline == "mean" else None
    mean_images = _mean_images(all_x, p) if all_x is not None else None
    base = baseline_images(settings.ig_baseline, shown, layout.channels, mean_images)
    panels, records = [], []
    for f in tqdm(which, desc="attribution", disable=not progress):
        a_vis = attribute(model, shown[f : f + 1], base, settings.ig_steps, p.ig_layer)
        ov_obs, ov_next = _overlays(p, a_vis, obs_u8[f], next_u8[f])
        best: Example = examples[f][0]
        ex_action = features.actions[f] if features.actions[f] is not None else best.action
        ex_x = _quantized(tensor_of(data, layout, np.array([best.row])).to(device), np.array([ex_action]), p)
        a_ex = attribute(model, ex_x, base, settings.ig_steps, p.ig_layer)
        ex_o, _, ex_n = split_transition(ex_x, layout)
        ex_imgs = [unit_to_uint8(ex_o)[0], unit_to_uint8(ex_n)[0]]
        ex_overlays = _overlays(p, a_ex, ex_imgs[0], ex_imgs[1])
        ex_panels = []
        for ex in examples[f]:
            ex_t = tensor_of(data, layout, np.array([ex.row]))
            o, _, n = split_transition(ex_t, layout)
            label = f"#{ex.index} {p.names[ex.action]}\nvalue {ex.value:.3g}, r {ex.reward:.3g}"
            ex_panels.append((unit_to_uint8(o)[0], unit_to_uint8(n)[0], label,
                              ex.position if peaks.map_hw != (1, 1) else None))
        name = features.names[f]
        caption = f"{name}\nactivation {reached[f]:.3g}\nr({p.names[used[f]]}) = {by_action[f, used[f]]:.3g}"
        panels.append(figures.FeaturePanel(caption, obs_u8[f], next_u8[f], ov_obs, ov_next, ex_panels, ex_overlays))
        records.append({
            "index": f, "name": name, "action_of_feature": None if features.actions[f] is None
            else p.names[features.actions[f]],
            "activation": float(reached[f]), "activation_unquantized": float(vis.activation[f]),
            "start_activation": float(vis.start_activation[f]),
            "action": p.names[used[f]], "action_source": source_of_action[f],
            "optimized_action": {"argmax": p.names[int(best_action[f])], "probability": float(best_prob[f])},
            "reward": float(by_action[f, used[f]]),
            "rewards_by_action": {p.names[a]: float(by_action[f, a]) for a in range(layout.n_actions)},
            "attribution": _attribution_record(a_vis, settings.ig_tolerance),
            "best_example": {"index": best.index, "value": best.value, "position": list(best.position),
                             "action": p.names[best.action], "reward": best.reward},
            "best_example_attribution": {"action": p.names[ex_action],
                                         **_attribution_record(a_ex, settings.ig_tolerance)},
            "examples": [{"index": ex.index, "value": ex.value, "position": list(ex.position),
                          "action": p.names[ex.action], "reward": ex.reward} for ex in examples[f]],
        })
    incomplete = [r["name"] for r in records if not (r["attribution"]["complete"]
                                                     and r["best_example_attribution"]["complete"])]
    worst = max(max(r["attribution"]["completeness_error"], r["best_example_attribution"]["completeness_error"])
                for r in records)
    log.info("integrated gradients: worst completeness error %.3g (tolerance %g relative)", worst,
             settings.ig_tolerance)
    if incomplete:
        log.warning("integrated gradients above the completeness tolerance for %s; raise ig_steps",
                    ", ".join(incomplete))

    out = Path(out_dir)
    (out / "features").mkdir(parents=True, exist_ok=True)
    title = title or f"{p.spec.get('class', 'reward model')}: features of {p.layer_name}"
    figures.save_overview(panels, out / "overview.png", title)
    for f, panel in enumerate(panels):
        figures.save_feature(panel, out / "features" / f"{f:02d}.png")
    document = {
        "title": title, "layer": p.layer_name, "kind": features.kind, "nmf": nmf_info,
        "attribution_target": "input images" if p.ig_layer is None else settings.ig_layer,
        "n_transitions": len(data), "action_names": p.names, "settings": to_mapping(settings),
        "model": {"class": p.spec.get("class"), "env": p.spec.get("env", {}).get("id")},
        "features": records,
    }
    report.write_features_json(out / "features.json", document)
    report.write_report(out / "report.html", document, panels, out / "overview.png")
    t_end = time.perf_counter()
    phases = {"setup_activations_nmf_examples": t_vis - t0, "visualization": t_after_vis - t_vis,
              "attribution_and_outputs": t_end - t_after_vis, "total": t_end - t0}
    log.info("seconds: %s", ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    if timings is not None:
        timings.update(phases)
    return document
