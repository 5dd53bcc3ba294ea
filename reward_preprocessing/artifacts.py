"""Atomic writes, so that a failed job never leaves a half-written output behind.

Every artifact is first written next to its final path under a temporary name
and only renamed into place once complete (rename is atomic on POSIX).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import glob
import io
import json
import os
import re
import shutil
import socket
import tempfile
import time
import tokenize
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from reward_preprocessing.errors import ArtifactError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Temporary names carry the writer's host and process id, so that a later run can tell the leftovers of a
# killed writer (same host, process gone) from files another live process is writing right now.
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]) or "host"
_TEMP = re.compile(r"^\.(?P<final>.+)\.(?P<host>[A-Za-z0-9-]+)~(?P<pid>\d+)~tmp[A-Za-z0-9_]+")
# Crash tests hold a finished temporary file this many seconds before it is renamed into place.
HOLD_ENV = "REWARD_PREPROCESSING_TEST_HOLD_WRITE"


def temporary_prefix(final: Path) -> str:
    """Name prefix of this process's temporaries for `final` (see `is_stale_temporary`)."""
    return f".{final.name}.{_HOST}~{os.getpid()}~tmp"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale_temporary(path: Path) -> bool:
    """A temporary of `atomic_path`/`atomic_dir` whose writer was on this host and no longer runs."""
    match = _TEMP.match(path.name)
    return bool(match) and match["host"] == _HOST and not _pid_alive(int(match["pid"]))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temporaries(root: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Delete the temporaries killed writers left under `root` (or directly in it); return what was removed."""
    removed: list[Path] = []
    root = Path(root)
    if not root.is_dir():
        return removed
    for dirpath, dirnames, filenames in os.walk(root):
        if not recursive:
            dirnames_here = list(dirnames)
            dirnames[:] = []
            for name in [*filenames, *dirnames_here]:
                if is_stale_temporary(Path(dirpath, name)):
                    _remove(Path(dirpath, name))
                    removed.append(Path(dirpath, name))
            break
        for name in [*filenames, *dirnames]:
            path = Path(dirpath, name)
            if is_stale_temporary(path):
                _remove(path)
                removed.append(path)
        dirnames[:] = [d for d in dirnames if Path(dirpath, d).exists()]
    return removed


def _clear_stale(final: Path) -> None:
    """Before writing `final`, delete what killed writers of the same path left next to it."""
    for path in final.parent.glob(f".{glob.escape(final.name)}.*~tmp*"):
        if path.name.startswith(f".{final.name}.") and is_stale_temporary(path):
            _remove(path)


def _hold_for_crash_tests() -> None:
    seconds = os.environ.get(HOLD_ENV)
    if seconds:
        time.sleep(float(seconds))


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary file path that replaces `path` only if the block succeeds.

    `suffix` defaults to the final suffix so that writers picking a format from
    the extension (matplotlib, plotly) see the right one.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(final)
    fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(final), suffix=final.suffix if suffix is None else suffix,
                               dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs are shared results
        _hold_for_crash_tests()
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory that replaces the directory `path` on success."""
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(final)
    tmp = Path(tempfile.mkdtemp(prefix=temporary_prefix(final), dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        _hold_for_crash_tests()
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def publish_noreplace(tmp: str | os.PathLike, final: str | os.PathLike) -> bool:
    """Move the finished `tmp` (file or directory, same file system) to `final` unless `final` exists.

    Returns False, leaving `tmp` in place, when another writer got there first. Atomic: `final` is never
    replaced, partially written or nested (a directory renamed onto a non-empty one fails; a file is
    hard-linked, which fails if the name exists).
    """
    tmp, final = Path(tmp), Path(final)
    try:
        if tmp.is_dir():
            os.rename(tmp, final)  # onto an existing non-empty directory: ENOTEMPTY/EEXIST
            return True
        if final.is_dir():
            return False
        os.link(tmp, final)  # EEXIST if the name exists
    except FileExistsError:
        return False
    except OSError as e:
        if e.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.EISDIR, errno.ENOTDIR):
            return False
        raise
    tmp.unlink()
    return True


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


# What zipfile raises on a damaged archive: a bad directory or record, a broken deflate stream, a truncated file,
# a header naming an unknown zip version or compression (NotImplementedError) or encryption (RuntimeError).
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, NotImplementedError, RuntimeError)
# What numpy raises on a damaged .npy header: it parses the header as a Python literal.
NPY_HEADER_ERRORS = (ValueError, SyntaxError, tokenize.TokenError, EOFError)


def is_zip(file: str | os.PathLike | IO[bytes]) -> bool:
    """`zipfile.is_zipfile`, but False where it raises: on some damaged end records (one that claims the
    archive spans several disks, say) it raises BadZipFile instead of answering."""
    try:
        return zipfile.is_zipfile(file)
    except zipfile.BadZipFile:
        return False


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


# --- The one nondeterministic part of the artifacts: wall-clock measurements ---------------------------------

# Every key (of a JSON artifact, at any depth) and CSV column that holds a wall-clock measurement. These and
# nothing else may differ between two runs of the same config and seed: people and benchmarks read them (the
# CoinRun expert's metrics keep wall time and steps/s), no rule does. A writer that records a new timing uses
# a name from this set (tests/test_determinism_contract.py fails on an unlisted one); the determinism test and
# benchmarks/identical_artifacts.py compare every other byte (`comparable_bytes`).
TIMING_KEYS = frozenset({
    "seconds",  # a stage's or a solve's wall time (metrics.json of models and preprocessed models)
    "cpu_seconds",  # CPU time of learned maze rewards
    "train_seconds",  # expert and CNN reward-model training time
    "eval_seconds",  # expert evaluation time
    "plan_seconds",  # value iteration of a maze expert
    "wall_seconds",  # the CoinRun expert's learning_curve.csv
    "steps_per_second",  # the CoinRun expert's throughput
    "transitions_per_second",  # the CNN reward model's throughput
})
TIMING_MASK = "<timing>"


def mask_timing(value: Any) -> tuple[Any, list[str]]:
    """`value` (parsed JSON) with every `TIMING_KEYS` value replaced by `TIMING_MASK`, and the keys masked."""
    masked: list[str] = []

    def walk(v: Any) -> Any:
        if isinstance(v, dict):
            out = {}
            for k, item in v.items():
                if k in TIMING_KEYS:
                    masked.append(k)
                    out[k] = TIMING_MASK
                else:
                    out[k] = walk(item)
            return out
        if isinstance(v, list):
            return [walk(item) for item in v]
        return v

    return walk(value), sorted(set(masked))


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def comparable_bytes(path: str | os.PathLike) -> tuple[bytes, list[str]]:
    """The bytes two runs must share: the file's own, with the values of `TIMING_KEYS` masked in a JSON file
    or CSV written by this package (`dumps_json`, `write_csv`), and the keys masked.

    A file that is not in this package's canonical form is returned unmasked, so that the comparison stays
    byte for byte everywhere else."""
    path = Path(path)
    raw = path.read_bytes()
    if path.suffix == ".json":
        try:
            value = json.loads(raw)
        except ValueError:
            return raw, []
        if dumps_json(value).encode() != raw:
            return raw, []
        masked, keys = mask_timing(value)
        return dumps_json(masked).encode(), keys
    if path.suffix == ".csv":
        try:
            rows = list(csv.reader(raw.decode().splitlines()))
        except (UnicodeDecodeError, csv.Error):
            return raw, []
        if not rows or _csv_text(rows).encode() != raw:
            return raw, []
        columns = [i for i, name in enumerate(rows[0]) if name in TIMING_KEYS]
        if not columns:
            return raw, []
        for row in rows[1:]:
            for i in columns:
                if i < len(row):
                    row[i] = TIMING_MASK
        return _csv_text(rows).encode(), sorted({rows[0][i] for i in columns})
    return raw, []
