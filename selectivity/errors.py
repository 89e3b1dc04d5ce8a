"""The base class of user errors: mistakes in what a user gave, reported as one line."""

from __future__ import annotations

__all__ = ["UserError", "utf8_text"]


class UserError(Exception):
    """A mistake in a file, folder, configuration or option that a user gave.

    The message names what was wrong, where, and what is allowed. The
    ``selectivity`` command prints it as ``selectivity: error: <message>`` and
    exits with status 2; any other exception is a bug and keeps its traceback.
    Subclasses also derive from the built-in class they replace (``ValueError``
    ...), so code catching that keeps working.
    """


def utf8_text(data: bytes) -> str:
    """``data`` decoded as UTF-8.

    Raises
    ------
    ValueError
        ``line <n>: byte 0x<hh> is not UTF-8``, naming the first line (from 1)
        with a byte that is not UTF-8; callers prefix the file.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ValueError(f"line {line}: byte {data[error.start]:#04x} is not UTF-8") from None
