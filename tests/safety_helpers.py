"""Helpers of the crash, concurrency and determinism tests of the workflow."""

from __future__ import annotations

import hashlib
from pathlib import Path

from reward_preprocessing.artifacts import comparable_bytes
from tests.workflow_runs import content_digests


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
