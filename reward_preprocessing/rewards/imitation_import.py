"""Bring your own reward net: convert a ``torch.save``d imitation reward net into a safe model directory.

imitation's scripts save a reward net as a pickled module. `import_imitation_reward_net` reads it
through the allow-list unpickler (`safe_pickle`), describes its module tree as JSON (layer types and
sizes, normalization settings) and rebuilds the same tree in an `ImitationRewardNet`, which stores like
every other model (``spec.json`` + ``model.safetensors``) and so loads later without any pickle. The
import checks that the rebuilt net gives the original's rewards on sample transitions.

Supported: ``BasicRewardNet``, ``BasicShapedRewardNet``/``ShapedRewardNet`` (MLP or CNN potential),
``CnnRewardNet``, ``NormalizedRewardNet``, with ``RunningNorm``/``EMANorm`` input or output
normalization and the torch layers imitation's ``build_mlp``/``build_cnn`` make.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards import reward_nets as rn
from imitation.util import networks
from torch import nn

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards.io import load_reward_net, read_spec, save_reward_net
from reward_preprocessing.rewards.registry import register_reward_net
from reward_preprocessing.rewards.safe_pickle import torch_load

# Layer type -> (class, attributes passed to its constructor). Activations and pooling have no weights;
# the normalization layers carry their running statistics as buffers, which the state dict holds.
_LAYERS: dict[str, tuple[type[nn.Module], tuple[str, ...]]] = {
    "Linear": (nn.Linear, ("in_features", "out_features", "bias")),
    "Conv2d": (
        nn.Conv2d,
        ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias",
         "padding_mode"),
    ),
    "Flatten": (nn.Flatten, ("start_dim", "end_dim")),
    "Identity": (nn.Identity, ()),
    "ReLU": (nn.ReLU, ()),
    "Tanh": (nn.Tanh, ()),
    "Sigmoid": (nn.Sigmoid, ()),
    "SiLU": (nn.SiLU, ()),
    "Mish": (nn.Mish, ()),
    "LeakyReLU": (nn.LeakyReLU, ("negative_slope",)),
    "ELU": (nn.ELU, ("alpha",)),
    "GELU": (nn.GELU, ("approximate",)),
    "Softplus": (nn.Softplus, ("beta", "threshold")),
    "Dropout": (nn.Dropout, ("p",)),
    "AdaptiveAvgPool2d": (nn.AdaptiveAvgPool2d, ("output_size",)),
    "LayerNorm": (nn.LayerNorm, ("normalized_shape", "eps", "elementwise_affine")),
    "SqueezeLayer": (networks.SqueezeLayer, ()),
    "RunningNorm": (networks.RunningNorm, ("num_features", "eps")),
    "EMANorm": (networks.EMANorm, ("num_features", "decay", "eps")),
}
_MAX_UNITS = 1 << 16  # widths and channels; weights are checked against the file's tensors anyway
_USE_FLAGS = ("use_state", "use_action", "use_next_state", "use_done")


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    raise UserError(f"cannot describe layer setting {value!r}")


def describe_layer(module: nn.Module) -> dict[str, Any]:
    """``{"type": ..., **constructor arguments}`` of one supported layer."""
    name = type(module).__name__
    if name not in _LAYERS or type(module) is not _LAYERS[name][0]:
        raise UserError(f"unsupported layer {type(module).__module__}.{name}; supported: {', '.join(_LAYERS)}")
    _, attrs = _LAYERS[name]
    desc: dict[str, Any] = {"type": name}
    for attr in attrs:
        if attr == "bias":
            desc[attr] = module.bias is not None
        elif attr == "num_features":
            desc[attr] = int(module.running_mean.shape[0])
        elif attr == "elementwise_affine":
            desc[attr] = bool(module.elementwise_affine)
        else:
            desc[attr] = _json_value(getattr(module, attr))
    return desc


def describe_sequential(module: nn.Module) -> list[list[Any]]:
    """``[[name, layer], ...]`` of an ``nn.Sequential`` (the MLPs and CNNs imitation builds)."""
    if type(module) is not nn.Sequential:
        raise UserError(f"expected an nn.Sequential, got {type(module).__name__}")
    return [[name, describe_layer(child)] for name, child in module.named_children()]


def describe_net(net: nn.Module) -> dict[str, Any]:
    """The JSON description of an imitation reward net (or potential) from which `build_net` rebuilds it."""
    if isinstance(net, rn.NormalizedRewardNet):
        return {
            "type": "NormalizedRewardNet",
            "base": describe_net(net.base),
            "normalize_output_layer": describe_layer(net.normalize_output_layer),
        }
    if isinstance(net, rn.ShapedRewardNet):
        return {
            "type": "ShapedRewardNet",
            "base": describe_net(net.base),
            "potential": describe_net(net.potential),
            "discount_factor": float(net.discount_factor),
        }
    if type(net) is rn.BasicRewardNet:
        return {
            "type": "BasicRewardNet",
            **{flag: bool(getattr(net, flag)) for flag in _USE_FLAGS},
            "normalize_images": bool(net.normalize_images),
            "mlp": describe_sequential(net.mlp),
        }
    if type(net) is rn.CnnRewardNet:
        return {
            "type": "CnnRewardNet",
            **{flag: bool(getattr(net, flag)) for flag in _USE_FLAGS},
            "hwc_format": bool(net.hwc_format),
            "normalize_images": bool(net.normalize_images),
            "cnn": describe_sequential(net.cnn),
        }
    if type(net) is rn.BasicPotentialMLP:
        return {"type": "BasicPotentialMLP", "net": describe_sequential(net._potential_net)}
    if type(net) is rn.BasicPotentialCNN:
        return {"type": "BasicPotentialCNN", "hwc_format": bool(net.hwc_format),
                "net": describe_sequential(net._potential_net)}
    raise UserError(
        f"unsupported reward net {type(net).__module__}.{type(net).__name__}; supported: BasicRewardNet, "
        "BasicShapedRewardNet, ShapedRewardNet, CnnRewardNet, NormalizedRewardNet"
    )


# --- Rebuilding from the description (used on every load; the description comes from a spec.json) ---------


def _field(desc: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(desc, dict) or key not in desc:
        raise UserError(f"imported net spec: {where} needs {key!r}")
    value = desc[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UserError(f"imported net spec: {where}.{key} has the wrong type ({type(value).__name__})")
    return value


def _layer_arg(name: str, attr: str, value: Any) -> Any:
    """Validate one constructor argument so that no spec can ask for a huge or nonsensical layer."""
    ints = ("in_features", "out_features", "in_channels", "out_channels", "num_features", "groups")
    if attr in ints:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= _MAX_UNITS:
            raise UserError(f"imported net spec: {name}.{attr} must be an integer in 1..{_MAX_UNITS}")
        return value
    if attr in ("bias", "elementwise_affine"):
        if not isinstance(value, bool):
            raise UserError(f"imported net spec: {name}.{attr} must be true or false")
        return value
    if attr == "padding" and value in ("same", "valid"):
        return value
    if attr in ("kernel_size", "stride", "padding", "dilation", "output_size", "normalized_shape"):
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= 3 or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= _MAX_UNITS for v in items
        ):
            raise UserError(f"imported net spec: {name}.{attr} must be small non-negative integers")
        return tuple(items) if isinstance(value, list) else value
    if attr in ("start_dim", "end_dim"):
        if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 8:
            raise UserError(f"imported net spec: {name}.{attr} must be a small integer")
        return value
    if attr in ("padding_mode", "approximate"):
        allowed = ("zeros", "reflect", "replicate", "circular") if attr == "padding_mode" else ("none", "tanh")
        if value not in allowed:
            raise UserError(f"imported net spec: {name}.{attr} must be one of {', '.join(allowed)}")
        return value
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise UserError(f"imported net spec: {name}.{attr} must be a finite number")
    return float(value)


def build_layer(desc: Any) -> nn.Module:
    kind = _field(desc, "type", str, "layer")
    if kind not in _LAYERS:
        raise UserError(f"imported net spec: unknown layer type {kind!r}; supported: {', '.join(_LAYERS)}")
    cls, attrs = _LAYERS[kind]
    if set(desc) != {"type", *attrs}:
        raise UserError(f"imported net spec: a {kind} layer takes exactly {', '.join(attrs) or 'no settings'}")
    kwargs = {attr: _layer_arg(kind, attr, desc[attr]) for attr in attrs}
    try:
        return cls(**kwargs)
    except (ValueError, TypeError, RuntimeError) as e:
        raise UserError(f"imported net spec: cannot build {kind} ({e})") from e


def build_sequential(layers: Any, where: str) -> nn.Sequential:
    if not isinstance(layers, list) or not 0 < len(layers) <= 64:
        raise UserError(f"imported net spec: {where} must be a list of 1..64 [name, layer] pairs")
    modules: OrderedDict[str, nn.Module] = OrderedDict()
    for item in layers:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and item[0].isidentifier() and item[0] not in modules):
            raise UserError(f"imported net spec: {where} entries must be unique [identifier, layer] pairs")
        modules[item[0]] = build_layer(item[1])
    return nn.Sequential(modules)


def _flags(desc: dict[str, Any], where: str) -> dict[str, bool]:
    return {flag: _field(desc, flag, bool, where) for flag in _USE_FLAGS}


def build_net(desc: Any, obs_space: spaces.Space, act_space: spaces.Space, depth: int = 0) -> nn.Module:
    """Rebuild the module tree that `describe_net` described (weights still untrained)."""
    if depth > 8:
        raise UserError("imported net spec: wrappers nested too deeply")
    kind = _field(desc, "type", str, "net")
    try:
        if kind == "BasicRewardNet":
            net = rn.BasicRewardNet(obs_space, act_space, **_flags(desc, kind), hid_sizes=())
            net.normalize_images = _field(desc, "normalize_images", bool, kind)
            net.mlp = build_sequential(desc.get("mlp"), f"{kind}.mlp")
            return net
        if kind == "CnnRewardNet":
            net = rn.CnnRewardNet(obs_space, act_space, **_flags(desc, kind),
                                  hwc_format=_field(desc, "hwc_format", bool, kind), hid_channels=())
            net.normalize_images = _field(desc, "normalize_images", bool, kind)
            net.cnn = build_sequential(desc.get("cnn"), f"{kind}.cnn")
            return net
        if kind == "ShapedRewardNet":
            base = build_net(desc.get("base"), obs_space, act_space, depth + 1)
            potential = build_net(desc.get("potential"), obs_space, act_space, depth + 1)
            gamma = _field(desc, "discount_factor", (int, float), kind)
            if isinstance(gamma, bool) or not 0.0 <= gamma <= 1.0:
                raise UserError("imported net spec: discount_factor must be in [0, 1]")
            return rn.ShapedRewardNet(base, potential, float(gamma))
        if kind == "NormalizedRewardNet":
            base = build_net(desc.get("base"), obs_space, act_space, depth + 1)
            layer = build_layer(desc.get("normalize_output_layer"))
            net = rn.NormalizedRewardNet(base, nn.Identity)
            net.normalize_output_layer = layer
            return net
        if kind == "BasicPotentialMLP":
            potential = rn.BasicPotentialMLP(obs_space, hid_sizes=())
            potential._potential_net = build_sequential(desc.get("net"), f"{kind}.net")
            return potential
        if kind == "BasicPotentialCNN":
            potential = rn.BasicPotentialCNN(obs_space, hid_sizes=(), hwc_format=_field(desc, "hwc_format", bool, kind))
            potential._potential_net = build_sequential(desc.get("net"), f"{kind}.net")
            return potential
    except (ValueError, TypeError, AssertionError) as e:  # imitation's own checks of spaces and flags
        raise UserError(f"imported net spec: cannot build {kind} for these spaces ({e})") from e
    raise UserError(f"imported net spec: unknown net type {kind!r}")


@register_reward_net
class ImitationRewardNet(rn.RewardNet):
    """An imitation reward net, rebuilt from a JSON description instead of a pickle.

    `net` holds the very imitation classes of the original (so `forward`, `preprocess` and
    normalization behave identically); the state dict is the original's under the prefix ``net.``.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Space, net: dict[str, Any]) -> None:
        inner = build_net(net, observation_space, action_space)
        if not isinstance(inner, rn.RewardNet):
            raise UserError("imported net spec: the top-level net must be a reward net, not a potential")
        super().__init__(observation_space, action_space, normalize_images=inner.normalize_images)
        self.net = inner
        self.description = net

    def spec_kwargs(self) -> dict[str, Any]:
        return {"net": self.description}

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        return self.net(state, action, next_state, done)

    def preprocess(self, state: Any, action: Any, next_state: Any, done: Any) -> tuple[th.Tensor, ...]:
        return self.net.preprocess(state, action, next_state, done)

    def predict_processed(self, state: Any, action: Any, next_state: Any, done: Any, **kwargs: Any) -> np.ndarray:
        """The original's processed reward (normalized for a `NormalizedRewardNet`), never updating its statistics."""
        if isinstance(self.net, rn.NormalizedRewardNet):
            kwargs["update_stats"] = False
        return self.net.predict_processed(state, action, next_state, done, **kwargs)


# --- Import ------------------------------------------------------------------------------------------------


_BROKEN = (AttributeError, KeyError, TypeError, ValueError, RuntimeError, AssertionError, IndexError, RecursionError)


@dataclass(frozen=True)
class ImportReport:
    """What an import checked: sample count and the largest reward differences to the original."""

    original_class: str
    n_samples: int
    max_abs_diff: float
    max_abs_diff_processed: float
    reward_range: tuple[float, float]

    def line(self) -> str:
        return (
            f"imported {self.original_class}: rewards on {self.n_samples} sample transitions match the original "
            f"(max |diff| {self.max_abs_diff:.3g}, processed {self.max_abs_diff_processed:.3g}; "
            f"rewards in [{self.reward_range[0]:.4g}, {self.reward_range[1]:.4g}])"
        )


def _same_space(a: spaces.Space, b: spaces.Space) -> bool:
    if isinstance(a, spaces.Discrete) and isinstance(b, spaces.Discrete):
        return int(a.n) == int(b.n) and int(a.start) == int(b.start)
    if isinstance(a, spaces.Box) and isinstance(b, spaces.Box):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a.low, b.low) and np.array_equal(
            a.high, b.high)
    return False


def sample_transitions(
    env_id: str, env_kwargs: dict[str, Any], n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``n`` transitions: half from random-policy episodes in the env, half drawn uniformly from its spaces.

    Episode states are what the model will see; uniform draws also cover states a random policy never reaches.
    """
    env = gym.make(env_id, **env_kwargs)
    env.observation_space.seed(seed)
    env.action_space.seed(seed)
    obs_l, act_l, next_l, done_l = [], [], [], []
    obs, _ = env.reset(seed=seed)
    while len(obs_l) < n // 2:
        act = env.action_space.sample()
        next_obs, _, terminated, truncated, _ = env.step(act)
        obs_l.append(obs), act_l.append(act), next_l.append(next_obs), done_l.append(terminated)
        obs = env.reset()[0] if terminated or truncated else next_obs
    for _ in range(n - len(obs_l)):
        obs_l.append(env.observation_space.sample()), act_l.append(env.action_space.sample())
        next_l.append(env.observation_space.sample()), done_l.append(False)
    env.close()
    return np.stack(obs_l), np.stack(act_l), np.stack(next_l), np.array(done_l)


def _rewards(net: rn.RewardNet, transitions: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
    state, action, next_state, done = transitions
    plain = net.predict(state, action, next_state, done)
    kwargs = {"update_stats": False} if isinstance(net, rn.NormalizedRewardNet) else {}
    processed = net.predict_processed(state, action, next_state, done, **kwargs)
    return np.asarray(plain, dtype=np.float64), np.asarray(processed, dtype=np.float64)


def convert_reward_net(original: Any) -> ImitationRewardNet:
    """An `ImitationRewardNet` with the architecture, weights and running statistics of `original`."""
    if not isinstance(original, rn.RewardNet):
        raise ArtifactError(f"the file holds a {type(original).__name__}, not an imitation RewardNet")
    try:
        description = describe_net(original)
        converted = ImitationRewardNet(original.observation_space, original.action_space, description)
        source = original.state_dict()
    except UserError:
        raise
    except _BROKEN as e:  # a pickle that restored an object without the attributes its class needs
        raise ArtifactError(f"the unpickled {type(original).__name__} is incomplete ({type(e).__name__}: {e})") from e
    target = converted.net.state_dict()
    if set(source) != set(target) or any(source[k].shape != target[k].shape for k in source):
        raise ArtifactError("the rebuilt net does not have the original's tensors; it has modules this importer "
                            "does not know")
    for key, value in source.items():
        if value.dtype != target[key].dtype:
            raise ArtifactError(f"tensor {key} is {value.dtype}, but the rebuilt net holds {target[key].dtype}")
    converted.net.load_state_dict(source)
    converted.eval()
    return converted


def import_imitation_reward_net(
    path: str | os.PathLike,
    out: str | os.PathLike,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    trust_pickle: bool = False,
    n_samples: int = 512,
    seed: int = 0,
    tolerance: float = 0.0,
    progress: Callable[[str], None] | None = None,
) -> ImportReport:
    """Convert a ``torch.save``d imitation reward net at `path` into the model directory `out`.

    Args:
        trust_pickle: required: the file is a pickle, read (through the allow-list) only on request.
        tolerance: largest reward difference to accept; the rebuilt net runs the same operations on the same
            weights, so the default is exact equality.
    """
    path = Path(path)
    env_kwargs = dict(env_kwargs or {})
    if not trust_pickle:
        raise UserError(
            f"{path}: is a pickle, which is read only on request; pass --trust-pickle (trust_pickle: true) "
            "to read it through the allow-list unpickler (torch, imitation, gymnasium and numpy classes only)"
        )
    if env_id not in gym.registry:
        raise UserError(f"unknown env {env_id!r}; register it (e.g. import its package) or pick a registered id")
    original = torch_load(path)
    converted = convert_reward_net(original)
    try:
        env = gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError, gym.error.Error) as e:
        raise UserError(f"cannot make {env_id} with {env_kwargs}: {e}") from e
    env_spaces = (env.observation_space, env.action_space)
    env.close()
    for what, ours, theirs in zip(("observation", "action"), env_spaces,
                                  (original.observation_space, original.action_space), strict=True):
        if not _same_space(ours, theirs):
            raise UserError(f"{path}: the model's {what} space {theirs} differs from {env_id}'s {ours}")
    transitions = sample_transitions(env_id, env_kwargs, n_samples, seed)
    try:
        original.eval()
        want, want_processed = _rewards(original, transitions)
    except _BROKEN as e:
        raise ArtifactError(f"{path}: the original net fails on sample transitions ({type(e).__name__}: {e})") from e
    got, got_processed = _rewards(converted, transitions)
    report = ImportReport(
        original_class=type(original).__name__,
        n_samples=len(want),
        max_abs_diff=float(np.max(np.abs(want - got))),
        max_abs_diff_processed=float(np.max(np.abs(want_processed - got_processed))),
        reward_range=(float(want.min()), float(want.max())),
    )
    worst = max(report.max_abs_diff, report.max_abs_diff_processed)
    if not worst <= tolerance:
        raise ArtifactError(f"{path}: the converted net's rewards differ from the original's by up to {worst:.3g}")
    metadata = {
        "imported_from": path.name,
        "original_class": report.original_class,
        "import_check": {"n_samples": report.n_samples, "max_abs_diff": report.max_abs_diff,
                         "max_abs_diff_processed": report.max_abs_diff_processed, "seed": seed},
    }
    save_reward_net(converted, out, env_id, env_kwargs, metadata)
    if progress is not None:
        progress(report.line())
    return report


def copy_model_directory(path: str | os.PathLike, out: str | os.PathLike, env_id: str | None = None) -> None:
    """Check a user's model directory (it must load exactly, and belong to `env_id`) and write it to `out`.

    The model is written again by `save_reward_net`, so what the pipeline reads is always a directory this
    library wrote, whatever else the user's directory holds.
    """
    spec = read_spec(path)
    net = load_reward_net(path)
    env = spec.get("env", {})
    if env_id is not None and env.get("id") not in (None, env_id):
        raise UserError(f"{path}: the model belongs to {env.get('id')}, not {env_id}")
    save_reward_net(net, out, env.get("id") or env_id or "", env.get("kwargs", {}), spec.get("metadata", {}))
