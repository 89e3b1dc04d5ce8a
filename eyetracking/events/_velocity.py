"""Velocity-based event detection, I-VT and Engbert-Kliegl, as pure NumPy functions."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = ["engbert", "ivt"]

Runs = NDArray[np.intp]


def check_positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """``value`` as a float; ValueError naming ``name`` unless it is a finite number > 0 (>= 0)."""
    number = math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        number = float(value)
    if not (math.isfinite(number) and (number >= 0 if allow_zero else number > 0)):
        allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(
            f"Invalid value for the {name!r} parameter. Allowed values are {allowed}, "
            f"but got {value!r} instead."
        )
    return number


def segment_rows(
    segments: Runs, rows: NDArray[np.intp] | None = None
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Rows inside the segments (or ``rows``, which must be), and their segment's first and last."""
    a, b = segments[:, 0], segments[:, 1]
    if rows is None:
        lengths = b - a
        lo, hi = np.repeat(a, lengths), np.repeat(b - 1, lengths)
        offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        return (lo + offsets).astype(np.intp), lo, hi
    k = np.searchsorted(a, rows, side="right") - 1
    return rows, a[k], b[k] - 1


def segment_starts(n: int, segments: Runs) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per-row flags: inside some segment, and first row of a segment."""
    valid = np.zeros(n, dtype=bool)
    first = np.zeros(n, dtype=bool)
    valid[segment_rows(segments)[0]] = True
    first[segments[:, 0]] = True
    return valid, first


def runs_of(mask: NDArray[np.bool_], first: NDArray[np.bool_]) -> Runs:
    """``[start, stop)`` of the runs of True in ``mask``, broken where ``first`` is True."""
    if len(mask) == 0:
        return np.empty((0, 2), dtype=np.intp)
    prev = np.r_[False, mask[:-1]] & ~first
    nxt = np.r_[mask[1:], False] & ~np.r_[first[1:], True]
    starts = np.flatnonzero(mask & ~prev)
    stops = np.flatnonzero(mask & ~nxt) + 1
    return np.column_stack([starts, stops]).astype(np.intp)


def at_least(runs: Runs, min_duration_ms: float, interval_ms: float) -> Runs:
    """Runs of at least ``min_duration_ms``, a run of n samples lasting n sample intervals."""
    keep = (runs[:, 1] - runs[:, 0]) * interval_ms >= min_duration_ms - 1e-9
    return runs[keep]


def _window(
    rows: NDArray[np.intp],
    lo_seg: NDArray[np.intp],
    hi_seg: NDArray[np.intp],
    half_width: int,
    interval_ms: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    lo = np.maximum(rows - half_width, lo_seg)
    hi = np.minimum(rows + half_width, hi_seg)
    return lo, hi, (hi - lo) * (interval_ms / 1000.0)


def window_velocity(
    values: NDArray[np.float64], segments: Runs, interval_ms: float, half_width: int = 1
) -> NDArray[np.float64]:
    """Velocity (units per s) ``(v[n + k] - v[n - k]) / (2 k dt)`` inside each segment.

    Near a segment's ends the window is cut to the samples it has, so the
    first and last samples get one-sided differences; a one-sample segment
    has velocity 0; rows outside every segment are NaN. ``half_width`` 1
    gives central differences.
    """
    out = np.full(len(values), np.nan)
    rows, lo_seg, hi_seg = segment_rows(segments)
    lo, hi, span = _window(rows, lo_seg, hi_seg, half_width, interval_ms)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[rows] = np.where(span > 0, (values[hi] - values[lo]) / span, 0.0)
    return out


def window_speed(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    segments: Runs,
    interval_ms: float,
    half_width: int = 1,
    rows: NDArray[np.intp] | None = None,
) -> NDArray[np.float64]:
    """``hypot`` of the window velocities of x and y: at ``rows``, or per row (NaN outside)."""
    at, lo_seg, hi_seg = segment_rows(segments, rows)
    lo, hi, span = _window(at, lo_seg, hi_seg, half_width, interval_ms)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(span > 0, np.hypot(x[hi] - x[lo], y[hi] - y[lo]) / span, 0.0)
    if rows is not None:
        return speed
    out = np.full(len(x), np.nan)
    out[at] = speed
    return out


def central_velocity(values: NDArray[np.float64], segments: Runs, interval_ms: float) -> NDArray:
    """Velocity (units per s) by central differences inside each segment, one-sided at its ends."""
    return window_velocity(values, segments, interval_ms, 1)


def kernel_velocity(values: NDArray[np.float64], segments: Runs, interval_ms: float) -> NDArray:
    """Engbert & Kliegl's 5-sample velocity ``(x[n+2] + x[n+1] - x[n-1] - x[n-2]) / (6 dt)``.

    The second and second-to-last samples of a segment use the central
    difference ``(x[n+1] - x[n-1]) / (2 dt)``, as in the Microsaccade
    Toolbox's ``vecvel``; the first and last use one-sided differences.
    """
    out = central_velocity(values, segments, interval_ms)
    rows, lo_seg, hi_seg = segment_rows(segments)
    rows = rows[(rows - 2 >= lo_seg) & (rows + 2 <= hi_seg)]
    x = values
    out[rows] = (x[rows + 2] + x[rows + 1] - x[rows - 1] - x[rows - 2]) * (1000.0 / interval_ms / 6)
    return out


def _classify(
    moving: NDArray[np.bool_],
    segments: Runs,
    interval_ms: float,
    min_fixation_duration_ms: float,
    min_saccade_duration_ms: float,
) -> tuple[Runs, Runs]:
    valid, first = segment_starts(len(moving), segments)
    saccades = at_least(runs_of(valid & moving, first), min_saccade_duration_ms, interval_ms)
    fixations = at_least(runs_of(valid & ~moving, first), min_fixation_duration_ms, interval_ms)
    return fixations, saccades


def ivt(
    x_deg: NDArray[np.float64],
    y_deg: NDArray[np.float64],
    segments: Runs,
    *,
    sampling_rate_hz: float,
    velocity_threshold_deg_s: float = 30.0,
    velocity_window_ms: float = 20.0,
    min_fixation_duration_ms: float = 60.0,
    min_saccade_duration_ms: float = 0.0,
) -> tuple[Runs, Runs]:
    """Velocity-threshold identification (I-VT) of fixations and saccades.

    A sample is saccadic when its speed over a window centred on it,
    ``hypot(x[n+k] - x[n-k], y[n+k] - y[n-k]) / (2 k dt)`` with
    ``2 k dt`` about ``velocity_window_ms``, exceeds
    ``velocity_threshold_deg_s``. Runs of saccadic samples are saccades;
    runs of the others are fixations.

    Parameters
    ----------
    x_deg, y_deg : ndarray of shape (n,)
        Gaze position in degrees of visual angle.
    segments : ndarray of shape (k, 2)
        ``[start, stop)`` rows of gap-free runs of valid samples; no event
        crosses a segment's bounds.
    sampling_rate_hz : float
        Samples per second.
    velocity_threshold_deg_s : float
        Speed threshold, deg/s. Default 30 deg/s, the threshold of Olsen's
        (2012) Tobii I-VT filter and of EyeLink's standard (cognitive)
        parser configuration.
    velocity_window_ms : float
        Length of the window over which speed is measured (Olsen 2012:
        20 ms); ``k = max(1, round(velocity_window_ms / (2 dt)))``, so 0
        gives central differences. Near gaps the window is cut short.
    min_fixation_duration_ms : float
        Shorter fixations are dropped (Olsen 2012: 60 ms).
    min_saccade_duration_ms : float
        Shorter saccades are dropped (default 0: every run).

    Returns
    -------
    fixations, saccades : ndarray of shape (m, 2)
        ``[start, stop)`` row indices of each event.

    References
    ----------
    Salvucci, D. D., & Goldberg, J. H. (2000). Identifying fixations and
    saccades in eye-tracking protocols. ETRA '00, 71-78.
    Olsen, A. (2012). The Tobii I-VT fixation filter. Tobii Technology.
    """
    interval = 1000.0 / check_positive("sampling_rate_hz", sampling_rate_hz)
    threshold = check_positive("velocity_threshold_deg_s", velocity_threshold_deg_s)
    window = check_positive("velocity_window_ms", velocity_window_ms, allow_zero=True)
    k = max(1, round(window / (2.0 * interval)))
    min_fix = check_positive("min_fixation_duration_ms", min_fixation_duration_ms, allow_zero=True)
    min_sac = check_positive("min_saccade_duration_ms", min_saccade_duration_ms, allow_zero=True)
    speed = window_speed(x_deg, y_deg, segments, interval, k)
    with np.errstate(invalid="ignore"):
        moving = speed > threshold
    return _classify(moving, segments, interval, min_fix, min_sac)


def _elliptic_radii(
    vx: NDArray, vy: NDArray, factor: float, fixed: float | Sequence[float] | None
) -> tuple[float, float] | None:
    if fixed is not None:
        radii = np.broadcast_to(np.asarray(fixed, dtype=float), (2,))
        for r in radii:
            check_positive("threshold_deg_s", float(r))
        return float(radii[0]), float(radii[1])
    ok = np.isfinite(vx) & np.isfinite(vy)
    if not ok.any():
        return None
    # Median-based SD: robust to the saccades themselves (Engbert & Kliegl 2003, eq. 2).
    sd = [
        math.sqrt(max(float(np.median(v[ok] ** 2) - np.median(v[ok]) ** 2), 0.0)) for v in (vx, vy)
    ]
    if min(sd) <= 0.0:
        return None
    return factor * sd[0], factor * sd[1]


def engbert(
    x_deg: NDArray[np.float64],
    y_deg: NDArray[np.float64],
    segments: Runs,
    *,
    sampling_rate_hz: float,
    threshold_factor: float = 6.0,
    min_saccade_duration_ms: float = 6.0,
    min_fixation_duration_ms: float = 60.0,
    threshold_deg_s: float | Sequence[float] | None = None,
) -> tuple[Runs, Runs]:
    """Engbert & Kliegl's (2003) adaptive (micro)saccade detection.

    Velocities come from a 5-sample moving window,
    ``v[n] = (x[n+2] + x[n+1] - x[n-1] - x[n-2]) / (6 dt)``. Per axis the
    velocity spread is the median-based SD
    ``sigma = sqrt(median(v**2) - median(v)**2)``, and a sample is saccadic
    when ``(vx / (lambda sigma_x))**2 + (vy / (lambda sigma_y))**2 > 1``.
    Runs of saccadic samples of at least ``min_saccade_duration_ms`` are
    saccades; the runs between them of at least
    ``min_fixation_duration_ms`` are returned as fixations.

    Parameters
    ----------
    x_deg, y_deg : ndarray of shape (n,)
        Gaze position in degrees of visual angle.
    segments : ndarray of shape (k, 2)
        ``[start, stop)`` rows of gap-free runs of valid samples.
    sampling_rate_hz : float
        Samples per second.
    threshold_factor : float
        ``lambda``, the threshold in multiples of the velocity SD. Default 6
        (Engbert & Kliegl 2003; Engbert & Mergenthaler 2006).
    min_saccade_duration_ms : float
        Default 6 ms (Engbert & Mergenthaler 2006: 3 samples at 500 Hz).
    min_fixation_duration_ms : float
        Shortest inter-saccade run reported as a fixation (default 60 ms, as
        for :func:`ivt`).
    threshold_deg_s : float or (float, float), optional
        Fixed radii ``(eta_x, eta_y)`` of the velocity ellipse in deg/s
        instead of ``lambda sigma``.

    Returns
    -------
    fixations, saccades : ndarray of shape (m, 2)
        ``[start, stop)`` row indices of each event.

    Warns
    -----
    UserWarning
        When the velocity SD is zero on an axis (gaze never moves); nothing is
        detected then.

    References
    ----------
    Engbert, R., & Kliegl, R. (2003). Microsaccades uncover the orientation
    of covert attention. Vision Research, 43(9), 1035-1045.
    Engbert, R., & Mergenthaler, K. (2006). Microsaccades are triggered by
    low retinal image slip. PNAS, 103(18), 7192-7197.
    """
    interval = 1000.0 / check_positive("sampling_rate_hz", sampling_rate_hz)
    factor = check_positive("threshold_factor", threshold_factor)
    min_sac = check_positive("min_saccade_duration_ms", min_saccade_duration_ms, allow_zero=True)
    min_fix = check_positive("min_fixation_duration_ms", min_fixation_duration_ms, allow_zero=True)
    vx = kernel_velocity(x_deg, segments, interval)
    vy = kernel_velocity(y_deg, segments, interval)
    radii = _elliptic_radii(vx, vy, factor, threshold_deg_s)
    if radii is None:
        if len(segments):
            warnings.warn(
                "Engbert-Kliegl detection: the median-based velocity SD is zero (the gaze does "
                "not move); no events detected. Pass threshold_deg_s to set the threshold.",
                stacklevel=4,
            )
        empty = np.empty((0, 2), dtype=np.intp)
        return empty, empty
    with np.errstate(invalid="ignore"):
        moving = (vx / radii[0]) ** 2 + (vy / radii[1]) ** 2 > 1.0
    return _classify(moving, segments, interval, min_fix, min_sac)
