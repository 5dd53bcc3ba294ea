"""The names of each env's discrete actions, by env id (CoinRun: procgen's button combinations).

Labels only: interpretation titles the output heads of a per-action reward net with them. A module of its own
rather than a field of `envs.spec.EnvSpec`, because `spec.py` is in the import closure of the CoinRun training
and rollout scripts: editing it would change their code version and rerun those hour-long jobs
(workflow/code_closure.py), for a change that touches no number they compute.
"""

from __future__ import annotations

from reward_preprocessing.envs import maze, procgen

_NAMES: dict[str, tuple[str, ...]] = {
    procgen.ENV_ID: procgen.ACTION_NAMES,
    **{maze.env_id(name): maze.ACTION_NAMES for name in maze.LAYOUTS},
}


def action_names(env_id: str | None) -> tuple[str, ...]:
    """The env's action names in action-index order, or ``()`` for an env that names none (or no env)."""
    return _NAMES.get(env_id or "", ())
