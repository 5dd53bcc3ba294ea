"""Expert directories: one place to save and load every kind of expert.

An expert directory holds ``expert.json`` (what it is: kind, env, how it was
made; deterministic), the policy itself (``model.zip`` for SB3, ``policy.json``
for a tabular policy) and ``metrics.json`` (evaluation and wall time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stable_baselines3.common.base_class import BaseAlgorithm

from reward_preprocessing.artifacts import atomic_dir, read_json, write_json
from reward_preprocessing.errors import ArtifactError
from reward_preprocessing.experts.sb3 import load_sb3_expert, save_sb3_expert
from reward_preprocessing.experts.tabular import TabularPolicy, load_tabular_policy, save_tabular_policy

EXPERT_FILE = "expert.json"
SB3_FILE = "model.zip"
TABULAR_FILE = "policy.json"
METRICS_FILE = "metrics.json"


@dataclass
class Expert:
    """A loaded expert: something with SB3's ``predict`` and the env it acts in."""

    policy: BaseAlgorithm | TabularPolicy
    kind: str  # "sb3" or "tabular"
    env_id: str
    env_kwargs: dict[str, Any]
    info: dict[str, Any]

    @property
    def sb3_model(self) -> BaseAlgorithm | None:
        return self.policy if isinstance(self.policy, BaseAlgorithm) else None


def save_expert(
    directory: str | os.PathLike,
    policy: BaseAlgorithm | TabularPolicy,
    env_id: str,
    env_kwargs: dict[str, Any],
    info: dict[str, Any],
    metrics: dict[str, Any],
) -> None:
    """Write an expert directory atomically."""
    kind = "sb3" if isinstance(policy, BaseAlgorithm) else "tabular"
    with atomic_dir(directory) as tmp:
        if isinstance(policy, BaseAlgorithm):
            save_sb3_expert(policy, tmp / SB3_FILE)
        else:
            save_tabular_policy(policy, tmp / TABULAR_FILE)
        write_json(tmp / EXPERT_FILE, {"kind": kind, "env": {"id": env_id, "kwargs": env_kwargs}, **info})
        write_json(tmp / METRICS_FILE, metrics)


def load_expert(path: str | os.PathLike) -> Expert:
    """Load an expert directory, or a bare SB3 ``.zip`` (whose env is then unknown)."""
    path = Path(path)
    if path.is_file():
        model = load_sb3_expert(path)
        return Expert(model, "sb3", "", {}, {})
    meta_path = path / EXPERT_FILE
    if not meta_path.is_file():
        raise ArtifactError(f"{path}: not an expert directory (no {EXPERT_FILE}); train the expert first")
    meta = read_json(meta_path, "retrain the expert")
    env = meta.get("env", {})
    kind = meta.get("kind")
    if kind == "sb3":
        policy: BaseAlgorithm | TabularPolicy = load_sb3_expert(path / SB3_FILE, meta.get("algo"))
    elif kind == "tabular":
        policy = load_tabular_policy(path / TABULAR_FILE)
    else:
        raise ArtifactError(f"{meta_path}: unknown expert kind {kind!r}; expected 'sb3' or 'tabular'")
    return Expert(policy, kind, env.get("id", ""), env.get("kwargs", {}), meta)
