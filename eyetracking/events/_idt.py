"""Dispersion-threshold identification (I-DT) of fixations, as a pure NumPy function."""

from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.typing import NDArray

from ._velocity import Runs, check_positive

__all__ = ["idt"]


def _window_dispersion(x: NDArray, y: NDArray, width: int) -> NDArray:
    """``(max x - min x) + (max y - min y)`` of every window of ``width`` samples."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    # This origin shifts the filter so that entry i covers x[i : i + width].
    origin = -(width // 2)
    spread = [
        maximum_filter1d(v, width, origin=origin) - minimum_filter1d(v, width, origin=origin)
        for v in (x, y)
    ]
    return (spread[0] + spread[1])[: len(x) - width + 1]


def _extend(x: NDArray, y: NDArray, start: int, stop: int, threshold: float) -> int:
    """The largest ``end >= stop`` with the dispersion of ``[start, end)`` within the threshold."""
    lo_x, hi_x = x[start:stop].min(), x[start:stop].max()
    lo_y, hi_y = y[start:stop].min(), y[start:stop].max()
    chunk = max(stop - start, 16)
    end = stop
    while end < len(x):
        seg_x, seg_y = x[end : end + chunk], y[end : end + chunk]
        cx_hi = np.maximum(np.maximum.accumulate(seg_x), hi_x)
        cx_lo = np.minimum(np.minimum.accumulate(seg_x), lo_x)
        cy_hi = np.maximum(np.maximum.accumulate(seg_y), hi_y)
        cy_lo = np.minimum(np.minimum.accumulate(seg_y), lo_y)
        over = np.flatnonzero((cx_hi - cx_lo) + (cy_hi - cy_lo) > threshold)
        if len(over):
            return end + int(over[0])
        lo_x, hi_x, lo_y, hi_y = cx_lo[-1], cx_hi[-1], cy_lo[-1], cy_hi[-1]
        end += len(seg_x)
        chunk *= 2
    return end


def _segment_fixations(
    x: NDArray, y: NDArray, width: int, threshold: float
) -> list[tuple[int, int]]:
    if len(x) < width:
        return []
    candidates = np.flatnonzero(_window_dispersion(x, y, width) <= threshold)
    found: list[tuple[int, int]] = []
    i = 0
    while True:
        k = int(np.searchsorted(candidates, i))
        if k == len(candidates):
            return found
        start = int(candidates[k])
        end = _extend(x, y, start, start + width, threshold)
        found.append((start, end))
        i = end


def idt(
    x_deg: NDArray[np.float64],
    y_deg: NDArray[np.float64],
    segments: Runs,
    *,
    sampling_rate_hz: float,
    dispersion_threshold_deg: float = 1.0,
    min_fixation_duration_ms: float = 100.0,
) -> tuple[Runs, Runs]:
    """Dispersion-threshold identification (I-DT) of fixations (Salvucci & Goldberg 2000).

    A window of ``min_fixation_duration_ms`` slides over each segment; when
    its dispersion ``(max x - min x) + (max y - min y)`` is at most
    ``dispersion_threshold_deg`` it grows sample by sample while the
    dispersion stays within the threshold, and becomes a fixation; the
    search goes on after it. The runs of samples between two fixations of
    one segment are returned as saccades.

    Parameters
    ----------
    x_deg, y_deg : ndarray of shape (n,)
        Gaze position in degrees of visual angle.
    segments : ndarray of shape (k, 2)
        ``[start, stop)`` rows of gap-free runs of valid samples.
    sampling_rate_hz : float
        Samples per second.
    dispersion_threshold_deg : float
        Default 1.0 deg (Salvucci & Goldberg suggest 0.5 to 1 deg).
    min_fixation_duration_ms : float
        The window's duration, default 100 ms (Salvucci & Goldberg: 100 to
        200 ms); a window of n samples lasts n sample intervals.

    Returns
    -------
    fixations, saccades : ndarray of shape (m, 2)
        ``[start, stop)`` row indices of each event.

    References
    ----------
    Salvucci, D. D., & Goldberg, J. H. (2000). Identifying fixations and
    saccades in eye-tracking protocols. ETRA '00, 71-78.
    """
    interval = 1000.0 / check_positive("sampling_rate_hz", sampling_rate_hz)
    threshold = check_positive("dispersion_threshold_deg", dispersion_threshold_deg)
    min_fix = check_positive("min_fixation_duration_ms", min_fixation_duration_ms)
    width = max(1, math.ceil(min_fix / interval - 1e-9))
    fixations: list[tuple[int, int]] = []
    saccades: list[tuple[int, int]] = []
    for a, b in segments:
        found = [
            (s + a, e + a) for s, e in _segment_fixations(x_deg[a:b], y_deg[a:b], width, threshold)
        ]
        fixations += found
        saccades += [(e0, s1) for (_, e0), (s1, _) in itertools.pairwise(found) if s1 > e0]
    as_runs = [np.asarray(r, dtype=np.intp).reshape(-1, 2) for r in (fixations, saccades)]
    return as_runs[0], as_runs[1]
