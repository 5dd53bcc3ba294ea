"""Atomic writes, so that a failed job never leaves a half-written output behind.

Every artifact is first written next to its final path under a temporary name
and only renamed into place once complete (rename is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from reward_preprocessing.errors import ArtifactError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary file path that replaces `path` only if the block succeeds.

    `suffix` defaults to the final suffix so that writers picking a format from
    the extension (matplotlib, plotly) see the right one.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=final.suffix if suffix is None else suffix, dir=final.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are shared results
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory that replaces the directory `path` on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return value


def dumps_json(data: Any) -> str:
    """Serialize deterministically (sorted keys, fixed indent) for byte-identical reruns."""
    return json.dumps(_jsonable(data), indent=2, sort_keys=True, allow_nan=False) + "\n"


def read_json(path: str | os.PathLike, fix: str) -> Any:
    """Parse a JSON artifact; a missing or corrupt file raises `ArtifactError` naming it and `fix`."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError as e:
        raise ArtifactError(f"{path}: missing; {fix}") from e
    except (ValueError, RecursionError) as e:  # JSONDecodeError, bad UTF-8, huge numbers, deep nesting
        raise ArtifactError(f"{path}: corrupt JSON ({type(e).__name__}: {str(e)[:200]}); {fix}") from e
    except IsADirectoryError as e:
        raise ArtifactError(f"{path}: a directory where a JSON file belongs; {fix}") from e


def write_json(path: str | os.PathLike, data: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(dumps_json(data))


def write_csv(path: str | os.PathLike, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Write a CSV with floats in `repr` form so that values round-trip exactly."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])
