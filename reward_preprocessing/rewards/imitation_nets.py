"""imitation's reward nets described as JSON and rebuilt from it: `ImitationRewardNet`.

`describe_net` turns an imitation reward net (``BasicRewardNet``, ``ShapedRewardNet`` with an MLP or CNN
potential, ``CnnRewardNet``, ``NormalizedRewardNet``) into a JSON tree of layer types and sizes; `build_net`
rebuilds the same module tree from it, checking every value, so that an imported model stores and loads
like every other (``spec.json`` + ``model.safetensors``) and never needs a pickle again.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards import reward_nets as rn
from imitation.util import networks
from torch import nn

from reward_preprocessing.errors import UserError, one_line
from reward_preprocessing.rewards.registry import register_reward_net

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
        raise UserError(f"imported net spec: cannot build {kind} ({one_line(e)})") from e


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
        raise UserError(f"imported net spec: cannot build {kind} for these spaces ({one_line(e)})") from e
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
