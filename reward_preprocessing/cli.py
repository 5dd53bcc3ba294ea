"""Shared plumbing of the scripts in scripts/: one-line errors and exit codes."""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Callable

from reward_preprocessing.errors import UserError


def run(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a script's `main`; a `UserError` becomes ``error: ...`` on stderr and exit status 2."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    # Third-party deprecation chatter (gym, torch.jit) buries the lines a researcher needs.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
