"""Shared test setup: headless plotting, hypothesis profile, and no silent "no tests ran"."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile("default", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI replays the same examples every run, so that a landing never depends on luck; local runs explore new ones
# (and hypothesis keeps every failure it finds in .hypothesis/ and tries it first next time).
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Treat "no tests collected" (exit 5) as a failure: a green run must have tested something."""
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        print("\nerror: no tests were collected; check the test selection", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
