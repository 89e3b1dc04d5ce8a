"""The one way the command line reports a user error: one line on stderr and exit status 2."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

__all__ = ["report_user_errors", "user_errors"]

#: Exit status of a command stopped by a user error (as argparse uses for bad arguments).
USER_ERROR_STATUS = 2


def user_errors() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "the user gave something wrong", defined once.

    :class:`selectivity.errors.UserError` and its subclasses (among them the
    one ``ConfigError``, the session errors, ``StimulusSetError``,
    ``RatingsError``, ``SessionDataError``), the error other ranks of a
    sharded build raise when rank 0 stopped, and the missing or existing
    files a user named. Anything else is a bug and keeps its traceback.
    """
    from stimuli.build import MainRankError

    from ..errors import UserError

    return (UserError, MainRankError, FileNotFoundError, FileExistsError)


def report_user_errors(run: Callable[[], int]) -> int:
    """Call ``run()`` and return its exit status; a user error becomes one line and status 2.

    Warnings raised meanwhile reach stderr as ``selectivity: warning: <message>``
    lines (each shown once), so odd-but-usable data are never hidden.
    """
    with _one_line_warnings():
        try:
            return run()
        except user_errors() as error:
            print(f"selectivity: error: {_message(error)}", file=sys.stderr)
            return USER_ERROR_STATUS


def _message(error: BaseException) -> str:
    # str(KeyError) quotes its argument; a message is shown as written
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(text.split("\n")) if text else type(error).__name__


@contextmanager
def _one_line_warnings() -> Iterator[None]:
    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        print(f"selectivity: warning: {message}", file=sys.stderr if file is None else file)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield
