"""Every benchmark script imports against the current library (they run by hand, so nothing else would notice
a renamed function: gradient_vs_exact.py once imported `build_potential` from a module it had left)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def test_there_are_benchmarks():
    assert len(BENCHMARKS) >= 5


@pytest.mark.parametrize("path", BENCHMARKS, ids=[p.stem for p in BENCHMARKS])
def test_benchmark_imports_and_has_a_main(path, monkeypatch):
    spec = importlib.util.spec_from_file_location(f"benchmark_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)  # module level only: each script runs its work under `if __name__ == "__main__"`
    if '__name__ == "__main__"' in path.read_text():  # a script, not a helper module (revisions.py)
        assert callable(getattr(module, "main", None)), f"{path.name} has no main()"
