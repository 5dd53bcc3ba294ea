"""The one nondeterministic part of the artifacts is named in one place: `artifacts.TIMING_KEYS`.

Two runs compare byte for byte except the values of those keys (`artifacts.comparable_bytes`). These tests
keep that honest: every wall-clock key a writer in the package or its scripts records is listed, masking
touches exactly the listed keys, and anything that is not canonical JSON/CSV is compared unmasked.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from reward_preprocessing.artifacts import (
    TIMING_KEYS,
    TIMING_MASK,
    comparable_bytes,
    dumps_json,
    mask_timing,
    write_csv,
    write_json,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# What a wall-clock measurement is called in this code base.
TIMING_NAME = re.compile(r"^(?:\w+_)?(?:seconds|per_second)$")


def _string_literals() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in [*(REPO_ROOT / "reward_preprocessing").rglob("*.py"), *(REPO_ROOT / "scripts").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and TIMING_NAME.match(node.value):
                found.setdefault(node.value, []).append(str(path.relative_to(REPO_ROOT)))
    return found


def test_every_timing_key_written_is_listed():
    found = _string_literals()
    unlisted = {key: files for key, files in found.items() if key not in TIMING_KEYS}
    assert not unlisted, f"wall-clock keys missing from artifacts.TIMING_KEYS: {unlisted}"
    assert {"train_seconds", "steps_per_second", "eval_seconds"} <= set(found)  # the experts' keys are seen


def test_masking_keeps_everything_but_timing_values(tmp_path):
    metrics = {"seconds": 1.5, "value": 0.25, "nested": [{"train_seconds": 3.0, "epochs": 2}], "steps_per_second": 9.0,
               "seconds_left_alone": 1.0}
    write_json(tmp_path / "metrics.json", metrics)
    data, keys = comparable_bytes(tmp_path / "metrics.json")
    assert keys == ["seconds", "steps_per_second", "train_seconds"]
    expected = {**metrics, "seconds": TIMING_MASK, "steps_per_second": TIMING_MASK,
                "nested": [{"train_seconds": TIMING_MASK, "epochs": 2}]}
    assert data == dumps_json(expected).encode()
    write_csv(tmp_path / "curve.csv", ["timesteps", "wall_seconds", "return_mean"], [[1, 0.5, 2.0], [2, 0.75, 3.0]])
    data, keys = comparable_bytes(tmp_path / "curve.csv")
    expected_csv = f"timesteps,wall_seconds,return_mean\n1,{TIMING_MASK},2.0\n2,{TIMING_MASK},3.0\n"
    assert keys == ["wall_seconds"] and data == expected_csv.encode()


def test_non_canonical_files_are_compared_unmasked(tmp_path):
    for name, content in {"a.json": b'{"seconds": 1}', "b.csv": b"seconds\r\n1\r\n", "c.png": b"\x89PNG"}.items():
        (tmp_path / name).write_bytes(content)
        assert comparable_bytes(tmp_path / name) == (content, [])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from([*sorted(TIMING_KEYS), "value", "epochs", "a"]), children, max_size=4),
    max_leaves=12,
)


@given(json_values, json_values)
def test_two_documents_compare_equal_iff_they_differ_only_in_timing(a, b):
    """Masked equality is exactly "equal after replacing every timing value": nothing else is ignored."""
    assert (mask_timing(a)[0] == mask_timing(b)[0]) == (_replace(a) == _replace(b))
    assert mask_timing(a)[0] == mask_timing(_replace(a))[0]


def _replace(value):
    if isinstance(value, dict):
        return {k: (TIMING_MASK if k in TIMING_KEYS else _replace(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v) for v in value]
    return value
