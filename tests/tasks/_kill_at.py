"""Test-only launcher: run ``selectivity`` and SIGKILL the process at an exact point.

Usage::

    python tests/tasks/_kill_at.py POINT N -- <selectivity arguments>

The named function is wrapped so that the process sends itself SIGKILL at its N-th
call at that point (counting only the calls that the point selects), after writing
what the point says; then :func:`selectivity.cli.main` runs with the arguments.
Production code has no hook for this: the wrapping happens here, before the CLI
starts. Points:

``trial-row``
    ``TsvAppender.append`` on ``trials.tsv``: the trial's frames.tsv rows are
    written, its trials.tsv row is not.
``trial-row-cut``
    The same, after writing the first half of the row's line (no line end): a
    row cut by the kill.
``final-status``
    ``Session._write_json`` writing a final status (not ``running``): killed with
    half of ``session.json.tmp`` written, ``session.json`` not yet replaced.
``eye-transfer``
    ``SimulatedTracker.close``: the tracker's file is being copied from the
    "Host PC" when the kill comes. The complete file stays on the tracker side as
    ``<name>.pending`` (where the simulated tracker keeps a file it did not hand
    over) and the local copy holds its first half, as a cut EyeLink transfer
    leaves a partial EDF beside the complete one on the Host PC.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _write_half(path: Path, text: bytes, *, mode: str = "ab") -> None:
    with open(path, mode) as f:
        f.write(text[: max(1, len(text) // 2)])
        f.flush()
        os.fsync(f.fileno())


def _counting(n: int, selects: Callable[..., bool]) -> Callable[..., bool]:
    """A predicate true at the n-th call that ``selects``."""
    seen = [0]

    def hit(*args: Any, **kwargs: Any) -> bool:
        if not selects(*args, **kwargs):
            return False
        seen[0] += 1
        return seen[0] == n

    return hit


def _install(point: str, n: int) -> None:
    if point in ("trial-row", "trial-row-cut"):
        from selectivity.tsv import _line, _ordered, format_value
        from tasks.runtime.session import TsvAppender

        original = TsvAppender.append
        hit = _counting(n, lambda self, row: self.path.name == "trials.tsv")

        @functools.wraps(original)
        def append(self: TsvAppender, row: Any) -> None:
            if hit(self, row):
                if point == "trial-row-cut":
                    line = _line(format_value(v) for v in _ordered(row, self.columns, self.path))
                    _write_half(self.path, line.encode("utf-8"))
                _die()
            original(self, row)

        TsvAppender.append = append  # type: ignore[method-assign]
    elif point == "final-status":
        import json

        from tasks.runtime.session import Session

        original_json = Session._write_json
        final = _counting(n, lambda self: self.info.get("status") != "running")

        @functools.wraps(original_json)
        def write_json(self: Session) -> None:
            if final(self):
                text = json.dumps(self.info, indent=2, default=str).encode("utf-8")
                _write_half(self.json_path.with_suffix(".json.tmp"), text, mode="wb")
                _die()
            original_json(self)

        Session._write_json = write_json  # type: ignore[method-assign]
    elif point == "eye-transfer":
        from eyetracking.trackers.simulated import SimulatedTracker

        original_close = SimulatedTracker.close
        closing = _counting(n, lambda self: self._file is not None)

        @functools.wraps(original_close)
        def close(self: SimulatedTracker) -> list[Path]:
            if closing(self):
                original_close(self)
                local = self._path
                assert local is not None
                pending = local.with_name(local.name + ".pending")
                os.replace(local, pending)
                _write_half(local, pending.read_bytes(), mode="wb")
                _die()
            return original_close(self)

        SimulatedTracker.close = close  # type: ignore[method-assign]
    else:
        raise SystemExit(f"_kill_at.py: unknown point {point!r}")


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[2] != "--":
        raise SystemExit(__doc__)
    point, n = argv[0], int(argv[1])
    _install(point, n)
    from selectivity.cli import main as cli_main

    return int(cli_main(argv[3:]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
