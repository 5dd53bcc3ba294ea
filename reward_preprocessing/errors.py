"""Errors that mean "the input is wrong", as opposed to bugs in this library.

Scripts print a `UserError` as one line and exit with status 2, so that a
researcher sees what to fix instead of a traceback.
"""


class UserError(Exception):
    """Bad input: unknown names, missing or corrupt files, invalid values."""


class ArtifactError(UserError):
    """A file or directory on disk is missing, corrupt or of the wrong kind."""


def first_line(error: BaseException) -> str:
    """The first line of an exception's text, for a `UserError` that wraps it: torch appends C++ stack frames to
    some messages, and a project error is one line."""
    text = str(error).strip()
    return text.splitlines()[0] if text else ""
