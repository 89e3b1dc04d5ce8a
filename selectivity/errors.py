"""The base class of user errors: mistakes in what a user gave, reported as one line."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A mistake in a file, folder, configuration or option that a user gave.

    The message names what was wrong, where, and what is allowed. The
    ``selectivity`` command prints it as ``selectivity: error: <message>`` and
    exits with status 2; any other exception is a bug and keeps its traceback.
    Subclasses also derive from the built-in class they replace (``ValueError``
    ...), so code catching that keeps working.
    """
