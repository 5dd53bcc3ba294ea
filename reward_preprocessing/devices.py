"""Where networks run: the `device` setting (auto | cpu | cuda) and per-job thread counts."""

from __future__ import annotations

from typing import Literal

from reward_preprocessing.errors import UserError

Device = Literal["auto", "cpu", "cuda"]
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(device: str) -> str:
    """The torch device for a `device` setting: ``auto`` takes CUDA when it is available.

    Raises:
        UserError: an unknown name, or ``cuda`` on a machine without a usable GPU (before any work starts).
    """
    import torch as th

    if device not in DEVICES and not device.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}; choose one of: {', '.join(DEVICES)}")
    if device == "auto":
        return "cuda" if th.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not th.cuda.is_available():
        raise UserError(f"device {device!r} requested but no CUDA GPU is available here; use device: auto or cpu")
    return device


def set_threads(threads: int) -> None:
    """Use `threads` CPU threads in torch (the rule's `threads:`), at least one."""
    import torch as th

    th.set_num_threads(max(1, int(threads)))
