"""Save and load reward nets as ``model.safetensors`` + ``spec.json``.

The spec names a registered class, its constructor arguments, the spaces and
the env; weights are plain tensors. Nothing in a model directory is ever
executed. Pickled imitation models are converted once by `imitation_import` (allow-list unpickler).
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import torch as th
from imitation.rewards.reward_nets import RewardNet
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

import reward_preprocessing
from reward_preprocessing.artifacts import atomic_dir, dumps_json, read_json
from reward_preprocessing.errors import ArtifactError, UserError, one_line
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
    if not isinstance(spec, dict) or not isinstance(spec.get("kwargs", {}), dict):
        raise UserError("invalid reward-net spec: expected an object with 'class', spaces and 'kwargs'")
    try:
        cls = reward_net_class(spec["class"])
        obs_space = space_from_json(spec["observation_space"])
        act_space = space_from_json(spec["action_space"])
        return cls(obs_space, act_space, **spec.get("kwargs", {}))
    except UserError:
        raise
    except _BUILD_ERRORS as e:
        raise UserError(f"invalid reward-net spec: {type(e).__name__}: {one_line(e)}") from e


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
    target = Path(directory) / MODEL_FILE
    try:
        save_file(tensors, str(target))
    except SafetensorError as e:  # an I/O failure (disk full, ...) as the OSError it is, for the one-line report
        code = re.search(r"os error (\d+)", str(e))
        if code is None:
            raise
        raise OSError(int(code[1]), os.strerror(int(code[1])), str(target)) from e
    (Path(directory) / SPEC_FILE).write_text(dumps_json(spec))


def read_spec(directory: str | os.PathLike) -> dict[str, Any]:
    """Read and check `spec.json` of a model directory (types of the top-level entries included)."""
    path = Path(directory) / SPEC_FILE
    if not Path(directory).is_dir():
        raise ArtifactError(f"{directory}: not a reward-model directory (expected {SPEC_FILE} and {MODEL_FILE})")
    if not path.is_file():
        raise ArtifactError(f"{path}: missing; a reward-model directory needs {SPEC_FILE} and {MODEL_FILE}")
    if path.stat().st_size > MAX_SPEC_BYTES:
        raise ArtifactError(f"{path}: {path.stat().st_size} bytes is far too large for a model spec")
    spec = read_json(path, "regenerate the model")
    if not isinstance(spec, dict) or "class" not in spec:
        raise ArtifactError(f"{path}: not a reward-model spec (no 'class' entry)")
    version = spec.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ArtifactError(f"{path}: format_version must be an integer")
    if version > FORMAT_VERSION:
        raise ArtifactError(f"{path}: format {version} is newer than this library supports")
    _check_spec_types(spec, path)
    return spec


def _check_spec_types(spec: dict[str, Any], where: Any) -> None:
    """The entries `build_reward_net` reads must have the right JSON types (nested specs are checked when built)."""
    for key, kind in (("class", str), ("kwargs", dict), ("observation_space", dict), ("action_space", dict),
                      ("env", dict), ("metadata", dict)):
        if key in spec and not isinstance(spec[key], kind):
            raise ArtifactError(f"{where}: '{key}' must be a JSON {'object' if kind is dict else 'string'}")
    for key in ("observation_space", "action_space"):
        if key not in spec:
            raise ArtifactError(f"{where}: no '{key}' entry")
    env = spec.get("env", {})
    if ("id" in env and not isinstance(env["id"], str)) or not isinstance(env.get("kwargs", {}), dict):
        raise ArtifactError(f"{where}: 'env' must be {{\"id\": str, \"kwargs\": {{...}}}}")


# Header of a safetensors file: 8-byte little-endian length, then that much JSON.
_SAFETENSORS_DTYPES = {
    "F64": th.float64, "F32": th.float32, "F16": th.float16, "BF16": th.bfloat16, "I64": th.int64,
    "I32": th.int32, "I16": th.int16, "I8": th.int8, "U8": th.uint8, "BOOL": th.bool,
}
MAX_SPEC_BYTES = 1 << 20
_MAX_HEADER_BYTES = 1 << 24


def read_safetensors_header(path: Path) -> dict[str, tuple[th.dtype, tuple[int, ...]]]:
    """Tensor names, dtypes and shapes of a safetensors file, checked against its size; no tensor is read."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ArtifactError(f"{path}: too short for a safetensors file; regenerate the model")
            n = int.from_bytes(head, "little")
            if n > min(size - 8, _MAX_HEADER_BYTES):
                raise ArtifactError(f"{path}: header length {n} exceeds the file; corrupt safetensors file")
            header = json.loads(f.read(n))
    except (OSError, ValueError, RecursionError) as e:
        raise ArtifactError(f"{path}: corrupt safetensors header ({type(e).__name__}); regenerate the model") from e
    if not isinstance(header, dict):
        raise ArtifactError(f"{path}: corrupt safetensors header (not an object); regenerate the model")
    data_size = size - 8 - n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _SAFETENSORS_DTYPES[entry["dtype"]]
            shape = tuple(entry["shape"])
            begin, end = entry["data_offsets"]
            if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in (*shape, begin, end)):
                raise ValueError("non-integer sizes")
        except (KeyError, TypeError, ValueError) as e:
            raise ArtifactError(f"{path}: corrupt safetensors entry {name!r}; regenerate the model") from e
        nbytes = math.prod(shape) * th.empty((), dtype=dtype).element_size()
        if not begin <= end <= data_size or end - begin != nbytes:
            raise ArtifactError(f"{path}: tensor {name!r} claims {nbytes} bytes at [{begin}, {end}) of {data_size}; "
                                "corrupt safetensors file")
        tensors[name] = (dtype, shape)
    return tensors


def _expected_tensors(spec: dict[str, Any]) -> dict[str, tuple[th.dtype, tuple[int, ...]]]:
    """Names, dtypes and shapes of the state dict `spec` describes, built on torch's meta device (no memory)."""
    with th.device("meta"):
        net = build_reward_net(spec)
    return {k: (v.dtype, tuple(v.shape)) for k, v in net.state_dict().items()}


def load_reward_net(path: str | os.PathLike, allow_pickle: bool = False) -> RewardNet:
    """Load a reward net saved by `save_reward_net`.

    The spec is first built on torch's meta device and compared with the safetensors header (names, shapes,
    dtypes), so a spec that does not match its weights fails before any memory is allocated for it, and
    weights are never cast: a model loads exactly as stored or not at all.

    Args:
        path: a model directory. A pickled file is refused: import it with `imitation_import` instead.
        allow_pickle: kept for callers of the old signature; pickles are read only by the importer.
    """
    path = Path(path)
    if path.is_file():
        raise UserError(
            f"{path}: is a file, not a model directory; import a torch.save'd imitation net with "
            "scripts/import_reward_net.py --trust-pickle"
        )
    spec = read_spec(path)
    weights = path / MODEL_FILE
    if not weights.is_file():
        raise ArtifactError(f"{weights}: missing; regenerate the model")
    stored = read_safetensors_header(weights)
    try:
        expected = _expected_tensors(spec)
    except UserError:
        raise
    except _BUILD_ERRORS as e:
        reason = f"{type(e).__name__}: {one_line(e)}"
        raise ArtifactError(f"{path / SPEC_FILE}: invalid reward-net spec ({reason})") from e
    if stored != expected:
        name = min(k for k in set(stored) | set(expected) if stored.get(k) != expected.get(k))
        raise ArtifactError(
            f"{weights}: tensors do not match the {spec['class']} described in {SPEC_FILE} ({name}: file has "
            f"{_describe(stored.get(name))}, spec builds {_describe(expected.get(name))}); regenerate the model"
        )
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise ArtifactError(f"{weights}: corrupt safetensors file ({one_line(e)}); regenerate the model") from e
    try:
        net = build_reward_net(spec)
        net.load_state_dict(tensors)
    except UserError:
        raise
    except _BUILD_ERRORS as e:
        reason = f"{type(e).__name__}: {one_line(e)}"
        raise ArtifactError(f"{path / SPEC_FILE}: invalid reward-net spec ({reason})") from e
    net.eval()
    return net


def _describe(entry: tuple[th.dtype, tuple[int, ...]] | None) -> str:
    return "nothing" if entry is None else f"{str(entry[0]).removeprefix('torch.')} {list(entry[1])}"


_BUILD_ERRORS = (KeyError, TypeError, ValueError, AttributeError, AssertionError, IndexError, RuntimeError,
                 RecursionError, OverflowError, NotImplementedError, ZeroDivisionError)
