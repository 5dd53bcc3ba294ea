"""Save and load reward nets as ``model.safetensors`` + ``spec.json``.

The spec names a registered class, its constructor arguments, the spaces and
the env; weights are plain tensors. Nothing in a model directory is ever
executed. Pickled imitation models load only with ``allow_pickle=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch as th
from imitation.rewards.reward_nets import RewardNet
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import reward_preprocessing
from reward_preprocessing.artifacts import atomic_dir, dumps_json, read_json
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards.registry import reward_net_class
from reward_preprocessing.rewards.spaces_json import space_from_json, space_to_json

MODEL_FILE = "model.safetensors"
SPEC_FILE = "spec.json"
FORMAT_VERSION = 1


def net_spec(net: RewardNet) -> dict[str, Any]:
    """The JSON description from which `build_reward_net` rebuilds `net` (weights aside)."""
    return {
        "class": type(net).__name__,
        "kwargs": net.spec_kwargs(),
        "observation_space": space_to_json(net.observation_space),
        "action_space": space_to_json(net.action_space),
    }


def build_reward_net(spec: dict[str, Any]) -> RewardNet:
    """Construct an untrained net from a spec (composite nets call this for their parts)."""
    try:
        cls = reward_net_class(spec["class"])
        obs_space = space_from_json(spec["observation_space"])
        act_space = space_from_json(spec["action_space"])
        return cls(obs_space, act_space, **spec.get("kwargs", {}))
    except (KeyError, TypeError) as e:
        raise UserError(f"invalid reward-net spec: {e!r}") from e


def save_reward_net(
    net: RewardNet,
    directory: str | os.PathLike,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write `net` atomically: the directory appears complete or not at all."""
    with atomic_dir(directory) as tmp:
        write_reward_net(net, tmp, env_id, env_kwargs, metadata)


def write_reward_net(
    net: RewardNet,
    directory: str | os.PathLike,
    env_id: str,
    env_kwargs: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write the model files into an existing directory, e.g. one `atomic_dir` that also gets other artifacts."""
    spec = net_spec(net)
    spec.update(
        {
            "env": {"id": env_id, "kwargs": env_kwargs or {}},
            "format_version": FORMAT_VERSION,
            "library_version": reward_preprocessing.__version__,
            "metadata": metadata or {},
        }
    )
    tensors = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(Path(directory) / MODEL_FILE))
    (Path(directory) / SPEC_FILE).write_text(dumps_json(spec))


def read_spec(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check `spec.json` of a model directory."""
    path = Path(directory) / SPEC_FILE
    if not Path(directory).is_dir():
        raise ArtifactError(f"{directory}: not a reward-model directory (expected {SPEC_FILE} and {MODEL_FILE})")
    if not path.is_file():
        raise ArtifactError(f"{path}: missing; a reward-model directory needs {SPEC_FILE} and {MODEL_FILE}")
    spec = read_json(path, "regenerate the model")
    if not isinstance(spec, dict) or "class" not in spec:
        raise ArtifactError(f"{path}: not a reward-model spec (no 'class' entry)")
    if spec.get("format_version", FORMAT_VERSION) > FORMAT_VERSION:
        raise ArtifactError(f"{path}: format {spec['format_version']} is newer than this library supports")
    return spec


def load_reward_net(path: str | os.PathLike, allow_pickle: bool = False) -> RewardNet:
    """Load a reward net saved by `save_reward_net`.

    Args:
        path: a model directory, or (with `allow_pickle`) a pickled imitation model file.
        allow_pickle: also accept `torch.save`d whole modules. Unpickling runs
            code from the file, so only set this for files you trust.
    """
    path = Path(path)
    if path.is_file():
        return _load_pickled(path, allow_pickle)
    spec = read_spec(path)
    net = build_reward_net(spec)
    weights = path / MODEL_FILE
    if not weights.is_file():
        raise ArtifactError(f"{weights}: missing; regenerate the model")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise ArtifactError(f"{weights}: corrupt safetensors file ({e}); regenerate the model") from e
    expected = net.state_dict()
    if set(tensors) != set(expected) or any(tensors[k].shape != expected[k].shape for k in expected):
        raise ArtifactError(f"{weights}: tensors do not match the {spec['class']} described in {SPEC_FILE}")
    net.load_state_dict(tensors)
    net.eval()
    return net


def _load_pickled(path: Path, allow_pickle: bool) -> RewardNet:
    if not allow_pickle:
        raise UserError(
            f"{path}: refusing to unpickle a file (it could run arbitrary code); "
            "pass --allow-pickle only if you trust it, or convert it to a model directory"
        )
    try:
        net = th.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # any unpickling failure means a bad file
        raise ArtifactError(f"{path}: cannot load pickled model ({e})") from e
    if not isinstance(net, RewardNet):
        raise ArtifactError(f"{path}: contains a {type(net).__name__}, not an imitation RewardNet")
    return net
