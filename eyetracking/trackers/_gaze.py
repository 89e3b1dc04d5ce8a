"""The simulated observer's eye movements: fixations, saccades, blinks and samples, in pure NumPy.

The model, per recording block of ``n`` samples:

* Fixation targets. While no image is shown the eye holds the screen centre
  (the fixation cross). While an image is shown, each new target is drawn,
  with probability ``center_bias``, from an isotropic Gaussian around the
  image centre (the central fixation bias of scene viewing, Tatler 2007, J Vis
  7(14):4), and otherwise from the observer's priority map, which covers the
  drawn image. The eye leaves the cross one fixation duration after the image
  appears, and returns to it after the fixation in progress at image offset.
* Fixation durations: gamma distributed, mean ``mean_fixation_ms`` (250 ms),
  shape ``fixation_shape`` (4, so SD = mean / 2 = 125 ms), floored at
  ``min_fixation_ms``. Scene-viewing fixations average 250-330 ms with a
  right-skewed distribution (Rayner 1998, Psychol Bull 124:372; Henderson &
  Hollingworth 1998).
* Saccades: duration from the main sequence ``2.2 ms/deg * amplitude + 21 ms``
  (Carpenter 1988, *Movements of the Eyes*, 2nd ed., Pion), straight path with
  the minimum-jerk profile ``10 t^3 - 15 t^4 + 6 t^5`` (Flash & Hogan 1985,
  J Neurosci 5:1688), smooth and bell-shaped in velocity with peak
  ``1.875 * amplitude / duration``.
* Fixational drift: a Brownian random walk whose per-axis SD after 1 s is
  ``drift_deg``. Measurement noise: white Gaussian, SD ``noise_deg`` per axis
  (video trackers report 0.01-0.05 deg RMS; Holmqvist et al. 2011).
* Blinks: a Poisson process at ``blink_rate_hz``. A blink ends the fixation in
  progress; the eye dips ``1 deg`` down, the signal is lost for a gamma
  distributed time (mean ``mean_blink_ms``), and it comes back on the next
  target. As EyeLink's parser reports it, the whole is one saccade with the
  blink inside it.
* Pupil area: a per-eye base with slow (0.1-0.5 Hz) fluctuations of a few
  percent and sample noise; 0 while the signal is lost.

Positions are rounded to 0.1 px and pupil to whole units, as EyeLink prints
them, before event summaries are computed, so an event's mean equals the mean
of its printed samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..protocol import ImagePlacement
from ..screen import Screen

__all__ = [
    "BLINK_DIP_DEG",
    "SACCADE_INTERCEPT_MS",
    "SACCADE_MS_PER_DEG",
    "GazeBlock",
    "GazeParams",
    "View",
    "fixation_summary",
    "minimum_jerk",
    "saccade_summary",
    "simulate_gaze",
]

#: Main sequence of saccade duration, ``SACCADE_MS_PER_DEG * amplitude_deg +
#: SACCADE_INTERCEPT_MS`` (Carpenter 1988).
SACCADE_MS_PER_DEG = 2.2
SACCADE_INTERCEPT_MS = 21.0
#: How far the eye moves down as the lid closes, in degrees.
BLINK_DIP_DEG = 1.0
_BLINK_PRE_MS = 10.0
_BLINK_POST_MS = 20.0


@dataclass(frozen=True)
class GazeParams:
    """Parameters of the gaze model (see the module docstring); validated by the observer."""

    mean_fixation_ms: float = 250.0
    fixation_shape: float = 4.0
    min_fixation_ms: float = 50.0
    center_bias: float = 0.3
    center_bias_sigma_deg: float = 3.0
    noise_deg: float = 0.03
    drift_deg: float = 0.1
    blink_rate_hz: float = 0.2
    mean_blink_ms: float = 120.0


@dataclass(frozen=True)
class View:
    """An image on the screen from sample ``start`` up to, not including, ``stop``.

    ``priority`` is a non-negative map of shape ``(M, N)`` covering the drawn
    image (rows down, columns right), or None for uniform.
    """

    start: int
    stop: int
    placement: ImagePlacement
    priority: NDArray[np.float64] | None


@dataclass(frozen=True)
class GazeBlock:
    """Samples and events of one recording block.

    Attributes
    ----------
    x, y : ndarray of shape (n_eyes, n_samples)
        Gaze in screen pixels, rounded to 0.1 px; NaN while the signal is lost.
    pupil : ndarray of shape (n_eyes, n_samples)
        Pupil area in whole arbitrary units; 0 while the signal is lost.
    fixations, saccades, blinks : list of (int, int)
        First and last sample index of each event (inclusive), in time order.
        Every blink lies inside a saccade.
    """

    x: NDArray[np.float64]
    y: NDArray[np.float64]
    pupil: NDArray[np.float64]
    fixations: list[tuple[int, int]]
    saccades: list[tuple[int, int]]
    blinks: list[tuple[int, int]]


def minimum_jerk(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """Minimum-jerk position profile, 0 at ``t = 0`` and 1 at ``t = 1``."""
    return t**3 * (10.0 - 15.0 * t + 6.0 * t**2)


def _distance_deg(screen: Screen, a: NDArray, b: NDArray) -> float:
    ax, ay = screen.px_to_deg(a[0], a[1])
    bx, by = screen.px_to_deg(b[0], b[1])
    return float(np.hypot(bx - ax, by - ay))


def _draw_target(
    view: View,
    cdf: NDArray[np.float64] | None,
    params: GazeParams,
    screen: Screen,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    pl = view.placement
    # integer coordinates are pixel centres (ImagePlacement): the image's first column
    # spans [left - 0.5, left + 0.5) on the screen
    lo = np.array([pl.left_px, pl.top_px]) - 0.5
    size = np.array([pl.width_px, pl.height_px])
    if rng.random() < params.center_bias:
        sigma = params.center_bias_sigma_deg * screen.px_per_deg
        centre = lo + size / 2.0
        for _ in range(100):
            xy = rng.normal(centre, sigma)
            if np.all(xy >= lo) and np.all(xy < lo + size):
                return xy
        return np.clip(xy, lo, lo + size)
    u = rng.random(2)
    if view.priority is None or cdf is None:
        return lo + u * size
    rows, cols = view.priority.shape
    index = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    row, col = divmod(min(index, cdf.size - 1), cols)
    return lo + (np.array([col, row]) + u) / np.array([cols, rows]) * size


def _plan(
    n: int,
    dt: float,
    screen: Screen,
    views: Sequence[View],
    params: GazeParams,
    rng: np.random.Generator,
) -> tuple[list[tuple[int, int, NDArray]], list[tuple[int, int, tuple[int, int] | None]]]:
    """Fixations ``(first, last, target_xy)`` and saccades ``(first, last, blink)`` tiling ``n``."""
    centre = np.array([screen.width_px / 2.0, screen.height_px / 2.0])
    cdfs = [None if v.priority is None else np.cumsum(v.priority.ravel()) for v in views]
    min_fix = max(1, round(params.min_fixation_ms / dt))

    def view_at(i: int) -> int | None:
        return next((k for k, v in enumerate(views) if v.start <= i < v.stop), None)

    def gamma_samples(mean_ms: float, shape: float, floor_ms: float) -> int:
        ms = max(floor_ms, rng.gamma(shape, mean_ms / shape))
        return max(1, round(ms / dt))

    def fixation_samples() -> int:
        return gamma_samples(params.mean_fixation_ms, params.fixation_shape, params.min_fixation_ms)

    blinks = np.sort(rng.integers(0, n, size=rng.poisson(params.blink_rate_hz * n * dt / 1e3)))
    fixations: list[tuple[int, int, NDArray]] = []
    saccades: list[tuple[int, int, tuple[int, int] | None]] = []
    start = hold = 0
    target, on_cross = centre, True
    while True:
        if on_cross and view_at(hold) is None:
            upcoming = [v.start for v in views if v.start > hold]
            end = min(upcoming) + fixation_samples() if upcoming else n
        else:
            end = hold + fixation_samples()
        due = blinks[(blinks >= start + min_fix) & (blinks < end)]
        blink = due.size > 0
        if blink:
            end = int(due[0])
        if end >= n:
            fixations.append((start, n - 1, target))
            break
        k = view_at(end)
        if k is None:
            new, new_cross = centre, True
        else:
            new, new_cross = _draw_target(views[k], cdfs[k], params, screen, rng), False
        if new_cross and on_cross and not blink:
            hold = end  # still on the cross: the fixation goes on
            continue
        if blink:
            pre = max(1, round(_BLINK_PRE_MS / dt))
            lost = gamma_samples(params.mean_blink_ms, 4.0, dt)
            m = pre + lost + max(2, round(_BLINK_POST_MS / dt))
            span: tuple[int, int] | None = (end + pre, end + pre + lost - 1)
        else:
            amplitude = _distance_deg(screen, target, new)
            m = max(2, round((SACCADE_MS_PER_DEG * amplitude + SACCADE_INTERCEPT_MS) / dt))
            span = None
        if end + m + min_fix > n:
            fixations.append((start, n - 1, target))
            break
        fixations.append((start, end - 1, target))
        saccades.append((end, end + m - 1, span))
        start = hold = end + m
        target, on_cross = new, new_cross
    return fixations, saccades


def simulate_gaze(
    n_samples: int,
    *,
    interval_ms: float,
    screen: Screen,
    views: Sequence[View],
    params: GazeParams,
    rng: np.random.Generator,
    eye_offsets_px: Sequence[tuple[float, float]] = ((0.0, 0.0),),
    pupil_bases: Sequence[float] = (1000.0,),
) -> GazeBlock:
    """Simulate one recording block.

    Parameters
    ----------
    n_samples : int
        Number of samples (>= 1).
    interval_ms : float
        Sample interval in ms.
    screen : Screen
        Display geometry, for degrees.
    views : sequence of View
        Images shown during the block, in sample indices, not overlapping.
    params : GazeParams
        Model parameters.
    rng : numpy.random.Generator
        Source of randomness; the same state gives the same block.
    eye_offsets_px : sequence of (float, float)
        Constant offset of each recorded eye from the common gaze, in pixels
        (the vergence of a binocular recording); one entry per eye.
    pupil_bases : sequence of float
        Mean pupil area of each eye.

    Returns
    -------
    GazeBlock
    """
    n, dt = int(n_samples), float(interval_ms)
    ppd = screen.px_per_deg
    fixations, saccades = _plan(n, dt, screen, views, params, rng)
    pos = np.empty((n, 2))
    drift_sd = params.drift_deg * ppd * math.sqrt(dt / 1e3)
    for first, last, target in fixations:
        steps = rng.normal(0.0, drift_sd, (last - first + 1, 2))
        steps[0] = 0.0
        pos[first : last + 1] = target + np.cumsum(steps, axis=0)
    lost = np.zeros(n, dtype=bool)
    dip = np.array([0.0, BLINK_DIP_DEG * ppd])
    for first, last, span in saccades:
        a, b = pos[first - 1], pos[last + 1]
        if span is None:
            m = last - first + 1
            pos[first : last + 1] = a + np.outer(minimum_jerk((np.arange(m) + 0.5) / m), b - a)
            continue
        pre, post = span[0] - first, last - span[1]
        pos[first : span[0]] = a + np.outer(minimum_jerk((np.arange(pre) + 0.5) / pre), dip)
        pos[span[1] + 1 : last + 1] = b + np.outer(
            1.0 - minimum_jerk((np.arange(post) + 0.5) / post), dip
        )
        pos[span[0] : span[1] + 1] = np.nan
        lost[span[0] : span[1] + 1] = True
    n_eyes = len(eye_offsets_px)
    noise_sd = params.noise_deg * ppd
    x = np.empty((n_eyes, n))
    y = np.empty((n_eyes, n))
    seconds = np.arange(n) * dt / 1e3
    slow = np.zeros(n)
    for freq, phase in zip(rng.uniform(0.1, 0.5, 3), rng.uniform(0.0, 2 * np.pi, 3), strict=True):
        slow += 0.02 * np.sin(2 * np.pi * freq * seconds + phase)
    pupil = np.empty((n_eyes, n))
    for e, (off_x, off_y) in enumerate(eye_offsets_px):
        x[e] = np.round(pos[:, 0] + off_x + rng.normal(0.0, noise_sd, n), 1)
        y[e] = np.round(pos[:, 1] + off_y + rng.normal(0.0, noise_sd, n), 1)
        pupil[e] = np.round(pupil_bases[e] * (1.0 + slow) + rng.normal(0.0, 2.0, n))
    pupil[:, lost] = 0.0
    return GazeBlock(
        x=x,
        y=y,
        pupil=pupil,
        fixations=[(f, last) for f, last, _ in fixations],
        saccades=[(f, last) for f, last, _ in saccades],
        blinks=[span for _, _, span in saccades if span is not None],
    )


def fixation_summary(block: GazeBlock, eye: int, first: int, last: int) -> tuple[float, ...]:
    """Mean ``(x, y, pupil)`` of the eye's samples ``first..last`` (inclusive)."""
    part = slice(first, last + 1)
    return (
        float(np.mean(block.x[eye, part])),
        float(np.mean(block.y[eye, part])),
        float(np.mean(block.pupil[eye, part])),
    )


def saccade_summary(
    block: GazeBlock, eye: int, first: int, last: int, *, screen: Screen, interval_ms: float
) -> tuple[tuple[float, float], tuple[float, float], float, float]:
    """Start and end position, amplitude (deg) and peak velocity (deg/s) of a saccade.

    The amplitude is the angle between the first and last sample, per axis
    with :meth:`Screen.px_to_deg`. Velocity uses the five-sample difference
    ``(p[i+2] + p[i+1] - p[i-1] - p[i-2]) / (6 dt)`` (Engbert & Kliegl 2003,
    Vision Res 43:1035) of the positions in degrees; samples near lost signal
    or the block's edges are skipped.
    """
    xs, ys = block.x[eye], block.y[eye]
    start = (float(xs[first]), float(ys[first]))
    end = (float(xs[last]), float(ys[last]))
    (x0, x1), (y0, y1) = screen.px_to_deg([start[0], end[0]], [start[1], end[1]])
    amplitude = float(np.hypot(x1 - x0, y1 - y0))
    lo, hi = max(first, 2), min(last, xs.size - 3)
    if hi < lo:
        return start, end, amplitude, 0.0
    xd, yd = screen.px_to_deg(xs[lo - 2 : hi + 3], ys[lo - 2 : hi + 3])
    scale = 6.0 * interval_ms / 1e3
    vx = (xd[4:] + xd[3:-1] - xd[1:-3] - xd[:-4]) / scale
    vy = (yd[4:] + yd[3:-1] - yd[1:-3] - yd[:-4]) / scale
    speed = np.hypot(vx, vy)
    speed = speed[np.isfinite(speed)]
    return start, end, amplitude, float(speed.max()) if speed.size else 0.0
