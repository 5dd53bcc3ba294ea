"""What every tabular solver returns: its raw potential and shift, and how it got there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class SolverResult:
    """A solver's answer before normalisation (`solvers.normalise` picks the representative we report).

    Attributes:
        potential: (S,) phi, one value per state.
        shift: the constant c.
        iterations: solver-specific count of steps (LP: 1; MM: accepted moves; Adam: epochs).
        converged: whether the solver's own stopping rule certifies the answer.
        info: solver-specific diagnostics, copied into ``metrics.json``.
    """

    potential: np.ndarray
    shift: float
    iterations: int
    converged: bool
    info: dict[str, Any] = field(default_factory=dict)
