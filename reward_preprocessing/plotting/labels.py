"""How the names used in targets and configs (shapings, objectives) are shown in figures."""

from __future__ import annotations

DISPLAY_NAMES: dict[str, str] = {
    "unshaped": "Unshaped",
    "dense": "Dense shaping",
    "antidense": "Antidense shaping",
    "random": "Random shaping",
    "unmodified": "Unmodified",
    "sparse_l1": "L1 sparse",
    "smooth_l1": "L1 smooth",
    "sparse_log": "Log sparse",
    "smooth_log": "Log smooth",
}


def display_name(label: str) -> str:
    """The pretty form of a row or column name (``sparse_l1`` -> ``L1 sparse``)."""
    return DISPLAY_NAMES.get(label, label)
