"""Read the tabular artifacts that figures are drawn from, checking them against their contract.

A heatmap is only as trustworthy as the table behind it, so every problem (wrong
header, a missing or repeated (state, action), NaN, an index out of range) is an
`ArtifactError` that names the file and the line, never a silently wrong picture.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np

from reward_preprocessing.errors import ArtifactError

REWARDS_CSV_COLUMNS = ("state", "action", "next_state", "original", "preprocessed")


def _int_in_range(text: str, name: str, upper: int, where: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ArtifactError(f"{where}: {name} {text!r} is not an integer") from None
    if not 0 <= value < upper:
        raise ArtifactError(f"{where}: {name} {value} is outside [0, {upper})")
    return value


def _finite(text: str, name: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ArtifactError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ArtifactError(f"{where}: {name} is {text!r}; the reward must be finite")
    return value


def load_rewards_csv(path: str | os.PathLike, num_states: int, num_actions: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a ``rewards.csv`` into (S, A) arrays ``(original, preprocessed)``.

    The contract: docs/architecture.md, "Preprocessed models".

    Every (state, action) pair must appear exactly once: a blocked move still has a
    reward in the table, and the heatmap decides whether to draw it.

    Raises:
        ArtifactError: the file is missing or does not follow the contract; the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: rewards table not found (expected columns {','.join(REWARDS_CSV_COLUMNS)})")
    original = np.full((num_states, num_actions), np.nan)
    preprocessed = np.full((num_states, num_actions), np.nan)
    seen = np.zeros((num_states, num_actions), dtype=bool)
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None or tuple(h.strip() for h in header) != REWARDS_CSV_COLUMNS:
                raise ArtifactError(
                    f"{path}: header is {','.join(header) if header else 'missing'}, "
                    f"expected {','.join(REWARDS_CSV_COLUMNS)}"
                )
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if not row:
                    continue
                if len(row) != len(REWARDS_CSV_COLUMNS):
                    raise ArtifactError(f"{where}: {len(row)} fields, expected {len(REWARDS_CSV_COLUMNS)}")
                s = _int_in_range(row[0], "state", num_states, where)
                a = _int_in_range(row[1], "action", num_actions, where)
                _int_in_range(row[2], "next_state", num_states, where)
                if seen[s, a]:
                    raise ArtifactError(f"{where}: (state {s}, action {a}) appears twice")
                seen[s, a] = True
                original[s, a] = _finite(row[3], "original", where)
                preprocessed[s, a] = _finite(row[4], "preprocessed", where)
    except UnicodeDecodeError as e:
        raise ArtifactError(f"{path}: not a text CSV file ({e.reason})") from None
    except csv.Error as e:
        raise ArtifactError(f"{path}: malformed CSV ({e})") from None
    if not seen.all():
        missing = np.argwhere(~seen)
        s, a = (int(v) for v in missing[0])
        raise ArtifactError(
            f"{path}: {len(missing)} of {seen.size} (state, action) pairs are missing, e.g. state {s} action {a}; "
            f"expected {num_states} states x {num_actions} actions"
        )
    return original, preprocessed


def load_panel_rewards(path: str | os.PathLike, column: str, num_states: int, num_actions: int) -> np.ndarray:
    """The (S, A) rewards a heatmap column shows: ``original`` for "unmodified", else ``preprocessed``.

    Every objective's ``rewards.csv`` of a model carries the same original reward, so the
    "unmodified" column can be read from any of them.
    """
    original, preprocessed = load_rewards_csv(path, num_states, num_actions)
    return original if column == "unmodified" else preprocessed
