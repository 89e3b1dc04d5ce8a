"""Write the content of an EDF file as the ASC text that SR Research's ``edf2asc`` makes of it."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._api import BlockInfo, EdfContent

__all__: list[str] = []

_EYE_WORDS = {"L": "LEFT", "R": "RIGHT"}


class _Clock:
    """Time stamps as ``edf2asc`` prints them: integers, or one decimal above 1000 Hz."""

    def __init__(self, half_ms: bool) -> None:
        self.half_ms = half_ms

    def __call__(self, t: float) -> str:
        return f"{t:.1f}" if self.half_ms else str(round(t))


def _num(value: float, digits: int, width: int = 7) -> str:
    text = "." if math.isnan(value) else f"{value:.{digits}f}"
    return text.rjust(width)


def _duration(start: float, end: float, block: BlockInfo | None) -> str:
    """EyeLink's event duration: ``end - start`` plus one sample interval."""
    interval = 1000.0 / block.sample_rate_hz if block and block.sample_rate_hz > 0 else 1.0
    value = end - start + interval
    return str(round(value)) if float(value).is_integer() else f"{value:.1f}"


def _start_lines(info: BlockInfo, clock: _Clock) -> list[str]:
    eyes = "\t".join(_EYE_WORDS[e] for e in info.eyes)
    kinds = [w for w, bit in (("SAMPLES", 1), ("EVENTS", 2)) if info.record_type & bit]
    tracking = "\tTRACKING\tCR" if info.recording_mode == 1 else ""
    spec = f"{eyes}\tRATE\t{info.sample_rate_hz:7.2f}{tracking}\tFILTER\t{info.filter_type}"
    lines = [
        f"START\t{clock(info.time)} \t{eyes}\t" + "\t".join(kinds),
        "PRESCALER\t1",
        "VPRESCALER\t1",
        f"PUPIL\t{info.pupil_type}",
    ]
    if info.record_type & 2:
        lines.append(f"EVENTS\tGAZE\t{spec}")
    if info.record_type & 1:
        lines.append(f"SAMPLES\t{info.position}\t{spec}")
    return lines


def _sample_lines(
    samples: dict[str, np.ndarray], first: int, stop: int, info: BlockInfo | None, clock: _Clock
) -> list[str]:
    """Sample lines of rows ``first:stop``: time, x, y, pupil per eye ('.' when missing), flags."""
    eyes = info.eyes if info is not None and info.eyes else "L"
    time = samples["time"][first:stop]
    columns: dict[str, Any] = {"time": time if clock.half_ms else np.rint(time).astype(np.int64)}
    for eye in eyes:
        k = 0 if eye == "L" else 1
        for name in ("x", "y", "pupil"):
            columns[f"{name}_{eye}"] = samples[name][first:stop, k]
    if info is not None and info.recording_mode == 1:
        columns["flags"] = "." * (3 if len(eyes) == 1 else 5)
    buffer = io.StringIO()
    pd.DataFrame(columns).to_csv(
        buffer, sep="\t", header=False, index=False, na_rep=".", float_format="%.1f"
    )
    return buffer.getvalue().split("\n")[:-1]


def _formatted_runs(content: EdfContent, clock: _Clock) -> dict[int, str]:
    """The text of every run of samples, keyed by its first row; one formatting call per block."""
    out: dict[int, str] = {}
    block: BlockInfo | None = None
    runs: list[tuple[int, int]] = []

    def flush() -> None:
        if runs:
            first = runs[0][0]
            lines = _sample_lines(content.samples, first, runs[-1][1], block, clock)
            for a, b in runs:
                out[a] = "\n".join(lines[a - first : b - first])
            runs.clear()

    for item in content.items:
        if item[0] == "start":
            flush()
            block = item[1]
        elif item[0] == "samples":
            runs.append((item[1], item[2]))
    flush()
    return out


def _event_line(item: tuple[Any, ...], block: BlockInfo | None, clock: _Clock) -> str:
    kind, eye = item[0], item[1]
    if kind in ("sfix", "ssacc", "sblink"):
        return f"{kind.upper()} {eye}".ljust(9) + clock(item[2])
    start, end = item[2], item[3]
    head = f"{kind.upper()} {eye}".ljust(9) + f"{clock(start)}\t{clock(end)}\t"
    head += _duration(start, end, block)
    if kind == "efix":
        _, _, _, _, x, y, pupil = item
        return head + f"\t{_num(x, 1)}\t{_num(y, 1)}\t{_num(pupil, 0)}"
    if kind == "esacc":
        xs, ys, xe, ye, amplitude, peak = item[4:]
        positions = "\t".join(_num(v, 1) for v in (xs, ys, xe, ye))
        return head + f"\t{positions}\t{_num(amplitude, 2)}\t{_num(peak, 0)}"
    return head


def asc_text(content: EdfContent, *, source: Path) -> bytes:
    """The ASC file of ``content``, UTF-8 encoded, with ``source`` named in its header.

    Lines follow ``edf2asc``'s layout (header, ``MSG``, ``START`` and the
    ``PUPIL``/``EVENTS``/``SAMPLES`` lines of each block, sample lines,
    start- and end-of-event lines, ``INPUT``/``BUTTON``, ``END``), in the
    order of the EDF file. Positions and pupil sizes of samples carry one
    decimal, event averages of pupil size none, amplitudes two, as
    ``edf2asc`` prints them.
    """
    rates = [item[1].sample_rate_hz for item in content.items if item[0] == "start"]
    clock = _Clock(half_ms=any(r > 1000 for r in rates))
    lines = [
        f"** CONVERTED FROM {source} using edfapi {content.library_version} "
        "(eyelinkio, selectivity.read_edf)"
    ]
    lines += [line if line.startswith("**") else f"** {line}" for line in content.preamble]
    lines += ["**", ""]
    runs = _formatted_runs(content, clock)
    block: BlockInfo | None = None
    writers: dict[str, Callable[[tuple[Any, ...]], str]] = {
        "message": lambda it: f"MSG\t{clock(it[1])} {it[2]}",
        "input": lambda it: f"INPUT\t{clock(it[1])}\t{it[2]}",
        "button": lambda it: f"BUTTON\t{clock(it[1])}\t{it[2]}\t{it[3]}",
    }
    rows: list[int] = []
    for item in content.items:
        kind = item[0]
        if kind == "start":
            block, rows = item[1], []
            lines += _start_lines(item[1], clock)
        elif kind == "end":
            words = "SAMPLES\tEVENTS" if block is None else _record_words(block)
            lines.append(f"END\t{clock(item[1])} \t{words}{_resolution(content, rows)}")
        elif kind == "samples":
            rows = [rows[0] if rows else item[1], item[2]]
            lines.append(runs[item[1]])
        elif kind in writers:
            lines.append(writers[kind](item))
        else:
            lines.append(_event_line(item, block, clock))
    return ("\n".join(lines) + "\n").encode("utf-8")


def _resolution(content: EdfContent, rows: list[int]) -> str:
    """``RES`` and the block's mean gaze resolution (px/deg), as on edf2asc's ``END`` lines."""
    if not rows or "res_x" not in content.samples:
        return ""
    means = [content.samples[k][rows[0] : rows[1]] for k in ("res_x", "res_y")]
    finite = [v[np.isfinite(v) & (v > 0)] for v in means]
    if not all(len(v) for v in finite):
        return ""
    return f"\tRES\t{finite[0].mean():7.2f}\t{finite[1].mean():7.2f}"


def _record_words(info: BlockInfo) -> str:
    return "\t".join(w for w, bit in (("SAMPLES", 1), ("EVENTS", 2)) if info.record_type & bit)
