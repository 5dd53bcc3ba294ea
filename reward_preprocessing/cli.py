"""Shared plumbing of the scripts in scripts/: one-line errors, exit codes and a resource-usage line."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import warnings
from collections.abc import Callable

from reward_preprocessing.errors import UserError
from reward_preprocessing.resource_usage import format_usage_line, measure_self

# Write failures that are about the machine, not the code: a clear line instead of a traceback.
_RESOURCE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def run(main: Callable[[list[str] | None], None], argv: list[str] | None = None) -> None:
    """Run a script's `main`; a `UserError` becomes ``error: ...`` on stderr and exit status 2.

    A successful run ends with one ``resource usage: ...`` line (wall time, CPU time, peak memory) on stderr,
    which the workflow's rule logs keep for `scripts/summarize_benchmarks.py`.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
    # Third-party deprecation chatter (gym, torch.jit) buries the lines a researcher needs.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    # A file-size limit (ulimit -f) then fails the write with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    try:
        main(argv)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:
        if e.errno not in _RESOURCE_ERRNOS:
            raise
        # The atomic writers removed their temporary files; earlier results were never touched.
        where = f"{e.filename}: " if e.filename else ""
        print(f"error: {where}{os.strerror(e.errno)}; free space or fix permissions and rerun "
              "(earlier results are intact)", file=sys.stderr)
        sys.exit(2)
    script = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    logging.getLogger("cli").info(format_usage_line(script, measure_self()))
