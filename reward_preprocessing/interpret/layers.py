"""A reward net's layers: listing them with output shapes, resolving one by name, reading its activations.

Names are those of ``net.named_modules()`` (for imitation's CNN: ``cnn.conv0``, ``cnn.act1``, ``cnn.dense_final``),
so a user can take them from ``--list-layers`` and put them into the settings unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch as th
from torch import nn

from reward_preprocessing.errors import UserError
from reward_preprocessing.interpret.transitions import TransitionModel, transition_tensor


@dataclass(frozen=True)
class LayerInfo:
    name: str
    kind: str  # the module's class name
    shape: tuple[int, ...]  # output shape of one transition, batch axis dropped
    leaf: bool  # a module without submodules (containers repeat their last child's output)


def _probe(model: TransitionModel) -> th.Tensor:
    """One grey transition with a uniform action, on the model's device."""
    layout = model.layout
    device = next(model.parameters()).device if any(True for _ in model.parameters()) else th.device("cpu")
    grey = th.full((1, layout.channels, layout.height, layout.width), 0.5, device=device)
    uniform = th.full((1, layout.n_actions), 1.0 / layout.n_actions, device=device)
    return transition_tensor(grey, uniform, grey)


def list_layers(model: TransitionModel) -> list[LayerInfo]:
    """Every submodule of the reward net that runs in a forward pass, in execution order, with its output shape."""
    seen: dict[str, LayerInfo] = {}
    handles = []
    for name, module in model.net.named_modules():
        if not name:
            continue

        def hook(mod: nn.Module, inputs: object, output: object, name: str = name) -> None:
            if isinstance(output, th.Tensor) and name not in seen:
                seen[name] = LayerInfo(name, type(mod).__name__, tuple(output.shape[1:]),
                                       not any(True for _ in mod.children()))

        handles.append(module.register_forward_hook(hook))
    try:
        with th.no_grad():
            model(_probe(model))
    finally:
        for h in handles:
            h.remove()
    return list(seen.values())


def format_layers(layers: list[LayerInfo]) -> str:
    """A table for ``--list-layers``."""
    width = max([len(info.name) for info in layers] + [5])
    lines = [f"{'layer':<{width}}  {'type':<18} output shape (per transition)"]
    lines += [f"{info.name:<{width}}  {info.kind:<18} {info.shape}" for info in layers]
    return "\n".join(lines)


def output_layer(layers: list[LayerInfo], n_actions: int) -> str:
    """The layer an empty name means: the last leaf layer with one unit per action (the per-action reward heads;
    in a shaped net they come before the potential's layers), else the last leaf layer that runs."""
    leaves = [info for info in layers if info.leaf]
    heads = [info for info in leaves if info.shape == (n_actions,)]
    return (heads or leaves)[-1].name


def is_action_heads(info: LayerInfo, layers: list[LayerInfo], n_actions: int) -> bool:
    """Whether `info`'s units are per-action rewards: the output layer, with one unit per action."""
    return info.shape == (n_actions,) and info.name == output_layer(layers, n_actions)


def resolve_layer(model: TransitionModel, name: str) -> tuple[str, nn.Module, LayerInfo]:
    """The layer called `name`; an empty name means the output layer (`output_layer`).

    Raises:
        UserError: no such layer (the message lists the valid names).
    """
    layers = list_layers(model)
    if not layers:
        raise UserError(f"{type(model.net).__name__} has no layers to interpret")
    if not name:
        name = output_layer(layers, model.layout.n_actions)
    by_name = {info.name: info for info in layers}
    if name not in by_name:
        raise UserError(f"no layer {name!r} in {type(model.net).__name__}; valid layers: {', '.join(by_name)}")
    return name, dict(model.net.named_modules())[name], by_name[name]


def as_maps(activation: th.Tensor) -> th.Tensor:
    """Any layer output as (B, C, H, W): a vector layer is C channels at one position, a scalar one channel."""
    if activation.dim() == 4:
        return activation
    if activation.dim() == 2:
        return activation[:, :, None, None]
    if activation.dim() == 1:
        return activation[:, None, None, None]
    if activation.dim() == 3:
        return activation[:, :, None, :]
    raise UserError(f"cannot interpret a layer output of shape {tuple(activation.shape)}")


@contextlib.contextmanager
def capture(module: nn.Module) -> Iterator[dict[str, th.Tensor]]:
    """Record `module`'s output of each forward pass in ``store["output"]`` (as (B, C, H, W), graph kept)."""
    store: dict[str, th.Tensor] = {}

    def hook(mod: nn.Module, inputs: object, output: th.Tensor) -> None:
        store["output"] = as_maps(output)

    handle = module.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


@contextlib.contextmanager
def replace_output(module: nn.Module, value: th.Tensor) -> Iterator[None]:
    """Make `module` output `value` (reshaped to its own output shape): runs the rest of the net from a layer."""

    def hook(mod: nn.Module, inputs: object, output: th.Tensor) -> th.Tensor:
        return value.reshape(value.shape[0], *output.shape[1:])

    handle = module.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()
