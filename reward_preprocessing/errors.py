"""Errors that mean "the input is wrong", as opposed to bugs in this library.

Scripts print a `UserError` as one line and exit with status 2, so that a
researcher sees what to fix instead of a traceback.
"""


class UserError(Exception):
    """Bad input: unknown names, missing or corrupt files, invalid values."""


class ArtifactError(UserError):
    """A file or directory on disk is missing, corrupt or of the wrong kind."""


def one_line(error: BaseException) -> str:
    """An exception's text on one line, for a `UserError` that wraps it (a project error is one line).

    torch appends C++ stack frames to some messages ("Exception raised from ...", "frame #0: ..."): they are
    dropped. Other lines (a state dict's missing keys, say) are kept, joined by spaces."""
    kept = []
    for line in str(error).splitlines():
        if line.startswith("Exception raised from"):
            break
        if line.strip() and not line.lstrip().startswith("frame #"):
            kept.append(" ".join(line.split()))
    return " ".join(kept)
