"""Image trajectories on disk: uint8 frames in ``.npy`` shards, read in batches without loading the dataset.

A rollout directory holds the train-procgen / imitation layout with the frames
split into shards:

* ``obs-00000.npy``, ``obs-00001.npy``, ...: (frames, H, W, C) uint8, ``shard_frames``
  frames each (the last shard shorter). Trajectory k stores its n_k + 1 frames
  contiguously: its observations and one final frame.
* ``acts.npy`` (N,) int8, ``rews.npy`` (N,) float32 raw rewards, ``terminal.npy``
  (T,) bool, ``indices.npy`` (T-1,) cumulative transition counts (imitation's
  split points);
* ``rollouts.json``: env, shapes, counts and how the data was made.

Transition i of trajectory k is frame ``i + k`` to frame ``i + k + 1``, so one
read of two adjacent frames gives (obs, next_obs). For a trajectory that ended
(``terminal``) the final frame repeats its last observation (procgen shows no
final frame; see `envs.procgen`), and its last transition has ``done``.

Frames are read with ``pread`` into a preallocated buffer, not through a
memory map: the page cache then never counts towards the process's resident
memory, which stays flat as datasets grow. The same reader serves a
train-procgen ``.npz`` (see `data.procgen_npz`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from imitation.data.types import TrajectoryWithRew

from reward_preprocessing.artifacts import NPY_HEADER_ERRORS, dumps_json, read_json
from reward_preprocessing.errors import ArtifactError, UserError, one_line

META_FILE = "rollouts.json"
FORMAT = "image_rollouts"
SHARD_PATTERN = "obs-{:05d}.npy"
DEFAULT_SHARD_FRAMES = 4096


@dataclass(frozen=True)
class FrameSource:
    """Frames [first, first + count) of the dataset live in `path` from byte `offset` on."""

    path: Path
    offset: int
    first: int
    count: int


def npy_data_offset(fileobj: Any, where: str) -> tuple[int, tuple[int, ...], np.dtype, bool]:
    """Read an ``.npy`` header from an open binary file; return (data offset, shape, dtype, fortran_order).

    A damaged header is an `ArtifactError` naming `where`, not whatever numpy's header parser raises.
    """
    start = fileobj.tell()
    try:
        version = np.lib.format.read_magic(fileobj)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fileobj)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fileobj)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except NPY_HEADER_ERRORS as e:
        raise ArtifactError(f"{where}: corrupt .npy header ({type(e).__name__}: {one_line(e)[:200]})") from e
    return fileobj.tell() - start, shape, dtype, fortran


def check_frames(shape: tuple[int, ...], dtype: np.dtype, where: str) -> tuple[int, int, int]:
    """Frames must be (n, H, W, C) uint8."""
    if len(shape) != 4 or dtype != np.uint8:
        raise UserError(f"{where}: observations must be (n, height, width, channels) uint8, got {shape} {dtype}")
    return shape[1], shape[2], shape[3]


class FrameReader:
    """Random access to frames spread over files, by ``pread`` into caller-owned buffers."""

    def __init__(self, sources: Sequence[FrameSource], frame_shape: tuple[int, int, int]) -> None:
        self.sources = list(sources)
        self.frame_shape = tuple(int(x) for x in frame_shape)
        self.frame_bytes = int(np.prod(self.frame_shape))
        self.firsts = np.array([s.first for s in self.sources], dtype=np.int64)
        self.n_frames = sum(s.count for s in self.sources)
        self._fds: list[int] | None = None

    def __getstate__(self) -> dict[str, Any]:  # file descriptors do not cross processes
        return {**self.__dict__, "_fds": None}

    def _open(self) -> list[int]:
        if self._fds is None:
            self._fds = [os.open(s.path, os.O_RDONLY) for s in self.sources]
        return self._fds

    def close(self) -> None:
        if self._fds is not None:
            for fd in self._fds:
                os.close(fd)
            self._fds = None

    def __del__(self) -> None:
        with contextlib.suppress(AttributeError, TypeError, OSError):  # at interpreter exit `os` may be gone
            self.close()

    def read_runs(self, starts: np.ndarray, length: int, out: np.ndarray | None = None) -> np.ndarray:
        """Frames ``starts[b] .. starts[b] + length - 1`` for each b, as (B, length, H, W, C) uint8."""
        starts = np.asarray(starts, dtype=np.int64)
        if out is None:
            out = np.empty((len(starts), length, *self.frame_shape), dtype=np.uint8)
        if len(starts) and (starts.min() < 0 or starts.max() + length > self.n_frames):
            raise UserError(f"frame index out of range [0, {self.n_frames})")
        fds = self._open()
        shard = np.searchsorted(self.firsts, starts, side="right") - 1
        flat = out.reshape(len(starts), length * self.frame_bytes)
        for b, (start, s) in enumerate(zip(starts.tolist(), shard.tolist(), strict=True)):
            done = 0
            while done < length:  # a run may cross into the next file
                src = self.sources[s]
                local = start + done - src.first
                take = min(length - done, src.count - local)
                view = memoryview(flat[b, done * self.frame_bytes : (done + take) * self.frame_bytes])
                got = os.preadv(fds[s], [view], src.offset + local * self.frame_bytes)
                if got != take * self.frame_bytes:
                    raise ArtifactError(f"{src.path}: truncated frame data")
                done += take
                s += 1
        return out


class ImageRollouts:
    """Image trajectories: small arrays in memory, frames read from disk on demand.

    Attributes:
        acts, rews, dones: (N,) per transition; ``dones[i]`` marks the last transition of a finished trajectory.
        episode_ids: (N,) trajectory of each transition (in time order).
        lengths: (T,) transitions per trajectory; terminal: (T,) whether it ended.
    """

    def __init__(self, frames: FrameReader, acts: np.ndarray, rews: np.ndarray, terminal: np.ndarray,
                 indices: np.ndarray, meta: dict[str, Any], where: str) -> None:
        n = len(acts)
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        terminal = np.asarray(terminal, dtype=bool).reshape(-1)
        if len(rews) != n:
            raise UserError(f"{where}: {n} actions but {len(rews)} rewards")
        if len(terminal) != len(indices) + 1:
            raise UserError(f"{where}: {len(terminal)} terminal flags need {len(terminal) - 1} indices, "
                            f"got {len(indices)}")
        bounds = np.concatenate([[0], indices, [n]])
        if (np.diff(bounds) < 0).any() or (len(indices) and indices[-1] > n):
            raise UserError(f"{where}: indices must be non-decreasing transition counts within [0, {n}]")
        if frames.n_frames != n + len(terminal):
            raise UserError(
                f"{where}: {frames.n_frames} frames, but {n} transitions in {len(terminal)} trajectories need "
                f"{n + len(terminal)} (one extra final frame per trajectory)"
            )
        if not np.isfinite(rews).all():
            raise UserError(f"{where}: rewards contain NaN or infinite values")
        self.frames = frames
        self.acts = np.asarray(acts).astype(np.int64)
        self.rews = np.asarray(rews, dtype=np.float32)
        self.terminal = terminal
        self.lengths = np.diff(bounds)
        self.starts = bounds[:-1]
        self.episode_ids = np.repeat(np.arange(len(terminal)), self.lengths)
        self.frame_of = np.arange(n, dtype=np.int64) + self.episode_ids  # obs frame of each transition
        self.dones = np.zeros(n, dtype=bool)
        ends = bounds[1:][terminal & (self.lengths > 0)] - 1
        self.dones[ends] = True
        self.meta = meta
        self.where = where

    def __len__(self) -> int:
        return len(self.acts)

    @property
    def n_trajectories(self) -> int:
        return len(self.terminal)

    @property
    def obs_shape(self) -> tuple[int, int, int]:
        return self.frames.frame_shape  # type: ignore[return-value]

    def transitions(self, index: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(obs, next_obs) of the transitions `index`, each (B, H, W, C) uint8 (views of one buffer)."""
        pairs = self.frames.read_runs(self.frame_of[np.asarray(index)], 2, out)
        return pairs[:, 0], pairs[:, 1]

    def trajectory(self, k: int) -> TrajectoryWithRew:
        """Trajectory k in imitation's type (frames loaded)."""
        begin, n = int(self.starts[k]), int(self.lengths[k])
        obs = self.frames.read_runs(np.array([begin + k]), n + 1)[0]
        return TrajectoryWithRew(obs=obs, acts=self.acts[begin:begin + n], infos=None,
                                 terminal=bool(self.terminal[k]), rews=self.rews[begin:begin + n])

    def iter_trajectories(self) -> Iterator[TrajectoryWithRew]:
        for k in range(self.n_trajectories):
            yield self.trajectory(k)

    def head(self, max_transitions: int) -> ImageRollouts:
        """The first whole trajectories holding at most `max_transitions` transitions (at least one trajectory)."""
        ends = np.cumsum(self.lengths)
        k = max(1, int(np.searchsorted(ends, max_transitions, side="right")))
        if k >= self.n_trajectories:
            return self
        n, n_frames = int(ends[k - 1]), int(ends[k - 1]) + k
        sources, first = [], 0
        for src in self.frames.sources:
            if first >= n_frames:
                break
            take = min(src.count, n_frames - first)
            sources.append(FrameSource(src.path, src.offset, src.first, take))
            first += take
        reader = FrameReader(sources, self.frames.frame_shape)  # type: ignore[arg-type]
        return ImageRollouts(reader, self.acts[:n], self.rews[:n], self.terminal[:k], np.cumsum(self.lengths[: k - 1]),
                             self.meta, f"{self.where} (first {k} trajectories)")

    def check_obs_shape(self, expected: Sequence[int]) -> None:
        if tuple(expected) != tuple(self.obs_shape):
            raise UserError(f"{self.where}: observations have shape {self.obs_shape}, expected {tuple(expected)}")


class ImageRolloutWriter:
    """Write trajectories into a rollout directory, holding at most one shard of frames in memory."""

    def __init__(self, directory: str | os.PathLike, frame_shape: Sequence[int],
                 shard_frames: int = DEFAULT_SHARD_FRAMES) -> None:
        if shard_frames < 1:
            raise UserError("shard_frames must be >= 1")
        self.directory = Path(directory)
        self.frame_shape = tuple(int(x) for x in frame_shape)
        self.shard_frames = int(shard_frames)
        self.buffer = np.empty((self.shard_frames, *self.frame_shape), dtype=np.uint8)
        self.filled = 0
        self.shards: list[str] = []
        self.acts: list[np.ndarray] = []
        self.rews: list[np.ndarray] = []
        self.terminal: list[bool] = []

    def _flush(self) -> None:
        if self.filled:
            name = SHARD_PATTERN.format(len(self.shards))
            np.save(self.directory / name, self.buffer[: self.filled])
            self.shards.append(name)
            self.filled = 0

    def add_frames(self, frames: np.ndarray) -> None:
        """Append frames to the frame stream (use `add` for whole trajectories)."""
        frames = np.asarray(frames)
        if frames.shape[1:] != self.frame_shape or frames.dtype != np.uint8:
            raise UserError(f"frames must be (n, {', '.join(map(str, self.frame_shape))}) uint8, "
                            f"got {frames.shape} {frames.dtype}")
        pos = 0
        while pos < len(frames):
            take = min(len(frames) - pos, self.shard_frames - self.filled)
            self.buffer[self.filled : self.filled + take] = frames[pos : pos + take]
            self.filled += take
            pos += take
            if self.filled == self.shard_frames:
                self._flush()

    def add(self, obs: np.ndarray, acts: np.ndarray, rews: np.ndarray, terminal: bool) -> None:
        """One trajectory: n + 1 frames (the last: the final frame), n actions and n raw rewards."""
        if len(obs) != len(acts) + 1 or len(rews) != len(acts):
            raise UserError(f"a trajectory needs n + 1 frames for n actions and rewards, got {len(obs)}, "
                            f"{len(acts)}, {len(rews)}")
        self.add_frames(obs)
        self.add_arrays(acts, rews, terminal)

    def add_arrays(self, acts: np.ndarray, rews: np.ndarray, terminal: bool) -> None:
        self.acts.append(np.asarray(acts, dtype=np.int8))
        self.rews.append(np.asarray(rews, dtype=np.float32))
        self.terminal.append(bool(terminal))

    def close(self, meta: dict[str, Any]) -> dict[str, Any]:
        """Write the remaining frames, the arrays and ``rollouts.json``; return the metadata written."""
        self._flush()
        lengths = [len(a) for a in self.acts]
        arrays = {
            "acts": np.concatenate(self.acts) if self.acts else np.zeros(0, np.int8),
            "rews": np.concatenate(self.rews) if self.rews else np.zeros(0, np.float32),
            "terminal": np.array(self.terminal, dtype=bool),
            "indices": np.cumsum(lengths[:-1], dtype=np.int64),
        }
        for name, array in arrays.items():
            np.save(self.directory / f"{name}.npy", array)
        full = {
            "format": FORMAT,
            "obs_shape": list(self.frame_shape),
            "obs_dtype": "uint8",
            "n_transitions": int(sum(lengths)),
            "n_trajectories": len(lengths),
            "n_frames": int(sum(lengths) + len(lengths)),
            "shard_frames": self.shard_frames,
            "shards": self.shards,
            **meta,
        }
        (self.directory / META_FILE).write_text(dumps_json(full))
        return full


def _load_small(path: Path, fix: str) -> np.ndarray:
    if not path.is_file():
        raise ArtifactError(f"{path}: missing; {fix}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ArtifactError(f"{path}: unreadable ({e}); {fix}") from e


def open_image_rollouts(path: str | os.PathLike) -> ImageRollouts:
    """Open a rollout directory written by `ImageRolloutWriter` (or a train-procgen ``.npz``)."""
    path = Path(path)
    if path.suffix == ".npz":
        from reward_preprocessing.data.procgen_npz import open_procgen_npz

        return open_procgen_npz(path)
    fix = "collect the rollouts again"
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{path}: not an image rollout directory (no {META_FILE}); collect rollouts first")
    meta = read_json(meta_path, fix)
    if meta.get("format") != FORMAT:
        raise ArtifactError(f"{meta_path}: not image rollouts (format {meta.get('format')!r})")
    sources, first, frame_shape = [], 0, None
    for name in meta["shards"]:
        shard = path / name
        if not shard.is_file():
            raise ArtifactError(f"{shard}: missing; {fix}")
        with open(shard, "rb") as f:
            offset, shape, dtype, fortran = npy_data_offset(f, str(shard))
        shape_hw = check_frames(shape, dtype, str(shard))
        if fortran or (frame_shape is not None and shape_hw != frame_shape):
            raise ArtifactError(f"{shard}: frames of another shape or layout than the other shards")
        frame_shape = shape_hw
        sources.append(FrameSource(shard, offset, first, shape[0]))
        first += shape[0]
    if frame_shape is None:
        raise ArtifactError(f"{path}: no frames")
    arrays = {k: _load_small(path / f"{k}.npy", fix) for k in ("acts", "rews", "terminal", "indices")}
    return ImageRollouts(FrameReader(sources, frame_shape), arrays["acts"], arrays["rews"], arrays["terminal"],
                         arrays["indices"], meta, str(path))
