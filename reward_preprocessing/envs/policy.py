"""What every stage that acts in an env needs of a policy (rollouts, evaluation, videos).

It lives with the envs, the bottom layer, so that `data/` can collect rollouts
from an expert without importing `experts/`.
"""

from __future__ import annotations

from typing import Any, Protocol


class Policy(Protocol):
    """Anything with SB3's ``predict`` (an SB3 model or a `TabularPolicy`)."""

    def predict(
        self, observation: Any, state: Any = None, episode_start: Any = None, deterministic: bool = True
    ) -> Any: ...
