"""One streaming pass over an EyeLink ASC file: sort its lines by kind, in chunks of bytes."""

from __future__ import annotations

import io
import os
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from ._blocks import _Block, _Problems, block_line, start_block
from ._samples import SampleParser

__all__: list[str] = []

#: Bytes read per chunk: large enough that per-chunk overheads vanish, small
#: enough that the transient copies stay a small fraction of the result.
CHUNK_BYTES = 2 << 20
_BYTES_PER_ROW = 24

# Line kinds, decided from the first bytes of each line with NumPy.
_SAMPLE, _MSG, _EFIX, _ESACC, _EBLINK, _INPUT, _SKIP, _OTHER = range(8)
_EVENT_KINDS = {_EFIX: "EFIX", _ESACC: "ESACC", _EBLINK: "EBLINK"}


def _key(text: bytes) -> int:
    return int(np.frombuffer(text, dtype="<u4")[0])


#: First four bytes of the lines handled in bulk. Anything else (START, END,
#: SAMPLES, EVENTS, PUPIL, header, continuation lines, ...) is handled line by line.
_KEYS = {
    _key(b"MSG\t"): _MSG,
    _key(b"MSG "): _MSG,
    _key(b"EFIX"): _EFIX,
    _key(b"ESAC"): _ESACC,
    _key(b"EBLI"): _EBLINK,
    _key(b"INPU"): _INPUT,
    _key(b"BUTT"): _INPUT,
    _key(b"SFIX"): _SKIP,
    _key(b"SSAC"): _SKIP,
    _key(b"SBLI"): _SKIP,
    _key(b"PRES"): _SKIP,
    _key(b"VPRE"): _SKIP,
}


@dataclass
class _Scan:
    """Everything the pass collected: blocks and parsed samples, other lines still as text."""

    header_lines: list[str] = field(default_factory=list)
    blocks: list[_Block] = field(default_factory=list)
    #: MSG lines: 1-based line numbers and text after ``MSG`` (continuation
    #: lines joined with ``"\\n"``).
    msg_linenos: array = field(default_factory=lambda: array("q"))
    msg_raw: list[str] = field(default_factory=list)
    #: End-of-event lines per kind: raw bytes (one line each) and line numbers.
    #: Growable buffers rather than lists of pieces: long-lived small pieces
    #: would pin the heap between the chunk-sized temporaries.
    events: dict[str, bytearray] = field(
        default_factory=lambda: {name: bytearray() for name in _EVENT_KINDS.values()}
    )
    event_linenos: dict[str, array] = field(
        default_factory=lambda: {name: array("q") for name in _EVENT_KINDS.values()}
    )
    inputs: list[list[str]] = field(default_factory=list)
    input_linenos: list[int] = field(default_factory=list)
    problems: _Problems = field(default_factory=_Problems)
    oddities: list[str] = field(default_factory=list)
    samples: SampleParser | None = None
    n_lines: int = 0
    #: The last line when the file does not end with a newline, and its number.
    unterminated: str | None = None
    last_good_lineno: int = 0


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


def _decode_lines(blob: bytes, encoding: str | None, linenos: np.ndarray) -> list[str]:
    """Lines of ``blob`` (each ending in a newline), decoded in one go where possible."""
    try:
        text = blob.decode(encoding or "utf-8")
    except UnicodeDecodeError:
        raws = blob.split(b"\n")[:-1]
        return [_decode(r, encoding, int(n)) for r, n in zip(raws, linenos.tolist(), strict=True)]
    return text.split("\n")[:-1]


def _chunks(handle: BinaryIO, size: int) -> Iterator[tuple[bytes, bool]]:
    """Pieces of the file that end at a line end, and whether the piece is the last one.

    Leading UTF-8 byte-order marks are dropped; files that end lines with a
    lone carriage return are read as if they used newlines.
    """
    rest = b""
    first = True
    lone_cr = False
    while True:
        block = handle.read(size)
        if first:
            if block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            lone_cr = b"\n" not in block and b"\r" in block
            first = False
        if lone_cr:
            block = block.replace(b"\r", b"\n")
        if not block:
            if rest:
                yield rest, True
            return
        data = rest + block
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut], False
        rest = data[cut:]


def scan_file(handle: BinaryIO, *, encoding: str | None, chunk_bytes: int | None = None) -> _Scan:
    """Sort the lines of an open ASC file into blocks, samples, events, messages and the rest.

    Lines are sorted by their first four bytes with NumPy. Sample lines
    (first character a digit) are parsed in bulk per chunk and recording
    layout; end-of-event, ``MSG``, ``INPUT`` and ``BUTTON`` lines are gathered
    and decoded in bulk; only the few remaining lines (block structure,
    header, continuation lines) are decoded and handled one by one.
    Lines that start with white space or ``>`` right after a ``MSG`` line
    continue that message (``!CAL`` blocks); they are appended to it after
    a newline.
    """
    try:
        size = os.fstat(handle.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        size = 0
    # Real sample lines take 35 bytes or more per eye: rarely a second allocation.
    scan = _Scan(samples=SampleParser(capacity=size // _BYTES_PER_ROW))
    state = _State(scan, encoding)
    for data, last in _chunks(handle, chunk_bytes or CHUNK_BYTES):
        if last:
            data = state.cut_unterminated(data)
            if not data:
                break
        state.chunk(data)
    for b in scan.blocks:
        if not b.closed and b is scan.blocks[-1]:
            scan.oddities.append(
                f"recording block {b.index} has no END line (truncated file?); "
                "it ends at its last sample"
            )
    return scan


class _State:
    """The pass itself: chunk by chunk, with what must carry over between chunks."""

    def __init__(self, scan: _Scan, encoding: str | None) -> None:
        self.scan = scan
        self.encoding = encoding
        self.block: _Block | None = None
        #: The first block that may still receive samples.
        self.cursor = 0
        #: Index into ``scan.msg_raw`` of the message a continuation line would
        #: extend (the previous line was that MSG or one of its continuations).
        self.open_message: int | None = None

    def cut_unterminated(self, data: bytes) -> bytes:
        """Set aside a last line without a newline (a truncated file); return the rest."""
        cut = data.rfind(b"\n") + 1
        tail = data[cut:].rstrip(b"\x00")
        if len(tail) < len(data) - cut:
            self.scan.oddities.append(
                f"the file ends in {len(data) - cut - len(tail)} NUL bytes (an interrupted "
                "write?), which were ignored"
            )
        if tail.strip():
            self.scan.unterminated = _decode(tail, None, 0).rstrip("\r")
        return data[:cut]

    def chunk(self, data: bytes) -> None:
        scan = self.scan
        arr = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(arr == 10)
        starts = np.empty_like(ends)
        starts[:1] = 0
        starts[1:] = ends[:-1] + 1
        base = scan.n_lines
        n = len(ends)
        scan.n_lines += n
        last = len(arr) - 1
        kind = np.full(n, _SAMPLE, dtype=np.int8)
        other = np.flatnonzero((arr[starts] - 48) >= 10)
        head = starts[other]
        key = (
            arr[head].astype(np.uint32)
            | arr[np.minimum(head + 1, last)].astype(np.uint32) << 8
            | arr[np.minimum(head + 2, last)].astype(np.uint32) << 16
            | arr[np.minimum(head + 3, last)].astype(np.uint32) << 24
        )
        codes = np.full(len(other), _OTHER, dtype=np.int8)
        for value, code in _KEYS.items():
            codes[key == value] = code
        kind[other] = codes
        msg_idx = np.flatnonzero(kind == _MSG)
        msg_first = len(scan.msg_raw)
        self._messages(data, starts, ends, msg_idx, base)
        self._other_lines(data, starts, ends, kind, msg_idx, msg_first, base)
        self._inputs(data, starts, ends, np.flatnonzero(kind == _INPUT), base)
        for code, name in _EVENT_KINDS.items():
            idx = np.flatnonzero(kind == code)
            if len(idx):
                scan.events[name] += _gather(data, starts, ends, idx)
                scan.event_linenos[name].extend((idx + base + 1).tolist())
        sample_idx = np.flatnonzero(kind == _SAMPLE)
        if len(sample_idx):
            self._samples(arr, starts, ends, sample_idx, base)
        if n:
            if kind[-1] == _MSG:
                self.open_message = len(scan.msg_raw) - 1
            elif kind[-1] != _OTHER:
                self.open_message = None
        scan.last_good_lineno = scan.n_lines

    def _messages(
        self, data: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray, base: int
    ) -> None:
        if not len(idx):
            return
        linenos = idx + base + 1
        # Every line starts with the four characters "MSG\t" (or "MSG "): left out.
        blob = _gather(data, starts + 4, ends, idx)
        lines = _decode_lines(blob, self.encoding, linenos)
        if b"\r" in blob or b"\n " in blob or b"\n\t" in blob or blob[:1] in (b" ", b"\t"):
            lines = [line.lstrip(" \t").rstrip("\r") for line in lines]
        self.scan.msg_raw.extend(lines)
        self.scan.msg_linenos.extend(linenos.tolist())

    def _inputs(
        self, data: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray, base: int
    ) -> None:
        if not len(idx):
            return
        lines = _gather(data, starts, ends, idx).decode("latin-1").split("\n")[:-1]
        self.scan.inputs.extend(line.split() for line in lines)
        self.scan.input_linenos.extend((idx + base + 1).tolist())

    def _other_lines(
        self,
        data: bytes,
        starts: np.ndarray,
        ends: np.ndarray,
        kind: np.ndarray,
        msg_idx: np.ndarray,
        msg_first: int,
        base: int,
    ) -> None:
        idx = np.flatnonzero(kind == _OTHER)
        if not len(idx):
            return
        lines = _decode_lines(_gather(data, starts, ends, idx), self.encoding, idx + base + 1)
        # Where a run of these lines follows a line handled in bulk, only a MSG line
        # before it opens a message (for continuation lines).
        after_bulk = np.r_[True, np.diff(idx) != 1] & (idx > 0)
        before = kind[np.maximum(idx - 1, 0)]
        opened = msg_first + np.searchsorted(msg_idx, idx - 1)
        for i, line, bulk, kind_before, message in zip(
            idx.tolist(),
            lines,
            after_bulk.tolist(),
            before.tolist(),
            opened.tolist(),
            strict=True,
        ):
            if bulk:
                self.open_message = message if kind_before == _MSG else None
            self._line(line.rstrip("\r"), base + i + 1)

    def _line(self, line: str, lineno: int) -> None:
        scan, problems = self.scan, self.scan.problems
        first = line[:1]
        if first in (" ", "\t", ">", ""):
            if not line.strip():
                return
            if self.open_message is not None:
                scan.msg_raw[self.open_message] += "\n" + line
            else:
                problems.add(lineno, line, "unrecognised line")
            return
        self.open_message = None
        if first in "#/;":
            return  # comment lines (EyeLink manual, "The ASC File Format")
        parts = line.split()
        tok = parts[0]
        if tok == "START":
            block = start_block(scan.blocks, parts, lineno, line, problems, scan.oddities)
            self.block = block or self.block
        elif tok in ("PUPIL", "SAMPLES", "EVENTS", "END"):
            if not block_line(self.block, tok, parts, lineno):
                problems.add(lineno, line, f"{tok} line outside a recording block or malformed")
        elif tok in ("INPUT", "BUTTON"):
            scan.inputs.append(parts)
            scan.input_linenos.append(lineno)
        elif tok.startswith("**"):
            scan.header_lines.append(line[2:].strip())
        elif tok in ("MSG", "EFIX", "ESACC", "EBLINK"):
            problems.add(lineno, line, f"{tok} line without a time stamp")
        else:
            problems.add(lineno, line, "unrecognised line")

    def _samples(
        self, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray, base: int
    ) -> None:
        scan = self.scan
        blocks = scan.blocks
        linenos = idx + base + 1
        # Blocks that ended before this chunk's first sample need not be looked at again.
        while self.cursor < len(blocks) - 1 and blocks[self.cursor].end_lineno < linenos[0]:
            self.cursor += 1
        if blocks:
            recent = blocks[self.cursor :]
            block_starts = np.array([b.lineno for b in recent], dtype=np.int64)
            block_ends = np.array([b.end_lineno for b in recent], dtype=np.float64)
            owner = np.searchsorted(block_starts, linenos, side="right") - 1
            inside = (owner >= 0) & (linenos < block_ends[np.maximum(owner, 0)])
            owner += self.cursor
        else:
            owner = np.full(len(idx), -1)
            inside = np.zeros(len(idx), dtype=bool)
        if not inside.all():
            bad = np.flatnonzero(~inside)
            first = int(idx[bad[0]])
            line = bytes(arr[starts[first] : ends[first]]).decode("latin-1").rstrip("\r")
            scan.problems.add(
                int(linenos[bad[0]]), line, "sample outside a START ... END block", len(bad)
            )
        assert scan.samples is not None
        scan.samples.parse_chunk(
            arr, starts, ends, idx[inside], owner[inside], base, blocks, scan.problems
        )


def _gather(data: bytes, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray) -> bytes:
    """The lines ``idx`` of the chunk ``data`` (each with its newline), joined."""
    return b"".join(
        [data[a:b] for a, b in zip(starts[idx].tolist(), (ends[idx] + 1).tolist(), strict=True)]
    )
