"""Sample lines of an EyeLink ASC file, parsed in bulk per recording block."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from ._asc_scan import _Block, _Problems

__all__: list[str] = []


def block_layout(block: _Block) -> list[str]:
    """Names of the columns of the block's sample lines, in file order.

    Follows the ``SAMPLES`` line: per eye ``x``, ``y``, ``pupil``; then
    velocities (``VEL``), resolution (``RES``), the input port (``INPUT``),
    the corneal-reflection flags (``TRACKING CR``) and the remote-mode target
    (``HTARGET``).
    """
    spec = block.samples_spec
    eyes = block.eyes
    cols = ["time"]
    cols += [f"{name}_{eye}" for eye in eyes for name in ("x", "y", "pupil")]
    if "VEL" in spec:
        cols += [f"{name}_{eye}" for eye in eyes for name in ("xv", "yv")]
    if "RES" in spec:
        cols += ["x_res", "y_res"]
    if "INPUT" in spec:
        cols += ["input"]
    if not spec or "CR" in spec:
        cols += ["flags"]
    if "HTARGET" in spec:
        cols += ["target_x", "target_y", "target_distance", "target_flags"]
    return cols


def _parse_fast(block: _Block, ncols: int) -> np.ndarray:
    """The first ``ncols`` numeric columns through pandas' C parser; raises on odd lines."""
    frame = pd.read_csv(
        io.BytesIO(b"".join(block.chunks)),
        sep=r"\s+",
        header=None,
        usecols=range(ncols),
        na_values=["."],
        keep_default_na=False,
        dtype=np.float64,
        engine="c",
    )
    if len(frame) != block.n_lines:
        raise ValueError("line count changed while parsing")
    return frame.to_numpy(dtype=np.float64)


def _block_lines(block: _Block) -> tuple[list[str], list[int]]:
    lines: list[str] = []
    linenos: list[int] = []
    for chunk, first in zip(block.chunks, block.chunk_linenos, strict=True):
        text = chunk.decode("latin-1").split("\n")[:-1]
        lines += [line.rstrip("\r") for line in text]
        linenos += range(first, first + len(text))
    return lines, linenos


def _parse_slow(block: _Block, ncols: int, problems: _Problems) -> np.ndarray:
    """Line by line, for blocks the fast path refused: drop and report malformed lines."""
    lines, linenos = _block_lines(block)
    rows = [line.split()[:ncols] for line in lines]
    keep = np.array([len(r) == ncols for r in rows], dtype=bool)
    values = np.full((len(rows), ncols), np.nan)
    if keep.any():
        raw = pd.DataFrame([r for r, k in zip(rows, keep, strict=True) if k])
        parsed = raw.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(parsed) & (raw.to_numpy() != ".")
        values[keep] = parsed
        keep[np.flatnonzero(keep)[bad.any(axis=1)]] = False
    for i in np.flatnonzero(~keep):
        problems.add(linenos[i], lines[i], "malformed sample line")
    return values[keep]


def parse_block(block: _Block, problems: _Problems) -> np.ndarray:
    """Times and per-eye ``x, y, pupil`` of one block, shape ``(n_samples, 1 + 3 * n_eyes)``."""
    ncols = 1 + 3 * len(block.eyes)
    if not block.chunks:
        return np.empty((0, ncols))
    try:
        return _parse_fast(block, ncols)
    except (ValueError, pd.errors.ParserError):
        return _parse_slow(block, ncols, problems)


def _fill_block(block: _Block, values: np.ndarray) -> None:
    """Fill a missing END time and sample rate from the samples themselves."""
    times = values[:, 0]
    if math.isnan(block.end):
        block.end = float(times[-1]) if len(times) else block.start
    if math.isnan(block.sample_rate_hz) and len(times) > 1:
        step = float(np.median(np.diff(times)))
        if step > 0:
            block.sample_rate_hz = 1000.0 / step


def samples_table(
    blocks: list[_Block], problems: _Problems
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Long-format sample columns of all blocks, and the number of samples per block.

    Returns
    -------
    columns : dict of str to ndarray
        ``time``, ``eye`` (object array of ``"L"``/``"R"``), ``x``, ``y``,
        ``pupil``, ``block``; one entry per sample per eye, time-major.
    counts : list of int
        Samples (time points) per block.
    """
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("time", "eye", "x", "y", "pupil", "block")
    }
    counts = []
    for block in blocks:
        values = parse_block(block, problems)
        _fill_block(block, values)
        n, n_eyes = len(values), len(block.eyes)
        counts.append(n)
        if n == 0 or n_eyes == 0:
            continue
        per_eye = values[:, 1:].reshape(n, n_eyes, 3)
        parts["time"].append(np.repeat(values[:, 0], n_eyes))
        parts["eye"].append(np.tile(np.array(list(block.eyes), dtype=object), n))
        parts["x"].append(per_eye[:, :, 0].ravel())
        parts["y"].append(per_eye[:, :, 1].ravel())
        parts["pupil"].append(per_eye[:, :, 2].ravel())
        parts["block"].append(np.full(n * n_eyes, block.index, dtype=np.int64))
    dtypes = {"eye": object, "block": np.int64}
    columns = {
        k: np.concatenate(v) if v else np.empty(0, dtype=dtypes.get(k, np.float64))
        for k, v in parts.items()
    }
    return columns, counts
