"""Preprocess learned reward functions so that people can read them.

Potential shaping never changes which policy is optimal, so we pick the shaping
that makes a reward simplest to look at (sparse or smooth) and plot that.
"""

__version__ = "0.1.0"


def _import_legacy_gym_quietly() -> None:
    """Import the legacy `gym` once with stderr silenced.

    stable-baselines3 imports `gym` when it is installed (procgen needs it), and
    that import prints a multi-line deprecation notice to stderr, which would
    bury the one-line errors our scripts print.
    """
    import contextlib
    import io

    with contextlib.suppress(ImportError), contextlib.redirect_stderr(io.StringIO()):
        import gym  # noqa: F401


_import_legacy_gym_quietly()

# Like seals: importing the package registers its envs with gymnasium (ids only; env modules stay light).
from reward_preprocessing import envs as _envs  # noqa: E402,F401
