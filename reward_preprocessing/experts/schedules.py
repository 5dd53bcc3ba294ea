"""Picklable hyperparameter schedules for SB3 (what SB3 stores in its zip must not depend on where it ran).

SB3 turns a float learning rate or clip range into a closure (``constant_fn.<locals>.func``) that cloudpickle
saves by value, code object and all, so the zip embeds the absolute path of the venv's SB3 source: two checkouts
with identical weights write different bytes. Module-level classes pickle by reference instead.
"""

from __future__ import annotations

from typing import Any

# Schedules SB3 rebuilds on load from the plain values it also saves (learning_rate; DQN's exploration_*):
# left out of the zip.
REBUILT_ON_LOAD = ["lr_schedule", "exploration_schedule"]
# PPO's clip ranges are saved as the schedule itself (a float becomes a closure): passed as objects instead.
_CLIP_RANGES = ("clip_range", "clip_range_vf")


class ConstantSchedule:
    """value(progress_remaining) = value."""

    def __init__(self, value: float) -> None:
        self.value = float(value)

    def __call__(self, progress_remaining: float) -> float:
        return self.value


class LinearSchedule:
    """lr(progress_remaining) = initial * progress_remaining: from `initial` down to 0."""

    def __init__(self, initial: float) -> None:
        self.initial = float(initial)

    def __call__(self, progress_remaining: float) -> float:
        return self.initial * progress_remaining


def picklable_hyperparams(hyperparams: dict[str, Any]) -> dict[str, Any]:
    """`hyperparams` with float clip ranges (PPO) as `ConstantSchedule`s."""
    return {key: ConstantSchedule(value) if key in _CLIP_RANGES and isinstance(value, (int, float)) else value
            for key, value in hyperparams.items()}
