"""Trajectory files in imitation's formats, read without running code from them.

* a directory: imitation's HuggingFace dataset (``imitation.data.serialize.save``; `rollouts.load_rollouts`);
* ``.npz``: imitation's older array layout (``obs``, ``acts``, ``indices``, ``terminal``, ``rews``), read
  with ``allow_pickle=False`` (its ``infos`` object array is skipped);
* ``.pkl``: a pickled list of ``TrajectoryWithRew`` (the reference's ``rollouts.pkl``), read only with
  ``trust_pickle`` and then only through the allow-list unpickler.

Every file is checked before arrays are built: declared array sizes against the bytes the file holds,
consistent lengths, numeric dtypes, finite rewards.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from imitation.data.types import TrajectoryWithRew

from reward_preprocessing.artifacts import NPY_HEADER_ERRORS, ZIP_ERRORS, atomic_path
from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.errors import ArtifactError, UserError, one_line
from reward_preprocessing.rewards.safe_pickle import load_pickle_file

PICKLE_SUFFIXES = (".pkl", ".pickle")
NPZ_KEYS = ("obs", "acts", "indices", "terminal", "rews")
# A compressed .npz of observations legitimately expands; a member claiming far more is a zip bomb.
_MAX_EXPANSION = 1000


# What numpy and zipfile raise on a damaged archive.
_CORRUPT_NPZ = (*ZIP_ERRORS, *NPY_HEADER_ERRORS, TypeError, KeyError)

def load_trajectories(
    path: str | os.PathLike,
    trust_pickle: bool = False,
    env_id: str | None = None,
    obs_shape: Sequence[int] | None = None,
) -> list[TrajectoryWithRew]:
    """Trajectories with rewards from a rollout directory, an ``.npz`` or (with `trust_pickle`) a ``.pkl``."""
    path = Path(path)
    if path.is_dir():
        try:
            return load_rollouts(path, env_id=env_id, obs_shape=obs_shape)
        except (KeyError, TypeError, AttributeError, IndexError, AssertionError) as e:
            raise ArtifactError(
                f"{path}: not a valid imitation trajectory dataset ({type(e).__name__}: {one_line(e)})"
            ) from e
    if not path.is_file():
        raise ArtifactError(f"{path}: no such trajectory file or directory")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        trajectories = _load_npz(path)
    elif suffix in PICKLE_SUFFIXES:
        if not trust_pickle:
            raise UserError(
                f"{path}: is a pickle, which is read only on request; pass --trust-pickle (trust_pickle: true) to "
                "read it through the allow-list unpickler, or convert it to .npz or an imitation dataset directory"
            )
        trajectories = _from_pickle(path, load_pickle_file(path))
    else:
        raise UserError(f"{path}: unknown trajectory format; expected a directory, .npz or .pkl")
    if obs_shape is not None and tuple(trajectories[0].obs.shape[1:]) != tuple(obs_shape):
        raise UserError(f"{path}: observations have shape {trajectories[0].obs.shape[1:]}, expected {tuple(obs_shape)}")
    return trajectories


def _checked(obs: Any, acts: Any, rews: Any, terminal: Any, where: str) -> TrajectoryWithRew:
    for name, value in (("obs", obs), ("acts", acts), ("rews", rews)):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf" or value.ndim < 1:
            raise ArtifactError(f"{where}: {name} is not a numeric array")
    if len(obs) != len(acts) + 1 or len(rews) != len(acts) or rews.ndim != 1 or len(acts) == 0:
        raise ArtifactError(
            f"{where}: inconsistent lengths (obs {len(obs)}, acts {len(acts)}, rews {len(rews)}); "
            "a trajectory has one more observation than actions and one reward per action"
        )
    if not np.all(np.isfinite(rews)):
        raise ArtifactError(f"{where}: rewards are not all finite")
    if not isinstance(terminal, (bool, np.bool_)) and not (np.ndim(terminal) == 0 and terminal in (0, 1)):
        raise ArtifactError(f"{where}: terminal is not a boolean")
    try:
        return TrajectoryWithRew(obs=obs, acts=acts, infos=None, terminal=bool(terminal), rews=rews.astype(np.float64))
    except ValueError as e:
        raise ArtifactError(f"{where}: {e}") from e


def _from_pickle(path: Path, data: Any) -> list[TrajectoryWithRew]:
    if not isinstance(data, (list, tuple)) or not data:
        raise ArtifactError(f"{path}: expected a non-empty list of TrajectoryWithRew, got {type(data).__name__}")
    out = []
    for i, t in enumerate(data):
        if not isinstance(t, TrajectoryWithRew):
            raise ArtifactError(f"{path}: item {i} is a {type(t).__name__}, not a TrajectoryWithRew")
        fields = getattr(t, "__dict__", {})
        out.append(_checked(fields.get("obs"), fields.get("acts"), fields.get("rews"), fields.get("terminal"),
                            f"{path}: trajectory {i}"))
    return out


def _check_npz_members(path: Path, keys: Sequence[str]) -> None:
    """Refuse members whose declared array (or expansion) is larger than the file can hold."""
    size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as z:
            for key in keys:
                try:
                    info = z.getinfo(f"{key}.npy")
                except KeyError:
                    continue
                if info.file_size > _MAX_EXPANSION * max(info.compress_size, 1) + (1 << 20) or \
                        info.file_size > _MAX_EXPANSION * size:
                    raise ArtifactError(f"{path}: {key} expands far beyond the file; refusing it")
                with z.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version not in ((1, 0), (2, 0), (3, 0)):
                        raise ArtifactError(f"{path}: {key} has an unknown .npy version {version}")
                    shape, _, dtype = np.lib.format._read_array_header(f, version)  # type: ignore[attr-defined]
                if dtype.hasobject:
                    raise ArtifactError(f"{path}: {key} holds Python objects; only numeric arrays are read")
                if int(np.prod(shape, dtype=object)) * dtype.itemsize > info.file_size:
                    raise ArtifactError(f"{path}: {key} claims shape {shape} but holds {info.file_size} bytes")
    except _CORRUPT_NPZ as e:
        if isinstance(e, ArtifactError):
            raise
        raise ArtifactError(f"{path}: corrupt .npz file ({type(e).__name__}: {one_line(e)})") from e


def _load_npz(path: Path) -> list[TrajectoryWithRew]:
    _check_npz_members(path, NPZ_KEYS)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("obs", "acts", "indices", "rews") if k not in data.files]
            if missing:
                raise ArtifactError(
                    f"{path}: not imitation's .npz trajectory layout (missing {', '.join(missing)}; has "
                    f"{', '.join(data.files) or 'nothing'})"
                )
            obs, acts, indices, rews = (np.asarray(data[k]) for k in ("obs", "acts", "indices", "rews"))
            terminal = np.asarray(data["terminal"]) if "terminal" in data.files else None
    except ArtifactError:
        raise
    except _CORRUPT_NPZ as e:
        raise ArtifactError(f"{path}: corrupt .npz file ({type(e).__name__}: {one_line(e)})") from e
    if indices.ndim != 1 or indices.dtype.kind not in "iu":
        raise ArtifactError(f"{path}: indices must be a 1-d integer array")
    if obs.ndim < 1 or acts.ndim < 1 or rews.ndim != 1:
        raise ArtifactError(f"{path}: obs and acts must be arrays over time steps and rews a 1-d array")
    n = len(indices) + 1
    if np.any(np.diff(indices) <= 0) or (len(indices) and (indices[0] <= 0 or indices[-1] >= len(acts))):
        raise ArtifactError(f"{path}: indices must increase strictly inside the action array")
    if len(obs) != len(acts) + n:
        raise ArtifactError(f"{path}: {len(obs)} observations for {len(acts)} actions in {n} trajectories")
    if terminal is None:
        terminal = np.ones(n, dtype=bool)
    if terminal.shape != (n,):
        raise ArtifactError(f"{path}: terminal has shape {terminal.shape}, expected ({n},)")
    obs_split = np.split(obs, indices + np.arange(1, n))
    return [
        _checked(o, a, r, t, f"{path}: trajectory {i}")
        for i, (o, a, r, t) in enumerate(
            zip(obs_split, np.split(acts, indices), np.split(rews, indices), terminal, strict=True)
        )
    ]


def save_trajectories_npz(path: str | os.PathLike, trajectories: Sequence[TrajectoryWithRew]) -> None:
    """Write imitation's ``.npz`` layout (without ``infos``), atomically."""
    if not trajectories:
        raise UserError("no trajectories to save")
    lengths = np.array([len(t.acts) for t in trajectories])
    arrays = {
        "obs": np.concatenate([t.obs for t in trajectories]),
        "acts": np.concatenate([t.acts for t in trajectories]),
        "indices": np.cumsum(lengths)[:-1],
        "terminal": np.array([t.terminal for t in trajectories]),
        "rews": np.concatenate([t.rews for t in trajectories]),
    }
    # np.savez stamps members with the current time; fixed timestamps keep reruns byte-identical.
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for key, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buffer.getvalue())
