"""First pass over an EyeLink ASC file: sort each line by its first token."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__: list[str] = []

#: Lines whose content this reader does not need; recognised, then skipped.
_SKIPPED = frozenset({"SFIX", "SSACC", "SBLINK", "PRESCALER", "VPRESCALER", "EVENTS"})
_EVENTS = frozenset({"EFIX", "ESACC", "EBLINK"})
_EYE_WORDS = {"LEFT": "L", "RIGHT": "R"}


@dataclass
class _Problems:
    """Lines that could not be used: counted, and the first one kept for the warning."""

    count: int = 0
    first_lineno: int = 0
    first_line: str = ""
    first_reason: str = ""

    def add(self, lineno: int, line: str, reason: str, count: int = 1) -> None:
        """Record ``count`` bad lines, the first of which is ``line`` at ``lineno``."""
        if self.count == 0 or lineno < self.first_lineno:
            self.first_lineno, self.first_line, self.first_reason = lineno, line, reason
        self.count += count


@dataclass
class _Block:
    """One ``START`` ... ``END`` recording block and its raw sample lines."""

    index: int
    start: float
    lineno: int
    eyes: str
    end: float = math.nan
    sample_rate_hz: float = math.nan
    pupil_type: str = ""
    samples_spec: list[str] = field(default_factory=list)
    closed: bool = False
    #: Runs of consecutive sample lines, as raw bytes (each line ending in a
    #: newline), with the line number of the first line of each run.
    chunks: list[bytes] = field(default_factory=list)
    chunk_linenos: list[int] = field(default_factory=list)
    n_lines: int = 0


@dataclass
class _Scan:
    """Everything the first pass collected, still as text."""

    header_lines: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    msg_linenos: list[int] = field(default_factory=list)
    msg_raw: list[str] = field(default_factory=list)
    events: dict[str, list[list[str]]] = field(
        default_factory=lambda: {name: [] for name in _EVENTS}
    )
    event_linenos: dict[str, list[int]] = field(
        default_factory=lambda: {name: [] for name in _EVENTS}
    )
    inputs: list[list[str]] = field(default_factory=list)
    input_linenos: list[int] = field(default_factory=list)
    problems: _Problems = field(default_factory=_Problems)
    oddities: list[str] = field(default_factory=list)


def _eyes_of(tokens: list[str]) -> str:
    return "".join(_EYE_WORDS[t] for t in tokens if t in _EYE_WORDS)


def _start_block(scan: _Scan, parts: list[str], lineno: int, line: str) -> _Block | None:
    try:
        start = float(parts[1])
    except (IndexError, ValueError):
        scan.problems.add(lineno, line, "START without a time stamp")
        return None
    if scan.blocks and not scan.blocks[-1].closed:
        scan.oddities.append(
            f"recording block {len(scan.blocks) - 1} has no END line before the START at "
            f"line {lineno}; it ends at its last sample"
        )
    block = _Block(index=len(scan.blocks), start=start, lineno=lineno, eyes=_eyes_of(parts[2:]))
    scan.blocks.append(block)
    return block


def _block_line(block: _Block | None, tok: str, parts: list[str]) -> bool:
    """Apply a ``PUPIL``/``SAMPLES``/``END`` line to the open block; False if none is open."""
    if block is None or block.closed:
        return False
    if tok == "PUPIL" and len(parts) > 1:
        block.pupil_type = parts[1]
    elif tok == "SAMPLES":
        block.samples_spec = parts[1:]
        if "RATE" in parts:
            i = parts.index("RATE")
            try:
                block.sample_rate_hz = float(parts[i + 1])
            except (IndexError, ValueError):
                return False
        if _eyes_of(parts[1:]):
            block.eyes = _eyes_of(parts[1:])
    elif tok == "END":
        try:
            block.end = float(parts[1])
        except (IndexError, ValueError):
            return False
        block.closed = True
    return True


def _decode(raw: bytes, encoding: str | None, lineno: int) -> str:
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise ValueError(f"line {lineno} is not valid {encoding}: {err}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _line_bounds(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets and newline offsets of every line of ``data`` (which ends in a newline)."""
    ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    starts = np.empty_like(ends)
    starts[0:1] = 0
    starts[1:] = ends[:-1] + 1
    return starts, ends


def scan_bytes(data: bytes, *, encoding: str | None = None) -> _Scan:
    """Sort the lines of a file into samples (per block), events, messages and the rest.

    Sample lines (first character a digit) are found with NumPy on the raw
    bytes and kept as byte runs, to be parsed in bulk per block; only the
    other lines are decoded and handled one by one. Lines that start with
    white space or ``>`` right after a ``MSG`` line continue that message
    (``!CAL`` blocks); they are appended to it after a newline.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\n" not in data and b"\r" in data:
        data = data.replace(b"\r", b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
    starts, ends = _line_bounds(data)
    first = np.frombuffer(data, dtype=np.uint8)[starts]
    other = np.flatnonzero((first < 48) | (first > 57))
    scan = _Scan()
    state = _State(scan)
    previous = -1
    for i in [*other.tolist(), len(starts)]:
        if i > previous + 1:
            a, b = previous + 1, i
            state.samples(data[starts[a] : ends[b - 1] + 1], a + 1, b - a)
        previous = i
        if i < len(starts):
            line = _decode(data[starts[i] : ends[i]], encoding, i + 1).rstrip("\r")
            state.line(line, i + 1)
    for b in scan.blocks:
        if not b.closed and b is scan.blocks[-1]:
            scan.oddities.append(
                f"recording block {b.index} has no END line (truncated file?); "
                "it ends at its last sample"
            )
    return scan


class _State:
    """The line-by-line pass over the lines that are not samples."""

    def __init__(self, scan: _Scan) -> None:
        self.scan = scan
        self.block: _Block | None = None
        self.in_message = False

    def samples(self, chunk: bytes, lineno: int, count: int) -> None:
        self.in_message = False
        block = self.block
        if block is not None and not block.closed:
            block.chunks.append(chunk)
            block.chunk_linenos.append(lineno)
            block.n_lines += count
        else:
            line = chunk.split(b"\n", 1)[0].decode("latin-1").rstrip("\r")
            self.scan.problems.add(lineno, line, "sample outside a START ... END block", count)

    def line(self, line: str, lineno: int) -> None:
        scan, problems = self.scan, self.scan.problems
        first = line[:1]
        if first in (" ", "\t", ">", ""):
            if not line.strip():
                return
            if self.in_message:
                scan.msg_raw[-1] += "\n" + line
            else:
                problems.add(lineno, line, "unrecognised line")
            return
        parts = line.split()
        tok = parts[0]
        self.in_message = tok == "MSG"
        if self.in_message:
            if len(parts) < 2:
                problems.add(lineno, line, "MSG without a time stamp")
                self.in_message = False
                return
            scan.msg_linenos.append(lineno)
            scan.msg_raw.append(line.split(None, 1)[1])
        elif tok in _EVENTS:
            scan.events[tok].append(parts)
            scan.event_linenos[tok].append(lineno)
        elif tok in _SKIPPED:
            return
        elif tok == "START":
            self.block = _start_block(scan, parts, lineno, line) or self.block
        elif tok in ("PUPIL", "SAMPLES", "END"):
            if not _block_line(self.block, tok, parts):
                problems.add(lineno, line, f"{tok} line outside a recording block or malformed")
        elif tok in ("INPUT", "BUTTON"):
            scan.inputs.append(parts)
            scan.input_linenos.append(lineno)
        elif tok.startswith("**"):
            scan.header_lines.append(line[2:].strip())
        else:
            problems.add(lineno, line, "unrecognised line")
