"""A stable-baselines3 policy from a zip made elsewhere, read without running code from it.

SB3's own ``load`` unpickles every ``:serialized:`` entry of the zip's ``data`` member with cloudpickle
(which runs whatever the file names) and ``th.load``s its weights. A zip from outside the pipeline is
therefore read only on request (``trust_pickle``), and then differently: only the entries a policy needs
(``policy_class``, ``observation_space``, ``action_space``, ``policy_kwargs``) go through the allow-list
unpickler of `rewards.safe_pickle`, widened by SB3's policy classes and features extractors; schedules and
training state are never read (a policy that only predicts needs none); the weights (``policy.pth``) go
through the same allow-list. Before building the network, its spaces are checked against the env and its
layer widths against the number of weights the file holds, so a small file cannot make us allocate a big
network; after building, every weight must match the file in name, shape and dtype.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import io
import itertools
import json
import zipfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch as th
from stable_baselines3.common.policies import BasePolicy

from reward_preprocessing.artifacts import ZIP_ERRORS, is_zip
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards.safe_pickle import _LOAD_ERRORS, RestrictedUnpickler, _short, torch_load_bytes

# What an SB3 zip may name beyond the general allow-list: policy classes, features extractors and
# optimizers. They are resolved as classes (never called by the unpickler); we construct the policy ourselves.
SB3_CLASSES: dict[str, frozenset[str]] = {
    "stable_baselines3.common.policies": frozenset({"ActorCriticPolicy", "ActorCriticCnnPolicy"}),
    "stable_baselines3.dqn.policies": frozenset({"DQNPolicy", "CnnPolicy"}),
    "stable_baselines3.common.torch_layers": frozenset({"FlattenExtractor", "NatureCNN"}),
    "reward_preprocessing.experts.features": frozenset({"BoxScaler"}),
    "torch.optim.adam": frozenset({"Adam"}),
    "torch.optim.rmsprop": frozenset({"RMSprop"}),
    "stable_baselines3.common.sb2_compat.rmsprop_tf_like": frozenset({"RMSpropTFLike"}),
}
# Keys of ``policy_kwargs`` a policy that only predicts may take (SB3's constructor arguments).
POLICY_KWARGS = frozenset({
    "net_arch", "activation_fn", "ortho_init", "normalize_images", "features_extractor_class",
    "features_extractor_kwargs", "share_features_extractor", "optimizer_class", "optimizer_kwargs",
    "log_std_init", "squash_output", "use_expln", "full_std", "use_sde",
})
_WEIGHTS = "policy.pth"
_MAX_EXPANSION = 1000  # a deflated member claiming more than this many times its stored size is a zip bomb


class _SB3Unpickler(RestrictedUnpickler):
    """The allow-list unpickler plus `SB3_CLASSES`."""

    def find_class(self, module: str, name: str) -> Any:
        if isinstance(module, str) and isinstance(name, str) and name in SB3_CLASSES.get(module, ()):
            obj = getattr(importlib.import_module(module), name)
            if isinstance(obj, type):
                return obj
        return super().find_class(module, name)


def _read_members(path: Path) -> tuple[dict[str, Any], bytes]:
    """The ``data`` JSON and the ``policy.pth`` bytes of an SB3 zip, refusing zip bombs."""
    if not path.is_file():
        raise ArtifactError(f"{path}: no such policy file; give a stable-baselines3 model saved with model.save()")
    if not is_zip(path):
        raise ArtifactError(f"{path}: not a zip file; expected a stable-baselines3 model saved with model.save()")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            for name in ("data", _WEIGHTS):
                if name not in infos:
                    raise ArtifactError(f"{path}: zip has no {name!r} member; not a stable-baselines3 model")
                info = infos[name]
                if info.file_size > _MAX_EXPANSION * max(info.compress_size, 1) + 1024:
                    raise ArtifactError(f"{path}: member {name!r} expands {info.file_size} bytes; refusing a zip bomb")
            data = json.loads(archive.read("data"))
            weights = archive.read(_WEIGHTS)
    except (*ZIP_ERRORS, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ArtifactError(f"{path}: corrupt stable-baselines3 zip ({_short(e)})") from e
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: 'data' member is not a JSON object; not a stable-baselines3 model")
    return data, weights


def _entry(path: Path, data: dict[str, Any], key: str, default: Any = None) -> Any:
    """One entry of ``data``: plain JSON as is, a ``:serialized:`` one through the allow-list unpickler."""
    if key not in data:
        if default is not None:
            return default
        raise ArtifactError(f"{path}: 'data' has no {key!r}; not a stable-baselines3 model")
    value = data[key]
    if not (isinstance(value, dict) and ":serialized:" in value):
        return value
    try:
        raw = base64.b64decode(str(value[":serialized:"]), validate=True)
        return _SB3Unpickler(io.BytesIO(raw)).load()
    except binascii.Error as e:
        raise ArtifactError(f"{path}: {key} is not valid base64 ({_short(e)})") from e
    except _LOAD_ERRORS as e:
        raise ArtifactError(f"{path}: cannot unpickle {key} safely ({_short(e)})") from e


def _same_space(a: gym.Space, b: gym.Space) -> bool:
    if isinstance(a, gym.spaces.Discrete) and isinstance(b, gym.spaces.Discrete):
        return int(a.n) == int(b.n) and int(a.start) == int(b.start)
    if isinstance(a, gym.spaces.Box) and isinstance(b, gym.spaces.Box):
        return a.shape == b.shape and a.dtype == b.dtype
    return False


def _widths(net_arch: Any) -> list[list[int]]:
    """The layer widths of each network ``net_arch`` describes (a list, or a dict of lists: pi, vf, qf)."""
    if net_arch is None:
        return []
    if isinstance(net_arch, dict):
        lists = list(net_arch.values())
    elif isinstance(net_arch, (list, tuple)) and net_arch and isinstance(net_arch[0], dict):
        lists = list(net_arch[0].values())  # SB3 < 1.8: [dict(pi=..., vf=...)]
    else:
        lists = [net_arch]
    out = []
    for widths in lists:
        if not isinstance(widths, (list, tuple)) or not all(type(w) is int and w > 0 for w in widths):
            raise ArtifactError(f"net_arch must list positive layer widths, got {net_arch!r}")
        out.append(list(widths))
    return out


def _check_kwargs(path: Path, kwargs: Any, n_weights: int, obs_dim: int, n_actions: int) -> dict[str, Any]:
    """Refuse unknown keys, and layers the file cannot hold (each needs ``in * out`` of its weights)."""
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise ArtifactError(f"{path}: policy_kwargs is not a mapping of names")
    unknown = sorted(set(kwargs) - POLICY_KWARGS - {"device"})
    if unknown:
        raise ArtifactError(f"{path}: unsupported policy_kwargs {', '.join(unknown)}")
    try:
        nets = _widths(kwargs.get("net_arch"))
    except ArtifactError as e:
        raise ArtifactError(f"{path}: {e}") from e
    for widths in nets:
        layers = [obs_dim, *widths, n_actions]
        needed = sum(a * b for a, b in itertools.pairwise(layers))
        if needed > n_weights:
            raise ArtifactError(f"{path}: net_arch {widths} needs {needed} weights, the file holds {n_weights}")
    extractor = kwargs.get("features_extractor_kwargs") or {}
    if not isinstance(extractor, dict) or any(type(v) is int and v > n_weights for v in extractor.values()):
        raise ArtifactError(f"{path}: features_extractor_kwargs do not fit the weights in the file")
    return {k: v for k, v in kwargs.items() if k != "device"}


def load_sb3_policy(
    path: str | Path, observation_space: gym.Space, action_space: gym.Space, trust_pickle: bool = False
) -> BasePolicy:
    """The policy of an SB3 zip (PPO, A2C or DQN), on the CPU in evaluation mode, for the given spaces."""
    path = Path(path)
    if not trust_pickle:
        raise UserError(
            f"{path}: a stable-baselines3 zip holds pickled objects, read only on request; pass --trust-pickle "
            "(trust_pickle: true) to read it through the allow-list unpickler"
        )
    data, weights_bytes = _read_members(path)
    policy_class = _entry(path, data, "policy_class")
    if not (isinstance(policy_class, type) and issubclass(policy_class, BasePolicy)):
        raise ArtifactError(f"{path}: policy_class is not a stable-baselines3 policy")
    spaces = [_entry(path, data, key) for key in ("observation_space", "action_space")]
    for key, space, expected in zip(("observation", "action"), spaces, (observation_space, action_space), strict=True):
        if not isinstance(space, gym.Space) or not _same_space(space, expected):
            raise UserError(f"{path}: the policy's {key} space is {space!r}, but the env's is {expected!r}")
    state = torch_load_bytes(weights_bytes, f"{path}:{_WEIGHTS}")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, th.Tensor)
                                              for k, v in state.items()):
        raise ArtifactError(f"{path}: {_WEIGHTS} is not a state dict of tensors")
    n_weights = sum(v.numel() for v in state.values())
    obs_dim = int(gym.spaces.flatdim(observation_space))
    n_actions = int(gym.spaces.flatdim(action_space))
    kwargs = _check_kwargs(path, _entry(path, data, "policy_kwargs", {}), n_weights, obs_dim, n_actions)
    try:
        policy = policy_class(spaces[0], spaces[1], lambda _: 0.0, **kwargs)
    except (TypeError, ValueError, KeyError, AssertionError, RuntimeError) as e:
        raise ArtifactError(f"{path}: cannot build {policy_class.__name__} from its policy_kwargs ({_short(e)})") from e
    expected_state = policy.state_dict()
    if set(expected_state) != set(state):
        missing, extra = sorted(set(expected_state) - set(state)), sorted(set(state) - set(expected_state))
        raise ArtifactError(f"{path}: {_WEIGHTS} does not match the policy (missing {missing[:3]}, extra {extra[:3]})")
    for key, tensor in expected_state.items():
        if state[key].shape != tensor.shape or state[key].dtype != tensor.dtype:
            raise ArtifactError(
                f"{path}: {_WEIGHTS}: {key} is {state[key].dtype} {tuple(state[key].shape)}, the policy needs "
                f"{tensor.dtype} {tuple(tensor.shape)}"
            )
    policy.load_state_dict(state, strict=True)
    policy.set_training_mode(False)
    return policy

