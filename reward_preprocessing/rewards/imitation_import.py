"""Bring your own reward net: convert a ``torch.save``d imitation reward net into a safe model directory.

imitation's scripts save a reward net as a pickled module. `import_imitation_reward_net` reads it
through the allow-list unpickler (`safe_pickle`), describes its module tree as JSON and rebuilds it as an
`ImitationRewardNet` (`imitation_nets`), which stores like every other model (``spec.json`` +
``model.safetensors``) and so loads later without any pickle. The import checks that the rebuilt net
gives the original's rewards on sample transitions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from imitation.rewards import reward_nets as rn

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.envs import procgen
from reward_preprocessing.errors import ArtifactError, UserError, one_line
from reward_preprocessing.rewards.imitation_nets import ImitationRewardNet, describe_net
from reward_preprocessing.rewards.io import load_reward_net, read_spec, save_reward_net
from reward_preprocessing.rewards.safe_pickle import torch_load

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
    if env_id == procgen.ENV_ID:
        return _coinrun_transitions(env_kwargs, n, seed)
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


def _coinrun_transitions(
    env_kwargs: dict[str, Any], n: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`sample_transitions` for procgen CoinRun (not a gymnasium id: its own `VecEnv`), stored as the image
    rollouts store them: a level's last transition repeats its last frame as the next observation."""
    venv = procgen.make_coinrun_venv(env_kwargs, n_envs=1, seed=seed)
    rng = np.random.default_rng(seed)
    space_obs, space_act = procgen.observation_space(), procgen.action_space()
    space_obs.seed(seed), space_act.seed(seed)
    obs_l, act_l, next_l, done_l = [], [], [], []
    obs = venv.reset()
    while len(obs_l) < n // 2:
        act = rng.integers(space_act.n, size=1)
        next_obs, _, done, infos = venv.step(act)
        obs_l.append(obs[0]), act_l.append(int(act[0]))
        next_l.append(infos[0]["terminal_observation"] if done[0] else next_obs[0]), done_l.append(bool(done[0]))
        obs = next_obs
    venv.close()
    for _ in range(n - len(obs_l)):
        obs_l.append(space_obs.sample()), act_l.append(space_act.sample())
        next_l.append(space_obs.sample()), done_l.append(False)
    return np.stack(obs_l), np.array(act_l), np.stack(next_l), np.array(done_l)


def _env_spaces(env_id: str, env_kwargs: dict[str, Any]) -> tuple[gym.Space, gym.Space]:
    """The spaces of a registered gymnasium env, or of procgen CoinRun (``procgen:coinrun``)."""
    if env_id == procgen.ENV_ID:
        procgen.CoinRunOptions.from_mapping(dict(env_kwargs))  # a one-line error for unknown options
        return procgen.observation_space(), procgen.action_space()
    if env_id not in gym.registry:
        raise UserError(f"unknown env {env_id!r}; register it (e.g. import its package) or pick a registered id")
    try:
        env = gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError, gym.error.Error) as e:
        raise UserError(f"cannot make {env_id} with {env_kwargs}: {e}") from e
    env_spaces = (env.observation_space, env.action_space)
    env.close()
    return env_spaces


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
        raise ArtifactError(
            f"the unpickled {type(original).__name__} is incomplete ({type(e).__name__}: {one_line(e)})") from e
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
    if env_id != procgen.ENV_ID and env_id not in gym.registry:
        raise UserError(f"unknown env {env_id!r}; register it (e.g. import its package) or pick a registered id")
    original = torch_load(path)
    converted = convert_reward_net(original)
    env_spaces = _env_spaces(env_id, env_kwargs)
    for what, ours, theirs in zip(("observation", "action"), env_spaces,
                                  (original.observation_space, original.action_space), strict=True):
        if not _same_space(ours, theirs):
            raise UserError(f"{path}: the model's {what} space {theirs} differs from {env_id}'s {ours}")
    transitions = sample_transitions(env_id, env_kwargs, n_samples, seed)
    try:
        original.eval()
        want, want_processed = _rewards(original, transitions)
    except _BROKEN as e:
        raise ArtifactError(
            f"{path}: the original net fails on sample transitions ({type(e).__name__}: {one_line(e)})") from e
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
