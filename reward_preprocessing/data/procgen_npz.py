"""train-procgen's trajectory ``.npz`` (``render.py --traj_path``), read and written without pickle on read.

The layout (also imitation's old ``.npz`` format): ``obs`` (N+T, H, W, C) uint8
with one extra final frame per trajectory, ``acts`` (N,) int8, ``rews`` (N,)
float32, ``terminal`` (T,) bool, ``indices`` (T-1,) cumulative transition
counts, ``infos`` an object array (one empty dict per transition).

Reading never unpickles: ``infos`` is skipped. Frames of an uncompressed
archive are read in place (a stored zip member is a plain ``.npy`` at some
offset of the file); those of a compressed one (train-procgen writes
``savez_compressed``) are first streamed into a temporary ``.npy``, chunk by
chunk, so the dataset never has to fit in memory.

Writing streams the frames too, and includes ``infos`` so that
``imitation.data.serialize.load`` (which needs every key) reads the file.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from reward_preprocessing.artifacts import NPY_HEADER_ERRORS, ZIP_ERRORS, atomic_path, is_zip
from reward_preprocessing.data.image_rollouts import (
    FrameReader,
    FrameSource,
    ImageRollouts,
    check_frames,
    npy_data_offset,
)
from reward_preprocessing.errors import ArtifactError, UserError, one_line

REQUIRED_KEYS = ("obs", "acts", "rews", "terminal", "indices")
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CHUNK_FRAMES = 1024
_LOCAL_HEADER = struct.Struct("<4s5H3I2H")  # zip local file header, 30 bytes


def _member_data_start(path: Path, info: zipfile.ZipInfo) -> int:
    """Byte offset of a stored member's data (after its local header, whose extra field may differ)."""
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        raw = f.read(_LOCAL_HEADER.size)
        fields = _LOCAL_HEADER.unpack(raw) if len(raw) == _LOCAL_HEADER.size else (b"",)
        if fields[0] != b"PK\x03\x04":
            raise ArtifactError(f"{path}: corrupt zip (bad local header of {info.filename})")
        name_len, extra_len = fields[-2], fields[-1]
        return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len


def _read_small(archive: zipfile.ZipFile, name: str, where: str) -> np.ndarray:
    try:
        with archive.open(f"{name}.npy") as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except (*ZIP_ERRORS, *NPY_HEADER_ERRORS) as e:
        raise UserError(f"{where}: key {name!r} is not a plain numeric array ({one_line(e)[:200]})") from e


def open_procgen_npz(path: str | os.PathLike, tmp_dir: str | os.PathLike | None = None) -> ImageRollouts:
    """Open a train-procgen ``.npz`` as `ImageRollouts` (see the module docstring)."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such .npz file")
    if not is_zip(path):
        raise ArtifactError(f"{path}: not an .npz (zip) file")
    # A damaged directory, record or stream; not all of ZIP_ERRORS: an OSError here may be the temporary's disk.
    try:
        return _open_npz(path, where, tmp_dir)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as e:
        raise ArtifactError(f"{where}: corrupt .npz ({type(e).__name__}: {one_line(e)[:200]})") from e


def _open_npz(path: Path, where: str, tmp_dir: str | os.PathLike | None) -> ImageRollouts:
    with zipfile.ZipFile(path) as archive:
        members = {Path(n).stem: archive.getinfo(n) for n in archive.namelist() if n.endswith(".npy")}
        missing = [k for k in REQUIRED_KEYS if k not in members]
        if missing:
            raise UserError(f"{where}: missing key(s) {', '.join(missing)}; a train-procgen trajectory file has "
                            f"{', '.join(REQUIRED_KEYS)} (and infos)")
        arrays = {k: _read_small(archive, k, where) for k in REQUIRED_KEYS if k != "obs"}
        if not np.issubdtype(arrays["acts"].dtype, np.integer):
            raise UserError(f"{where}: acts must be integers, got {arrays['acts'].dtype}")
        if not np.issubdtype(arrays["rews"].dtype, np.floating):
            raise UserError(f"{where}: rews must be floats, got {arrays['rews'].dtype}")
        info = members["obs"]
        keep_alive: Any = None
        if info.compress_type == zipfile.ZIP_STORED:
            start = _member_data_start(path, info)
            with open(path, "rb") as f:
                f.seek(start)
                header, shape, dtype, fortran = npy_data_offset(f, f"{where} (obs)")
            frame_shape = check_frames(shape, dtype, f"{where} (obs)")
            source = FrameSource(path, start + header, 0, shape[0])
        else:
            keep_alive = tempfile.TemporaryDirectory(prefix="procgen_npz_", dir=tmp_dir)
            frames_path = Path(keep_alive.name) / "obs.npy"
            with archive.open(info) as src, open(frames_path, "wb") as dst:
                _, shape, dtype, fortran = npy_data_offset(src, f"{where} (obs)")
                frame_shape = check_frames(shape, dtype, f"{where} (obs)")
                np.lib.format.write_array_header_1_0(
                    dst, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape})
                data_start = dst.tell()
                shutil.copyfileobj(src, dst, length=_CHUNK_FRAMES * int(np.prod(frame_shape)))
            source = FrameSource(frames_path, data_start, 0, shape[0])
        if fortran:
            raise UserError(f"{where}: obs is stored in Fortran order; expected C order")
    meta = {"format": "procgen_npz", "source": str(path), "obs_shape": list(frame_shape)}
    rollouts = ImageRollouts(FrameReader([source], frame_shape), arrays["acts"], arrays["rews"],
                             arrays["terminal"], arrays["indices"], meta, where)
    rollouts.keep_alive = keep_alive  # type: ignore[attr-defined]  # the temporary frames live as long as this
    return rollouts


def _zip_info(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def write_procgen_npz(rollouts: ImageRollouts, path: str | os.PathLike, compress: bool = False,
                     chunk_frames: int = _CHUNK_FRAMES) -> None:
    """Write `rollouts` as a train-procgen ``.npz``, streaming frames (atomic, byte-reproducible).

    Uncompressed by default, so that `open_procgen_npz` reads its frames in place.
    """
    n_frames = rollouts.frames.n_frames
    small = {
        "acts": rollouts.acts.astype(np.int8),
        "rews": rollouts.rews.astype(np.float32),
        "terminal": rollouts.terminal.astype(bool),
        "indices": np.cumsum(rollouts.lengths[:-1], dtype=np.int64),
    }
    infos = np.empty(len(rollouts), dtype=object)
    infos[:] = [{} for _ in range(len(rollouts))]
    with atomic_path(path, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w", allowZip64=True) as archive:
        with archive.open(_zip_info("obs.npy", compress), "w", force_zip64=True) as f:
            header = {"descr": "|u1", "fortran_order": False, "shape": (n_frames, *rollouts.obs_shape)}
            np.lib.format.write_array_header_1_0(f, header)
            for begin in range(0, n_frames, chunk_frames):
                count = min(chunk_frames, n_frames - begin)
                f.write(rollouts.frames.read_runs(np.array([begin]), count)[0].tobytes())
        for name, array in [*small.items(), ("infos", infos)]:
            with archive.open(_zip_info(f"{name}.npy", compress), "w") as f:
                np.lib.format.write_array(f, array, allow_pickle=name == "infos")
