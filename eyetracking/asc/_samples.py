"""Sample lines of an EyeLink ASC file, parsed in bulk per chunk and layout into long columns."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from ._blocks import Layout, _Block, _is_number, _Problems, decide_layout

__all__: list[str] = []

#: Columns every samples table has, and the optional ones, in table order.
BASE_COLUMNS = ("time", "x", "y", "pupil")
EXTRA_COLUMNS = (
    "xv",
    "yv",
    "x_res",
    "y_res",
    "input",
    "target_x",
    "target_y",
    "target_distance",
)
_PER_EYE = frozenset({"x", "y", "pupil", "xv", "yv"})
_HASH, _DOT, _CR = ord("#"), ord("."), ord("\r")
#: edf2asc right-aligns the "." of missing values in its columns; matching the
#: padded forms is faster than letting the parser strip every field.
_MISSING = [" " * k + "." for k in range(12)]


def _flags_end(arr: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Whether each line (given by the position of its newline) ends in a flags word."""
    last = arr[ends - 1]
    if (last == _CR).any():
        last = np.where(last == _CR, arr[ends - 2], last)
    # Lower-cased and shifted so that letters are 0..25; anything else wraps past them.
    letter = (last | np.uint8(32)) - np.uint8(ord("a"))
    return (last == _DOT) | (letter < 26)


def _parse_fast(
    arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, idx: np.ndarray, layout: Layout
) -> np.ndarray:
    """Numeric fields of the lines ``idx`` through pandas' C parser; raises on any odd line.

    Every other line of the chunk is turned into a comment (``#`` on its
    first byte), so the parser sees the chunk's bytes without a copy per line.
    Fields are split at tabs, as edf2asc writes them, else at any white space
    (other converters; remote-mode target flags follow the distance after a
    space).
    """
    buf = arr.copy()
    nonempty = starts[ends > starts]
    buf[nonempty] = _HASH
    buf[starts[idx]] = arr[starts[idx]]
    data = buf.tobytes()
    del buf
    if not layout.target:
        try:
            return _read_numeric(data, "\t", layout, len(idx))
        except (ValueError, pd.errors.ParserError):
            pass
    return _read_numeric(data, r"\s+", layout, len(idx))


def _read_numeric(data: bytes, sep: str, layout: Layout, n_lines: int) -> np.ndarray:
    frame = pd.read_csv(
        io.BytesIO(data),
        sep=sep,
        header=None,
        usecols=layout.numeric,
        comment="#",
        na_values=_MISSING,
        keep_default_na=False,
        dtype=np.float64,
        engine="c",
    )
    if len(frame) != n_lines:
        raise ValueError("line count changed while parsing")
    return frame.to_numpy(dtype=np.float64)


def _parse_slow(
    arr: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    idx: np.ndarray,
    layout: Layout,
    linenos: np.ndarray,
    problems: _Problems,
) -> tuple[np.ndarray, np.ndarray]:
    """Line by line, for lines the fast path refused: the good rows, and which lines they are."""
    need = len(layout.fields)
    numeric = layout.numeric
    rows: list[list[float]] = []
    keep: list[int] = []
    for k, i in enumerate(idx.tolist()):
        line = bytes(arr[starts[i] : ends[i]]).decode("latin-1").rstrip("\r")
        tokens = line.split()
        try:
            if len(tokens) < need:
                raise ValueError
            rows.append([math.nan if tokens[j] == "." else float(tokens[j]) for j in numeric])
        except ValueError:
            problems.add(int(linenos[k]), line, "malformed sample line")
            continue
        keep.append(k)
    values = np.array(rows, dtype=np.float64).reshape(len(rows), len(numeric))
    return values, np.asarray(keep, dtype=np.int64)


class SampleParser:
    """Parses the sample lines of each chunk into long-format columns (one row per sample and eye).

    The columns are allocated once for an estimated number of rows (pages
    that are never written cost no memory) and grown only if the estimate
    falls short, so that no chunk-sized pieces pile up to be concatenated.
    """

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = max(int(capacity), 1024)
        self.n = 0
        self.columns: dict[str, np.ndarray] = {}
        #: Layouts decided so far, by what decides them (eyes, SAMPLES line, which tokens of
        #: the first sample line are numbers): files repeat a few kinds of blocks many times.
        self._layouts: dict[tuple[object, ...], Layout] = {}

    def _column(self, name: str) -> np.ndarray:
        column = self.columns.get(name)
        if column is None:
            dtype = np.uint8 if name == "eye" else np.float64
            column = self.columns[name] = np.empty(self.capacity, dtype=dtype)
            column[: self.n] = np.nan if name != "eye" else 0
        return column

    def _reserve(self, more: int) -> None:
        need = self.n + more
        if need <= self.capacity:
            return
        self.capacity = max(need, 2 * self.capacity)
        for name, old in self.columns.items():
            new = np.empty(self.capacity, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            self.columns[name] = new

    def parse_chunk(
        self,
        arr: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        idx: np.ndarray,
        owner: np.ndarray,
        base: int,
        blocks: list[_Block],
        problems: _Problems,
    ) -> None:
        """Parse the sample lines ``idx`` of a chunk, which belong to the blocks ``owner``."""
        if not len(idx):
            return
        firsts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
        for k in firsts.tolist():
            block = blocks[int(owner[k])]
            if block.layout is None:
                i = int(idx[k])
                tokens = bytes(arr[starts[i] : ends[i]]).decode("latin-1").split()
                key = (block.eyes, *block.samples_spec, "", *map(_is_number, tokens))
                layout = self._layouts.get(key)
                if layout is None:
                    layout = decide_layout(block, tokens, i + base + 1)
                    if not block.layout_note:  # a note names its block: decide again next time
                        self._layouts[key] = layout
                block.layout = layout
        in_chunk = [blocks[b] for b in dict.fromkeys(owner[firsts].tolist())]
        groups = []
        for layout in dict.fromkeys(b.layout for b in in_chunk):
            assert layout is not None
            mine = np.zeros(len(blocks), dtype=bool)
            mine[[b.index for b in in_chunk if b.layout == layout]] = True
            where = np.flatnonzero(mine[owner])
            values, kept = self._group(arr, starts, ends, idx[where], base, layout, problems)
            groups.append((layout, values, where[kept]))
        n_eyes = np.zeros(len(idx), dtype=np.int64)
        for layout, _, lines in groups:
            n_eyes[lines] = len(layout.eyes)
        first_row = self.n + np.cumsum(n_eyes) - n_eyes
        total = int(n_eyes.sum())
        self._reserve(total)
        for layout, values, lines in groups:
            self._write(values, layout, first_row[lines], contiguous=len(groups) == 1)
            _note_blocks(blocks, values[:, 0], owner[lines])
        if len(groups) > 1:
            for name, column in self.columns.items():
                missing = [(lay, lines) for lay, _, lines in groups if name not in _names(lay)]
                for layout, lines in missing:
                    for e in range(len(layout.eyes)):
                        column[first_row[lines] + e] = np.nan
        self.n += total

    def _group(
        self,
        arr: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        idx: np.ndarray,
        base: int,
        layout: Layout,
        problems: _Problems,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Numeric fields of the lines ``idx`` of one layout, and which of them were good."""
        good = _flags_end(arr, ends[idx]) if layout.flags else np.ones(len(idx), dtype=bool)
        try:
            values = _parse_fast(arr, starts, ends, idx[good], layout)
            kept = np.flatnonzero(good)
            odd = np.flatnonzero(~good)
        except (ValueError, pd.errors.ParserError):
            values = np.empty((0, len(layout.numeric)))
            kept = np.empty(0, dtype=np.int64)
            odd = np.arange(len(idx))
        if len(odd):
            linenos = idx[odd] + base + 1
            more, which = _parse_slow(arr, starts, ends, idx[odd], layout, linenos, problems)
            values = np.concatenate([values, more])
            kept = np.concatenate([kept, odd[which]])
            order = np.argsort(kept, kind="stable")
            values, kept = values[order], kept[order]
        return values, kept

    def _write(
        self, values: np.ndarray, layout: Layout, first_row: np.ndarray, *, contiguous: bool
    ) -> None:
        """Store one layout's rows: eye ``e`` of the line ``k`` goes to ``first_row[k] + e``."""
        names = [layout.fields[i] for i in layout.numeric]
        where = {name: j for j, name in enumerate(names)}
        eyes = layout.eyes
        n_eyes = len(eyes)
        if contiguous and len(first_row):
            lo = int(first_row[0])
            rows: slice | np.ndarray = slice(lo, lo + len(first_row) * n_eyes)
        else:
            rows = (first_row[:, None] + np.arange(n_eyes)).ravel()
        self._column("time")[rows] = np.repeat(values[:, where["time"]], n_eyes)
        self._column("eye")[rows] = np.tile(
            np.frombuffer(eyes.encode(), dtype=np.uint8), len(values)
        )
        for name in (*BASE_COLUMNS[1:], *EXTRA_COLUMNS):
            if name in _PER_EYE and f"{name}_{eyes[0]}" in where:
                cols = [where[f"{name}_{eye}"] for eye in eyes]
                self._column(name)[rows] = values[:, cols].ravel()
            elif name in where:
                self._column(name)[rows] = np.repeat(values[:, where[name]], n_eyes)
            elif name in self.columns:
                self.columns[name][rows] = np.nan

    def finish(self) -> dict[str, np.ndarray]:
        """The filled part of every column: ``time``, ``eye`` (``uint8`` character codes),
        ``x``, ``y``, ``pupil`` and the optional columns seen in any block (NaN where a
        block lacks them)."""
        for name in ("time", "eye", *BASE_COLUMNS[1:]):
            self._column(name)
        order = ("time", "eye", *BASE_COLUMNS[1:], *EXTRA_COLUMNS)
        return {name: self.columns[name][: self.n] for name in order if name in self.columns}


def _names(layout: Layout) -> set[str]:
    """Long-format column names that rows of ``layout`` carry."""
    fields = [layout.fields[i] for i in layout.numeric]
    return {f.rsplit("_", 1)[0] if f[-2:] in ("_L", "_R") else f for f in fields} | {"eye"}


def _note_blocks(blocks: list[_Block], times: np.ndarray, owner: np.ndarray) -> None:
    """Count each block's samples and note its first and last sample times."""
    if not len(times):
        return
    change = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1], True])
    for a, b in zip(change[:-1].tolist(), change[1:].tolist(), strict=True):
        block = blocks[int(owner[a])]
        block.n_samples += b - a
        if math.isnan(block.first_time):
            block.first_time = float(times[a])
        block.last_time = float(times[b - 1])
