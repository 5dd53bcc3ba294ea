"""The output directory of one preprocessed non-tabular model (docs/architecture.md, artifact contracts)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.artifacts import atomic_dir, write_json
from reward_preprocessing.rewards.io import write_reward_net


def write_preprocessed_model(
    out_dir: str | os.PathLike,
    net: RewardNet,
    base_spec: dict[str, Any],
    model_dir: str | os.PathLike,
    objective: str,
    potential: str,
    metrics: dict[str, Any],
) -> None:
    """Write the preprocessed `net` (in the env of the model it came from) and its metrics.json, atomically."""
    env = base_spec.get("env", {})
    with atomic_dir(out_dir) as tmp:
        write_reward_net(
            net, tmp, env.get("id", ""), env.get("kwargs", {}),
            metadata={"preprocessed_from": str(model_dir), "objective": objective, "potential": potential},
        )
        write_json(Path(tmp) / "metrics.json", metrics)
