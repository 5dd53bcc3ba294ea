"""Helpers of the crash, concurrency and determinism tests of the workflow."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.workflow_runs import content_digests

# Wall-clock timings that metrics.json files record for people (benchmarks read them, no rule does): the one
# known difference between two runs, compared with these keys (`seconds`, `*_seconds`) removed.


def is_timing_key(key: str) -> bool:
    return key == "seconds" or key.endswith("_seconds")


def fresh(path: Path) -> Path:
    """A new empty directory to copy the workflow into."""
    path.mkdir(parents=True)
    return path


def _without_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not is_timing_key(k)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def stable_digests(results: Path) -> tuple[dict[str, str], list[str]]:
    """sha256 of every artifact (JSON files without timing keys) and the names of the JSON files that had some."""
    digests = content_digests(results)
    timed = []
    for name in digests:
        if name.endswith(".json"):
            data = json.loads((results / name).read_text())
            stripped = _without_timings(data)
            if stripped != data:
                timed.append(name)
                digests[name] = hashlib.sha256(json.dumps(stripped, sort_keys=True).encode()).hexdigest()
    return digests, timed
