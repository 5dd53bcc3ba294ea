"""Helpers of the crash, concurrency and determinism tests of the workflow."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from reward_preprocessing.artifacts import comparable_bytes
from tests.workflow_runs import content_digests


def install_paths_in_sb3_zip(path: Path) -> list[str]:
    """Which of this interpreter's install paths occur in the cloudpickled members of an SB3 zip's ``data`` (a
    closure pickled by value names its code's file: the zip's bytes would then depend on the checkout)."""
    data = json.loads(zipfile.ZipFile(path).read("data"))
    serialized = b"".join(base64.b64decode(v[":serialized:"]) for v in data.values()
                          if isinstance(v, dict) and ":serialized:" in v)
    assert serialized, f"{path}: no serialized objects (not an SB3 zip?)"
    return [p for p in (sys.prefix, "site-packages") if p.encode() in serialized]


def fresh(path: Path) -> Path:
    """A new empty directory to copy the workflow into."""
    path.mkdir(parents=True)
    return path


def stable_digests(results: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """sha256 of every artifact, byte for byte except the values of `TIMING_KEYS` (the one documented
    nondeterministic part: wall-clock measurements, masked by `comparable_bytes`), and which keys were masked
    in which file."""
    digests, masked = {}, {}
    for name in content_digests(results):
        data, keys = comparable_bytes(results / name)
        digests[name] = hashlib.sha256(data).hexdigest()
        if keys:
            masked[name] = keys
    return digests, masked
